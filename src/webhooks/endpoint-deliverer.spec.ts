import { createSecretKey, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { eventually } from '../../test/support/eventually';
import { Receiver } from '../../test/support/webhook-receiver';
import { EndpointDeliverer, type EndpointDelivererOptions } from './endpoint-deliverer';
import { MemoryEndpointQueue } from './memory-endpoint-queue';
import type { WebhookEvent } from './webhook-event';
import { WebhookSigner } from './webhook-signer';

const SECRETS = [randomBytes(32), randomBytes(32)];
const signer = new WebhookSigner(SECRETS.map((secret) => createSecretKey(secret)));
let ids = 0;
const events = (n: number, room = 'r1'): WebhookEvent[] =>
  Array.from({ length: n }, () => ({
    id: `e${++ids}`,
    name: 'member_joined',
    room,
    user: 'u1',
    ts: Date.now(),
  }));
const idsOf = (list: WebhookEvent[]) => list.map((event) => event.id);
/** Polls until the assertion holds; the deadline is only there to end a test that will never pass. */
const settled = <T>(assertion: () => T) => eventually(assertion, 20_000);

// Deadlines far past what the tests need (a few seconds in all), for a loaded CI machine.
jest.setTimeout(60_000);

describe(EndpointDeliverer.name, () => {
  const receivers: Receiver[] = [];
  const deliverers: EndpointDeliverer[] = [];
  let logged: string[];
  const logger = {
    warn: (line: string) => logged.push(line),
    error: (line: string) => logged.push(line),
    debug: () => {},
  };

  /** A started deliverer of a fresh queue, with backoffs short enough for a test. */
  function deliver(
    url: URL,
    options: Partial<Omit<EndpointDelivererOptions, 'queue'>> & { queue?: MemoryEndpointQueue } = {},
  ) {
    const queue = options.queue ?? new MemoryEndpointQueue(10_000);
    const sut = new EndpointDeliverer({
      url,
      queue,
      signer,
      timeoutMs: 10_000,
      retryForMs: 60_000,
      backoffBaseMs: 10,
      backoffMaxMs: 50,
      logger,
      ...options,
    });
    deliverers.push(sut);
    sut.start();
    return { sut, queue };
  }
  async function receiver(): Promise<Receiver> {
    const started = await Receiver.start();
    receivers.push(started);
    return started;
  }

  beforeEach(() => (logged = []));
  afterEach(async () => {
    await Promise.all(deliverers.splice(0).map((sut) => sut.stop()));
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  describe('a request', () => {
    it('POSTs the events as {"events":[...]}, signed so either secret verifies it', async () => {
      const endpoint = await receiver();
      const { queue } = deliver(endpoint.url());
      const pushed = events(2);
      queue.push(pushed);
      await settled(() => expect(endpoint.requests).toHaveLength(1));
      const [{ headers, body }] = endpoint.requests;
      expect(JSON.parse(body)).toEqual({ events: pushed });
      for (const secret of SECRETS) {
        expect(() =>
          new Webhook(secret, { format: 'raw' }).verify(body, headers as Record<string, string>),
        ).not.toThrow();
      }
      expect(headers['content-type']).toBe('application/json');
    });

    it('logs the endpoint without its query, and never a secret or a body', async () => {
      const endpoint = await receiver();
      endpoint.reply = (_, n) => (n === 1 ? 500 : 400);
      const { sut, queue } = deliver(endpoint.url('/hooks?token=query-secret'));
      queue.push(events(1));
      await settled(() => expect(sut.outcomes.rejected.value).toBe(1));
      expect(endpoint.requests[0].body).not.toBe('');
      expect(logged).toEqual([
        expect.stringContaining(`to http://127.0.0.1:${endpoint.port}/hooks failed (status 500)`),
        expect.stringContaining(`to http://127.0.0.1:${endpoint.port}/hooks rejected (status 400)`),
      ]);
      const everything = logged.join('\n');
      expect(everything).not.toContain('query-secret');
      expect(everything).not.toContain(endpoint.requests[0].body);
      for (const secret of SECRETS) expect(everything).not.toContain(secret.toString('base64'));
    });
  });

  describe('retries', () => {
    it('sends 500, 500, 200 three times with one webhook-id, each signed afresh', async () => {
      const endpoint = await receiver();
      endpoint.reply = (_, n) => (n <= 2 ? 500 : 200);
      const { sut, queue } = deliver(endpoint.url());
      queue.push(events(3));
      await settled(() => expect(sut.outcomes.delivered.value).toBe(1));
      expect(endpoint.requests).toHaveLength(3);
      expect(new Set(endpoint.requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
      expect(new Set(endpoint.requests.map((r) => r.body)).size).toBe(1);
      for (const { body, headers } of endpoint.requests) {
        expect(() =>
          new Webhook(SECRETS[1], { format: 'raw' }).verify(body, headers as Record<string, string>),
        ).not.toThrow();
      }
      expect(sut.outcomes.retried.value).toBe(2);
      expect(queue.depth()).toBe(0);
    });

    it('gives up on a 400 after one attempt, counts it rejected, and goes on to the next events', async () => {
      const endpoint = await receiver();
      endpoint.reply = (_, n) => (n === 1 ? 400 : 200);
      const { sut, queue } = deliver(endpoint.url());
      const first = events(2);
      queue.push(first);
      await settled(() => expect(sut.outcomes.rejected.value).toBe(1));
      expect(queue.depth()).toBe(0);
      const next = events(1);
      queue.push(next);
      await settled(() => expect(sut.outcomes.delivered.value).toBe(1));
      expect(endpoint.requests.map((r) => r.ids)).toEqual([idsOf(first), idsOf(next)]);
      expect(sut.outcomes.retried.value).toBe(0);
    });

    it('treats a redirect as a refusal, not followed', async () => {
      const endpoint = await receiver();
      endpoint.reply = () => ({ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } });
      const { sut, queue } = deliver(endpoint.url());
      queue.push(events(1));
      await settled(() => expect(sut.outcomes.rejected.value).toBe(1));
      expect(endpoint.requests).toHaveLength(1);
    });

    it.each([408, 429, 503])('retries a %i', async (status) => {
      const endpoint = await receiver();
      endpoint.reply = (_, n) => (n === 1 ? status : 204);
      const { sut, queue } = deliver(endpoint.url());
      queue.push(events(1));
      await settled(() => expect(sut.outcomes.delivered.value).toBe(1));
      expect(sut.outcomes.retried.value).toBe(1);
    });

    it('waits as long as a 429 asks in Retry-After', async () => {
      const endpoint = await receiver();
      endpoint.reply = (_, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : 200);
      const { sut, queue } = deliver(endpoint.url());
      queue.push(events(1));
      await settled(() => expect(sut.outcomes.delivered.value).toBe(1));
      const [first, second] = endpoint.requests;
      expect(second.at - first.at).toBeGreaterThanOrEqual(900);
      expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    });

    it('retries a request that gets no answer within the timeout', async () => {
      const endpoint = await receiver();
      endpoint.reply = (_, n) => (n === 1 ? 'hang' : 200);
      const { sut, queue } = deliver(endpoint.url(), { timeoutMs: 200 });
      queue.push(events(1));
      await settled(() => expect(sut.outcomes.delivered.value).toBe(1));
      expect(endpoint.requests).toHaveLength(2);
      expect(sut.outcomes.retried.value).toBe(1);
      expect(logged[0]).toContain('no response within 200 ms');
    });

    it('gives up once the retry window is over (expired, acked), then delivers the next events', async () => {
      const endpoint = await receiver();
      let failing = true;
      endpoint.reply = () => (failing ? 500 : 200);
      const { sut, queue } = deliver(endpoint.url(), {
        retryForMs: 1500,
        backoffBaseMs: 50,
        backoffMaxMs: 200,
      });
      queue.push(events(2));
      await settled(() => expect(sut.outcomes.expired.value).toBe(1));
      const tries = endpoint.requests.length;
      expect(tries).toBeGreaterThan(1);
      expect(sut.outcomes.retried.value).toBe(tries - 1);
      expect(queue.depth()).toBe(0);
      failing = false;
      const next = events(1);
      queue.push(next);
      await settled(() => expect(sut.outcomes.delivered.value).toBe(1));
      expect(endpoint.requests.at(-1)!.ids).toEqual(idsOf(next));
    });

    it('gives up at once when Retry-After asks for more than the retry window has left', async () => {
      const endpoint = await receiver();
      endpoint.reply = () => ({ status: 503, headers: { 'retry-after': '3600' } });
      const { sut, queue } = deliver(endpoint.url(), { retryForMs: 60_000 });
      queue.push(events(1));
      await settled(() => expect(sut.outcomes.expired.value).toBe(1));
      expect(endpoint.requests).toHaveLength(1);
      expect(sut.outcomes.retried.value).toBe(0);
    });
  });

  describe('batches', () => {
    it('sends 45 events pushed at once as 20, 20 and 5, in order, each event once', async () => {
      const endpoint = await receiver();
      const { sut, queue } = deliver(endpoint.url());
      const pushed = events(45);
      queue.push(pushed);
      await settled(() => expect(sut.outcomes.delivered.value).toBe(3));
      expect(endpoint.requests.map((r) => r.ids.length)).toEqual([20, 20, 5]);
      expect(endpoint.ids).toEqual(idsOf(pushed));
      expect(new Set(endpoint.requests.map((r) => r.headers['webhook-id'])).size).toBe(3);
    });

    it('sends a lone event once its window is over', async () => {
      const endpoint = await receiver();
      const { queue } = deliver(endpoint.url());
      const [lone] = events(1);
      queue.push([lone]);
      await settled(() => expect(endpoint.ids).toEqual([lone.id]));
    });

    it('puts events pushed within the window into one request', async () => {
      const endpoint = await receiver();
      const { sut, queue } = deliver(endpoint.url(), { batchWindowMs: 1000 });
      const pushed = events(3);
      queue.push(pushed.slice(0, 1));
      // Let the deliverer see the first event and start waiting out its window.
      await new Promise((resolve) => setImmediate(resolve));
      queue.push(pushed.slice(1, 2));
      await new Promise((resolve) => setImmediate(resolve));
      queue.push(pushed.slice(2));
      await settled(() => expect(sut.outcomes.delivered.value).toBe(1));
      expect(endpoint.requests.map((r) => r.ids)).toEqual([idsOf(pushed)]);
    });

    it('keeps batch size and window as options', async () => {
      const endpoint = await receiver();
      const { sut, queue } = deliver(endpoint.url(), { batchSize: 2, batchWindowMs: 10 });
      queue.push(events(5));
      await settled(() => expect(sut.outcomes.delivered.value).toBe(3));
      expect(endpoint.requests.map((r) => r.ids.length)).toEqual([2, 2, 1]);
    });
  });

  describe('endpoints', () => {
    it('gives each endpoint only the events of its own queue', async () => {
      const [a, b] = [await receiver(), await receiver()];
      const [toA, toB] = [deliver(a.url()), deliver(b.url())];
      const [forA, forB] = [events(25, 'ra'), events(7, 'rb')];
      toA.queue.push(forA);
      toB.queue.push(forB);
      await settled(() => expect(a.ids).toEqual(idsOf(forA)));
      await settled(() => expect(b.ids).toEqual(idsOf(forB)));
    });

    it('is not held up by another endpoint that does not answer, which gets one request at a time', async () => {
      const [slow, fast] = [await receiver(), await receiver()];
      slow.reply = () => 'hang';
      const [toSlow, toFast] = [deliver(slow.url(), { timeoutMs: 60_000 }), deliver(fast.url())];
      toSlow.queue.push(events(45));
      await settled(() => expect(slow.requests).toHaveLength(1));
      const forFast = events(45);
      toFast.queue.push(forFast);
      await settled(() => expect(fast.ids).toEqual(idsOf(forFast)));
      expect(slow.requests).toHaveLength(1);
      expect(toSlow.sut.outcomes).toEqual({
        delivered: { value: 0 },
        retried: { value: 0 },
        rejected: { value: 0 },
        expired: { value: 0 },
      });
    });
  });

  describe('the bounded queue, with the endpoint down', () => {
    it('holds at most its bound, counts what it drops, and delivers the rest once the endpoint is back', async () => {
      const endpoint = await receiver();
      await endpoint.close();
      const queue = new MemoryEndpointQueue(100);
      const { sut } = deliver(endpoint.url(), { queue, backoffBaseMs: 20, backoffMaxMs: 100 });
      const pushed = events(10_000);
      queue.push(pushed.slice(0, 50));
      // A batch is being retried (connection refused) while the rest arrive.
      await settled(() => expect(sut.outcomes.retried.value).toBeGreaterThan(0));
      for (let i = 50; i < pushed.length; i += 50) {
        queue.push(pushed.slice(i, i + 50));
        expect(queue.depth()).toBeLessThanOrEqual(100);
      }
      expect(queue.depth()).toBe(100);
      expect(queue.dropped()).toBe(9900);
      expect(logged[0]).toContain('ECONNREFUSED');

      await endpoint.listen(endpoint.port);
      await settled(() => expect(queue.depth()).toBe(0));
      const newest = idsOf(pushed.slice(-100));
      // The batch that was being retried still goes out, though the queue has dropped its events.
      const retried = idsOf(pushed.slice(0, 20));
      expect(endpoint.ids).toEqual([...retried, ...newest]);
      expect(sut.outcomes.delivered.value).toBe(6);
    });
  });

  describe('stop', () => {
    it('ends a request in flight at once, leaving its events queued and uncounted', async () => {
      const endpoint = await receiver();
      endpoint.reply = () => 'hang';
      const { sut, queue } = deliver(endpoint.url(), { timeoutMs: 60_000 });
      queue.push(events(1));
      await settled(() => expect(endpoint.requests).toHaveLength(1));
      await sut.stop();
      expect(queue.depth()).toBe(1);
      expect(Object.values(sut.outcomes).map((tally) => tally.value)).toEqual([0, 0, 0, 0]);
    });

    it('ends the wait for events and a backoff at once', async () => {
      const endpoint = await receiver();
      const idle = deliver(endpoint.url(), { idleWaitMs: 60_000 });
      await idle.sut.stop();
      endpoint.reply = () => 500;
      const backingOff = deliver(endpoint.url(), { backoffBaseMs: 60_000, backoffMaxMs: 60_000 });
      backingOff.queue.push(events(1));
      await settled(() => expect(backingOff.sut.outcomes.retried.value).toBe(1));
      await backingOff.sut.stop();
    });
  });
});
