import type { MaybeAsync } from '../rooms/engine';

/** Where a room's log stands: `offset` is its latest message's, in the log `epoch` names. */
export interface Position {
  readonly epoch: string;
  readonly offset: number;
}

/** A room message on its way into the log. */
export interface Draft {
  /** The message frame up to its offset's value: `{"type":"message",...,"offset":`. */
  readonly head: string;
  readonly id: string;
  readonly ts: number;
  /** The client's id for it, and who sent it (`sub`, or "" for any anonymous sender). */
  readonly cid?: { readonly id: string; readonly sender: string };
  /** Sent by the app's backend (the HTTP API), which is told whether it went out. */
  readonly fromServer?: boolean;
}

/**
 * A message whose sender must be able to retry it goes out with an offset or not at all:
 * never to one instance's members alone while Redis is away.
 */
export const offsetRequired = (draft: Draft) => draft.cid !== undefined || draft.fromServer === true;

/** The message's place in the log, or, for a `cid` seen before, the first message's. */
export type Appended =
  | {
      readonly duplicate: false;
      readonly epoch: string;
      readonly offset: number;
      readonly frame: string;
      readonly id: string;
      readonly ts: number;
      /** The frame's UTF-8 bytes, when the store encoded them: good until its next append. */
      readonly utf8?: Buffer;
    }
  | { readonly duplicate: true; readonly offset: number; readonly id: string; readonly ts: number };

/**
 * The messages after a client's position, every one of them, or why not (`reason`): never a
 * part. `epoch` and `offset` are the room's position when they were read.
 */
export type Recovery = Position &
  (
    | { readonly ok: true; readonly frames: readonly string[] }
    | { readonly ok: false; readonly reason: RecoveryFailure }
  );

/** `unavailable`: cluster mode, and Redis cannot be reached. */
export type RecoveryFailure = 'history_off' | 'epoch' | 'ahead' | 'too_many' | 'gone' | 'unavailable';

/** A page of history, oldest first, and whether older messages remain. */
export interface Page extends Position {
  readonly frames: readonly string[];
  readonly more: boolean;
}

/**
 * A room's log: positions, the newest messages and the `cid`s seen. In memory on one instance;
 * in Redis in cluster mode, where appending also publishes (one script). Both implementations
 * run test/support/history-contract.ts.
 */
export interface HistoryStore {
  /** Gives the message the room's next offset and keeps it, unless its `cid` was seen. */
  append(room: string, draft: Draft): MaybeAsync<Appended>;
  /** The room's position now; a room without a log gets one (offset 0, a new epoch). */
  position(room: string): MaybeAsync<Position>;
  /** The room's last member here left: its log lasts HISTORY_TTL_MS from now. */
  keep(room: string): void;
  /** The messages after `since` (at most `max`), all or none. */
  recover(room: string, since: Position, max: number): MaybeAsync<Recovery>;
  /** Up to `limit` of the newest messages with offsets below `before` (all, when undefined). */
  page(room: string, before: number | undefined, limit: number): MaybeAsync<Page>;
}

/** Judges a recovery from the log's position and the oldest offset it still holds (top + 1 when none). */
export function recoveryFailure(
  since: Position,
  now: Position,
  oldestKept: number,
  max: number,
): RecoveryFailure | undefined {
  if (since.epoch !== now.epoch) return 'epoch';
  if (since.offset > now.offset) return 'ahead';
  if (now.offset - since.offset > max) return 'too_many';
  if (since.offset < now.offset && since.offset + 1 < oldestKept) return 'gone';
  return undefined;
}
