import { Body, Controller, Delete, Get, HttpCode, Param, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOkResponse, ApiOperation, ApiParam } from '@nestjs/swagger';
import { RoomsPageBody } from '../http/responses';
import { PageQuery } from '../http/page.query';
import { RoomsService } from '../rooms/rooms.service';
import { unavailable } from './api-error';
import { ROOM_PARAM, roomParam, SUB_PARAM, subParam } from './api-params';
import { ApiMembersPageBody, RemovedBody } from './api-responses';
import { BackendApi, Route } from './api-route';
import { RoomsQuery } from './dto/api-queries';
import { RemoveDto } from './dto/control.dto';

/** Rooms and their members, private rooms included, for the app's backend. */
@BackendApi()
@Controller('api/v1/rooms')
export class ApiRoomsController {
  constructor(private readonly rooms: RoomsService) {}

  @Get()
  @Route('read', 'read')
  @ApiOperation({ summary: 'Rooms with members on every instance, busiest first, private rooms included' })
  @ApiOkResponse({ type: RoomsPageBody, description: 'One page of rooms, and the totals.' })
  async list(@Query() { prefix, limit, offset }: RoomsQuery): Promise<RoomsPageBody> {
    // The backend acts on what it reads: one instance's share is not offered as the whole.
    const census = await this.rooms.strictCensus();
    if (census === 'unavailable') throw unavailable('The rooms cannot be listed');
    const { rooms, connections } = census;
    const matching = prefix === undefined ? rooms : rooms.filter((room) => room.name.startsWith(prefix));
    return {
      rooms: matching.slice(offset, offset + limit),
      total: matching.length,
      limit,
      offset,
      connections,
    };
  }

  @Get(':name/members')
  @Route('read', 'read')
  @ApiOperation({
    summary: "A room's members (presence), ordered by member key, private rooms included",
    description: 'As GET /rooms/:name/members, but for any room; a room without members has `count` 0.',
  })
  @ApiParam(ROOM_PARAM)
  @ApiOkResponse({ type: ApiMembersPageBody, description: 'One page of members, and their count.' })
  async members(
    @Param('name') name: string,
    @Query() { limit, offset }: PageQuery,
  ): Promise<ApiMembersPageBody> {
    const room = roomParam(name);
    const page = await this.rooms.strictPresence(room, offset, limit);
    if (page === 'unavailable') throw unavailable('The member list cannot be read');
    return { name: room, count: page.count, rev: page.rev, members: page.members, limit, offset };
  }

  @Delete(':name/members/:sub')
  @HttpCode(202)
  @Route('control', 'write')
  @ApiOperation({
    summary: 'Takes a user out of a room, on every instance',
    description:
      'Each of its connections in the room gets `{"type":"left","room":...,"reason":"removed"}` (with `detail`: the `reason` given). It may join again if it is allowed to: to keep it out of a private room, stop granting it in its tokens.',
  })
  @ApiParam(ROOM_PARAM)
  @ApiParam(SUB_PARAM)
  @ApiBody({ type: RemoveDto, required: false })
  @ApiAcceptedResponse({ type: RemovedBody, description: 'Done on every instance it has connections on.' })
  async remove(
    @Param('name') name: string,
    @Param('sub') sub: string,
    @Body() { reason }: RemoveDto,
  ): Promise<RemovedBody> {
    const room = roomParam(name);
    const user = subParam(sub);
    const done = await this.rooms.control({ kind: 'remove', room, user, detail: reason });
    if (done === 'unavailable') throw unavailable('Nobody was removed');
    return { room, user };
  }
}
