import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { tallies } from '../metrics/tally';
import type { EndpointQueue, QueuedEvent } from './endpoint-queue';
import { backoffMs, isRetryableStatus, retryAfterMs } from './retry-policy';
import { webhookId, type WebhookSigner } from './webhook-signer';

/** What became of each request: `retried` counts the failed attempts that will be made again. */
export const DELIVERY_OUTCOMES = ['delivered', 'retried', 'rejected', 'expired'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

export interface EndpointDelivererOptions {
  readonly url: URL;
  readonly queue: EndpointQueue;
  readonly signer: WebhookSigner;
  /** For one request, until its response's headers. */
  readonly timeoutMs: number;
  /** How long a batch is retried, from its first attempt, before it is given up on. */
  readonly retryForMs: number;
  /** Events per request (20). */
  readonly batchSize?: number;
  /** How long the oldest queued event waits for others to share its request (250 ms). */
  readonly batchWindowMs?: number;
  /** Backoff before the first retry (500 ms), doubling with each one up to `backoffMaxMs` (60 s). */
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  /** How long one wait on an empty queue lasts before it looks again (1 s); also the pause after a queue error. */
  readonly idleWaitMs?: number;
  readonly logger?: Pick<Logger, 'warn' | 'error' | 'debug'>;
}

type Attempt =
  { kind: 'delivered' | 'rejected'; why: string } | { kind: 'failed'; why: string; retryAfterMs?: number };

/** Response bytes read so the connection can serve the next request; a body past this closes it. */
const DRAIN_LIMIT = 64 * 1024;

/**
 * Delivers one endpoint's queue: waits for a batch, POSTs it signed, and retries it until it is
 * delivered, refused or too old; one request at a time, so a slow endpoint holds up only itself.
 */
export class EndpointDeliverer {
  /** The URL without its query (which can carry a token): for logs and metric labels. */
  readonly endpoint: string;
  readonly outcomes = tallies(DELIVERY_OUTCOMES);
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private readonly o: Required<EndpointDelivererOptions>;

  constructor(options: EndpointDelivererOptions) {
    this.o = {
      batchSize: 20,
      batchWindowMs: 250,
      backoffBaseMs: 500,
      backoffMaxMs: 60_000,
      idleWaitMs: 1000,
      logger: new Logger(EndpointDeliverer.name),
      ...options,
    };
    this.endpoint = `${options.url.origin}${options.url.pathname}`;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Ends the wait and any request at once; a batch not yet delivered stays in the queue. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        const batch = await this.nextBatch();
        if (batch) await this.send(batch);
      } catch (err) {
        // Only a shared queue (Redis) fails to read or ack; look again later, not in a tight loop.
        this.o.logger.error(`Webhook queue of ${this.endpoint} failed: ${(err as Error).message}`);
        await this.pause(this.o.idleWaitMs);
      }
    }
  }

  /** The next batch: `batchSize` events, or fewer once the oldest has waited `batchWindowMs`. */
  private async nextBatch(): Promise<QueuedEvent[] | undefined> {
    const { queue, batchSize, batchWindowMs, idleWaitMs } = this.o;
    while (!this.stopping.signal.aborted) {
      const queued = await queue.peek(batchSize);
      if (queued.length >= batchSize) return queued;
      const dueInMs = queued.length === 0 ? idleWaitMs : queued[0].at + batchWindowMs - Date.now();
      if (queued.length > 0 && dueInMs <= 0) return queued;
      await queue.wait(dueInMs, this.stopping.signal);
    }
    return undefined;
  }

  private async send(batch: QueuedEvent[]): Promise<void> {
    const id = webhookId(batch.map((queued) => queued.event.id));
    const body = JSON.stringify({ events: batch.map((queued) => queued.event) });
    // Another instance holds the queue now (this one was cut off from Redis): it sends the batch.
    const firstAt = await this.o.queue.sending(batch);
    if (firstAt === undefined) return;
    for (let attempts = 1; ; attempts++) {
      if (!this.o.queue.holds()) return;
      const attempt = await this.attempt(id, body);
      if (!this.o.queue.holds()) return; // it was cut short when the queue was lost
      if (this.stopping.signal.aborted) return;
      const done = attempt.kind === 'failed' ? this.retryIn(attempt, firstAt, attempts) : attempt.kind;
      if (typeof done === 'number') {
        this.outcomes.retried.value++;
        const line = `Webhook ${id} to ${this.endpoint} failed (${attempt.why}); retrying in ${Math.round(done)} ms`;
        // One warning per batch is enough to show an endpoint is down; the rest would only repeat it.
        if (attempts === 1) this.o.logger.warn(line);
        else this.o.logger.debug(line);
        await this.pause(done);
        continue;
      }
      this.outcomes[done].value++;
      if (done !== 'delivered') {
        this.o.logger.warn(
          `Webhook ${id} to ${this.endpoint} ${done} (${attempt.why}) after ${attempts} attempt(s); its ${batch.length} events are dropped`,
        );
      }
      return this.o.queue.ack(batch.map((queued) => queued.key));
    }
  }

  /** How long to wait before the next attempt, or 'expired' if it would start past the retry window. */
  private retryIn(attempt: { retryAfterMs?: number }, firstAt: number, failures: number): number | 'expired' {
    const leftMs = firstAt + this.o.retryForMs - Date.now();
    const asked = attempt.retryAfterMs ?? 0;
    if (leftMs <= 0 || asked > leftMs) return 'expired';
    // Never sooner than the receiver asked, nor in a tight loop when it asks for 0.
    const backoff = backoffMs(failures, this.o.backoffBaseMs, this.o.backoffMaxMs);
    return Math.min(leftMs, Math.max(asked, backoff));
  }

  private async attempt(id: string, body: string): Promise<Attempt> {
    // Not AbortSignal.any() over the long-lived stopping signal: Node 20 keeps every signal made
    // from it alive (nodejs/node#55351), so a deliverer retrying for days would grow.
    const request = new AbortController();
    const abort = () => request.abort(new Error('stopped'));
    const timer = setTimeout(
      () => request.abort(new DOMException('timed out', 'TimeoutError')),
      this.o.timeoutMs,
    );
    // Shutdown ends it, and so does the loss of the queue: no two requests to one endpoint at once.
    const lost = this.o.queue.lost();
    for (const ends of [this.stopping.signal, lost]) ends?.addEventListener('abort', abort);
    const signal = request.signal;
    try {
      const response = await fetch(this.o.url, {
        method: 'POST',
        headers: this.o.signer.headers(id, body),
        body,
        signal,
        // A redirect would resend the signed events where no one configured; it counts as a refusal.
        redirect: 'manual',
      });
      await drain(response);
      const why = `status ${response.status}`;
      if (response.ok) return { kind: 'delivered', why };
      if (!isRetryableStatus(response.status)) return { kind: 'rejected', why };
      return { kind: 'failed', why, retryAfterMs: retryAfterMs(response.headers.get('retry-after')) };
    } catch (err) {
      return { kind: 'failed', why: failure(err as Error, this.o.timeoutMs) };
    } finally {
      clearTimeout(timer);
      for (const ends of [this.stopping.signal, lost]) ends?.removeEventListener('abort', abort);
    }
  }

  private pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.stopping.signal }).catch(() => undefined);
  }
}

/**
 * Reads a small body to its end, so the connection is kept for the next request. The status has
 * already said what happened, so a body that breaks off changes nothing.
 */
async function drain(response: Response): Promise<void> {
  if (!response.body) return;
  let read = 0;
  try {
    for await (const chunk of response.body) {
      read += (chunk as Uint8Array).byteLength;
      if (read > DRAIN_LIMIT) break; // leaving the loop cancels the stream
    }
  } catch {
    // The connection broke, or the request's timeout fired mid-body.
  }
}

function failure(err: Error, timeoutMs: number): string {
  if (err.name === 'TimeoutError') return `no response within ${timeoutMs} ms`;
  // fetch's own message is "fetch failed"; the reason (ECONNREFUSED, a TLS error) is its cause.
  const cause = err.cause as (Error & { code?: string }) | undefined;
  return cause?.code ?? cause?.message ?? err.message;
}
