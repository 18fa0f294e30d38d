import type { Appended, Draft, Page, Position, Recovery } from '../history/history-store';
import type { MemberHere, MemberPage, PresenceChange } from '../presence/presence-store';
import type { Connection } from './connection';
import type { OutboundText } from './outbound';

/** Ready now (one instance) or once the cluster answers (REDIS_URL). */
export type MaybeAsync<T> = T | Promise<T>;

/** A room and its member count. */
export interface RoomCount {
  name: string;
  members: number;
}

/** Membership as the engine counts it: every instance's members in cluster mode, this one's in memory. */
export interface Census {
  rooms: RoomCount[];
  connections: number;
}

/**
 * Who among a room's members here must not get a message: its sender, or the connections (by
 * id) the app's backend named when it sent one.
 */
export type Except = Connection | ReadonlySet<string> | undefined;

export const isExclusion = (except: Except | 'delivered'): except is ReadonlySet<string> =>
  except instanceof Set;

/**
 * What the app's backend asks of every instance (the HTTP API's control routes). `at` (ms) on
 * one carried out late, after an outage: connections opened after it are left alone.
 */
export type Control = (
  | { readonly kind: 'disconnect'; readonly user: string; readonly code: number; readonly reason: string }
  | { readonly kind: 'remove'; readonly room: string; readonly user: string; readonly detail?: string }
) & { readonly at?: number };

/** What an engine may ask of this instance's own rooms. */
export interface LocalRooms {
  /** Hands a room message to this instance's members of `room`, but for `except`. */
  deliverToRoom(room: string, text: OutboundText, except?: Except): void;
  /** Tells this instance's members of `room` that continuity was lost: they go on from `at`. */
  resetRoom(room: string, at: Position): void;
  /** Hands a broadcast from another instance to every connection here. */
  deliverToAll(text: OutboundText): void;
  /** Members here, counting connections whose join is under way. */
  localMembers(room: string): number;
  /** Whether any connection here is getting the room's messages now. */
  hasMembers(room: string): boolean;
  /** This instance's rooms, sorted as GET /rooms lists them, and its connections. */
  localCensus(): Census;
  /** Each room's members with connections here: what this instance holds, for a registration. */
  localPresence(): Iterable<[string, MemberHere]>;
  /** Carries out the backend's `command` on this instance's connections. */
  controlled(command: Control): void;
  /** A member joined or left a room (on any instance), in the room's rev order. */
  presenceChanged(change: PresenceChange): void;
  /** Presence can no longer be read cluster-wide (`local`), or can again: followers need a fresh snapshot. */
  presenceReset(local: boolean): void;
}

/**
 * Everything that crosses instances goes through here: RoomsService keeps the local
 * members and serves them directly, and tells the engine about each change and message.
 * The in-memory engine (one instance) has nothing to tell anyone and answers at once with
 * local counts; a cluster engine (Redis) subscribes, publishes and counts cluster-wide.
 * A method may answer with a promise only in cluster mode, so the in-memory path stays
 * synchronous and pays nothing for the abstraction.
 */
export interface RoomsEngine {
  attach(local: LocalRooms): void;
  /**
   * A connection joined `room`, leaving `localMembers` here and `member` with its connections
   * here. Resolves with the member count once a message sent to the room from any instance
   * reaches this one.
   */
  joined(room: string, localMembers: number, member: MemberHere): MaybeAsync<number>;
  /**
   * A connection left `room`, leaving `localMembers` here and `member` with its connections
   * here (no `member`: only the count changed); the count that remains.
   */
  left(room: string, localMembers: number, member?: MemberHere): MaybeAsync<number>;
  /** A connection opened or closed (RoomsService.localCensus() has the count). */
  connectionsChanged(): void;
  /**
   * Gives a room message its place in the room's log and delivers it to every member but
   * `except`, on every instance. 'local': Redis is away, so it went to this instance's members
   * alone, without an offset; 'unavailable': it went nowhere (it needed an offset, see
   * `offsetRequired`, and Redis failed).
   */
  publish(room: string, draft: Draft, except: Except): MaybeAsync<Published>;
  /**
   * Calls `enter` at the moment a member added by it gets every later message of the room
   * and no earlier one (synchronously with that moment: nothing is delivered in between). It
   * is given the room's position there, or with `since` the recovery up to that position.
   */
  enter<T>(room: string, since: Position | undefined, enter: (at: Position | Recovery) => T): MaybeAsync<T>;
  /** A page of the room's history; 'unavailable' when the log cannot be read. */
  history(room: string, before: number | undefined, limit: number): MaybeAsync<Page | 'unavailable'>;
  /** Members of `room` by key, from `offset`; 'unavailable' when the cluster's list cannot be read. */
  presence(room: string, offset: number, limit: number): MaybeAsync<MemberPage | 'unavailable'>;
  /**
   * Sends a broadcast to every other instance's connections; false, and sent nowhere, when they
   * cannot be reached (Redis is away, or what awaits it is past its bound).
   */
  broadcast(text: OutboundText): MaybeAsync<boolean>;
  /**
   * Has every other instance carry out `command` (this one does it itself); false, and sent
   * nowhere, when they cannot be reached (Redis is away).
   */
  control(command: Control): MaybeAsync<boolean>;
  members(room: string): MaybeAsync<number>;
  census(): MaybeAsync<Census>;
  /**
   * As census(), but 'unavailable' where that answers with this instance's share (the
   * cluster's cannot be read): for the app's backend, which acts on what it reads.
   */
  strictCensus(): MaybeAsync<Census | 'unavailable'>;
  /** Whether there are other instances to reach (cluster mode), so readiness checks `ready`. */
  readonly spansInstances: boolean;
  /** False while the engine cannot reach the other instances (readiness reports it). */
  readonly ready: boolean;
}

export type Published = Appended | 'local' | 'unavailable';

/** Injection token for the engine AppModule chose (REDIS_URL set or not). */
export const ROOMS_ENGINE = Symbol('RoomsEngine');

/** Busiest first, then by name: the order GET /rooms lists rooms in. */
export function byBusiestThenName(a: RoomCount, b: RoomCount): number {
  return b.members - a.members || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}
