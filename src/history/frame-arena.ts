/**
 * The frames of every room's log on one instance, as UTF-8 in one buffer written round and
 * round: the newest overwrite the oldest, whichever room they are in. Kept outside V8's heap,
 * a kept frame costs the garbage collector nothing: on the JS heap every message would live
 * long enough to be copied into the old generation and die there, which measured 1.26× the
 * CPU per delivery of keeping none (docs/benchmarks.md). A frame is found by where it starts,
 * counted in bytes ever written, so a start the buffer has since written over is known stale.
 */
export class FrameArena {
  private buffer: Buffer | undefined;
  private written = 0;
  /** The byte length of the frame `write` last kept. */
  lastLength = 0;

  constructor(readonly capacity: number) {}

  /** Keeps `frame`; where it starts, or -1 for a frame too big to keep (over a quarter of it). */
  write(frame: string): number {
    const worst = frame.length * 3; // UTF-8 bytes at most, per UTF-16 unit
    if (worst > this.capacity / 4) return -1;
    // Every page touched once, at the first frame: otherwise each of the first capacity / 4 KB
    // frames' pages would cost its writer a page fault.
    const buffer = (this.buffer ??= Buffer.allocUnsafeSlow(this.capacity).fill(0));
    let at = this.written % this.capacity;
    if (this.capacity - at < worst) {
      this.written += this.capacity - at; // a frame never wraps: what is left at the end stays unused
      at = 0;
    }
    const start = this.written;
    this.lastLength = buffer.write(frame, at, 'utf8');
    this.written += this.lastLength;
    return start;
  }

  /** Whether the frame starting at `start` is still there. */
  holds(start: number): boolean {
    return start >= 0 && start >= this.written - this.capacity;
  }

  /** The bytes of the frame starting at `start`, as a view: good until the arena comes round to them again. */
  bytes(start: number, length: number): Buffer {
    const at = start % this.capacity;
    return this.buffer!.subarray(at, at + length);
  }

  read(start: number, length: number): string {
    const at = start % this.capacity;
    return this.buffer!.toString('utf8', at, at + length);
  }
}
