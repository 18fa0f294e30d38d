import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MembersPageBody } from '../http/responses';
import { ROOM_NAME_PATTERN } from '../rooms/room-name';
import { API_ERROR_CODES } from './api-error';

/** The bodies /api/v1 answers with, described for the OpenAPI document. */

export class BroadcastSentBody {
  @ApiProperty({ description: "The frame's `id`.", example: 'k3J9aQ-1f' })
  id: string;

  @ApiProperty({
    type: 'integer',
    description: "The frame's `ts` (ms since the epoch).",
    example: 1765000000000,
  })
  ts: number;
}

export class MessageSentBody extends BroadcastSentBody {
  @ApiProperty({ pattern: ROOM_NAME_PATTERN.source, example: 'room1' })
  room: string;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    description: "Its place in the room's log: the frame's `offset`.",
    example: 42,
  })
  offset: number;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'Members of the room on every instance when it was sent.',
    example: 3,
  })
  members: number;
}

export class HistoryBody {
  @ApiProperty({ pattern: ROOM_NAME_PATTERN.source, example: 'room1' })
  room: string;

  @ApiProperty({ description: "The room log's epoch: offsets count within it.", example: 'mJx2k9' })
  epoch: string;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'The newest offset in the log.', example: 42 })
  offset: number;

  @ApiProperty({
    type: 'array',
    items: { type: 'object' },
    description: 'Message frames as they were delivered (with `offset`), oldest first.',
  })
  messages: object[];

  @ApiProperty({ description: 'Older messages remain: ask again with `before` = the first offset here.' })
  more: boolean;
}

export class ApiMembersPageBody extends MembersPageBody {
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'Members in all, exact (0: nobody is in the room).',
    example: 2,
  })
  declare count: number;
}

export class DisconnectedBody {
  @ApiProperty({ description: "The user's `sub`.", example: 'u1' })
  user: string;

  @ApiProperty({ type: 'integer', example: 4003 })
  code: number;

  @ApiProperty({ example: 'disconnected' })
  reason: string;
}

export class RemovedBody {
  @ApiProperty({ pattern: ROOM_NAME_PATTERN.source, example: 'room1' })
  room: string;

  @ApiProperty({ description: "The user's `sub`.", example: 'u1' })
  user: string;
}

export class ApiErrorResponse {
  @ApiProperty({ type: 'integer', example: 401 })
  statusCode: number;

  @ApiProperty({ enum: API_ERROR_CODES, example: 'unauthorized' })
  code: string;

  @ApiProperty({ example: 'The API key is not valid' })
  message: string;

  @ApiPropertyOptional({ type: [String], description: 'With invalid_payload: each broken rule.' })
  details?: string[];
}
