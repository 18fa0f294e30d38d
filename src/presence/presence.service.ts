import type { PresenceConfig } from '../config/load-config';
import type { Tally } from '../metrics/tally';
import type { Connection } from '../rooms/connection';
import type { MaybeAsync } from '../rooms/engine';
import type { MemberLeftReason } from '../webhooks/webhook-event';
import { PresenceFeeds } from './presence-feeds';
import {
  byBytes,
  memberKey,
  type Member,
  type MemberHere,
  type MemberInfo,
  type MemberPage,
  type PresenceChange,
} from './presence-store';

/** Where pages of members come from: the engine's store, or 'unavailable' (cluster mode, Redis away). */
export type MemberReader = (
  room: string,
  offset: number,
  limit: number,
) => MaybeAsync<MemberPage | 'unavailable'>;

/**
 * Presence as this instance's clients see it. It keeps how many connections each member has
 * here in each room (what the store is told), and has PresenceFeeds send the connections that
 * follow a room a snapshot and then diffs. While the cluster's store cannot be read, a
 * snapshot lists this instance's members, and followers get a fresh one at each local change
 * instead of diffs.
 */
export class PresenceService {
  /** Per room, each member's connections here. */
  private readonly here = new Map<string, Map<string, { info: MemberInfo; count: number }>>();
  /** Which member each connection in a room counts as, fixed while it is in any room. */
  private readonly identities = new Map<Connection, string>();
  private readonly feeds: PresenceFeeds;
  private reader!: MemberReader;
  private local = false;

  constructor(config: PresenceConfig, deliveries?: Tally) {
    this.feeds = new PresenceFeeds(
      config,
      (room, offset, limit) => this.page(room, offset, limit),
      deliveries,
    );
  }

  /** Where snapshots are read from; set once by RoomsService. */
  readFrom(reader: MemberReader): void {
    this.reader = reader;
  }

  /** A connection is entering `room`: its member's connections here afterwards. */
  entering(conn: Connection, room: string): MemberHere {
    let key = this.identities.get(conn);
    const who = identify(conn);
    if (key === undefined) this.identities.set(conn, (key = who.key));
    return this.count(room, key, who.info, 1);
  }

  /**
   * A connection left `room` (or its join did not complete), for `why`: its member's
   * connections here afterwards. One the app's backend put out leaves with no grace.
   */
  leaving(conn: Connection, room: string, why: MemberLeftReason): MemberHere {
    this.feeds.unfollow(conn, room);
    const member = this.count(room, this.identities.get(conn)!, undefined, -1);
    if (conn.rooms.length === 0) this.identities.delete(conn);
    return why === 'removed' || why === 'disconnected' ? { ...member, why, final: true } : { ...member, why };
  }

  /**
   * A connection in rooms signed in (it was anonymous): in each of its rooms it is now its
   * user, no longer a member of its own. Per room, the two members afterwards: the one it was
   * (gone for good: no grace) and the one it is (one connection more).
   */
  reidentify(conn: Connection): Array<[string, MemberHere, MemberHere]> {
    const before = this.identities.get(conn);
    const who = identify(conn);
    if (before === undefined || before === who.key) return [];
    this.identities.set(conn, who.key);
    return conn.rooms.map((room) => [
      room,
      { ...this.count(room, before, undefined, -1), why: 'left', final: true },
      this.count(room, who.key, who.info, 1),
    ]);
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
    this.feeds.follow(conn, room);
  }

  /** No more presence frames for this room. */
  unfollow(conn: Connection, room: string): void {
    this.feeds.unfollow(conn, room);
  }

  /** A snapshot for this connection alone; a follower goes on following from it. */
  request(conn: Connection, room: string): void {
    this.feeds.request(conn, room);
  }

  /**
   * A change in the store (from any instance in cluster mode), in rev order. Not while
   * snapshots are local: the snapshot that ends that sends the whole room.
   */
  changed(change: PresenceChange): void {
    if (!this.local) this.feeds.changed(change);
  }

  /**
   * The store's view was lost (`local`: snapshots now list this instance's members, afresh at
   * each local change) or is back: every follower gets a fresh snapshot.
   */
  reset(local: boolean): void {
    this.local = local;
    this.feeds.reset();
  }

  /** Adds `delta` to a member's connections here in `room` (`info` for a member new here). */
  private count(room: string, key: string, info: MemberInfo | undefined, delta: number): MemberHere {
    let members = this.here.get(room);
    if (!members) this.here.set(room, (members = new Map()));
    let entry = members.get(key);
    if (!entry) members.set(key, (entry = { info: info!, count: 0 }));
    entry.count += delta;
    if (entry.count === 0) members.delete(key);
    if (members.size === 0) this.here.delete(room);
    if (this.local) this.feeds.resnapshot(room);
    return { key, info: entry.info, here: entry.count };
  }

  /**
   * Members of a room from `offset`: the store's; this instance's while the store cannot be
   * read (Redis away); 'unavailable' when a read failed with Redis thought up, since a page of
   * this instance's members would then pass for the room's.
   */
  page(room: string, offset: number, limit: number): MaybeAsync<MemberPage | 'unavailable'> {
    if (this.local) return this.localPage(room, offset, limit);
    return this.reader(room, offset, limit);
  }

  private localPage(room: string, offset: number, limit: number): MemberPage {
    const members = [...(this.here.get(room) ?? [])].sort(([a], [b]) => byBytes(a, b));
    return {
      rev: this.feeds.revOf(room),
      count: members.length,
      members: members
        .slice(offset, offset + limit)
        .map(([, { info, count }]): Member => ({ ...info, connections: count })),
    };
  }
}

/** A verified user is one member however many connections it has; an anonymous connection is one of its own. */
function identify(conn: Connection): { key: string; info: MemberInfo } {
  const { auth } = conn;
  const info: MemberInfo =
    auth.kind === 'authenticated'
      ? { name: auth.identity.name, user: auth.identity.user }
      : { name: conn.from, conn: conn.id };
  return { key: memberKey(info), info };
}
