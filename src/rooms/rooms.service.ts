import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomBytes } from 'node:crypto';
import type { AppConfigService } from '../config/config.module';
import { broadcastJson, type ErrorCode, roomMessageJson } from '../gateway/frames';
import type { FastHistogram } from '../metrics/fast-histogram';
import { MetricsService } from '../metrics/metrics.service';
import type { Tally } from '../metrics/tally';
import { Connection } from './connection';
import {
  byBusiestThenName,
  type Census,
  type LocalRooms,
  type MaybeAsync,
  type RoomCount,
  ROOMS_ENGINE,
  type RoomsEngine,
} from './engine';
import { OutboundText } from './outbound';

/**
 * A message to relay. `messageJson`, when present, is `message` as JSON: a getter on the
 * gateway's DTOs, read only once the message is known to go out.
 */
export interface MessageText {
  readonly message: string;
  readonly messageJson?: string;
}

const jsonOf = (body: MessageText) => body.messageJson ?? JSON.stringify(body.message);

export type Outcome<T extends object = object> =
  ({ ok: true } & T) | { ok: false; code: Extract<ErrorCode, 'not_in_room' | 'too_many_rooms'> };

/**
 * Owns this instance's membership (which connections are in which rooms) and delivery to
 * them. Two indexes kept in step: members per room here, rooms per connection on the
 * Connection. Maps and Sets only, so `__proto__` is an ordinary room name. What crosses
 * instances (messages, cluster-wide counts) goes through the RoomsEngine.
 */
@Injectable()
export class RoomsService implements LocalRooms {
  private readonly members = new Map<string, Set<Connection>>();
  private readonly connections = new Set<Connection>();
  private readonly maxRoomsPerConnection: number;
  // Message ids: a per-process random prefix and a counter, unique without a syscall per message.
  private readonly idPrefix = randomBytes(6).toString('base64url');
  private lastId = 0;
  /** GET /rooms's sorted list of local rooms, kept until membership changes. */
  private sorted: RoomCount[] | undefined;
  private readonly messageDeliveries: Tally;
  private readonly broadcastDeliveries: Tally;
  private readonly fanout: FastHistogram;

  constructor(
    @Inject(ConfigService) config: AppConfigService,
    @Inject(ROOMS_ENGINE) private readonly engine: RoomsEngine,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {
    this.maxRoomsPerConnection = config.get('maxRoomsPerConnection', { infer: true });
    this.messageDeliveries = metrics.deliveries.message;
    this.broadcastDeliveries = metrics.deliveries.broadcast;
    this.fanout = metrics.fanout;
    metrics.readSizesFrom({ rooms: () => this.members.size, connections: () => this.connections.size });
    engine.attach(this);
  }

  connect(conn: Connection): void {
    this.connections.add(conn);
    this.engine.connectionsChanged();
  }

  /** Leaves every room at once; safe to call more than once. */
  disconnect(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    this.metrics.leaves.value += conn.rooms.length;
    for (const room of conn.rooms) this.engine.left(room, this.removeMember(room, conn));
    conn.exitAll();
    this.engine.connectionsChanged();
  }

  /**
   * Idempotent; a repeat join makes the room the connection's current one again. `members`
   * counts every instance's members; it is ready once the room's messages reach this one.
   */
  join(conn: Connection, room: string, name?: string): MaybeAsync<Outcome<{ members: number }>> {
    // A frame handled after its connection closed must not make a member nobody will remove.
    if (!this.connections.has(conn)) return withMembers(this.engine.members(room));
    if (!conn.holds(room) && conn.rooms.length >= this.maxRoomsPerConnection) {
      return { ok: false, code: 'too_many_rooms' };
    }
    if (name !== undefined) conn.name = name;
    conn.enter(room);
    let members = this.members.get(room);
    if (!members) this.members.set(room, (members = new Set()));
    if (!members.has(conn)) {
      members.add(conn);
      this.sorted = undefined;
      this.metrics.joins.value++;
    }
    return withMembers(this.engine.joined(room, members.size));
  }

  leave(conn: Connection, room: string): MaybeAsync<Outcome<{ members: number }>> {
    if (!conn.exit(room)) return { ok: false, code: 'not_in_room' };
    this.metrics.leaves.value++;
    return withMembers(this.engine.left(room, this.removeMember(room, conn)));
  }

  /** To every other member of `room`, or of the sender's current room when none is named. */
  send(conn: Connection, body: MessageText, room = conn.current): Outcome<{ room: string }> {
    if (room === undefined || !conn.holds(room)) return { ok: false, code: 'not_in_room' };
    const members = this.members.get(room)!; // conn is in room, so the room has members
    const text = new OutboundText(roomMessageJson(room, jsonOf(body), conn.senderJson, this.nextId(), Date.now()));
    this.deliver(members, text, this.messageDeliveries, conn);
    this.engine.publish(room, text);
    return { ok: true, room };
  }

  /** To every open connection, the sender included. */
  broadcast(conn: Connection, body: MessageText): void {
    const text = new OutboundText(broadcastJson(jsonOf(body), conn.senderJson, this.nextId(), Date.now()));
    this.deliver(this.connections, text, this.broadcastDeliveries);
    this.engine.broadcast(text);
  }

  /** Members of `room` on every instance. */
  membersOf(room: string): MaybeAsync<number> {
    return this.engine.members(room);
  }

  /** Rooms with members on every instance, busiest first, then by name; and open connections. */
  census(): MaybeAsync<Census> {
    return this.engine.census();
  }

  deliverToRoom(room: string, text: OutboundText): void {
    const members = this.members.get(room);
    if (members) this.deliver(members, text, this.messageDeliveries);
  }

  deliverToAll(text: OutboundText): void {
    this.deliver(this.connections, text, this.broadcastDeliveries);
  }

  localMembers(room: string): number {
    return this.members.get(room)?.size ?? 0;
  }

  localCensus(): Census {
    this.sorted ??= [...this.members]
      .map(([name, members]) => ({ name, members: members.size }))
      .sort(byBusiestThenName);
    return { rooms: this.sorted, connections: this.connections.size };
  }

  // Serialized once by the caller, framed at most once: every recipient gets the same bytes.
  // Deliveries are summed in a local and added to the metric once per fan-out.
  private deliver(
    recipients: Set<Connection>,
    payload: OutboundText,
    deliveries: Tally,
    except?: Connection,
  ): void {
    const started = performance.now();
    let delivered = 0;
    for (const member of recipients) {
      if (member === except) continue;
      // A peer that cannot take the frame is closing or was just dropped as slow:
      // take it out of its rooms now, not when its close event arrives.
      if (member.send(payload)) delivered++;
      else this.disconnect(member);
    }
    deliveries.value += delivered;
    this.fanout.observe((performance.now() - started) / 1000);
  }

  /** The room's local member count afterwards. */
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

function withMembers(members: MaybeAsync<number>): MaybeAsync<Outcome<{ members: number }>> {
  return typeof members === 'number'
    ? { ok: true, members }
    : members.then((n) => ({ ok: true as const, members: n }));
}
