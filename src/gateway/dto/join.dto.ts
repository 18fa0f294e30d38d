import { IsBoolean, IsOptional, IsString, Matches, ValidateIf } from 'class-validator';
import { CharLength } from './chars';
import { IsPosition } from './position-field';
import { IsRoomName } from './room-field';

// Controls, invisible format characters (zero-width spaces, bidi overrides that make a name
// display as another) and line breaks; the zero-width joiner stays, emoji sequences need it.
export const NAME_PATTERN = /^(?:\u200d|(?![\p{Cc}\p{Cf}\p{Zl}\p{Zp}])[^])*$/u;
export const NAME_MAX_LENGTH = 32;

export class JoinDto {
  @IsRoomName()
  room!: string;

  /** Display name shown as `from` on this connection's messages; kept until a later join changes it. */
  @IsOptional()
  @IsString()
  @CharLength(1, () => NAME_MAX_LENGTH)
  @Matches(NAME_PATTERN, { message: 'name must not contain control or invisible characters' })
  name?: string;

  /** The last position the client saw in this room: the messages since are replayed, all or none. */
  @IsOptional()
  @IsPosition()
  since?: { epoch: string; offset: number };

  /** true: a snapshot of the room's members after `joined`, then a diff as they come and go; false on a repeat join: no more. */
  // Absent is fine; null is not a boolean (where @IsOptional would let it through).
  @ValidateIf((_, value) => value !== undefined)
  @IsBoolean()
  presence?: boolean;
}
