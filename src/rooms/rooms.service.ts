import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomBytes } from 'node:crypto';
import type { AppConfigService } from '../config/config.module';
import { broadcastFrame, type ErrorCode, roomMessageFrame } from '../gateway/frames';
import { Connection } from './connection';
import { OutboundText } from './outbound';

export type Outcome<T extends object = object> =
  ({ ok: true } & T) | { ok: false; code: Extract<ErrorCode, 'not_in_room' | 'too_many_rooms'> };

export interface RoomCount {
  name: string;
  members: number;
}

/**
 * Owns membership (which connections are in which rooms) and delivery. Two indexes kept
 * in step: members per room here, rooms per connection on the Connection. Maps and Sets
 * only, so `__proto__` is an ordinary room name.
 */
@Injectable()
export class RoomsService {
  private readonly members = new Map<string, Set<Connection>>();
  private readonly connections = new Set<Connection>();
  private readonly maxRoomsPerConnection: number;
  // Message ids: a per-process random prefix and a counter, unique without a syscall per message.
  private readonly idPrefix = randomBytes(6).toString('base64url');
  private lastId = 0;
  /** GET /rooms's sorted list, kept until membership changes. */
  private sorted: RoomCount[] | undefined;

  constructor(@Inject(ConfigService) config: AppConfigService) {
    this.maxRoomsPerConnection = config.get('maxRoomsPerConnection', { infer: true });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get roomCount(): number {
    return this.members.size;
  }

  connect(conn: Connection): void {
    this.connections.add(conn);
  }

  /** Leaves every room at once; safe to call more than once. */
  disconnect(conn: Connection): void {
    this.connections.delete(conn);
    for (const room of conn.rooms) this.removeMember(room, conn);
    conn.exitAll();
  }

  /** Idempotent; a repeat join makes the room the connection's current one again. */
  join(conn: Connection, room: string, name?: string): Outcome<{ members: number }> {
    // A frame handled after its connection closed must not make a member nobody will remove.
    if (!this.connections.has(conn)) return { ok: true, members: this.membersOf(room) };
    if (!conn.rooms.has(room) && conn.rooms.size >= this.maxRoomsPerConnection) {
      return { ok: false, code: 'too_many_rooms' };
    }
    if (name !== undefined) conn.name = name;
    conn.enter(room);
    let members = this.members.get(room);
    if (!members) this.members.set(room, (members = new Set()));
    if (!members.has(conn)) {
      members.add(conn);
      this.sorted = undefined;
    }
    return { ok: true, members: members.size };
  }

  leave(conn: Connection, room: string): Outcome<{ members: number }> {
    if (!conn.exit(room)) return { ok: false, code: 'not_in_room' };
    return { ok: true, members: this.removeMember(room, conn) };
  }

  /** To every other member of `room`, or of the sender's current room when none is named. */
  send(conn: Connection, message: string, room = conn.current): Outcome<{ room: string }> {
    if (room === undefined || !conn.rooms.has(room)) return { ok: false, code: 'not_in_room' };
    const members = this.members.get(room)!; // conn is in room, so the room has members
    const frame = roomMessageFrame(room, message, conn.from, this.nextId(), Date.now());
    this.deliver(members, new OutboundText(JSON.stringify(frame)), conn);
    return { ok: true, room };
  }

  /** To every open connection, the sender included. */
  broadcast(conn: Connection, message: string): void {
    const frame = broadcastFrame(message, conn.from, this.nextId(), Date.now());
    this.deliver(this.connections, new OutboundText(JSON.stringify(frame)));
  }

  membersOf(room: string): number {
    return this.members.get(room)?.size ?? 0;
  }

  /** Rooms with members, busiest first, then by name. */
  list(limit: number, offset: number): RoomCount[] {
    this.sorted ??= [...this.members]
      .map(([name, members]) => ({ name, members: members.size }))
      .sort((a, b) => b.members - a.members || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return this.sorted.slice(offset, offset + limit);
  }

  // Serialized once by the caller, framed at most once: every recipient gets the same bytes.
  private deliver(recipients: Set<Connection>, payload: OutboundText, except?: Connection): void {
    for (const member of recipients) {
      if (member === except) continue;
      // A peer that cannot take the frame is closing or was just dropped as slow:
      // take it out of its rooms now, not when its close event arrives.
      if (!member.send(payload)) this.disconnect(member);
    }
  }

  private removeMember(room: string, conn: Connection): number {
    const members = this.members.get(room);
    if (!members?.delete(conn)) return members?.size ?? 0;
    this.sorted = undefined;
    if (members.size === 0) this.members.delete(room);
    return members.size;
  }

  private nextId(): string {
    return `${this.idPrefix}-${(++this.lastId).toString(36)}`;
  }
}
