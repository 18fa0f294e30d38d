import { type EventSink, memberFields, type MemberLeftReason } from '../webhooks/webhook-event';
import {
  byBytes,
  type MemberHere,
  type MemberInfo,
  type MemberPage,
  type PresenceListener,
  type PresenceStore,
} from './presence-store';

interface Entry {
  info: MemberInfo;
  connections: number;
}

interface RoomPresence {
  rev: number;
  members: Map<string, Entry>;
  /** Member keys in order, kept until a member joins or leaves. */
  sorted?: string[];
}

/**
 * One instance's rooms' members (no REDIS_URL): the instance's connections are all there are.
 * Members whose last connection left wait out the grace in one queue: the grace is the same
 * for all, so the queue is in the order they are due, and one timer serves it.
 */
export class MemoryPresence implements PresenceStore {
  private readonly rooms = new Map<string, RoomPresence>();
  /**
   * `<room> <key>` → when the member leaves, and why its last connection went; a room name has
   * no space. In insertion (so due) order.
   */
  private readonly leaving = new Map<string, { due: number; why: MemberLeftReason }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly graceMs: number,
    private readonly onChange: PresenceListener,
    /** Webhook events: a room's first member joined, a member joined or left, its last one left. */
    private readonly emit: EventSink = () => undefined,
  ) {}

  set(room: string, { key, info, here, final, why = 'closed' }: MemberHere): void {
    const presence = this.rooms.get(room);
    const entry = presence?.members.get(key);
    if (here > 0) {
      if (!entry) return this.join(room, presence ?? this.open(room), key, info, here);
      if (entry.connections === 0) this.leaving.delete(`${room} ${key}`); // back within the grace
      entry.connections = here;
      return;
    }
    if (!entry || entry.connections === 0) return;
    entry.connections = 0;
    if (this.graceMs === 0 || final) return this.leave(room, key, why);
    this.leaving.set(`${room} ${key}`, { due: Date.now() + this.graceMs, why });
    this.timer ??= setTimeout(this.sweep, this.graceMs).unref();
  }

  page(room: string, offset: number, limit: number): MemberPage {
    const presence = this.rooms.get(room);
    if (!presence) return { rev: 0, count: 0, members: [] };
    presence.sorted ??= [...presence.members.keys()].sort(byBytes);
    const members = presence.sorted.slice(offset, offset + limit).map((key) => {
      const { info, connections } = presence.members.get(key)!;
      return { ...info, connections };
    });
    return { rev: presence.rev, count: presence.members.size, members };
  }

  private open(room: string): RoomPresence {
    const presence: RoomPresence = { rev: 0, members: new Map() };
    this.rooms.set(room, presence);
    return presence;
  }

  private join(room: string, presence: RoomPresence, key: string, info: MemberInfo, here: number): void {
    presence.members.set(key, { info, connections: here });
    presence.sorted = undefined;
    this.onChange({
      room,
      rev: ++presence.rev,
      count: presence.members.size,
      kind: 'join',
      key,
      member: { ...info, connections: here },
    });
    if (presence.members.size === 1) this.emit('room_occupied', room);
    this.emit('member_joined', room, memberFields(info));
  }

  private leave(room: string, key: string, why: MemberLeftReason): void {
    const presence = this.rooms.get(room)!;
    const { info } = presence.members.get(key)!;
    presence.members.delete(key);
    presence.sorted = undefined;
    const rev = ++presence.rev;
    // An empty room is forgotten: a member who comes later starts it afresh, and a client
    // only ever compares revs of a room it is in, which is never empty.
    if (presence.members.size === 0) this.rooms.delete(room);
    this.onChange({
      room,
      rev,
      count: presence.members.size,
      kind: 'leave',
      key,
      member: { ...info, connections: 0 },
    });
    this.emit('member_left', room, { ...memberFields(info), reason: why });
    if (presence.members.size === 0) this.emit('room_vacated', room);
  }

  private readonly sweep = (): void => {
    this.timer = undefined;
    const now = Date.now();
    for (const [at, { due, why }] of this.leaving) {
      if (due > now) {
        this.timer = setTimeout(this.sweep, due - now).unref();
        return;
      }
      this.leaving.delete(at);
      const space = at.indexOf(' ');
      this.leave(at.slice(0, space), at.slice(space + 1), why);
    }
  };
}
