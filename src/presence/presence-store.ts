import type { MaybeAsync } from '../rooms/engine';
import type { MemberLeftReason } from '../webhooks/webhook-event';

/**
 * Who a member is, as presence frames show it: a verified user (`user`, its token's `sub`),
 * or else one anonymous connection (`conn`, the connection's id). A client keys members by
 * `user` when present, else by `conn`.
 */
export interface MemberInfo {
  name: string;
  user?: string;
  conn?: string;
}

/** What stores key a member by: `u:<sub>` for a user, `c:<connection id>` for an anonymous connection. */
export const memberKey = ({ user, conn }: MemberInfo): string =>
  user === undefined ? `c:${conn}` : `u:${user}`;

/** A member as a snapshot lists it: `connections` counts its connections in the room, on every instance. */
export interface Member extends MemberInfo {
  connections: number;
}

/**
 * What one instance holds of a member in a room: `here` of its connections. Written as an
 * absolute count, like the room counts, so a write repeated or lost is put right by the next.
 */
export interface MemberHere {
  /** `u:<sub>` or `c:<connection id>`: unique in a room, and what the stores key members by. */
  key: string;
  info: MemberInfo;
  here: number;
  /**
   * With `here` 0: its connections are gone for good (it signed in as a user, or the app's
   * backend removed or disconnected it), so it leaves without a grace.
   */
  final?: true;
  /** With fewer connections than before: why the one that went did (member_left's `reason`). */
  why?: MemberLeftReason;
}

/**
 * A change in a room's membership: a member's first connection entered (`join`), or its last
 * one left and stayed away for the grace (`leave`). `rev` is the room's revision after it and
 * `count` its number of members.
 */
export interface PresenceChange {
  room: string;
  rev: number;
  count: number;
  kind: 'join' | 'leave';
  /** `connections` is the member's count at the change (0 for a leave). */
  member: Member;
  key: string;
}

/** Members of a room ordered by key, from `offset`; `count` is all of them, `rev` the revision read. */
export interface MemberPage {
  rev: number;
  count: number;
  members: Member[];
}

/**
 * A room's members, shared by every instance in cluster mode. MemoryPresence is this store for
 * one instance; in cluster mode its two halves are the registry's scripts, which write members
 * with the counts (src/cluster/registry.ts), and RedisPresence, which reads them and hears
 * their changes. test/support/presence-store-contract.ts holds both to the same promises. A member joins when its first
 * connection anywhere enters the room, and leaves `graceMs` after its last one went, unless
 * one came back meanwhile (then neither happened). Each join and leave happens once however
 * instances race, raises the room's `rev` by one, and is reported once to `onChange` (on
 * every instance, in cluster mode).
 */
export interface PresenceStore {
  /** This instance now holds `member.here` connections of the member in `room`. */
  set(room: string, member: MemberHere): MaybeAsync<void>;
  /** Up to `limit` members from `offset`, ordered by key; 'unavailable' when they cannot be read. */
  page(room: string, offset: number, limit: number): MaybeAsync<MemberPage | 'unavailable'>;
}

export type PresenceListener = (change: PresenceChange) => void;

/** The order members are listed in, as Redis keeps a sorted set's equal-score members: by UTF-8 bytes (code point order). */
export function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
