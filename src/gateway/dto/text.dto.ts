import {
  IsOptional,
  IsString,
  maxLength,
  MinLength,
  ValidateBy,
  type ValidationArguments,
} from 'class-validator';
import { IsRoomName } from './room-field';

/** The bound a TextDto class carries; WsValidationPipe subclasses the DTOs with the configured one. */
const limitOf = (args: ValidationArguments) => (args.object.constructor as typeof TextDto).maxMessageLength;

// MAX_MESSAGE_LENGTH is a setting, read at boot, while a decorator's arguments are fixed when
// the class is defined: so the rule reads its bound from the DTO's class at validation time.
const WithinMessageLimit = () =>
  ValidateBy({
    name: 'maxLength',
    validator: {
      validate: (value, args) => maxLength(value, limitOf(args!)),
      defaultMessage: (args) => `message must be at most ${limitOf(args!)} characters`,
    },
  });

/** Events that carry a `message` (lengths count characters, not bytes). */
export class TextDto {
  static maxMessageLength = 4096;

  @IsString()
  @MinLength(1)
  @WithinMessageLimit()
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
