import { Body, Controller, Get, Header, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiParam } from '@nestjs/swagger';
import { historyJson } from '../gateway/frames';
import { RoomsService } from '../rooms/rooms.service';
import { unavailable } from './api-error';
import { ROOM_PARAM, roomParam } from './api-params';
import { BroadcastSentBody, HistoryBody, MessageSentBody } from './api-responses';
import { BackendApi, Route } from './api-route';
import { HistoryQuery } from './dto/api-queries';
import { ServerBroadcastDto, ServerMessageDto } from './dto/server-message.dto';

const SERVER = 'server';

/** Messages from the app's backend, and room history for it. */
@BackendApi()
@Controller('api/v1')
export class ApiMessagesController {
  constructor(private readonly rooms: RoomsService) {}

  @Post('rooms/:name/messages')
  @HttpCode(202)
  @Route('publish', 'post')
  @ApiOperation({
    summary: "Sends a message to a room's members, on every instance",
    description:
      'Like a member\'s message: it gets the next offset and goes into the room\'s history. Its frame has `"origin":"server"` and `from` (default "server"). Private rooms too; a room without members keeps it in its history.',
  })
  @ApiParam(ROOM_PARAM)
  @ApiAcceptedResponse({
    type: MessageSentBody,
    description: 'Delivered to the members (but for `exclude`).',
  })
  async publish(@Param('name') name: string, @Body() body: ServerMessageDto): Promise<MessageSentBody> {
    const room = roomParam(name);
    const exclude = body.exclude?.length ? new Set(body.exclude) : undefined;
    const sent = await this.rooms.sendFromServer(
      room,
      { message: body.message, from: body.from ?? SERVER },
      exclude,
    );
    if (sent === 'unavailable') throw unavailable('The message was not sent');
    return { ...sent, room, members: await this.rooms.membersOf(room) };
  }

  @Post('broadcast')
  @HttpCode(202)
  @Route('publish', 'post')
  @ApiOperation({
    summary: 'Sends a broadcast to every connection, on every instance',
    description: 'A `broadcast` frame with `"origin":"server"` and `from` (default "server").',
  })
  @ApiAcceptedResponse({ type: BroadcastSentBody, description: 'Delivered to every connection.' })
  broadcast(@Body() body: ServerBroadcastDto): BroadcastSentBody {
    const sent = this.rooms.broadcastFromServer({ message: body.message, from: body.from ?? SERVER });
    if (sent === 'unavailable') throw unavailable('The broadcast was not sent');
    return sent;
  }

  @Get('rooms/:name/messages')
  @Route('read', 'read')
  @Header('Content-Type', 'application/json; charset=utf-8')
  @ApiOperation({
    summary: "A page of a room's history, newest last (as the WebSocket's `history`)",
    description:
      'Private rooms too. Page back with `before` = the first offset of the page while `more` is true.',
  })
  @ApiParam(ROOM_PARAM)
  @ApiOkResponse({ type: HistoryBody, description: 'Up to `limit` messages.' })
  async history(@Param('name') name: string, @Query() { before, limit }: HistoryQuery): Promise<string> {
    const room = roomParam(name);
    const page = await this.rooms.historyOf(room, before, limit);
    if (page === 'unavailable') throw unavailable('The history cannot be read');
    // The frames are JSON already: they are sent as they are kept, not parsed and encoded again.
    return historyJson(room, page).replace('{"type":"history",', '{');
  }
}
