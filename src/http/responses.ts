import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { Member } from '../presence/presence-store';
import type { RoomCount } from '../rooms/engine';
import { ROOM_NAME_PATTERN, ROOM_NAME_RULE } from '../rooms/room-name';
import { PAGE_LIMIT, PAGE_OFFSET } from './page.query';

/** The bodies the HTTP API answers with, described for the OpenAPI document. */

export class RoomBody implements RoomCount {
  @ApiProperty({ description: ROOM_NAME_RULE, pattern: ROOM_NAME_PATTERN.source, example: 'room1' })
  name: string;

  @ApiProperty({ type: 'integer', description: 'Members on every instance.', minimum: 1, example: 2 })
  members: number;
}

/** The paging a list answers with: what was asked, as applied. */
class PageBody {
  @ApiProperty({
    type: 'integer',
    minimum: PAGE_LIMIT.min,
    maximum: PAGE_LIMIT.max,
    example: PAGE_LIMIT.default,
  })
  limit: number;

  @ApiProperty({ type: 'integer', minimum: PAGE_OFFSET.min, example: PAGE_OFFSET.default })
  offset: number;
}

export class RoomsPageBody extends PageBody {
  @ApiProperty({ type: [RoomBody], description: 'Busiest first, then by name.' })
  rooms: RoomBody[];

  @ApiProperty({
    type: 'integer',
    description: 'Rooms with members in all, for paging.',
    minimum: 0,
    example: 1,
  })
  total: number;

  @ApiProperty({ type: 'integer', description: 'Open WebSocket connections.', minimum: 0, example: 5 })
  connections: number;
}

/** One member of a room, as presence snapshots list it: a verified user, or one anonymous connection. */
export class MemberBody implements Member {
  @ApiProperty({
    description:
      "The token's `name` (else its `sub`) for a user; the name given in `join` (else the connection id) for an anonymous connection. The one it had when it joined the room.",
    example: 'alice',
  })
  name: string;

  @ApiPropertyOptional({
    description:
      "A verified user: its token's `sub`, however many connections it has. A member has `user` or `conn`, never both; key members by `user` when present, else `conn`.",
    example: 'u1',
  })
  user?: string;

  @ApiPropertyOptional({
    description:
      'An anonymous connection, a member of its own: its connection id. Present only when `user` is not.',
    example: 'Qm7xZ2pL0aKd',
  })
  conn?: string;

  @ApiProperty({
    type: 'integer',
    description:
      'Its connections in the room, on every instance; 0 while it is away within PRESENCE_LEAVE_GRACE_MS (it is still a member then).',
    minimum: 0,
    example: 2,
  })
  connections: number;
}

export class MembersPageBody extends PageBody {
  @ApiProperty({ description: ROOM_NAME_RULE, pattern: ROOM_NAME_PATTERN.source, example: 'room1' })
  name: string;

  @ApiProperty({ type: 'integer', description: 'Members in all, exact, for paging.', minimum: 1, example: 2 })
  count: number;

  @ApiProperty({
    type: 'integer',
    description: "The room's presence revision read: it goes up by one with each join or leave of a member.",
    minimum: 0,
    example: 7,
  })
  rev: number;

  @ApiProperty({
    type: [MemberBody],
    description: 'Ordered by member key (`u:<user>` or `c:<conn>`, compared by their UTF-8 bytes).',
  })
  members: MemberBody[];
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
