import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MemoryEndpointQueue } from './memory-endpoint-queue';
import type { WebhookEvent } from './webhook-event';

let ids = 0;
const events = (n: number): WebhookEvent[] =>
  Array.from({ length: n }, () => ({ id: `e${++ids}`, name: 'member_joined', room: 'r1', ts: Date.now() }));
const idsOf = (queued: Array<{ event: WebhookEvent }>) => queued.map((q) => q.event.id);

describe(MemoryEndpointQueue.name, () => {
  describe('peek and ack', () => {
    it('gives the oldest events in order, the same ones until acked', () => {
      const sut = new MemoryEndpointQueue(100);
      const pushed = events(5);
      sut.push(pushed);
      expect(idsOf(sut.peek(3))).toEqual(idsOf(pushed.slice(0, 3).map((event) => ({ event }))));
      expect(sut.peek(3)).toEqual(sut.peek(3));
      sut.ack(sut.peek(3).map((q) => q.key));
      expect(idsOf(sut.peek(10))).toEqual([pushed[3].id, pushed[4].id]);
      expect(sut.depth()).toBe(2);
    });

    it('stamps each event with when it was queued', () => {
      const sut = new MemoryEndpointQueue(10);
      const before = Date.now();
      sut.push(events(1));
      expect(sut.peek(1)[0].at).toBeGreaterThanOrEqual(before);
      expect(sut.peek(1)[0].at).toBeLessThanOrEqual(Date.now());
    });

    it('acks any held events, in any order, and ignores keys it no longer holds', () => {
      const sut = new MemoryEndpointQueue(10);
      sut.push(events(4));
      const [a, b, c, d] = sut.peek(4);
      sut.ack([c.key, a.key]);
      sut.ack([a.key, 'nonsense', '999']);
      expect(sut.peek(4)).toEqual([b, d]);
      expect(sut.depth()).toBe(2);
      sut.ack([d.key, b.key]);
      expect(sut.peek(4)).toEqual([]);
      expect(sut.depth()).toBe(0);
    });

    it('keeps order and keys across many pushes and acks', () => {
      const sut = new MemoryEndpointQueue(1000);
      const expected: string[] = [];
      for (let round = 0; round < 500; round++) {
        const pushed = events(7);
        expected.push(...pushed.map((e) => e.id));
        sut.push(pushed);
        const batch = sut.peek(6);
        expect(idsOf(batch)).toEqual(expected.slice(0, 6));
        sut.ack(batch.map((q) => q.key));
        expected.splice(0, 6);
      }
      expect(sut.depth()).toBe(expected.length);
    });
  });

  describe('the bound', () => {
    it('drops the oldest events past it, and counts them', () => {
      const sut = new MemoryEndpointQueue(3);
      const pushed = events(5);
      sut.push(pushed.slice(0, 2));
      sut.push(pushed.slice(2));
      expect(idsOf(sut.peek(10))).toEqual(pushed.slice(2).map((e) => e.id));
      expect(sut.depth()).toBe(3);
      expect(sut.dropped()).toBe(2);
    });

    it('drops events that were peeked but not acked; acking them later changes nothing', () => {
      const sut = new MemoryEndpointQueue(2);
      sut.push(events(2));
      const inFlight = sut.peek(2);
      sut.push(events(1));
      sut.ack(inFlight.map((q) => q.key));
      expect(sut.depth()).toBe(1);
      expect(sut.dropped()).toBe(1);
    });

    it.each([
      ['before the array is cut down', 3],
      ['after', 20],
    ])('keeps no reference to an event it dropped or acked, %s', async (_, rounds) => {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const sut = new MemoryEndpointQueue(100);
      const refs: Array<WeakRef<WebhookEvent>> = [];
      // In a function of its own, so no variable of the test's holds the last events pushed.
      const pushAndAck = () => {
        const pushed = events(300);
        refs.push(...pushed.map((event) => new WeakRef(event)));
        sut.push(pushed);
        sut.ack(sut.peek(10).map((q) => q.key));
      };
      for (let round = 0; round < rounds; round++) pushAndAck();
      // A WeakRef holds its target until the end of the turn that made it.
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      const held = sut.peek(100).map((q) => q.event.id);
      expect(refs.flatMap((ref) => ref.deref()?.id ?? [])).toEqual(held);
      expect(sut.depth()).toBe(90);
      expect(sut.dropped()).toBe(rounds * 300 - rounds * 10 - 90);
    });
  });

  describe('wait', () => {
    it('resolves on the next push', async () => {
      const sut = new MemoryEndpointQueue(10);
      const woken = sut.wait(60_000);
      sut.push(events(1));
      await woken;
    });

    it('resolves at once for a push made after the last peek, but not for one the peek saw', async () => {
      const sut = new MemoryEndpointQueue(10);
      sut.peek(10);
      sut.push(events(1));
      await sut.wait(60_000);
      sut.peek(10);
      let woken = false;
      const waiting = sut.wait(50).then(() => (woken = true));
      await Promise.resolve();
      expect(woken).toBe(false);
      await waiting;
    });

    it('resolves after its time with nothing pushed', async () => {
      const sut = new MemoryEndpointQueue(10);
      const start = Date.now();
      await sut.wait(50);
      expect(Date.now() - start).toBeGreaterThanOrEqual(45);
    });

    it('resolves when its signal aborts, or at once if it already has', async () => {
      const sut = new MemoryEndpointQueue(10);
      const stop = new AbortController();
      const woken = sut.wait(60_000, stop.signal);
      stop.abort();
      await woken;
      await sut.wait(60_000, stop.signal);
    });

    it('is not woken by an empty push', async () => {
      const sut = new MemoryEndpointQueue(10);
      let woken = false;
      const waiting = sut.wait(100).then(() => (woken = true));
      sut.push([]);
      await Promise.resolve();
      expect(woken).toBe(false);
      await waiting;
    });
  });

  it('refuses a bound below one', () => {
    expect(() => new MemoryEndpointQueue(0)).toThrow();
  });
});
