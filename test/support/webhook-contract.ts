import request from 'supertest';
import type { WebhookEvent } from '../../src/webhooks/webhook-event';
import { eventually } from './eventually';
import { Scrape } from './metrics';
import { sign } from './tokens';
import { verify, verifyWebhook, WEBHOOK_API_KEY, WEBHOOK_SECRETS, webhookEnv } from './webhook-env';
import { Receiver } from './webhook-receiver';
import { TestClient } from './ws-client';

/** Instances of the app sending webhooks: their HTTP and WebSocket URLs. */
export interface WebhookDeployment {
  http: string[];
  ws: string[];
  close(): Promise<void>;
}

const TEST_MS = 60_000;
const settled = <T>(assertion: () => T | Promise<T>) => eventually(assertion, 20_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The fields a test compares: what happened, to whom, and why. */
const brief = (e: WebhookEvent) => [
  e.name,
  e.room,
  e.user ?? e.conn ?? null,
  e.member_name ?? null,
  e.reason ?? null,
];

/**
 * The webhooks' promises, black-box: a local receiver, clients spread over the instances, the
 * API on any of them. `start` makes a deployment with webhookEnv(urls, env).
 */
export function describeWebhooks(
  name: string,
  start: (env: Record<string, string>) => Promise<WebhookDeployment>,
) {
  describe(`webhooks from ${name} (e2e)`, () => {
    // A batch may wait out its window, a retry its backoff: deadlines far past what is needed.
    jest.setTimeout(TEST_MS);
    const receivers: Receiver[] = [];
    const clients: TestClient[] = [];
    let d: WebhookDeployment | undefined;
    let next = 0;
    /** The instances in turn, so a test's clients and requests spread over all of them. */
    const turn = () => next++ % d!.http.length;

    const receiver = async () => {
      const r = await Receiver.start();
      receivers.push(r);
      return r;
    };
    const deploy = async (urls: URL[], env: Record<string, string> = {}) => {
      d = await start(webhookEnv(urls, env));
    };
    /** Any instance's HTTP URL, in turn. */
    const http = () => d!.http[turn()];
    /** The same metric on every instance, summed. */
    const total = async (metric: string, labels: Record<string, string>) => {
      const scrapes = await Promise.all(d!.http.map((url) => Scrape.of(url)));
      return scrapes.reduce((sum, s) => sum + s.get(metric, labels), 0);
    };
    /** A member of `room`: a user with a token, or anonymous with a name. */
    const enter = async (room: string, who: { user?: string; name: string }) => {
      const token = who.user && (await sign({ sub: who.user, name: who.name }));
      const client = await TestClient.connect(
        d!.ws[turn()],
        token ? { headers: { Authorization: `Bearer ${token}` } } : {},
      );
      clients.push(client);
      if (token) await client.next('authenticated');
      await client.request({ type: 'join', room, name: token ? undefined : who.name }, 'joined');
      return client;
    };
    const api = () => ({ Authorization: `Bearer ${WEBHOOK_API_KEY}` });

    afterEach(async () => {
      clients.splice(0).forEach((c) => c.close());
      await d?.close();
      d = undefined;
      await Promise.all(receivers.splice(0).map((r) => r.close()));
    });

    it('sends room and member events as they happen, signed with every secret, each leave with its reason', async () => {
      const hooks = await receiver();
      await deploy([hooks.url()]);
      const ann = await enter('lobby', { name: 'ann' });
      const bob = await enter('lobby', { user: 'u-bob', name: 'Bob' });
      const annId = (await ann.request({ type: 'presence', room: 'lobby' }, 'presence')).members.find(
        (m: { name: string }) => m.name === 'ann',
      ).conn;
      await ann.request({ type: 'leave', room: 'lobby' }, 'left');
      bob.close();
      await enter('kicked', { user: 'u-cat', name: 'Cat' });
      await enter('banned', { user: 'u-dan', name: 'Dan' });
      await request(http()).delete('/api/v1/rooms/kicked/members/u-cat').set(api()).expect(202);
      await request(http()).post('/api/v1/users/u-dan/disconnect').set(api()).send({}).expect(202);

      await settled(() => expect(hooks.delivered.filter((e) => e.name === 'room_vacated')).toHaveLength(3));
      const byRoom = (room: string) => hooks.delivered.filter((e) => e.room === room).map(brief);
      expect(byRoom('lobby')).toEqual([
        ['room_occupied', 'lobby', null, null, null],
        ['member_joined', 'lobby', annId, 'ann', null],
        ['member_joined', 'lobby', 'u-bob', 'Bob', null],
        ['member_left', 'lobby', annId, 'ann', 'left'],
        ['member_left', 'lobby', 'u-bob', 'Bob', 'closed'],
        ['room_vacated', 'lobby', null, null, null],
      ]);
      expect(byRoom('kicked').slice(2)).toEqual([
        ['member_left', 'kicked', 'u-cat', 'Cat', 'removed'],
        ['room_vacated', 'kicked', null, null, null],
      ]);
      expect(byRoom('banned').slice(2)).toEqual([
        ['member_left', 'banned', 'u-dan', 'Dan', 'disconnected'],
        ['room_vacated', 'banned', null, null, null],
      ]);
      const ids = hooks.delivered.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const e of hooks.delivered) expect(e.ts).toBeGreaterThan(Date.now() - 60_000);
      for (const { body, headers } of hooks.requests) {
        for (const secret of WEBHOOK_SECRETS) {
          expect(verify(secret, body, headers)).toEqual(JSON.parse(body));
          expect(verifyWebhook(secret, headers, body)).toBe(true); // the README's recipe
          expect(verifyWebhook(secret, headers, `${body} `)).toBe(false);
        }
        expect(headers['content-type']).toBe('application/json');
      }
      // A request signed for another body, or with a secret not configured, does not verify.
      const [{ body, headers }] = hooks.requests;
      expect(() => verify(WEBHOOK_SECRETS[0], body.replace('lobby', 'lobbx'), headers)).toThrow();
      expect(() => verify(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, body, headers)).toThrow();
    });

    it('sends messages only when WEBHOOK_EVENTS asks, the backend’s marked with origin', async () => {
      const hooks = await receiver();
      await deploy([hooks.url()], { WEBHOOK_EVENTS: 'message' });
      const ann = await enter('talk', { name: 'ann' });
      await ann.request({ type: 'message', room: 'talk', message: 'hello', cid: 'c1' }, 'ack');
      await request(http())
        .post('/api/v1/rooms/talk/messages')
        .set(api())
        .send({ message: 'from the backend', from: 'Ops' })
        .expect(202);
      await settled(() => expect(hooks.delivered).toHaveLength(2));
      expect(hooks.delivered).toEqual([
        expect.objectContaining({ name: 'message', room: 'talk', offset: 1, message: 'hello', from: 'ann' }),
        expect.objectContaining({ name: 'message', room: 'talk', offset: 2, from: 'Ops', origin: 'server' }),
      ]);
      expect(hooks.delivered[0].origin).toBeUndefined();
    });

    it('retries 500, 500, 200 under one webhook-id, and drops a batch answered 400 without retrying it', async () => {
      const hooks = await receiver();
      hooks.reply = (_, n) => (n <= 2 ? 500 : n === 4 ? 400 : 200);
      await deploy([hooks.url()]);
      await enter('retry', { name: 'first' });
      await settled(() => expect(hooks.requests.filter((r) => r.status === 200)).toHaveLength(1));
      const [one, two, three] = hooks.requests;
      expect([one.status, two.status, three.status]).toEqual([500, 500, 200]);
      expect(new Set([one, two, three].map((r) => r.headers['webhook-id'])).size).toBe(1);
      expect(new Set([one, two, three].map((r) => r.body)).size).toBe(1);

      await enter('refused', { name: 'second' });
      await settled(() => expect(hooks.requests).toHaveLength(4));
      await sleep(1500); // longer than the first backoffs: a retry would have come
      expect(hooks.requests).toHaveLength(4);
      await enter('after', { name: 'third' });
      await settled(() => expect(hooks.delivered.map((e) => e.room)).toContain('after'));
      expect(hooks.delivered.map((e) => e.room)).not.toContain('refused');
    });

    it('batches up to 20 events a request, every event once and in the order they happened', async () => {
      const hooks = await receiver();
      await deploy([hooks.url()]);
      await Promise.all(Array.from({ length: 30 }, (_, i) => enter('crowd', { name: `m${i}` })));
      await settled(() => expect(hooks.delivered).toHaveLength(31));
      for (const r of hooks.requests) expect(r.ids.length).toBeLessThanOrEqual(20);
      expect(hooks.requests.length).toBeGreaterThanOrEqual(2);
      expect(hooks.delivered[0].name).toBe('room_occupied');
      expect(new Set(hooks.delivered.slice(1).map((e) => e.member_name))).toEqual(
        new Set(Array.from({ length: 30 }, (_, i) => `m${i}`)),
      );
      const times = hooks.delivered.map((e) => e.ts);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    });

    it('gives each endpoint only its own events, and a failing endpoint holds up only itself', async () => {
      const rooms = await receiver();
      const members = await receiver();
      rooms.reply = () => 503;
      await deploy([rooms.url('/rooms'), members.url('/members')], {
        WEBHOOK_EVENTS: 'room_occupied,room_vacated;member_joined,member_left',
      });
      await enter('split', { name: 'x' });
      await settled(() => expect(members.delivered.map((e) => e.name)).toEqual(['member_joined']));
      expect(rooms.requests.length).toBeGreaterThanOrEqual(1);
      rooms.reply = () => 200;
      await settled(() => expect(rooms.delivered.map((e) => e.name)).toEqual(['room_occupied']));
      for (const r of rooms.requests) expect(r.body).not.toContain('member_joined');
      for (const r of members.requests) expect(r.body).not.toContain('room_occupied');
    });

    it('keeps a bounded queue while the endpoint is down, counting what it drops, and delivers again when it is back', async () => {
      const hooks = await receiver();
      const url = hooks.url();
      const endpoint = `${url.origin}${url.pathname}`;
      await hooks.close();
      await deploy([url], { WEBHOOK_QUEUE_SIZE: '20' });
      for (let i = 0; i < 50; i++) await enter(`busy-${i}`, { name: `b${i}` }); // 100 events
      // Depth and drops are the endpoint's, whichever instance is asked (the cluster's, in cluster mode).
      await settled(async () => {
        const metrics = await Scrape.of(http());
        expect(metrics.get('chat_webhook_queue_depth', { endpoint })).toBeLessThanOrEqual(20);
        // What is dropped is what did not fit: all but the 20 held (and a batch being retried).
        expect(metrics.get('chat_webhook_dropped_events_total', { endpoint })).toBeGreaterThanOrEqual(60);
      });
      await hooks.listen(hooks.port);
      // The next retry may be a backoff away (up to a minute after long enough down).
      await eventually(async () => {
        expect(hooks.delivered.map((e) => e.member_name)).toContain('b49');
        expect((await Scrape.of(http())).get('chat_webhook_queue_depth', { endpoint })).toBe(0);
      }, 90_000);
      expect(hooks.delivered.length).toBeLessThanOrEqual(40);
      expect(
        await total('chat_webhook_deliveries_total', { endpoint, outcome: 'retried' }),
      ).toBeGreaterThanOrEqual(1);
    }, 150_000);
  });
}
