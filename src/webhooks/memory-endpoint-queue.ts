import type { EndpointQueue, QueuedEvent } from './endpoint-queue';
import type { WebhookEvent } from './webhook-event';

/** Slots left behind the head before the array is cut down; cutting costs a copy of what is held. */
const COMPACT_AFTER = 1024;

/**
 * An endpoint's queue on one instance. Events sit in an array from `head`, keyed by their
 * sequence number, so `ack` finds one by arithmetic; a slot gone (dropped, acked) is set to
 * undefined at once, so nothing the queue let go of stays reachable from it.
 */
export class MemoryEndpointQueue implements EndpointQueue {
  private slots: Array<QueuedEvent | undefined> = [];
  private head = 0;
  /** The sequence number of slots[0]. */
  private base = 0;
  private held = 0;
  private droppedCount = 0;
  /** Whether a push came after the last peek, which a wait must not sleep through. */
  private unseen = false;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new Error('A queue holds at least one event');
  }

  push(events: readonly WebhookEvent[]): void {
    if (events.length === 0) return;
    const at = Date.now();
    for (const event of events) {
      this.slots.push({ key: String(this.base + this.slots.length), event, at });
      if (++this.held > this.capacity) this.dropOldest();
    }
    this.unseen = true;
    for (const wake of this.waiters) wake();
  }

  peek(max: number): QueuedEvent[] {
    this.unseen = false;
    const found: QueuedEvent[] = [];
    for (let i = this.head; i < this.slots.length && found.length < max; i++) {
      const slot = this.slots[i];
      if (slot) found.push(slot);
    }
    return found;
  }

  /** The oldest events stay first until acked: nothing to note, and nobody resumes a batch. */
  sending(): number {
    return Date.now();
  }

  /** One instance reads it, always. */
  holds(): boolean {
    return true;
  }

  lost(): undefined {
    return undefined;
  }

  ack(keys: readonly string[]): void {
    for (const key of keys) {
      const i = Number(key) - this.base;
      if (!(i >= this.head && i < this.slots.length && this.slots[i])) continue;
      this.slots[i] = undefined;
      this.held--;
    }
    this.skipGone();
    this.compact();
  }

  depth(): number {
    return this.held;
  }

  dropped(): number {
    return this.droppedCount;
  }

  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || this.unseen) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done);
      this.waiters.add(done);
    });
  }

  private dropOldest(): void {
    this.slots[this.head++] = undefined;
    this.held--;
    this.droppedCount++;
    this.skipGone();
    // Here, not once per push: a push far past the bound would otherwise grow the array by all of it.
    this.compact();
  }

  /** Keeps the head on an event held, so the oldest is always slots[head]. */
  private skipGone(): void {
    while (this.head < this.slots.length && this.slots[this.head] === undefined) this.head++;
  }

  private compact(): void {
    if (this.head < COMPACT_AFTER || this.head < this.slots.length / 2) return;
    this.slots = this.slots.slice(this.head);
    this.base += this.head;
    this.head = 0;
  }
}
