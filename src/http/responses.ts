import { ApiProperty } from '@nestjs/swagger';
import type { RoomCount } from '../rooms/engine';
import { ROOM_NAME_PATTERN, ROOM_NAME_RULE } from '../rooms/room-name';
import { PAGE_LIMIT, PAGE_OFFSET } from './list-rooms.query';

/** The bodies the HTTP API answers with, described for the OpenAPI document. */

export class RoomBody implements RoomCount {
  @ApiProperty({ description: ROOM_NAME_RULE, pattern: ROOM_NAME_PATTERN.source, example: 'room1' })
  name: string;

  @ApiProperty({ type: 'integer', description: 'Members on every instance.', minimum: 1, example: 2 })
  members: number;
}

export class RoomsPageBody {
  @ApiProperty({ type: [RoomBody], description: 'Busiest first, then by name.' })
  rooms: RoomBody[];

  @ApiProperty({
    type: 'integer',
    description: 'Rooms with members in all, for paging.',
    minimum: 0,
    example: 1,
  })
  total: number;

  @ApiProperty({
    type: 'integer',
    minimum: PAGE_LIMIT.min,
    maximum: PAGE_LIMIT.max,
    example: PAGE_LIMIT.default,
  })
  limit: number;

  @ApiProperty({ type: 'integer', minimum: PAGE_OFFSET.min, example: PAGE_OFFSET.default })
  offset: number;

  @ApiProperty({ type: 'integer', description: 'Open WebSocket connections.', minimum: 0, example: 5 })
  connections: number;
}

/** Nest's JSON error body. */
export class ErrorBody {
  @ApiProperty({ type: 'integer', example: 404 })
  statusCode: number;

  @ApiProperty({
    description: 'What is wrong: one sentence, or one per broken rule of the query.',
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: 'No room "room1": it has no members',
  })
  message: string | string[];

  @ApiProperty({ description: 'The status text.', example: 'Not Found' })
  error: string;
}
