import type { Type } from '@nestjs/common';
import { IsOptional, IsString, Matches, type ValidationArguments } from 'class-validator';
import { FRAME_TEXT, messageJson } from '../message-json';
import { CharLength } from './chars';
import { IsRoomName } from './room-field';

// MAX_MESSAGE_LENGTH is a setting, read at boot, while a decorator's arguments are fixed when
// the class is defined: so the rule reads its bound from the DTO's class when it runs, and
// WsValidationPipe subclasses the DTOs with the configured bound.
const limitOf = (args: ValidationArguments) => (args.object.constructor as typeof TextDto).maxMessageLength;

export const CID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Events that carry a `message`. */
export class TextDto {
  static maxMessageLength = 4096;

  @IsString()
  @CharLength(1, limitOf)
  message!: string;

  /** The frame's text, when the DTO was made from one. */
  declare readonly [FRAME_TEXT]?: string;

  /** `message` as JSON, as cheaply as it can be had. */
  get messageJson(): string {
    return messageJson(this.message, this[FRAME_TEXT]);
  }
}

export class MessageDto extends TextDto {
  /** Defaults to the room this connection joined most recently and is still in. */
  @IsOptional()
  @IsRoomName()
  room?: string;

  /** The client's id for the message: it is acked, and a retry with it is not delivered twice. */
  @IsOptional()
  @Matches(CID_PATTERN, { message: 'cid must be 1 to 64 characters: ASCII letters, digits, _ - . :' })
  cid?: string;
}

export class BroadcastDto extends TextDto {}

export class EchoDto extends TextDto {}

// Each app gets its own subclasses carrying its MAX_MESSAGE_LENGTH (see TextDto), so two apps
// in one process (as in the tests) can run with different limits.
/** `dto` carrying this app's MAX_MESSAGE_LENGTH. */
export function withMaxLength(dto: typeof TextDto, max: number): Type<TextDto> {
  const limited = class extends dto {
    static override maxMessageLength = max;
  };
  return Object.defineProperty(limited, 'name', { value: dto.name }); // for traces and errors
}
