import type { MaybeAsync } from '../rooms/engine';
import type { WebhookEvent } from './webhook-event';

/** An event as its endpoint's queue holds it. */
export interface QueuedEvent {
  /** The queue's name for it (a stream id in Redis): what `ack` takes. */
  readonly key: string;
  readonly event: WebhookEvent;
  /** When it was queued, in Unix ms: a batch waits for more events at most a window past its oldest. */
  readonly at: number;
}

/**
 * The events waiting for one endpoint, oldest first, read by that endpoint's deliverer:
 * MemoryEndpointQueue on one instance, RedisEndpointQueue (a stream) in cluster mode; both keep
 * the promises test/support/backend-stores-contract.ts states. It is bounded: pushing past the
 * bound drops the oldest events, even ones being delivered, and counts them.
 */
export interface EndpointQueue {
  push(events: readonly WebhookEvent[]): MaybeAsync<void>;
  /** Up to `max` of the oldest events not yet acked, in order; the same ones until acked. */
  peek(max: number): MaybeAsync<QueuedEvent[]>;
  /**
   * The batch about to be sent, oldest first: until it is acked, a reader that takes the queue
   * over (another instance, after this one died) gets exactly these events first, so it sends
   * them under the same webhook-id. When the batch was first tried (by any reader), for the
   * retry window; undefined when this reader no longer holds the queue.
   */
  sending(batch: readonly QueuedEvent[]): MaybeAsync<number | undefined>;
  /** Whether this reader may still send: false once another may have taken the queue over. */
  holds(): boolean;
  /** Aborts when this reader stops holding the queue, so a request in flight ends; undefined when it never does. */
  lost(): AbortSignal | undefined;
  /** Delivered or given up on: gone. Keys no longer held (dropped, acked) are ignored. */
  ack(keys: readonly string[]): MaybeAsync<void>;
  /** Events held. */
  depth(): MaybeAsync<number>;
  /** Events dropped since the queue began, because it was full. */
  dropped(): MaybeAsync<number>;
  /**
   * Resolves once events are pushed that the last peek did not see (at once if some already
   * are), after `ms`, or when `signal` aborts, whichever is first; never rejects.
   */
  wait(ms: number, signal?: AbortSignal): Promise<void>;
}
