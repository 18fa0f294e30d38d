import { IsOptional, IsString, MinLength } from 'class-validator';
import { IsRoomName } from './room-field';

/**
 * Events that carry a `message`. Its upper bound, MAX_MESSAGE_LENGTH, is a setting,
 * so WsValidationPipe adds it when it builds its validators; the fixed rules live here.
 */
export class TextDto {
  @IsString()
  @MinLength(1)
  message!: string;
}

export class MessageDto extends TextDto {
  /** Defaults to the room this connection joined most recently and is still in. */
  @IsOptional()
  @IsRoomName()
  room?: string;
}

export class BroadcastDto extends TextDto {}

export class EchoDto extends TextDto {}
