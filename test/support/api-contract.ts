import request from 'supertest';
import { eventually } from './eventually';
import { SECRET, sign } from './tokens';
import { type Frame, TestClient } from './ws-client';

/** Secrets of the keys every deployment of the API suite runs with. */
export const KEY = {
  /** Two keys with the same scopes, as during a rotation. */
  publish: 'publish-key-one-0123456789abcdef',
  publishToo: 'publish-key-two-0123456789abcdef',
  read: 'read-only-key-0123456789abcdefgh',
  control: 'control-only-key-0123456789abcde',
  all: 'every-scope-key-0123456789abcdef',
};
/** A key that was live once and was taken out of API_KEYS. */
const REVOKED = 'revoked-key-0123456789abcdefghij';

export const API_ENV = {
  API_KEYS: [
    `pub1:${KEY.publish}:publish,read`,
    `pub2:${KEY.publishToo}:publish,read`,
    `reader:${KEY.read}:read`,
    `ops:${KEY.control}:control`,
    `all:${KEY.all}:publish,read,control`,
  ].join(';'),
  API_RATE_LIMIT_PER_S: '0',
  AUTH_MODE: 'open',
  JWT_SECRET: SECRET,
  RATE_LIMIT_FRAMES_PER_S: '0',
  IDEMPOTENCY_TTL_MS: '60000',
};
/** The TTL of the deployment that shows keys expiring: the rest keep theirs past any test. */
const SHORT_TTL_MS = 1000;

/** Instances of the app serving the API: their HTTP and WebSocket URLs. */
export interface ApiDeployment {
  http: string[];
  ws: string[];
  close(): Promise<void>;
}

/** How long a test watches a client to show nothing more comes. */
const QUIET_MS = 300;
const TEST_MS = 20_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let rooms = 0;
const freshRoom = (prefix = 'api') => `${prefix}-${process.pid}-${++rooms}`;

/**
 * The backend API's promises, black-box: HTTP requests to any instance, WebSocket clients
 * spread over all of them. `start` makes a deployment with API_ENV and `env` on top.
 */
export function describeApi(name: string, start: (env?: Record<string, string>) => Promise<ApiDeployment>) {
  describe(`backend API (/api/v1) on ${name}`, () => {
    let d: ApiDeployment;
    const clients: TestClient[] = [];
    /** The instance the i-th client or request goes to. */
    const http = (i = 0) => d.http[i % d.http.length];
    const ws = (i = 0) => d.ws[i % d.ws.length];

    const post = (
      i: number,
      path: string,
      body: unknown,
      key = KEY.all,
      headers: Record<string, string> = {},
    ) =>
      request(http(i))
        .post(`/api/v1${path}`)
        .set({ Authorization: `Bearer ${key}`, ...headers })
        .send(body as object);
    const get = (i: number, path: string, key = KEY.all) =>
      request(http(i)).get(`/api/v1${path}`).set('Authorization', `Bearer ${key}`);
    const del = (i: number, path: string, body: unknown = {}, key = KEY.all) =>
      request(http(i))
        .delete(`/api/v1${path}`)
        .set('Authorization', `Bearer ${key}`)
        .send(body as object);

    /** A member of `room` on instance i: a user with a token, or anonymous with a name. */
    const enter = async (i: number, room: string, who: { user?: string; name: string; rooms?: string[] }) => {
      const token = who.user && (await sign({ sub: who.user, name: who.name, rooms: who.rooms }));
      const client = await TestClient.connect(
        ws(i),
        token ? { headers: { Authorization: `Bearer ${token}` } } : {},
      );
      clients.push(client);
      if (token) await client.next('authenticated');
      await client.request({ type: 'join', room, name: token ? undefined : who.name }, 'joined');
      return client;
    };
    /** A connection's id, as presence lists it. */
    const connIdOf = async (client: TestClient, room: string, name: string): Promise<string> => {
      const snapshot = await client.request({ type: 'presence', room }, 'presence');
      return (snapshot.members as { name: string; conn: string }[]).find((m) => m.name === name)!.conn;
    };
    const quiet = async (...of: TestClient[]) => {
      const silent = await Promise.all(of.map((c) => c.nothingWithin(QUIET_MS)));
      expect(silent).toEqual(of.map(() => true));
    };
    const historyOf = async (room: string) => (await get(0, `/rooms/${room}/messages`).expect(200)).body;

    beforeAll(async () => {
      d = await start();
    }, 60_000);
    afterEach(() => clients.splice(0).forEach((c) => c.close()));
    afterAll(() => d?.close());

    describe('access', () => {
      it('is 401 without a key, with a wrong or revoked one, and for a key in the URL; every live key works', async () => {
        const room = freshRoom();
        const refused = [
          request(http(0)).get('/api/v1/rooms'),
          request(http(0)).get('/api/v1/rooms').set('Authorization', `Basic ${KEY.all}`),
          get(0, '/rooms', 'not-a-key-of-this-deployment-at-all'),
          get(0, '/rooms', REVOKED),
          request(http(0)).get(`/api/v1/rooms?api_key=${KEY.all}`),
          request(http(0)).get(`/api/v1/rooms?token=${KEY.all}`).set('Authorization', `Bearer ${KEY.all}`),
          post(1, `/rooms/${room}/messages`, { message: 'no' }, REVOKED),
        ];
        for (const answer of await Promise.all(refused)) {
          expect(answer.status).toBe(401);
          expect(answer.body).toEqual({ statusCode: 401, code: 'unauthorized', message: expect.any(String) });
          expect(answer.headers['www-authenticate']).toMatch(/^Bearer/);
        }
        for (const key of [KEY.publish, KEY.publishToo, KEY.all]) {
          await post(2, `/rooms/${room}/messages`, { message: 'yes' }, key).expect(202);
        }
        expect((await historyOf(room)).messages).toHaveLength(3);
      });

      it("is 403 for a key without the route's scope, and nothing is done", async () => {
        const room = freshRoom();
        const member = await enter(0, room, { user: 'u-scope', name: 'Scope' });
        const forbidden = [
          post(0, `/rooms/${room}/messages`, { message: 'no' }, KEY.read),
          post(1, '/broadcast', { message: 'no' }, KEY.control),
          get(2, `/rooms/${room}/messages`, KEY.control),
          get(0, `/rooms/${room}/members`, KEY.control),
          get(1, '/rooms', KEY.control),
          post(2, '/users/u-scope/disconnect', {}, KEY.publish),
          del(0, `/rooms/${room}/members/u-scope`, {}, KEY.read),
        ];
        for (const answer of await Promise.all(forbidden)) {
          expect(answer.status).toBe(403);
          expect(answer.body).toMatchObject({ statusCode: 403, code: 'forbidden' });
        }
        await quiet(member);
        expect((await historyOf(room)).messages).toEqual([]);
      });

      it('answers unknown routes with a JSON 404 and a body over 64 KiB with 413', async () => {
        const missing = await get(0, '/nowhere').expect(404);
        expect(missing.body).toEqual({ statusCode: 404, code: 'not_found', message: expect.any(String) });
        await request(http(0)).put('/api/v1/broadcast').expect(404);
        const big = await post(0, '/broadcast', { message: 'x'.repeat(70 * 1024) }).expect(413);
        expect(big.body).toEqual({ statusCode: 413, code: 'payload_too_large', message: expect.any(String) });
        const notJson = await post(0, '/broadcast', '{"message":')
          .set('Content-Type', 'application/json')
          .expect(400);
        expect(notJson.body.code).toBe('invalid_payload');
      });

      it('refuses bad input with 400 invalid_payload naming each broken rule, and changes nothing', async () => {
        const room = freshRoom();
        const member = await enter(1, room, { user: 'u-bad', name: 'Bad' });
        const bad: [request.Test, RegExp][] = [
          [post(0, '/rooms/no spaces/messages', { message: 'x' }), /room must be/],
          [post(0, `/rooms/${room}/messages`, {}), /message/],
          [post(0, `/rooms/${room}/messages`, { message: 'x', mesage: 'typo' }), /mesage should not exist/],
          [post(0, `/rooms/${room}/messages`, { message: 'x'.repeat(4097) }), /message must be 1 to 4096/],
          [post(0, `/rooms/${room}/messages`, { message: 'x', from: 'a\u202eb' }), /from must not contain/],
          [post(0, `/rooms/${room}/messages`, { message: 'x', exclude: 'abc' }), /exclude must be an array/],
          [post(0, `/rooms/${room}/messages`, { message: 'x', exclude: ['a,b'] }), /connection id/],
          [
            post(0, `/rooms/${room}/messages`, { message: 'x', exclude: Array(101).fill('abcdefghijkl') }),
            /exclude must contain no more than 100/,
          ],
          [post(0, `/rooms/${room}/messages`, { message: 7 }), /message must be a string/],
          [get(0, `/rooms/${room}/messages?limit=0`), /limit/],
          [get(0, `/rooms/${room}/messages?before=x`), /before/],
          [get(0, '/rooms?prefix=a%20b'), /prefix/],
          [get(0, `/rooms/${room}/members?offset=-1`), /offset/],
          [post(0, '/users/u-bad/disconnect', { code: 3000 }), /code must be 1000 or 4000 to 4999/],
          [post(0, '/users/u-bad/disconnect', { reason: 'é'.repeat(62) }), /123 bytes/],
          [del(0, `/rooms/${room}/members/u-bad`, { reason: 'a\nb' }), /reason must not contain/],
        ];
        for (const [req, rule] of bad) {
          const answer = await req;
          expect(answer.status).toBe(400);
          expect(answer.body).toMatchObject({ statusCode: 400, code: 'invalid_payload' });
          expect([answer.body.message, ...(answer.body.details ?? [])].join(' ')).toMatch(rule);
        }
        await quiet(member);
        expect((await historyOf(room)).messages).toEqual([]);
        expect((await get(0, `/rooms/${room}/members`).expect(200)).body.count).toBe(1);
      });

      it('counts requests by route and status', async () => {
        await get(0, '/rooms').expect(200);
        await get(0, '/rooms', REVOKED).expect(401);
        const metrics = (await request(http(0)).get('/metrics').expect(200)).text;
        expect(metrics).toMatch(
          /chat_api_requests_total\{method="GET",route="\/api\/v1\/rooms",status="200"\} [1-9]/,
        );
        expect(metrics).toMatch(
          /chat_api_requests_total\{method="GET",route="\/api\/v1\/rooms",status="401"\} [1-9]/,
        );
        expect(metrics).not.toContain(KEY.all);
      });
    });

    describe('messages', () => {
      it(
        "a message reaches every member once, on every instance, marked as the server's, with the next offset, and is kept in history",
        async () => {
          const room = freshRoom();
          const members = [
            await enter(0, room, { name: 'ann' }),
            await enter(1, room, { name: 'bob' }),
            await enter(2, room, { user: 'u-cat', name: 'Cat' }),
          ];
          members[0].send({ type: 'message', message: 'from a client', room });
          for (const m of members.slice(1)) expect((await m.next('message')).offset).toBe(1);

          const sent = await post(1, `/rooms/${room}/messages`, {
            message: 'hello all',
            from: 'Moderator',
          }).expect(202);
          expect(sent.body).toEqual({
            id: expect.any(String),
            ts: expect.any(Number),
            room,
            offset: 2,
            members: 3,
          });
          const frame = {
            type: 'message',
            room,
            message: 'hello all',
            origin: 'server',
            from: 'Moderator',
            id: sent.body.id,
            ts: sent.body.ts,
            offset: 2,
          };
          for (const m of members) expect(await m.next('message')).toEqual(frame);
          await quiet(...members);

          const plain = await post(2, `/rooms/${room}/messages`, { message: 'no from' }).expect(202);
          for (const m of members)
            expect(await m.next('message')).toMatchObject({ origin: 'server', from: 'server', offset: 3 });
          const history = await historyOf(room);
          expect(history).toEqual({
            room,
            epoch: expect.any(String),
            offset: 3,
            messages: expect.any(Array),
            more: false,
          });
          expect(history.messages.map((m: Frame) => [m.offset, m.origin, m.from])).toEqual([
            [1, undefined, 'ann'],
            [2, 'server', 'Moderator'],
            [3, 'server', 'server'],
          ]);
          expect(history.messages[2].id).toBe(plain.body.id);
        },
        TEST_MS,
      );

      it('a client cannot pass for the server: an origin in its frame is not copied', async () => {
        const room = freshRoom();
        const [a, b] = [await enter(0, room, { name: 'server' }), await enter(1, room, { name: 'b' })];
        a.send({ type: 'message', room, message: 'trust me', origin: 'server' });
        const got = await b.next('message');
        expect(got.origin).toBeUndefined();
        expect(got.from).toBe('server');
      });

      it('exclude keeps the named connections from a message, and only them', async () => {
        const room = freshRoom();
        const members = [
          await enter(0, room, { name: 'm0' }),
          await enter(1, room, { name: 'm1' }),
          await enter(2, room, { name: 'm2' }),
          await enter(1, room, { name: 'm3' }),
        ];
        const excluded = [await connIdOf(members[1], room, 'm1'), await connIdOf(members[2], room, 'm2')];
        const sent = await post(0, `/rooms/${room}/messages`, {
          message: 'not for you',
          exclude: excluded,
        }).expect(202);
        for (const m of [members[0], members[3]]) {
          expect(await m.next('message')).toMatchObject({ message: 'not for you', offset: sent.body.offset });
        }
        await quiet(...members);
        // The next message, without exclude, reaches them all.
        await post(2, `/rooms/${room}/messages`, { message: 'for all', exclude: [] }).expect(202);
        for (const m of members) expect(await m.next('message')).toMatchObject({ message: 'for all' });
      });

      it('a broadcast reaches every connection on every instance once', async () => {
        const everyone = [
          await enter(0, freshRoom(), { name: 'x' }),
          await enter(1, freshRoom(), { name: 'y' }),
          await enter(2, freshRoom(), { user: 'u-z', name: 'z' }),
        ];
        const sent = await post(2, '/broadcast', { message: 'maintenance at noon' }).expect(202);
        expect(sent.body).toEqual({ id: expect.any(String), ts: expect.any(Number) });
        for (const c of everyone) {
          expect(await c.next('broadcast')).toEqual({
            type: 'broadcast',
            message: 'maintenance at noon',
            origin: 'server',
            from: 'server',
            id: sent.body.id,
            ts: sent.body.ts,
          });
        }
        await quiet(...everyone);
      });

      it('history pages back with before and limit, private rooms included', async () => {
        const room = freshRoom('private:api');
        for (let i = 1; i <= 5; i++)
          await post(i, `/rooms/${room}/messages`, { message: `m${i}` }).expect(202);
        const newest = await get(1, `/rooms/${room}/messages?limit=2`).expect(200);
        expect(newest.body.messages.map((m: Frame) => m.message)).toEqual(['m4', 'm5']);
        expect(newest.body.more).toBe(true);
        const older = await get(2, `/rooms/${room}/messages?limit=10&before=4`).expect(200);
        expect(older.body.messages.map((m: Frame) => m.offset)).toEqual([1, 2, 3]);
        expect(older.body.more).toBe(false);
        expect((await get(0, `/rooms/${freshRoom()}/messages`).expect(200)).body).toMatchObject({
          messages: [],
          more: false,
        });
      });
    });

    describe('rooms and members', () => {
      it("lists a private room's members, and a room without members as count 0", async () => {
        const room = freshRoom('private:team');
        await enter(0, room, { user: 'u-p1', name: 'P1', rooms: ['private:*'] });
        await enter(1, room, { user: 'u-p2', name: 'P2', rooms: ['private:*'] });
        await enter(2, room, { user: 'u-p1', name: 'P1', rooms: ['private:*'] });
        await eventually(async () => {
          const page = (await get(1, `/rooms/${room}/members`).expect(200)).body;
          expect(page).toMatchObject({ name: room, count: 2, limit: 100, offset: 0 });
          expect(page.members).toEqual([
            { name: 'P1', user: 'u-p1', connections: 2 },
            { name: 'P2', user: 'u-p2', connections: 1 },
          ]);
        });
        const second = (await get(2, `/rooms/${room}/members?limit=1&offset=1`).expect(200)).body;
        expect(second.members).toEqual([{ name: 'P2', user: 'u-p2', connections: 1 }]);
        // The public endpoint never shows it.
        await request(http(0)).get(`/rooms/${room}/members`).expect(404);
        expect((await get(0, `/rooms/${freshRoom()}/members`).expect(200)).body).toMatchObject({
          count: 0,
          members: [],
        });
      });

      it('lists rooms with counts, private rooms included, by prefix, a page at a time', async () => {
        const tag = freshRoom('listed');
        await enter(0, `${tag}-a`, { name: 'a1' });
        await enter(1, `${tag}-a`, { name: 'a2' });
        await enter(2, `${tag}-b`, { name: 'b1' });
        await enter(0, `private:${tag}`, { user: 'u-l', name: 'L', rooms: ['private:*'] });
        await eventually(async () => {
          const page = (await get(1, `/rooms?prefix=${tag}`).expect(200)).body;
          expect(page.rooms).toEqual([
            { name: `${tag}-a`, members: 2 },
            { name: `${tag}-b`, members: 1 },
          ]);
          expect(page.total).toBe(2);
        });
        const privateOnes = (await get(2, `/rooms?prefix=private:${tag}`).expect(200)).body;
        expect(privateOnes.rooms).toEqual([{ name: `private:${tag}`, members: 1 }]);
        const paged = (await get(0, `/rooms?prefix=${tag}&limit=1&offset=1`).expect(200)).body;
        expect(paged).toMatchObject({
          rooms: [{ name: `${tag}-b`, members: 1 }],
          total: 2,
          limit: 1,
          offset: 1,
        });
      });
    });

    describe('control', () => {
      it(
        "disconnect closes every connection of the user on every instance, with the code and reason, and nobody else's",
        async () => {
          const room = freshRoom();
          const target = [
            await enter(0, room, { user: 'u-out', name: 'Out' }),
            await enter(2, freshRoom(), { user: 'u-out', name: 'Out' }),
          ];
          const others = [
            await enter(1, room, { user: 'u-stay', name: 'Stay' }),
            await enter(2, room, { name: 'anon' }),
          ];
          const done = await post(1, '/users/u-out/disconnect', { code: 4100, reason: 'banned' }).expect(202);
          expect(done.body).toEqual({ user: 'u-out', code: 4100, reason: 'banned' });
          for (const c of target) expect(await c.closed).toEqual({ code: 4100, reason: 'banned' });
          await eventually(async () =>
            expect(
              (await get(0, `/rooms/${room}/members`).expect(200)).body.members.map((m: Frame) => m.name),
            ).toEqual(expect.not.arrayContaining(['Out'])),
          );
          // The others are still connected and in the room.
          others[0].send({ type: 'message', room, message: 'still here' });
          expect(await others[1].next('message')).toMatchObject({ message: 'still here' });

          const defaults = await enter(1, room, { user: 'u-out2', name: 'Out2' });
          await post(0, '/users/u-out2/disconnect', {}).expect(202, {
            user: 'u-out2',
            code: 4003,
            reason: 'disconnected',
          });
          expect(await defaults.closed).toEqual({ code: 4003, reason: 'disconnected' });
          // Nobody with that sub: accepted, nothing happens.
          await post(0, '/users/nobody/disconnect', {}).expect(202);
          await quiet(...others);
        },
        TEST_MS,
      );

      it(
        'remove takes the user out of the room on every instance; it stays in its other rooms, and the others stay',
        async () => {
          const room = freshRoom();
          const elsewhere = freshRoom();
          const tabs = [
            await enter(0, room, { user: 'u-rm', name: 'Rm' }),
            await enter(1, room, { user: 'u-rm', name: 'Rm' }),
          ];
          await tabs[1].request({ type: 'join', room: elsewhere }, 'joined');
          const other = await enter(2, room, { user: 'u-keep', name: 'Keep' });
          const watcher = await enter(0, elsewhere, { name: 'watcher' });

          await del(2, `/rooms/${room}/members/u-rm`, { reason: 'Spamming' }).expect(202, {
            room,
            user: 'u-rm',
          });
          for (const tab of tabs) {
            expect(await tab.next('left')).toEqual({
              type: 'left',
              room,
              members: expect.any(Number),
              reason: 'removed',
              detail: 'Spamming',
            });
          }
          await eventually(async () =>
            expect((await get(0, `/rooms/${room}/members`).expect(200)).body.members).toEqual([
              { name: 'Keep', user: 'u-keep', connections: 1 },
            ]),
          );
          // Room messages no longer reach it; its other room's still do.
          other.send({ type: 'message', room, message: 'after' });
          watcher.send({ type: 'message', room: elsewhere, message: 'elsewhere' });
          expect(await tabs[1].next('message')).toMatchObject({ room: elsewhere, message: 'elsewhere' });
          await quiet(...tabs);
          // Without a reason: no detail.
          const again = await enter(1, room, { user: 'u-rm', name: 'Rm' });
          await del(0, `/rooms/${room}/members/u-rm`).expect(202);
          expect(await again.next('left')).toEqual({
            type: 'left',
            room,
            members: expect.any(Number),
            reason: 'removed',
          });
        },
        TEST_MS,
      );
    });

    describe('Idempotency-Key', () => {
      it(
        'a repeat gets the first answer with Idempotent-Replayed, from any instance, and the message goes out once',
        async () => {
          const room = freshRoom();
          const member = await enter(2, room, { name: 'once' });
          const key = { 'Idempotency-Key': `order-${room}` };
          const first = await post(0, `/rooms/${room}/messages`, { message: 'pay' }, KEY.all, key).expect(
            202,
          );
          expect(first.headers['idempotent-replayed']).toBeUndefined();
          for (const i of [0, 1, 2]) {
            const repeat = await post(i, `/rooms/${room}/messages`, { message: 'pay' }, KEY.all, key).expect(
              202,
            );
            expect(repeat.body).toEqual(first.body);
            expect(repeat.headers['idempotent-replayed']).toBe('true');
          }
          expect(await member.next('message')).toMatchObject({ message: 'pay', id: first.body.id });
          await quiet(member);
          expect((await historyOf(room)).messages).toHaveLength(1);
        },
        TEST_MS,
      );

      it('another body with the key is 422, keys are per API key, a failure frees the key, a bad key is 400', async () => {
        const room = freshRoom();
        const key = { 'Idempotency-Key': `k-${room}` };
        await post(0, `/rooms/${room}/messages`, { message: 'one' }, KEY.publish, key).expect(202);
        const other = await post(1, `/rooms/${room}/messages`, { message: 'two' }, KEY.publish, key).expect(
          422,
        );
        expect(other.body).toMatchObject({ statusCode: 422, code: 'idempotency_conflict' });
        await post(2, '/broadcast', { message: 'one' }, KEY.publish, key).expect(422); // another route
        // The same key under another API key is another key.
        await post(0, `/rooms/${room}/messages`, { message: 'two' }, KEY.publishToo, key).expect(202);

        const retried = { 'Idempotency-Key': `failing-${room}` };
        await post(1, `/rooms/${room}/messages`, { message: 'x'.repeat(5000) }, KEY.all, retried).expect(400);
        await post(1, `/rooms/${room}/messages`, { message: 'x'.repeat(5000) }, KEY.all, retried).expect(400);
        await post(2, `/rooms/${room}/messages`, { message: 'fixed' }, KEY.all, retried).expect(202);

        for (const bad of ['', 'x'.repeat(129), 'tab\there']) {
          const answer = await post(0, '/broadcast', { message: 'b' }, KEY.all, { 'Idempotency-Key': bad });
          expect([answer.status, answer.body.code]).toEqual([400, 'invalid_payload']);
        }
        expect((await historyOf(room)).messages.map((m: Frame) => m.message)).toEqual([
          'one',
          'two',
          'fixed',
        ]);
      });

      it('concurrent repeats act once: each other answer is a replay or 409', async () => {
        const room = freshRoom();
        const member = await enter(1, room, { name: 'racer' });
        const key = { 'Idempotency-Key': `race-${room}` };
        const answers = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            post(i, `/rooms/${room}/messages`, { message: 'race' }, KEY.all, key),
          ),
        );
        const acted = answers.filter(
          (a) => a.status === 202 && a.headers['idempotent-replayed'] === undefined,
        );
        expect(acted).toHaveLength(1);
        for (const a of answers) {
          if (a === acted[0]) continue;
          if (a.status === 202) expect(a.body).toEqual(acted[0].body);
          else expect([a.status, a.body.code]).toEqual([409, 'idempotency_conflict']);
        }
        expect(await member.next('message')).toMatchObject({ message: 'race' });
        await quiet(member);
      });
    });

    describe('Idempotency-Key expiring', () => {
      let short: ApiDeployment;
      beforeAll(async () => {
        short = await start({ IDEMPOTENCY_TTL_MS: String(SHORT_TTL_MS) });
      }, 60_000);
      afterAll(() => short?.close());

      it('after IDEMPOTENCY_TTL_MS the key acts again', async () => {
        const room = freshRoom();
        const send = (i: number) =>
          request(short.http[i % short.http.length])
            .post(`/api/v1/rooms/${room}/messages`)
            .set({ Authorization: `Bearer ${KEY.all}`, 'Idempotency-Key': `ttl-${room}` })
            .send({ message: 'again' })
            .expect(202);
        await send(0);
        expect((await send(1)).headers['idempotent-replayed']).toBe('true');
        await sleep(SHORT_TTL_MS + 300);
        expect((await send(2)).headers['idempotent-replayed']).toBeUndefined();
        const history = await request(short.http[0])
          .get(`/api/v1/rooms/${room}/messages`)
          .set('Authorization', `Bearer ${KEY.all}`)
          .expect(200);
        expect(history.body.messages).toHaveLength(2);
      });
    });

    describe('rate limit', () => {
      let limited: ApiDeployment;
      beforeAll(async () => {
        limited = await start({ API_RATE_LIMIT_PER_S: '5' });
      }, 60_000);
      afterAll(() => limited?.close());

      it('answers 429 with Retry-After past API_RATE_LIMIT_PER_S per key, counted across instances', async () => {
        const started = Date.now();
        const answers = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            request(limited.http[i % limited.http.length])
              .get('/api/v1/rooms')
              .set('Authorization', `Bearer ${KEY.read}`),
          ),
        );
        // Five a second for the key, wherever its requests go. A window opens with its first
        // request and lasts a second: all answered within one, five got through (counted per
        // instance, it would be fifteen); over a longer run, at most five per window spanned.
        const elapsed = Date.now() - started;
        const ok = answers.filter((a) => a.status === 200).length;
        const refused = answers.filter((a) => a.status === 429);
        if (elapsed < 1000) expect(ok).toBe(5);
        else expect(ok).toBeLessThanOrEqual(5 * (Math.ceil(elapsed / 1000) + 1));
        expect(refused.length).toBe(30 - ok);
        for (const a of refused) {
          expect(a.body).toEqual({ statusCode: 429, code: 'rate_limited', message: expect.any(String) });
          expect(Number(a.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        }
        // Another key has a limit of its own.
        await request(limited.http[0])
          .get('/api/v1/rooms')
          .set('Authorization', `Bearer ${KEY.all}`)
          .expect(200);
      });
    });
  });
}
