import { UseFilters, UsePipes } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import { AuthService } from '../auth/auth.service';
import { MetricsService } from '../metrics/metrics.service';
import { Connection } from '../rooms/connection';
import { OutboundText } from '../rooms/outbound';
import type { MaybeAsync } from '../rooms/engine';
import { PresenceService } from '../presence/presence.service';
import { RoomsService } from '../rooms/rooms.service';
import { AuthDto } from './dto/auth.dto';
import { HistoryDto } from './dto/history.dto';
import { JoinDto } from './dto/join.dto';
import { LeaveDto } from './dto/leave.dto';
import { PresenceDto } from './dto/presence.dto';
import { BroadcastDto, EchoDto, MessageDto } from './dto/text.dto';
import { ackFrame, echoFrame, errorFrame, historyJson, leftFrame, type ReplyFrame } from './frames';
import { sendError, WsErrorFilter } from './ws-error.filter';
import { WsValidationPipe } from './ws-validation.pipe';

/**
 * The protocol's events. Each handler gets a validated DTO, asks RoomsService, and returns
 * the reply frame (or nothing). ChatWsAdapter applies the path from WS_PATH, decodes frames
 * and sends what a handler returns.
 */
@WebSocketGateway()
@UsePipes(WsValidationPipe)
@UseFilters(WsErrorFilter)
export class ChatGateway implements OnGatewayConnection<Connection>, OnGatewayDisconnect<Connection> {
  constructor(
    private readonly rooms: RoomsService,
    private readonly auth: AuthService,
    private readonly metrics: MetricsService,
    private readonly presence: PresenceService,
  ) {}

  handleConnection(conn: Connection, req: IncomingMessage): void {
    this.rooms.connect(conn);
    this.auth.opened(conn, req);
  }

  handleDisconnect(conn: Connection): void {
    this.auth.closed(conn);
    this.rooms.disconnect(conn);
  }

  /** A first token, or a fresh one for the same user; a bad one closes the connection. */
  @SubscribeMessage('auth')
  authenticate(
    @ConnectedSocket() conn: Connection,
    @MessageBody() dto: AuthDto,
  ): Promise<ReplyFrame | undefined> {
    return this.auth.authenticate(conn, dto.token);
  }

  /**
   * RoomsService sends `joined` itself (and, with `since`, the missed messages), at the moment
   * the connection starts getting the room's messages. In cluster mode that waits until the
   * room's messages from every instance reach this one.
   */
  @SubscribeMessage('join')
  join(@ConnectedSocket() conn: Connection, @MessageBody() dto: JoinDto): MaybeAsync<ReplyFrame | undefined> {
    if (!this.auth.mayJoin(conn, dto.room)) {
      return errorFrame('forbidden', {
        event: 'join',
        message: 'Your token does not grant this private room',
      });
    }
    return reply(this.rooms.join(conn, dto.room, dto), (result) =>
      result && !result.ok ? errorFrame(result.code, { event: 'join' }) : undefined,
    );
  }

  @SubscribeMessage('leave')
  leave(@ConnectedSocket() conn: Connection, @MessageBody() dto: LeaveDto): MaybeAsync<ReplyFrame> {
    return reply(this.rooms.leave(conn, dto.room), (result) =>
      result.ok ? leftFrame(dto.room, result.members) : errorFrame(result.code, { event: 'leave' }),
    );
  }

  /**
   * The sender does not get its own message back; with a `cid` it gets an `ack` once the
   * message has its offset. In cluster mode that takes a Redis round trip, which the
   * connection's next frames do not wait for (nor, with a hung Redis, its pongs): the ack, or
   * the error, is sent when it comes.
   */
  @SubscribeMessage('message')
  message(@ConnectedSocket() conn: Connection, @MessageBody() dto: MessageDto): ReplyFrame | undefined {
    const sent = this.rooms.send(conn, dto, dto.room, dto.cid);
    if (!(sent instanceof Promise)) return outcomeFrame(sent, dto.cid);
    void sent.then((outcome) => {
      const frame = outcomeFrame(outcome, dto.cid);
      if (frame?.type === 'error') sendError(conn, frame, this.metrics);
      else if (frame) conn.sendJson(frame);
    });
  }

  /** The newest messages of a room the connection is in, or those before `before`. */
  @SubscribeMessage('history')
  history(
    @ConnectedSocket() conn: Connection,
    @MessageBody() dto: HistoryDto,
  ): MaybeAsync<ReplyFrame | OutboundText> {
    return reply(
      this.rooms.history(conn, dto.room, dto.before, dto.limit ?? HISTORY_DEFAULT_LIMIT),
      (result) =>
        result.ok
          ? new OutboundText(historyJson(dto.room, result.page))
          : errorFrame(result.code, { event: 'history' }),
    );
  }

  /** A snapshot of the room's members, within PRESENCE_WINDOW_MS; only a member may ask. */
  @SubscribeMessage('presence')
  presenceOf(@ConnectedSocket() conn: Connection, @MessageBody() dto: PresenceDto): ReplyFrame | undefined {
    if (!this.rooms.isMember(conn, dto.room)) return errorFrame('not_in_room', { event: 'presence' });
    this.presence.request(conn, dto.room);
  }

  @SubscribeMessage('broadcast')
  broadcast(@ConnectedSocket() conn: Connection, @MessageBody() dto: BroadcastDto): void {
    this.rooms.broadcast(conn, dto);
  }

  @SubscribeMessage('echo')
  echo(@MessageBody() dto: EchoDto): ReplyFrame {
    return echoFrame(dto.message);
  }
}

const HISTORY_DEFAULT_LIMIT = 50;

/** What the sender of a message is told: an error, its ack (with a cid), or nothing. */
function outcomeFrame(
  outcome: Awaited<ReturnType<RoomsService['send']>>,
  cid: string | undefined,
): ReplyFrame | undefined {
  if (!outcome.ok) return errorFrame(outcome.code, { event: 'message', cid });
  const { published } = outcome;
  if (published === 'unavailable') return errorFrame('unavailable', { event: 'message', cid });
  if (cid === undefined || published === 'local') return undefined;
  return ackFrame(cid, outcome.room, published, published.duplicate);
}

// Synchronous in memory, so a one-instance join or message costs no promise.
function reply<T, F>(outcome: MaybeAsync<T>, toFrame: (outcome: T) => F): MaybeAsync<F> {
  return outcome instanceof Promise ? outcome.then(toFrame) : toFrame(outcome);
}
