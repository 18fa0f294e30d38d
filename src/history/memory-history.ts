import type { HistoryConfig } from '../config/load-config';
import { CidMemory, cidKey } from './cid-memory';
import { newEpoch } from './epoch';
import {
  type Appended,
  type Draft,
  type HistoryStore,
  type Page,
  type Position,
  type Recovery,
  recoveryFailure,
} from './history-store';
import { RoomLog } from './room-log';

const CLOSING_BRACE = 0x7d;

/**
 * Room logs of one instance, in memory. Appending is a counter, a string and an array slot.
 * All logs together stay under HISTORY_MAX_BYTES: past it, the logs used least recently
 * (a clock sweep, so a use costs one flag) lose their frames, and, when nobody is in the
 * room, their position too: such a room starts again with a new epoch. A log whose room is
 * empty goes HISTORY_TTL_MS after its last message, join or leave.
 */
export class MemoryHistory implements HistoryStore {
  private readonly logs = new Map<string, RoomLog>();
  private readonly cids: CidMemory;
  private bytes = 0;
  /**
   * What a sweep that could free no more left (only the positions of rooms in use remain):
   * the next waits until frames worth a sixteenth of the bound have come, so that sweeps stay
   * a few per that many bytes, not one per message.
   */
  private stuck = 0;
  private lastSweep: number;

  constructor(
    private readonly config: HistoryConfig,
    /** Whether the room has members here: their position outlives eviction and expiry. */
    private readonly inUse: (room: string) => boolean,
    private readonly now: () => number = Date.now,
  ) {
    this.cids = new CidMemory(config.idempotencyTtlMs, config.idempotencyMaxKeys);
    this.lastSweep = now();
  }

  /** Bytes counted against HISTORY_MAX_BYTES, and how many logs there are. */
  get usage(): { bytes: number; logs: number; cids: number } {
    return { bytes: this.bytes, logs: this.logs.size, cids: this.cids.size };
  }

  append(room: string, draft: Draft): Appended {
    const now = this.now();
    const key = draft.cid && cidKey(room, draft.cid.sender, draft.cid.id);
    const first = key ? this.cids.get(key, now) : undefined;
    if (first) return { duplicate: true, ...first };
    const log = this.log(room, now);
    const offset = ++log.offset;
    const frame = flat(draft.head + offset + '}');
    this.bytes += log.push(frame);
    if (this.bytes > this.config.maxBytes && this.bytes > this.stuck) this.evict();
    if (key) this.cids.remember(key, { offset, id: draft.id, ts: draft.ts }, now);
    return { duplicate: false, epoch: log.epoch, offset, frame, id: draft.id, ts: draft.ts };
  }

  position(room: string): Position {
    const log = this.log(room, this.now());
    return { epoch: log.epoch, offset: log.offset };
  }

  /** The room's last member here left: its log lasts HISTORY_TTL_MS from now. */
  keep(room: string): void {
    const log = this.logs.get(room);
    if (log) log.touched = this.now();
  }

  recover(room: string, since: Position, max: number): Recovery {
    const log = this.log(room, this.now());
    const now = { epoch: log.epoch, offset: log.offset };
    if (this.config.size === 0) return { ...now, ok: false, reason: 'history_off' };
    const reason = recoveryFailure(since, now, log.oldest, max);
    if (reason) return { ...now, ok: false, reason };
    return { ...now, ok: true, frames: log.range(since.offset + 1, log.offset) };
  }

  page(room: string, before: number | undefined, limit: number): Page {
    const log = this.log(room, this.now());
    const last = Math.min(before === undefined ? log.offset : before - 1, log.offset);
    const from = Math.max(last - limit + 1, log.oldest);
    return {
      epoch: log.epoch,
      offset: log.offset,
      frames: from <= last ? log.range(from, last) : [],
      more: from > log.oldest,
    };
  }

  /** The room's log, started if there is none; marked used. */
  private log(room: string, now: number): RoomLog {
    if (now - this.lastSweep > this.config.ttlMs / 4) this.sweep(now);
    let log = this.logs.get(room);
    if (log && now - log.touched > this.config.ttlMs && !this.inUse(room)) {
      this.drop(room, log);
      log = undefined;
    }
    if (!log) {
      log = new RoomLog(newEpoch(), this.config.size, now);
      this.logs.set(room, log);
      this.bytes += log.bytes;
    }
    log.used = true;
    log.touched = now;
    return log;
  }

  /** Drops the logs of empty rooms untouched for HISTORY_TTL_MS. */
  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [room, log] of this.logs) {
      if (now - log.touched > this.config.ttlMs && !this.inUse(room)) this.drop(room, log);
    }
  }

  // The clock hand is the front of the map: a used log loses its flag and goes to the back, an
  // unused one is evicted. Two turns at most: a room in use can only lose its frames.
  private evict(): void {
    let steps = 2 * this.logs.size;
    this.stuck = 0;
    for (const [room, log] of this.logs) {
      if (this.bytes <= this.config.maxBytes) return;
      if (steps-- === 0) break;
      this.logs.delete(room);
      if (log.used) {
        log.used = false;
        this.logs.set(room, log);
      } else if (this.inUse(room)) {
        this.bytes -= log.clear();
        this.logs.set(room, log);
      } else {
        this.bytes -= log.bytes;
      }
    }
    if (this.bytes > this.config.maxBytes) this.stuck = this.bytes + this.config.maxBytes / 16;
  }

  private drop(room: string, log: RoomLog): void {
    this.logs.delete(room);
    this.bytes -= log.bytes;
  }
}

/**
 * The frame as one string of its own. It is made of pieces, one of them the message cut out of
 * the client's frame, which V8 keeps as a view of that whole frame (up to MAX_PAYLOAD_BYTES):
 * kept as it is, a log would hold every frame its messages came in. Reading a character of a
 * string made of pieces makes V8 flatten it in place, copying the characters once (writing it
 * to a socket would make the same copy); the read is checked, so no compiler drops it.
 */
function flat(frame: string): string {
  if (frame.charCodeAt(frame.length - 1) !== CLOSING_BRACE) throw new Error('not a frame');
  return frame;
}
