import {
  BadRequestException,
  Controller,
  Get,
  NotFoundException,
  Param,
  Query,
  ServiceUnavailableException,
  ValidationPipe,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AuthService } from '../auth/auth.service';
import { PresenceService } from '../presence/presence.service';
import { isRoomName, ROOM_NAME_PATTERN, ROOM_NAME_RULE } from '../rooms/room-name';
import { RoomsService } from '../rooms/rooms.service';
import { PageQuery, PAGE_LIMIT } from './page.query';
import { ErrorBody, MembersPageBody, RoomBody, RoomsPageBody } from './responses';

const ROOM_NAME_PARAM = {
  name: 'name',
  description: ROOM_NAME_RULE,
  schema: { type: 'string', pattern: ROOM_NAME_PATTERN.source },
} as const;

/** The same answer for a private room as for an empty one, so a reply never tells whether a private room exists. */
const noRoom = (name: string) => new NotFoundException(`No room "${name}": it has no members`);

@ApiTags('rooms')
@Controller('rooms')
export class RoomsController {
  constructor(
    private readonly rooms: RoomsService,
    private readonly auth: AuthService,
    private readonly presence: PresenceService,
  ) {}

  /** Public rooms with members on every instance, busiest first (ties by name); private rooms are never listed. */
  @Get()
  @ApiOperation({
    summary: 'Public rooms with members, busiest first, a page at a time (private rooms are never listed)',
  })
  @ApiOkResponse({ type: RoomsPageBody, description: 'One page of rooms, and the totals.' })
  @ApiBadRequestResponse({
    type: ErrorBody,
    description: 'A `limit` or `offset` out of range, or not an integer.',
    example: {
      statusCode: 400,
      message: [`limit must not be greater than ${PAGE_LIMIT.max}`],
      error: 'Bad Request',
    },
  })
  async list(
    @Query(new ValidationPipe({ transform: true })) { limit, offset }: PageQuery,
  ): Promise<RoomsPageBody> {
    const census = await this.rooms.census();
    const rooms = census.rooms.filter((room) => !this.auth.isPrivate(room.name));
    const { connections } = census;
    return { rooms: rooms.slice(offset, offset + limit), total: rooms.length, limit, offset, connections };
  }

  @Get(':name')
  @ApiOperation({ summary: 'One room and its member count' })
  @ApiParam(ROOM_NAME_PARAM)
  @ApiOkResponse({ type: RoomBody, description: 'The room has members.' })
  @ApiBadRequestResponse({
    type: ErrorBody,
    description: 'A name no room can have.',
    example: { statusCode: 400, message: `room must be ${ROOM_NAME_RULE}`, error: 'Bad Request' },
  })
  @ApiNotFoundResponse({
    type: ErrorBody,
    description:
      'The room has no members, or is private (PRIVATE_ROOM_PREFIX): a private room is never shown.',
  })
  async get(@Param('name') name: string): Promise<RoomBody> {
    if (!isRoomName(name)) throw new BadRequestException(`room must be ${ROOM_NAME_RULE}`);
    if (this.auth.isPrivate(name)) throw noRoom(name);
    const members = await this.rooms.membersOf(name);
    if (members === 0) throw noRoom(name);
    return { name, members };
  }

  /** Who is in a public room, as presence snapshots list them: ordered by member key, a page at a time. */
  @Get(':name/members')
  @ApiOperation({
    summary: "A public room's members (presence), ordered by member key, a page at a time",
    description:
      'Each member once: a verified user however many connections it has (`user`), or one anonymous connection ' +
      '(`conn`). A member whose last connection went is still listed, with `connections: 0`, for ' +
      'PRESENCE_LEAVE_GRACE_MS. `count` is exact; `rev` is the revision the presence frames of the WebSocket carry.',
  })
  @ApiParam(ROOM_NAME_PARAM)
  @ApiOkResponse({ type: MembersPageBody, description: 'One page of members, and their count.' })
  @ApiBadRequestResponse({
    type: ErrorBody,
    description: 'A name no room can have, or a `limit` or `offset` out of range, or not an integer.',
    example: { statusCode: 400, message: `room must be ${ROOM_NAME_RULE}`, error: 'Bad Request' },
  })
  @ApiNotFoundResponse({
    type: ErrorBody,
    description:
      'The room has no members, or is private (PRIVATE_ROOM_PREFIX): a private room is never shown.',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorBody,
    description: 'In cluster mode, Redis did not answer the read in time; try again shortly.',
  })
  async members(
    @Param('name') name: string,
    @Query(new ValidationPipe({ transform: true })) { limit, offset }: PageQuery,
  ): Promise<MembersPageBody> {
    if (!isRoomName(name)) throw new BadRequestException(`room must be ${ROOM_NAME_RULE}`);
    if (this.auth.isPrivate(name)) throw noRoom(name);
    const page = await this.presence.page(name, offset, limit);
    if (page === 'unavailable')
      throw new ServiceUnavailableException('The member list cannot be read right now');
    const { rev, count, members } = page;
    if (count === 0) throw noRoom(name);
    return { name, count, rev, members, limit, offset };
  }
}
