import { Body, Controller, Get, Header, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiParam } from '@nestjs/swagger';
import type { Request } from 'express';
import { createHash } from 'node:crypto';
import { historyBodyJson } from '../gateway/frames';
import { RoomsService } from '../rooms/rooms.service';
import { unavailable } from './api-error';
import { keyOf } from './api-key.guard';
import { idempotencyOf } from './idempotency/idempotency.interceptor';
import { ROOM_PARAM, roomParam } from './api-params';
import { BroadcastSentBody, HistoryBody, MessageSentBody } from './api-responses';
import { BackendApi, Route } from './api-route';
import { HistoryQuery } from './dto/api-queries';
import { ServerBroadcastDto, ServerMessageDto } from './dto/server-message.dto';

const SERVER = 'server';

/**
 * With an Idempotency-Key, the message carries it (with the request it goes with) into the
 * room's log as a `cid` as well: if Redis ran an append late whose answer never came (a 503,
 * so the key was freed), the same request sent again is still delivered once. Each API key has
 * a sender of its own, which no user can be: a token's `sub` holds no control character.
 */
function logCid(req: Request): { id: string; sender: string } | undefined {
  const idempotency = idempotencyOf(req);
  if (!idempotency) return undefined;
  const id = createHash('sha256')
    .update(`${idempotency.key}\n${idempotency.fingerprint}`)
    .digest('base64url');
  return { id, sender: `\napi:${keyOf(req).id}` };
}

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
  async publish(
    @Param('name') name: string,
    @Body() body: ServerMessageDto,
    @Req() req: Request,
  ): Promise<MessageSentBody> {
    const room = roomParam(name);
    const exclude = body.exclude?.length ? new Set(body.exclude) : undefined;
    const sent = await this.rooms.sendFromServer(
      room,
      { message: body.message, from: body.from ?? SERVER },
      exclude,
      logCid(req),
    );
    if (sent === 'unavailable') throw unavailable('The message was not sent');
    // It went out, so this answers 202 whatever comes of the count: should the cluster's not be
    // read just now, it is this instance's.
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
  async broadcast(@Body() body: ServerBroadcastDto): Promise<BroadcastSentBody> {
    const sent = await this.rooms.broadcastFromServer({ message: body.message, from: body.from ?? SERVER });
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
    return historyBodyJson(room, page);
  }
}
