import type { PresenceConfig } from '../config/load-config';
import { Tally } from '../metrics/tally';
import type { Connection } from '../rooms/connection';
import type { MaybeAsync } from '../rooms/engine';
import { OutboundText } from '../rooms/outbound';
import { presenceDiffJson, presenceJson } from './presence-frames';
import type { Member, MemberInfo, MemberPage, PresenceChange } from './presence-store';

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
 * The connections of this instance that follow a room's presence, and what goes to them.
 * Changes and snapshot requests are gathered for `windowMs` and then go out as one diff frame
 * and one snapshot frame, each built once for every recipient: a mass reconnect costs a
 * member one snapshot and a frame per window, not a frame per other member.
 */
export class PresenceFeeds {
  private readonly views = new Map<string, RoomView>();
  /** Goes up at each reset: a snapshot read before one is not sent. */
  private generation = 0;

  constructor(
    private readonly config: PresenceConfig,
    private readonly read: (
      room: string,
      offset: number,
      limit: number,
    ) => MaybeAsync<MemberPage | 'unavailable'>,
    /** Counts the presence frames delivered (chat_deliveries_total{type="presence"}). */
    private readonly deliveries: Tally = new Tally(),
  ) {}

  /** The rev of the latest change heard for a room a connection here follows; 0 if none. */
  revOf(room: string): number {
    return this.views.get(room)?.rev ?? 0;
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

  /** The store's view was lost or is back: every follower gets a fresh snapshot, and revs start over from it. */
  reset(): void {
    this.generation++;
    for (const [room, view] of this.views) {
      view.changes.clear();
      view.rev = 0;
      for (const conn of view.followers.keys()) view.waiting.set(conn, true);
      view.followers.clear();
      this.schedule(room, view);
    }
  }

  /** Every follower of the room gets a fresh snapshot, instead of diffs. */
  resnapshot(room: string): void {
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
    // While a snapshot is read, changes wait for it: one heard meanwhile may be newer than the
    // snapshot, and its diff must reach the connections that snapshot is for, too.
    if (view.reading) return;
    if (view.changes.size > 0) this.sendDiff(room, view);
    if (view.waiting.size > 0) this.sendSnapshot(room, view);
  }

  private sendDiff(room: string, view: RoomView): void {
    const joins: Member[] = [];
    const leaves: MemberInfo[] = [];
    for (const { kind, member } of view.changes.values()) {
      if (kind === 'join') joins.push(member);
      else leaves.push(infoOf(member));
    }
    view.changes.clear();
    if (view.followers.size === 0) return;
    const frame = new OutboundText(presenceDiffJson(room, view.rev, view.count, joins, leaves));
    let sent = 0;
    for (const [conn, base] of view.followers) if (base < view.rev && conn.send(frame)) sent++;
    this.deliveries.value += sent;
  }

  private sendSnapshot(room: string, view: RoomView): void {
    const asked = [...view.waiting.keys()];
    const generation = this.generation;
    view.reading = true;
    const send = (page: MemberPage | 'unavailable') => {
      view.reading = false;
      // Read before a reset, or not at all (Redis slow): the connections wait for the next window.
      if (generation !== this.generation || page === 'unavailable') return this.schedule(room, view);
      const frame = new OutboundText(presenceJson(room, page.rev, page.count, page.members));
      for (const conn of asked) {
        const follows = view.waiting.get(conn);
        if (follows === undefined) continue; // it left the room meanwhile
        view.waiting.delete(conn);
        if (conn.send(frame)) this.deliveries.value++;
        if (follows) view.followers.set(conn, page.rev);
      }
      if (view.followers.size === 0 && view.waiting.size === 0) this.close(room, view);
      else if (view.waiting.size > 0 || view.changes.size > 0) this.schedule(room, view);
    };
    const page = this.read(room, 0, this.config.maxMembers);
    if (page instanceof Promise) void page.then(send);
    else send(page);
  }
}

function infoOf({ name, user, conn }: Member): MemberInfo {
  return user === undefined ? { name, conn } : { name, user };
}
