import type { Position } from './history-store';

// What a log and each kept message cost beyond the frame's characters (object, array slot,
// string header), so that HISTORY_MAX_BYTES bounds the process's memory, not only the text.
export const LOG_OVERHEAD_BYTES = 240;
export const FRAME_OVERHEAD_BYTES = 24;
// V8 keeps a string with any character past U+00FF at two bytes a character. Counting every
// frame so costs memory held below the bound for Latin-1 text, and spares a scan per message.
const BYTES_PER_CHAR = 2;
const sizeOf = (frame: string) => frame.length * BYTES_PER_CHAR + FRAME_OVERHEAD_BYTES;

/**
 * One room's log in memory: its position and a ring of its newest frames. Offsets keep
 * counting when frames are dropped (`clear`), so a position stays good while the room lives.
 */
export class RoomLog implements Position {
  offset = 0;
  /** Bytes this log counts against HISTORY_MAX_BYTES. */
  bytes = LOG_OVERHEAD_BYTES;
  /** Set on each use; the eviction's clock hand clears it (a second chance before eviction). */
  used = true;
  /** When its last message, join or leave was (ms). */
  touched: number;
  private frames: string[] = [];
  /** The offset frames[0] held when the ring last started filling. */
  private first = 1;

  constructor(
    readonly epoch: string,
    private readonly size: number,
    now: number,
  ) {
    this.touched = now;
  }

  /** The oldest offset still kept (offset + 1 when none is). */
  get oldest(): number {
    return this.offset - this.kept + 1;
  }

  private get kept(): number {
    return Math.min(this.frames.length, this.offset - this.first + 1);
  }

  /** Keeps the frame of `offset`, just advanced to it; returns the bytes it adds. */
  push(frame: string): number {
    if (this.size === 0) return 0;
    const added = sizeOf(frame);
    if (this.frames.length < this.size) {
      this.frames.push(frame);
      this.bytes += added;
      return added;
    }
    const at = (this.offset - this.first) % this.size;
    const change = sizeOf(frame) - sizeOf(this.frames[at]);
    this.frames[at] = frame;
    this.bytes += change;
    return change;
  }

  /** Frames of offsets from..to (kept ones only; the caller checks `oldest`). */
  range(from: number, to: number): string[] {
    const out: string[] = [];
    for (let offset = Math.max(from, this.oldest); offset <= to; offset++) {
      out.push(this.frames[(offset - this.first) % this.size]);
    }
    return out;
  }

  /** Drops every frame, keeping the position; returns the bytes freed. */
  clear(): number {
    const freed = this.bytes - LOG_OVERHEAD_BYTES;
    this.frames = [];
    this.first = this.offset + 1;
    this.bytes = LOG_OVERHEAD_BYTES;
    return freed;
  }
}
