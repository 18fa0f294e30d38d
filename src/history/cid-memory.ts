/** What a `cid` is remembered with: the first message's ack. */
export interface FirstAck {
  readonly offset: number;
  readonly id: string;
  readonly ts: number;
}

interface Remembered extends FirstAck {
  readonly expires: number;
}

/**
 * The `cid`s seen in the last `ttlMs`, at most `maxKeys` of them. Every key lives the same
 * time, so insertion order is expiry order: expired and surplus keys leave from the front,
 * a few at each insert, with no timer.
 */
export class CidMemory {
  private readonly keys = new Map<string, Remembered>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxKeys: number,
  ) {}

  get size(): number {
    return this.keys.size;
  }

  get(key: string, now: number): FirstAck | undefined {
    const found = this.keys.get(key);
    return found && found.expires > now ? { offset: found.offset, id: found.id, ts: found.ts } : undefined;
  }

  remember(key: string, ack: FirstAck, now: number): void {
    for (const [oldest, { expires }] of this.keys) {
      if (expires > now && this.keys.size < this.maxKeys) break;
      this.keys.delete(oldest);
    }
    this.keys.set(key, { ...ack, expires: now + this.ttlMs });
  }
}

/** One key per room, sender and cid; NUL cannot occur in any of them. */
export const cidKey = (room: string, sender: string, cid: string) => `${room}\0${sender}\0${cid}`;
