import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomBytes } from 'node:crypto';
import type { AppConfigService } from '../config/config.module';
import { endAuth } from '../auth/auth-state';
import {
  broadcastJson,
  type ErrorCode,
  joinedFrame,
  removedFrame,
  resetJson,
  roomMessageHead,
  serverSenderJson,
} from '../gateway/frames';
import type { Draft, Page, Position, Recovery } from '../history/history-store';
import type { FastHistogram } from '../metrics/fast-histogram';
import { MetricsService } from '../metrics/metrics.service';
import type { Tally } from '../metrics/tally';
import { PresenceService } from '../presence/presence.service';
import { WebhookService } from '../webhooks/webhook.service';
import type { MemberHere, MemberPage, PresenceChange } from '../presence/presence-store';
import { Connection } from './connection';
import {
  byBusiestThenName,
  type Census,
  type Control,
  type Except,
  isExclusion,
  type LocalRooms,
  type MaybeAsync,
  type Published,
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
  | ({ ok: true } & T)
  | { ok: false; code: Extract<ErrorCode, 'not_in_room' | 'too_many_rooms' | 'unavailable'> };

/**
 * Owns this instance's membership (which connections are in which rooms) and delivery to
 * them. Two indexes kept in step: members per room here, rooms per connection on the
 * Connection. Maps and Sets only, so `__proto__` is an ordinary room name. What crosses
 * instances (messages, cluster-wide counts) goes through the RoomsEngine.
 */
@Injectable()
export class RoomsService implements LocalRooms {
  private readonly members = new Map<string, Set<Connection>>();
  /** Per room, connections whose join waits on the cluster: counted as members, not yet delivered to. */
  private readonly joining = new Map<string, number>();
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
    @Inject(PresenceService) private readonly presence: PresenceService,
    @Inject(WebhookService) private readonly webhooks: WebhookService,
  ) {
    this.maxRoomsPerConnection = config.get('maxRoomsPerConnection', { infer: true });
    this.messageDeliveries = metrics.deliveries.message;
    this.broadcastDeliveries = metrics.deliveries.broadcast;
    this.fanout = metrics.fanout;
    metrics.readSizesFrom({ rooms: () => this.members.size, connections: () => this.connections.size });
    engine.attach(this);
    presence.readFrom((room, offset, limit) => engine.presence(room, offset, limit));
  }

  connect(conn: Connection): void {
    this.connections.add(conn);
    this.engine.connectionsChanged();
  }

  /** Leaves every room at once; safe to call more than once. */
  disconnect(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    this.metrics.leaves.value += conn.rooms.length;
    const why = conn.closedFor === 'disconnected' ? 'disconnected' : 'closed';
    for (const room of conn.rooms) {
      this.engine.left(room, this.removeMember(room, conn), this.presence.leaving(conn, room, why));
    }
    conn.exitAll();
    this.presence.closed(conn);
    this.engine.connectionsChanged();
  }

  /**
   * A repeat join makes the room the connection's current one again and changes nothing
   * else. Otherwise the connection is counted at once and becomes a member when the engine
   * says the room's messages reach it (see RoomsEngine.enter): `joined` is sent to it then,
   * with the room's position, and with `since` the missed messages right after, so that
   * nothing reaches it before them. With `presence` true it follows the room's presence
   * from then on (false, on a repeat join: it stops). Resolves undefined once sent.
   */
  join(
    conn: Connection,
    room: string,
    { name, since, presence }: { name?: string; since?: Position; presence?: boolean } = {},
  ): MaybeAsync<Outcome | undefined> {
    // A frame handled after its connection closed must not make a member nobody will remove.
    if (!this.connections.has(conn)) return { ok: false, code: 'not_in_room' };
    if (!conn.holds(room) && conn.rooms.length >= this.maxRoomsPerConnection) {
      return { ok: false, code: 'too_many_rooms' };
    }
    if (name !== undefined) conn.name = name;
    const repeat = conn.holds(room);
    conn.enter(room);
    if (repeat) {
      return then(this.engine.members(room), (members) => this.rejoined(conn, room, members, presence));
    }
    this.joining.set(room, (this.joining.get(room) ?? 0) + 1);
    const member = this.presence.entering(conn, room);
    return then(this.engine.joined(room, this.localMembers(room), member), (members) =>
      this.engine.enter(room, since, (at) => this.admit(conn, room, members, at, presence === true)),
    );
  }

  /** `removed`: the app's backend took it out, so its member leaves without a grace. */
  leave(conn: Connection, room: string, removed = false): MaybeAsync<Outcome<{ members: number }>> {
    if (!conn.exit(room)) return { ok: false, code: 'not_in_room' };
    this.metrics.leaves.value++;
    const localMembers = this.removeMember(room, conn);
    const why = removed ? 'removed' : 'left';
    return withMembers(this.engine.left(room, localMembers, this.presence.leaving(conn, room, why)));
  }

  /**
   * To every other member of `room`, or of the sender's current room when none is named,
   * once the room's log gives it an offset. What the log answered comes back, for the ack.
   */
  send(
    conn: Connection,
    body: MessageText,
    room = conn.current,
    cid?: string,
  ): MaybeAsync<Outcome<{ room: string; published: Published }>> {
    if (room === undefined || !conn.holds(room)) return { ok: false, code: 'not_in_room' };
    const id = this.nextId();
    const ts = Date.now();
    const draft: Draft = {
      head: roomMessageHead(room, jsonOf(body), conn.senderJson, id, ts),
      id,
      ts,
      cid: cid === undefined ? undefined : { id: cid, sender: senderKey(conn) },
    };
    return then(this.engine.publish(room, draft, conn), (published) => {
      if (typeof published === 'object') {
        if (published.duplicate) this.metrics.duplicates.value++;
        else if (this.webhooks.sendsMessages) this.tellWebhooks(room, published, body.message, conn);
      }
      return { ok: true as const, room, published };
    });
  }

  /** A page of `room`'s history, for a member of it. */
  history(
    conn: Connection,
    room: string,
    before: number | undefined,
    limit: number,
  ): MaybeAsync<Outcome<{ page: Page }>> {
    if (!conn.holds(room)) return { ok: false, code: 'not_in_room' };
    return then(this.engine.history(room, before, limit), (page) =>
      page === 'unavailable' ? { ok: false as const, code: page } : { ok: true as const, page },
    );
  }

  /** A page of `room`'s history, for the app's backend (a member asks with history()). */
  historyOf(room: string, before: number | undefined, limit: number): MaybeAsync<Page | 'unavailable'> {
    return this.engine.history(room, before, limit);
  }

  /** To every open connection, the sender included. */
  broadcast(conn: Connection, body: MessageText): void {
    const text = new OutboundText(broadcastJson(jsonOf(body), conn.senderJson, this.nextId(), Date.now()));
    this.deliver(this.connections, text, this.broadcastDeliveries);
    this.engine.broadcast(text);
  }

  /**
   * A room message from the app's backend: in the room's log like any other, its frame marked
   * `"origin":"server"` so that no client can pass for it, to every member but the connections
   * `exclude` names. It goes out with an offset or not at all ('unavailable').
   */
  sendFromServer(
    room: string,
    body: MessageText & { from: string },
    exclude?: ReadonlySet<string>,
    cid?: Draft['cid'],
  ): MaybeAsync<{ id: string; ts: number; offset: number } | 'unavailable'> {
    const id = this.nextId();
    const ts = Date.now();
    const head = roomMessageHead(room, jsonOf(body), serverSenderJson(body.from), id, ts);
    return then(this.engine.publish(room, { head, id, ts, cid, fromServer: true }, exclude), (published) => {
      if (typeof published !== 'object') return 'unavailable';
      if (!published.duplicate && this.webhooks.sendsMessages) {
        this.tellWebhooks(room, published, body.message, body.from);
      }
      // A retry of one whose answer was lost: the first one's id, time and offset.
      return { id: published.id, ts: published.ts, offset: published.offset };
    });
  }

  /**
   * A broadcast from the app's backend, to every connection on every instance: here once the
   * others are sure to get it; 'unavailable', and sent nowhere, when they cannot be reached.
   */
  broadcastFromServer(
    body: MessageText & { from: string },
  ): MaybeAsync<{ id: string; ts: number } | 'unavailable'> {
    const id = this.nextId();
    const ts = Date.now();
    const text = new OutboundText(broadcastJson(jsonOf(body), serverSenderJson(body.from), id, ts));
    return then(this.engine.broadcast(text), (sent) => {
      if (!sent) return 'unavailable';
      this.deliver(this.connections, text, this.broadcastDeliveries);
      return { id, ts };
    });
  }

  /**
   * Carries out the backend's `command` on every instance, this one once the others are sure
   * to hear it; 'unavailable', and nothing done anywhere, when they cannot be reached.
   */
  control(command: Control): MaybeAsync<'done' | 'unavailable'> {
    if (!this.engine.ready) return 'unavailable';
    return then(this.engine.control(command), (sent) => {
      if (!sent) return 'unavailable';
      this.controlled(command);
      return 'done';
    });
  }

  controlled(command: Control): void {
    for (const conn of this.connections) {
      if (userOf(conn) !== command.user || conn.openedAt > (command.at ?? Infinity)) continue;
      if (command.kind === 'disconnect') {
        endAuth(conn);
        conn.closedFor = 'disconnected';
        conn.socket.close(command.code, command.reason);
      } else if (conn.holds(command.room)) {
        void then(this.leave(conn, command.room, true), (left) => {
          if (left.ok) conn.sendJson(removedFrame(command.room, left.members, command.detail));
        });
      }
    }
  }

  /** The connection signed in while in rooms: in each it is counted as its user from now on. */
  reidentified(conn: Connection): void {
    for (const [room, was, is] of this.presence.reidentify(conn)) {
      const localMembers = this.localMembers(room);
      void this.engine.left(room, localMembers, was);
      void this.engine.joined(room, localMembers, is);
    }
  }

  /** Whether the connection gets `room`'s messages now (it is in it, and its join is complete). */
  isMember(conn: Connection, room: string): boolean {
    return this.members.get(room)?.has(conn) === true;
  }

  /** Members of `room` on every instance. */
  membersOf(room: string): MaybeAsync<number> {
    return this.engine.members(room);
  }

  /** Rooms with members on every instance, busiest first, then by name; and open connections. */
  census(): MaybeAsync<Census> {
    return this.engine.census();
  }

  /** As census(), but 'unavailable' rather than this instance's share alone. */
  strictCensus(): MaybeAsync<Census | 'unavailable'> {
    return this.engine.strictCensus();
  }

  /** A page of `room`'s members on every instance; 'unavailable' rather than this instance's alone. */
  strictPresence(room: string, offset: number, limit: number): MaybeAsync<MemberPage | 'unavailable'> {
    return this.engine.presence(room, offset, limit);
  }

  deliverToRoom(room: string, text: OutboundText, except?: Except): void {
    const members = this.members.get(room);
    if (!members) return;
    // The backend's exclusions are looked up per member only for its messages that have some.
    if (!isExclusion(except)) return this.deliver(members, text, this.messageDeliveries, except);
    const included = new Set([...members].filter((member) => !except.has(member.id)));
    this.deliver(included, text, this.messageDeliveries);
  }

  resetRoom(room: string, at: Position): void {
    const members = this.members.get(room);
    if (!members) return;
    this.deliver(
      members,
      new OutboundText(resetJson(room, at.epoch, at.offset)),
      this.metrics.deliveries.reset,
    );
  }

  localPresence(): Iterable<[string, MemberHere]> {
    return this.presence.held();
  }

  presenceChanged(change: PresenceChange): void {
    this.presence.changed(change);
  }

  presenceReset(local: boolean): void {
    this.presence.reset(local);
  }

  deliverToAll(text: OutboundText): void {
    this.deliver(this.connections, text, this.broadcastDeliveries);
  }

  /** Members here, counting those whose join is under way. */
  localMembers(room: string): number {
    return (this.members.get(room)?.size ?? 0) + (this.joining.get(room) ?? 0);
  }

  hasMembers(room: string): boolean {
    return this.members.has(room);
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

  /**
   * A message got its offset here: the webhooks that take messages are told, once cluster-wide.
   * `sender` is its connection, or the `from` the app's backend gave.
   */
  private tellWebhooks(
    room: string,
    { id, ts, offset }: Extract<Published, { duplicate: false }>,
    message: string,
    sender: Connection | string,
  ): void {
    const from =
      typeof sender === 'string'
        ? { from: sender, origin: 'server' as const }
        : { from: sender.from, user: userOf(sender) };
    this.webhooks.message({ room, id, ts, offset, message, ...from });
  }

  /** The room's local member count afterwards. */
  private removeMember(room: string, conn: Connection): number {
    const members = this.members.get(room);
    if (members?.delete(conn)) {
      this.sorted = undefined;
      if (members.size === 0) this.members.delete(room);
    }
    return this.localMembers(room);
  }

  /**
   * The moment a joining connection becomes a member: `joined` and any recovered messages
   * go out now, before the next message of the room can.
   */
  private admit(
    conn: Connection,
    room: string,
    members: number,
    at: Position | Recovery,
    follow: boolean,
  ): Outcome | undefined {
    const joining = this.joining.get(room)! - 1;
    if (joining === 0) this.joining.delete(room);
    else this.joining.set(room, joining);
    // It closed, or left (a revoked grant), while the cluster answered: it is counted no more.
    if (!this.connections.has(conn) || !conn.holds(room)) {
      this.engine.left(room, this.localMembers(room));
      return { ok: false, code: 'not_in_room' };
    }
    let set = this.members.get(room);
    if (!set) this.members.set(room, (set = new Set()));
    set.add(conn);
    this.sorted = undefined;
    this.metrics.joins.value++;
    if (!('ok' in at)) conn.sendJson(joinedFrame(room, members, at));
    else {
      this.metrics.recoveries[at.ok ? 'recovered' : 'not_recovered'].value++;
      conn.sendJson(
        joinedFrame(room, members, at, { recovered: at.ok, missed: at.ok ? at.frames.length : 0 }),
      );
      if (at.ok) for (const frame of at.frames) conn.send(new OutboundText(frame));
    }
    if (follow) this.presence.follow(conn, room);
  }

  /** A repeat join: the position the connection is at already; `since` plays no part. */
  private rejoined(
    conn: Connection,
    room: string,
    members: number,
    presence: boolean | undefined,
  ): MaybeAsync<undefined> {
    return this.engine.enter(room, undefined, (at) => {
      conn.sendJson(joinedFrame(room, members, at));
      if (presence === true) this.presence.follow(conn, room);
      else if (presence === false) this.presence.unfollow(conn, room);
      return undefined;
    });
  }

  private nextId(): string {
    return `${this.idPrefix}-${(++this.lastId).toString(36)}`;
  }
}

/** Whose connection this is: its token's `sub`, if it has a verified one. */
const userOf = (conn: Connection) =>
  conn.auth.kind === 'authenticated' ? conn.auth.identity.user : undefined;

/** Whose `cid`s these are: its `sub` when verified; anonymous senders share one space. */
function senderKey(conn: Connection): string {
  return userOf(conn) ?? '';
}

/** `map` applied now, or once a cluster answer comes. */
function then<T, R>(value: MaybeAsync<T>, map: (value: T) => MaybeAsync<R>): MaybeAsync<R> {
  return value instanceof Promise ? value.then(map) : map(value);
}

function withMembers(members: MaybeAsync<number>): MaybeAsync<Outcome<{ members: number }>> {
  return typeof members === 'number'
    ? { ok: true, members }
    : members.then((n) => ({ ok: true as const, members: n }));
}
