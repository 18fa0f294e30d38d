import {
  BadRequestException,
  Controller,
  Get,
  NotFoundException,
  Param,
  Query,
  ValidationPipe,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { AuthService } from '../auth/auth.service';
import { isRoomName, ROOM_NAME_PATTERN, ROOM_NAME_RULE } from '../rooms/room-name';
import { RoomsService } from '../rooms/rooms.service';
import { ListRoomsQuery, PAGE_LIMIT } from './list-rooms.query';
import { ErrorBody, RoomBody, RoomsPageBody } from './responses';

@ApiTags('rooms')
@Controller('rooms')
export class RoomsController {
  constructor(
    private readonly rooms: RoomsService,
    private readonly auth: AuthService,
  ) {}

  /** Public rooms with members on every instance, busiest first (ties by name); private rooms are never listed. */
  @Get()
  @ApiOperation({ summary: 'Public rooms with members, busiest first, a page at a time (private rooms are never listed)' })
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
    @Query(new ValidationPipe({ transform: true })) { limit, offset }: ListRoomsQuery,
  ): Promise<RoomsPageBody> {
    const census = await this.rooms.census();
    const rooms = census.rooms.filter((room) => !this.auth.isPrivate(room.name));
    const { connections } = census;
    return { rooms: rooms.slice(offset, offset + limit), total: rooms.length, limit, offset, connections };
  }

  @Get(':name')
  @ApiOperation({ summary: 'One room and its member count' })
  @ApiParam({
    name: 'name',
    description: ROOM_NAME_RULE,
    schema: { type: 'string', pattern: ROOM_NAME_PATTERN.source },
  })
  @ApiOkResponse({ type: RoomBody, description: 'The room has members.' })
  @ApiBadRequestResponse({
    type: ErrorBody,
    description: 'A name no room can have.',
    example: { statusCode: 400, message: `room must be ${ROOM_NAME_RULE}`, error: 'Bad Request' },
  })
  @ApiNotFoundResponse({
    type: ErrorBody,
    description: 'The room has no members, or is private (PRIVATE_ROOM_PREFIX): a private room is never shown.',
  })
  async get(@Param('name') name: string): Promise<RoomBody> {
    if (!isRoomName(name)) throw new BadRequestException(`room must be ${ROOM_NAME_RULE}`);
    // The same answer as for an empty room, so the reply does not tell whether it exists.
    if (this.auth.isPrivate(name)) throw new NotFoundException(`No room "${name}": it has no members`);
    const members = await this.rooms.membersOf(name);
    if (members === 0) throw new NotFoundException(`No room "${name}": it has no members`);
    return { name, members };
  }
}
