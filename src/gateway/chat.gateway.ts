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
import { Connection } from '../rooms/connection';
import type { MaybeAsync } from '../rooms/engine';
import { RoomsService } from '../rooms/rooms.service';
import { AuthDto } from './dto/auth.dto';
import { JoinDto } from './dto/join.dto';
import { LeaveDto } from './dto/leave.dto';
import { BroadcastDto, EchoDto, MessageDto } from './dto/text.dto';
import { echoFrame, errorFrame, joinedFrame, leftFrame, type ReplyFrame } from './frames';
import { WsErrorFilter } from './ws-error.filter';
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
  authenticate(@ConnectedSocket() conn: Connection, @MessageBody() dto: AuthDto): Promise<ReplyFrame | undefined> {
    return this.auth.authenticate(conn, dto.token);
  }

  /** In cluster mode the reply waits until the room's messages from every instance reach this one. */
  @SubscribeMessage('join')
  join(@ConnectedSocket() conn: Connection, @MessageBody() dto: JoinDto): MaybeAsync<ReplyFrame> {
    if (!this.auth.mayJoin(conn, dto.room)) {
      return errorFrame('forbidden', { event: 'join', message: 'Your token does not grant this private room' });
    }
    return reply(this.rooms.join(conn, dto.room, dto.name), (result) =>
      result.ok ? joinedFrame(dto.room, result.members) : errorFrame(result.code, { event: 'join' }),
    );
  }

  @SubscribeMessage('leave')
  leave(@ConnectedSocket() conn: Connection, @MessageBody() dto: LeaveDto): MaybeAsync<ReplyFrame> {
    return reply(this.rooms.leave(conn, dto.room), (result) =>
      result.ok ? leftFrame(dto.room, result.members) : errorFrame(result.code, { event: 'leave' }),
    );
  }

  /** No reply on success: the sender does not get its own message back. */
  @SubscribeMessage('message')
  message(@ConnectedSocket() conn: Connection, @MessageBody() dto: MessageDto): ReplyFrame | undefined {
    const result = this.rooms.send(conn, dto, dto.room);
    return result.ok ? undefined : errorFrame(result.code, { event: 'message' });
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

// Synchronous in memory, so a one-instance join costs no promise.
function reply<T>(outcome: MaybeAsync<T>, toFrame: (outcome: T) => ReplyFrame): MaybeAsync<ReplyFrame> {
  return outcome instanceof Promise ? outcome.then(toFrame) : toFrame(outcome);
}
