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
import { FrameArena } from './frame-arena';
import { RoomLog } from './room-log';

// Of HISTORY_MAX_BYTES, what the frames get; the rest is for the logs' positions and indexes.
const FRAMES_SHARE = 3 / 4;

/**
 * Room logs of one instance, in memory. Appending is a counter, a copy of the frame's bytes
 * into the FrameArena and two array slots. All logs together stay under HISTORY_MAX_BYTES:
 * three quarters of it hold the frames, the newest writing over the oldest, whichever room
 * they are in; the rest holds the logs' positions and indexes, and past it the logs used least
 * recently (a clock sweep, so a use costs one flag) lose their index, and, when nobody is in
 * the room, their position too: such a room starts again with a new epoch. A log whose room
 * is empty goes HISTORY_TTL_MS after its last message, join or leave.
 */
export class MemoryHistory implements HistoryStore {
  private readonly logs = new Map<string, RoomLog>();
  private readonly cids: CidMemory;
  private readonly arena: FrameArena;
  private readonly indexBytes: number;
  /** What the logs' positions and indexes count. */
  private bytes = 0;
  /**
   * What a sweep that could free no more left (only the positions of rooms in use remain):
   * the next waits until a sixteenth of the index's share more, so that sweeps stay a few
   * per that many bytes, not one per message.
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
    this.arena = new FrameArena(Math.floor(config.maxBytes * FRAMES_SHARE));
    this.indexBytes = config.maxBytes - this.arena.capacity;
    this.lastSweep = now();
  }

  /** Bytes counted against HISTORY_MAX_BYTES (the frames' whole share, and the logs'), and how many logs there are. */
  get usage(): { bytes: number; logs: number; cids: number } {
    return { bytes: this.arena.capacity + this.bytes, logs: this.logs.size, cids: this.cids.size };
  }

  append(room: string, draft: Draft): Appended {
    const now = this.now();
    const key = draft.cid && cidKey(room, draft.cid.sender, draft.cid.id);
    const first = key ? this.cids.get(key, now) : undefined;
    if (first) return { duplicate: true, ...first };
    const log = this.log(room, now);
    const offset = ++log.offset;
    const frame = draft.head + offset + '}';
    let utf8: Buffer | undefined;
    if (this.config.size > 0) {
      const start = this.arena.write(frame);
      this.bytes += log.push(start, this.arena.lastLength);
      if (this.bytes > this.indexBytes && this.bytes > this.stuck) this.evict();
      if (start >= 0) utf8 = this.arena.bytes(start, this.arena.lastLength);
    }
    if (key) this.cids.remember(key, { offset, id: draft.id, ts: draft.ts }, now);
    return { duplicate: false, epoch: log.epoch, offset, frame, id: draft.id, ts: draft.ts, utf8 };
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
    const reason = recoveryFailure(since, now, log.oldest(this.arena), max);
    if (reason) return { ...now, ok: false, reason };
    return { ...now, ok: true, frames: log.range(this.arena, since.offset + 1, log.offset) };
  }

  page(room: string, before: number | undefined, limit: number): Page {
    const log = this.log(room, this.now());
    const oldest = log.oldest(this.arena);
    const last = Math.min(before === undefined ? log.offset : before - 1, log.offset);
    const from = Math.max(last - limit + 1, oldest);
    return {
      epoch: log.epoch,
      offset: log.offset,
      frames: from <= last ? log.range(this.arena, from, last) : [],
      more: from > oldest,
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
      if (this.bytes > this.indexBytes && this.bytes > this.stuck) this.evict();
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
      if (this.bytes <= this.indexBytes) return;
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
    if (this.bytes > this.indexBytes) this.stuck = this.bytes + this.indexBytes / 16;
  }

  private drop(room: string, log: RoomLog): void {
    this.logs.delete(room);
    this.bytes -= log.bytes;
  }
}
