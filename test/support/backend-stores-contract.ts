import type { EndpointQueue } from '../../src/webhooks/endpoint-queue';
import type { IdempotencyStore } from '../../src/api/idempotency/idempotency-store';
import type { WebhookEvent } from '../../src/webhooks/webhook-event';

let ids = 0;
const events = (n: number): WebhookEvent[] =>
  Array.from({ length: n }, () => ({ id: `e${++ids}`, name: 'member_joined', room: 'r1', ts: Date.now() }));
const idsOf = (queued: Array<{ event: WebhookEvent }>) => queued.map((q) => q.event.id);

/**
 * What any webhook queue promises its deliverer (MemoryEndpointQueue on one instance,
 * RedisEndpointQueue in cluster mode). `start(size)` gives a fresh, empty queue holding `size`.
 */
export function describeEndpointQueue(name: string, start: (size: number) => Promise<EndpointQueue>) {
  describe(`${name}: an endpoint's queue`, () => {
    it('gives the oldest events in order, the same ones until acked', async () => {
      const queue = await start(100);
      const pushed = events(5);
      await queue.push(pushed);
      expect(idsOf(await queue.peek(3))).toEqual(pushed.slice(0, 3).map((e) => e.id));
      const first = await queue.peek(3);
      await queue.ack(first.map((q) => q.key));
      expect(idsOf(await queue.peek(10))).toEqual([pushed[3].id, pushed[4].id]);
      expect(await queue.depth()).toBe(2);
      expect((await queue.peek(1))[0].at).toBeLessThanOrEqual(Date.now());
    });

    it('drops the oldest past its size and counts them; acking a dropped key changes nothing', async () => {
      const queue = await start(3);
      const pushed = events(5);
      await queue.push(pushed.slice(0, 1));
      const [first] = await queue.peek(1);
      await queue.push(pushed.slice(1));
      expect(idsOf(await queue.peek(10))).toEqual(pushed.slice(2).map((e) => e.id));
      expect(await queue.depth()).toBe(3);
      expect(await queue.dropped()).toBe(2);
      await queue.ack([first.key]);
      expect(await queue.depth()).toBe(3);
    });

    it('holds the queue for its one reader, which may send', async () => {
      const queue = await start(10);
      await queue.push(events(1));
      await queue.peek(1);
      expect(queue.holds()).toBe(true);
    });
  });
}

/**
 * What any Idempotency-Key store promises (MemoryIdempotency, RedisIdempotency). `start(ttlMs)`
 * gives a fresh store keeping answers that long.
 */
export function describeIdempotencyStore(name: string, start: (ttlMs: number) => Promise<IdempotencyStore>) {
  describe(`${name}: Idempotency-Keys`, () => {
    it('claims a new key, answers in_flight until it completes, then replays the answer', async () => {
      const store = await start(60_000);
      expect(await store.claim('api', 'k1', 'f1')).toEqual({ kind: 'new' });
      expect(await store.claim('api', 'k1', 'f1')).toEqual({ kind: 'in_flight' });
      await store.complete('api', 'k1', 'f1', { id: 'm1', offset: 3 });
      expect(await store.claim('api', 'k1', 'f1')).toEqual({ kind: 'replay', body: { id: 'm1', offset: 3 } });
    });

    it('refuses the key with another fingerprint, in flight or done', async () => {
      const store = await start(60_000);
      await store.claim('api', 'k2', 'f1');
      expect(await store.claim('api', 'k2', 'f2')).toEqual({ kind: 'mismatch' });
      await store.complete('api', 'k2', 'f1', 'done');
      expect(await store.claim('api', 'k2', 'f2')).toEqual({ kind: 'mismatch' });
    });

    it('frees a released claim, but never an answer or another fingerprint’s claim', async () => {
      const store = await start(60_000);
      await store.claim('api', 'k3', 'f1');
      await store.release('api', 'k3', 'f1');
      expect(await store.claim('api', 'k3', 'f1')).toEqual({ kind: 'new' });
      await store.release('api', 'k3', 'f2');
      expect(await store.claim('api', 'k3', 'f1')).toEqual({ kind: 'in_flight' });
      await store.complete('api', 'k3', 'f1', 'kept');
      await store.release('api', 'k3', 'f1');
      expect(await store.claim('api', 'k3', 'f1')).toEqual({ kind: 'replay', body: 'kept' });
    });

    it('keeps each API key’s keys apart, and forgets them after the TTL', async () => {
      const store = await start(1000);
      await store.claim('one', 'k4', 'f1');
      await store.complete('one', 'k4', 'f1', 1);
      expect(await store.claim('two', 'k4', 'f1')).toEqual({ kind: 'new' });
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect(await store.claim('one', 'k4', 'f1')).toEqual({ kind: 'new' });
    });
  });
}
