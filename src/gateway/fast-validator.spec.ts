import type { Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { IsString, ValidateNested, validateSync } from 'class-validator';
import { JoinDto } from './dto/join.dto';
import { LeaveDto } from './dto/leave.dto';
import { BroadcastDto, EchoDto, MessageDto, TextDto } from './dto/text.dto';
import { compileValidator } from './fast-validator';

class ShortMessageDto extends MessageDto {
  static override maxMessageLength = 10;
}

const VALUES: unknown[] = [
  undefined,
  null,
  '',
  'room1',
  'a.b:c_d-e',
  'two words',
  'café',
  'x'.repeat(10),
  'x'.repeat(11),
  'x'.repeat(32),
  'x'.repeat(33),
  'x'.repeat(64),
  'x'.repeat(65),
  '😀'.repeat(10),
  'x\ufe0f'.repeat(5),
  'x\ufe0f'.repeat(6),
  'a\u200bb',
  '👨‍👩‍👧',
  'line\nbreak',
  '__proto__',
  0,
  42,
  true,
  {},
  [],
];

function* framesFor(fields: string[]): Generator<Record<string, unknown>> {
  if (fields.length === 0) {
    yield {};
    return;
  }
  const [first, ...rest] = fields;
  for (const tail of framesFor(rest)) {
    for (const value of VALUES) yield value === undefined ? { ...tail } : { ...tail, [first]: value };
  }
}

const classValidatorAccepts = (dto: Type, plain: object) =>
  validateSync(plainToInstance(dto, plain) as object, { forbidUnknownValues: true }).length === 0;

describe(compileValidator.name, () => {
  it.each([
    [JoinDto, ['room', 'name']],
    [LeaveDto, ['room']],
    [MessageDto, ['message', 'room']],
    [ShortMessageDto, ['message', 'room']],
    [BroadcastDto, ['message']],
    [EchoDto, ['message']],
  ] as [Type, string[]][])('accepts exactly what class-validator accepts for %p', (dto, fields) => {
    const sut = compileValidator(dto)!;
    expect(sut).toBeDefined();
    let accepted = 0;
    for (const frame of framesFor(fields)) {
      const fast = sut(frame) !== undefined;
      expect({ frame, fast }).toEqual({ frame, fast: classValidatorAccepts(dto, frame) });
      if (fast) accepted++;
    }
    expect(accepted).toBeGreaterThan(0); // the fast path does engage
  });

  it('returns an instance of the DTO carrying the fields', () => {
    const dto = compileValidator(ShortMessageDto)!({ message: 'hi', room: 'r' });
    expect(dto).toBeInstanceOf(TextDto);
    expect(dto).toEqual(Object.assign(new ShortMessageDto(), { message: 'hi', room: 'r' }));
  });

  it('gives no fast path to a DTO with rules it does not model', () => {
    class Inner {
      @IsString() x!: string;
    }
    class Nested {
      @ValidateNested() inner!: Inner;
    }
    class Each {
      @IsString({ each: true }) tags!: string[];
    }
    expect(compileValidator(Nested)).toBeUndefined();
    expect(compileValidator(Each)).toBeUndefined();
  });
});
