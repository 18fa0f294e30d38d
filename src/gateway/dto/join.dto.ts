import { IsOptional, IsString, Length, Matches } from 'class-validator';
import { IsRoomName } from './room-field';

export class JoinDto {
  @IsRoomName()
  room!: string;

  /** Display name shown as `from` on this connection's messages; kept until changed by a later join. */
  @IsOptional()
  @IsString()
  @Length(1, 32)
  @Matches(/^\P{Cc}*$/u, { message: 'name must not contain control characters' })
  name?: string;
}
