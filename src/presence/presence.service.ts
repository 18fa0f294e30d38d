import type { PresenceConfig } from '../config/load-config';
import { Tally } from '../metrics/tally';
import type { Connection } from '../rooms/connection';
import type { MaybeAsync } from '../rooms/engine';
import { OutboundText } from '../rooms/outbound';
import { presenceDiffJson, presenceJson } from './presence-frames';
import type { Member, MemberHere, MemberInfo, MemberPage, PresenceChange } from './presence-store';

/** Where pages of members come from: the engine's store, or 'unavailable' (cluster mode, Redis away). */
export type MemberReader = (
  room: string,
  offset: number,
  limit: number,
) => MaybeAsync<MemberPage | 'unavailable'>;

/** This instance's connections following one room's presence, and what is on its way to them. */
interface RoomView {
  /** Each follower with the rev of its snapshot: it gets only diffs past that. */
  readonly followers: Map<Connection, number>;
  /** Connections owed a snapshot at the next flush, and whether they follow afterwards. */
  readonly waiting: Map<Connection, boolean>;
  /** Since the last flush, each changed member's latest change: a diff says where members are now. */
  readonly changes: Map<string, PresenceChange>;
  rev: number;
  count: number;
  timer: NodeJS.Timeout | undefined;
  reading: boolean;
}

/**
 * Presence as this instance's clients see it. It keeps how many connections each member has
 * here in each room (what the store is told), and sends the connections that follow a room
 * a snapshot and then diffs. Changes and snapshot requests are gathered for `windowMs` and
 * then go out as one diff frame and one snapshot frame, each built once for every recipient:
 * a mass reconnect costs a member one snapshot and a frame per window, not a frame per
 * other member. While the cluster's store cannot be read, a snapshot lists this instance's
 * members, and followers get a fresh one at each local change instead of diffs.
 */
export class PresenceService {
  /** Per room, each member's connections here. */
  private readonly here = new Map<string, Map<string, { info: MemberInfo; count: number }>>();
  /** Which member each connection in a room counts as, fixed while it is in any room. */
  private readonly identities = new Map<Connection, string>();
  private readonly views = new Map<string, RoomView>();
  private reader!: MemberReader;
  private local = false;
  /** Goes up at each reset: a snapshot read before one is not sent. */
  private generation = 0;

  constructor(
    private readonly config: PresenceConfig,
    /** Counts the presence frames delivered (chat_deliveries_total{type="presence"}). */
    private readonly deliveries: Tally = new Tally(),
  ) {}

  /** Where snapshots are read from; set once by RoomsService. */
  readFrom(reader: MemberReader): void {
    this.reader = reader;
  }

  /** A connection is entering `room`: its member's connections here afterwards. */
  entering(conn: Connection, room: string): MemberHere {
    const who = identify(conn);
    let key = this.identities.get(conn);
    if (key === undefined) this.identities.set(conn, (key = who.key));
    let members = this.here.get(room);
    if (!members) this.here.set(room, (members = new Map()));
    let entry = members.get(key);
    if (entry) entry.count++;
    else members.set(key, (entry = { info: who.info, count: 1 }));
    if (this.local) this.resnapshot(room);
    return { key, info: entry.info, here: entry.count };
  }

  /** A connection left `room` (or its join did not complete): its member's connections here afterwards. */
  leaving(conn: Connection, room: string): MemberHere {
    this.unfollow(conn, room);
    const key = this.identities.get(conn)!;
    const members = this.here.get(room)!;
    const entry = members.get(key)!;
    const count = --entry.count;
    if (count === 0) members.delete(key);
    if (members.size === 0) this.here.delete(room);
    if (conn.rooms.length === 0) this.identities.delete(conn);
    if (this.local) this.resnapshot(room);
    return { key, info: entry.info, here: count };
  }

  /** The connection is gone: it has left every room already. */
  closed(conn: Connection): void {
    this.identities.delete(conn);
  }

  /** Every room's members with connections here. */
  *held(): Iterable<[string, MemberHere]> {
    for (const [room, members] of this.here) {
      for (const [key, { info, count }] of members) yield [room, { key, info, here: count }];
    }
  }

  /** The connection gets a snapshot, then diffs while it stays in the room. */
  follow(conn: Connection, room: string): void {
    const view = this.view(room);
    view.followers.delete(conn);
    view.waiting.set(conn, true);
    this.schedule(room, view);
  }

  /** No more presence frames for this room. */
  unfollow(conn: Connection, room: string): void {
    const view = this.views.get(room);
    if (!view) return;
    view.followers.delete(conn);
    view.waiting.delete(conn);
    if (view.followers.size === 0 && view.waiting.size === 0) this.close(room, view);
  }

  /** A snapshot for this connection alone; a follower goes on following from it. */
  request(conn: Connection, room: string): void {
    const view = this.view(room);
    const follows = view.followers.delete(conn) || view.waiting.get(conn) === true;
    view.waiting.set(conn, follows);
    this.schedule(room, view);
  }

  /** A change in the store (from any instance in cluster mode), in rev order. */
  changed(change: PresenceChange): void {
    const view = this.views.get(change.room);
    if (!view) return;
    view.changes.delete(change.key); // re-added, so the diff lists members in the order of their last change
    view.changes.set(change.key, change);
    view.rev = change.rev;
    view.count = change.count;
    this.schedule(change.room, view);
  }

  /**
   * The store's view was lost (`local`: snapshots now list this instance's members) or is back:
   * every follower gets a fresh snapshot, and revs start over from it.
   */
  reset(local: boolean): void {
    this.local = local;
    this.generation++;
    for (const [room, view] of this.views) {
      view.changes.clear();
      view.rev = 0;
      for (const conn of view.followers.keys()) view.waiting.set(conn, true);
      view.followers.clear();
      this.schedule(room, view);
    }
  }

  /** Members of a room from `offset`: the store's, or this instance's while it cannot be read. */
  page(room: string, offset: number, limit: number): MaybeAsync<MemberPage> {
    const page = this.reader(room, offset, limit);
    if (page instanceof Promise) return page.then((read) => this.orLocal(room, read, offset, limit));
    return this.orLocal(room, page, offset, limit);
  }

  private orLocal(room: string, page: MemberPage | 'unavailable', offset: number, limit: number): MemberPage {
    if (page !== 'unavailable') return page;
    const members = [...(this.here.get(room) ?? [])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      rev: this.views.get(room)?.rev ?? 0,
      count: members.length,
      members: members
        .slice(offset, offset + limit)
        .map(([, { info, count }]): Member => ({ ...info, connections: count })),
    };
  }

  private resnapshot(room: string): void {
    const view = this.views.get(room);
    if (!view) return;
    for (const conn of view.followers.keys()) view.waiting.set(conn, true);
    view.followers.clear();
    this.schedule(room, view);
  }

  private view(room: string): RoomView {
    let view = this.views.get(room);
    if (!view) {
      view = {
        followers: new Map(),
        waiting: new Map(),
        changes: new Map(),
        rev: 0,
        count: 0,
        timer: undefined,
        reading: false,
      };
      this.views.set(room, view);
    }
    return view;
  }

  private close(room: string, view: RoomView): void {
    clearTimeout(view.timer);
    this.views.delete(room);
  }

  private schedule(room: string, view: RoomView): void {
    view.timer ??= setTimeout(() => this.flush(room, view), this.config.windowMs).unref();
  }

  private flush(room: string, view: RoomView): void {
    view.timer = undefined;
    if (this.views.get(room) !== view) return;
    if (view.changes.size > 0) this.sendDiff(room, view);
    if (view.waiting.size > 0 && !view.reading) this.sendSnapshot(room, view);
  }

  private sendDiff(room: string, view: RoomView): void {
    const joins: Member[] = [];
    const leaves: MemberInfo[] = [];
    for (const { kind, member } of view.changes.values()) {
      if (kind === 'join') joins.push(member);
      else leaves.push(infoOf(member));
    }
    view.changes.clear();
    const frame = new OutboundText(presenceDiffJson(room, view.rev, view.count, joins, leaves));
    let sent = 0;
    for (const [conn, base] of view.followers) if (base < view.rev && conn.send(frame)) sent++;
    this.deliveries.value += sent;
  }

  private sendSnapshot(room: string, view: RoomView): void {
    const asked = [...view.waiting.keys()];
    const generation = this.generation;
    view.reading = true;
    const send = (page: MemberPage) => {
      view.reading = false;
      if (generation !== this.generation) return this.schedule(room, view);
      const frame = new OutboundText(presenceJson(room, page.rev, page.count, page.members));
      for (const conn of asked) {
        const follows = view.waiting.get(conn);
        if (follows === undefined) continue; // it left the room meanwhile
        view.waiting.delete(conn);
        if (conn.send(frame)) this.deliveries.value++;
        if (follows) view.followers.set(conn, page.rev);
      }
      if (view.waiting.size > 0) this.schedule(room, view);
    };
    const page = this.page(room, 0, this.config.maxMembers);
    if (page instanceof Promise) void page.then(send);
    else send(page);
  }
}

/** A verified user is one member however many connections it has; an anonymous connection is one of its own. */
function identify(conn: Connection): { key: string; info: MemberInfo } {
  const { auth } = conn;
  if (auth.kind === 'authenticated') {
    const { user, name } = auth.identity;
    return { key: `u:${user}`, info: { name, user } };
  }
  return { key: `c:${conn.id}`, info: { name: conn.from, conn: conn.id } };
}

function infoOf({ name, user, conn }: Member): MemberInfo {
  return user === undefined ? { name, conn } : { name, user };
}
