import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, ValidateBy } from 'class-validator';
import { CharLength } from '../../gateway/dto/chars';
import { NAME_PATTERN } from '../../gateway/dto/join.dto';

export const DEFAULT_DISCONNECT_CODE = 4003;
// A close frame's reason is at most 123 bytes (RFC 6455 section 5.5: 125 with the code).
const MAX_REASON_BYTES = 123;
export const DETAIL_MAX_LENGTH = 256;

const isCloseCode = (value: unknown) =>
  value === 1000 || (typeof value === 'number' && Number.isInteger(value) && value >= 4000 && value <= 4999);

/** POST /api/v1/users/:sub/disconnect. */
export class DisconnectDto {
  @ApiPropertyOptional({
    type: 'integer',
    description: 'The WebSocket close code: 1000, or one of 4000-4999 (default 4003).',
    default: DEFAULT_DISCONNECT_CODE,
    example: 4003,
  })
  @IsOptional()
  @IsInt()
  @ValidateBy({
    name: 'isCloseCode',
    validator: { validate: isCloseCode, defaultMessage: () => 'code must be 1000 or 4000 to 4999' },
  })
  code?: number;

  @ApiPropertyOptional({
    description: `The close frame's reason, at most ${MAX_REASON_BYTES} bytes of UTF-8 (default "disconnected").`,
    example: 'banned',
  })
  @IsOptional()
  @IsString()
  @ValidateBy({
    name: 'closeReason',
    validator: {
      validate: (value) => typeof value === 'string' && Buffer.byteLength(value) <= MAX_REASON_BYTES,
      defaultMessage: () => `reason must be at most ${MAX_REASON_BYTES} bytes of UTF-8`,
    },
  })
  reason?: string;
}

/** DELETE /api/v1/rooms/:name/members/:sub. */
export class RemoveDto {
  @ApiPropertyOptional({
    description: `Words for the user, sent as \`detail\` in its \`left\` frame (at most ${DETAIL_MAX_LENGTH} characters).`,
    example: 'Spamming',
  })
  @IsOptional()
  @IsString()
  @CharLength(1, () => DETAIL_MAX_LENGTH)
  @Matches(NAME_PATTERN, { message: 'reason must not contain control or invisible characters' })
  reason?: string;
}
