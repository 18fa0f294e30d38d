import type { FrameArena } from './frame-arena';
import type { Position } from './history-store';

// What a log and each entry of its index cost on the heap (the object, its map entry, room
// name and epoch; two array slots and their growth slack), measured, so that HISTORY_MAX_BYTES
// bounds the process's memory, not only the frames.
const LOG_OVERHEAD_BYTES = 800;
const ENTRY_BYTES = 20;

/**
 * One room's log in memory: its position, and an index of its newest frames (where each
 * starts in the FrameArena, and its length), a ring of HISTORY_SIZE entries. Offsets keep
 * counting when frames are written over or the index is dropped (`clear`), so a position
 * stays good while the room lives.
 */
export class RoomLog implements Position {
  offset = 0;
  /** Bytes this log counts against the index's share of HISTORY_MAX_BYTES. */
  bytes = LOG_OVERHEAD_BYTES;
  /** Set on each use; the eviction's clock hand clears it (a second chance before eviction). */
  used = true;
  /** When its last message, join or leave was (ms). */
  touched: number;
  private starts: number[] = [];
  private lengths: number[] = [];
  /** The offset starts[0] held when the ring last started filling. */
  private first = 1;

  constructor(
    readonly epoch: string,
    private readonly size: number,
    now: number,
  ) {
    this.touched = now;
  }

  /** Indexes the frame of `offset` (just advanced to it), -1 for one not kept; returns the bytes it adds. */
  push(start: number, length: number): number {
    if (this.size === 0) return 0;
    if (this.starts.length < this.size) {
      this.starts.push(start);
      this.lengths.push(length);
      this.bytes += ENTRY_BYTES;
      return ENTRY_BYTES;
    }
    const at = (this.offset - this.first) % this.size;
    this.starts[at] = start;
    this.lengths[at] = length;
    return 0;
  }

  /** The oldest offset whose frame the arena still holds (offset + 1 when none). */
  oldest(arena: FrameArena): number {
    let oldest = this.offset - Math.min(this.starts.length, this.offset - this.first + 1) + 1;
    while (oldest <= this.offset && !arena.holds(this.starts[this.index(oldest)])) oldest++;
    return oldest;
  }

  /** Frames of offsets from..to, all held (the caller checks `oldest`). */
  range(arena: FrameArena, from: number, to: number): string[] {
    const out: string[] = [];
    for (let offset = from; offset <= to; offset++) {
      const at = this.index(offset);
      out.push(arena.read(this.starts[at], this.lengths[at]));
    }
    return out;
  }

  /** Drops the index, keeping the position; returns the bytes freed. */
  clear(): number {
    const freed = this.bytes - LOG_OVERHEAD_BYTES;
    this.starts = [];
    this.lengths = [];
    this.first = this.offset + 1;
    this.bytes = LOG_OVERHEAD_BYTES;
    return freed;
  }

  private index(offset: number): number {
    return (offset - this.first) % this.size;
  }
}
