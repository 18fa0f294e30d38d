import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsOptional, IsString, Matches } from 'class-validator';
import { CharLength } from '../../gateway/dto/chars';
import { NAME_MAX_LENGTH, NAME_PATTERN } from '../../gateway/dto/join.dto';
import { TextDto } from '../../gateway/dto/text.dto';

/** A connection's id: 12 base64url characters (9 random bytes), as presence lists it. */
export const CONNECTION_ID_PATTERN = /^[A-Za-z0-9_-]{12}$/;
export const MAX_EXCLUDED = 100;

/** POST /api/v1/broadcast. */
export class ServerBroadcastDto extends TextDto {
  @ApiProperty({
    description: 'The text, as a client would send it (MAX_MESSAGE_LENGTH characters at most).',
  })
  declare message: string;

  @ApiPropertyOptional({
    description:
      'Shown as `from` on the frame (default "server"); the frame also has `"origin":"server"`, which no client can set.',
    minLength: 1,
    maxLength: NAME_MAX_LENGTH,
    pattern: NAME_PATTERN.source,
    example: 'Moderator',
  })
  @IsOptional()
  @IsString()
  @CharLength(1, () => NAME_MAX_LENGTH)
  @Matches(NAME_PATTERN, { message: 'from must not contain control or invisible characters' })
  from?: string;
}

/** POST /api/v1/rooms/:name/messages. */
export class ServerMessageDto extends ServerBroadcastDto {
  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'string', pattern: CONNECTION_ID_PATTERN.source },
    maxItems: MAX_EXCLUDED,
    description:
      'Connection ids (as presence lists anonymous members, or as your app learned them) that must not get the message live.',
    example: ['Qm7xZ2pL0aKd'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_EXCLUDED)
  @Matches(CONNECTION_ID_PATTERN, { each: true, message: 'each of exclude must be a connection id' })
  exclude?: string[];
}
