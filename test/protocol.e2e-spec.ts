import request from 'supertest';
import { type RunningApp, startApp } from './support/app';
import { eventually } from './support/eventually';
import { SECRET, sign } from './support/tokens';
import { connectMany, joinAll, TestClient } from './support/ws-client';

describe('WebSocket protocol (e2e)', () => {
  let server: RunningApp;
  const clients: TestClient[] = [];
  const connect = async (n: number) => {
    const made = await connectMany(server.wsUrl, n);
    clients.push(...made);
    return made;
  };
  const rooms = () =>
    request(server.httpUrl)
      .get('/rooms')
      .expect(200)
      .then((r) => r.body);

  beforeAll(async () => {
    server = await startApp();
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(() => server.close());

  const envelopes = {
    tutorial: (event: string, data: object) => ({ type: event, ...data }),
    nest: (event: string, data: object) => ({ event, data }),
  };

  describe.each(Object.entries(envelopes))('in the %s envelope', (_, frame) => {
    it('join replies joined with the member count', async () => {
      const [a, b] = await connect(2);
      const first = await a.request(frame('join', { room: 'env-join' }));
      expect(first).toEqual({
        type: 'joined',
        room: 'env-join',
        members: 1,
        epoch: expect.any(String),
        offset: 0,
      });
      expect(await b.request(frame('join', { room: 'env-join', name: 'bob' }))).toEqual({
        type: 'joined',
        room: 'env-join',
        members: 2,
        epoch: first.epoch,
        offset: 0,
      });
    });

    it('leave replies left with the members remaining', async () => {
      const [a, b] = await connect(2);
      await joinAll([a, b], 'env-leave');
      expect(await a.request(frame('leave', { room: 'env-leave' }))).toEqual({
        type: 'left',
        room: 'env-leave',
        members: 1,
      });
    });

    it('message reaches the other members with room, message, from, id, ts and offset', async () => {
      const [a, b] = await connect(2);
      await a.request({ type: 'join', room: 'env-msg' }, 'joined');
      const joined = await b.request({ type: 'join', room: 'env-msg' }, 'joined');
      a.send(frame('message', { message: 'Hello' }));
      const got = await b.next('message');
      expect(got).toEqual({
        type: 'message',
        room: 'env-msg',
        message: 'Hello',
        from: expect.any(String),
        id: expect.any(String),
        ts: expect.any(Number),
        offset: joined.offset + 1,
      });
      expect(await a.nothingWithin(100)).toBe(true);
    });

    it('message with a room goes to that room', async () => {
      const [a, b] = await connect(2);
      await joinAll([a, b], 'env-named');
      await a.request({ type: 'join', room: 'env-other' }, 'joined');
      a.send(frame('message', { message: 'named', room: 'env-named' }));
      expect(await b.next('message')).toMatchObject({ room: 'env-named', message: 'named' });
    });

    it('broadcast reaches every connection, the sender included', async () => {
      const [a, b] = await connect(2);
      a.send(frame('broadcast', { message: 'to all' }));
      for (const c of [a, b])
        expect(await c.next('broadcast')).toMatchObject({
          message: 'to all',
          from: expect.any(String),
          id: expect.any(String),
          ts: expect.any(Number),
        });
    });

    it('echo replies to the sender alone', async () => {
      const [a, b] = await connect(2);
      expect(await a.request(frame('echo', { message: 'ping' }))).toEqual({ type: 'echo', message: 'ping' });
      expect(await b.nothingWithin(100)).toBe(true);
    });
  });

  it('serves a client written for the tutorial unchanged', async () => {
    const [alice, bob] = await connect(2);
    for (const c of [alice, bob]) c.send(JSON.stringify({ type: 'join', room: 'room1' }));
    await alice.next('joined');
    await bob.next('joined');
    alice.send(JSON.stringify({ type: 'message', message: 'Hello' }));
    const data = await bob.next();
    expect(`Room: ${data.room}, Message: ${data.message}`).toBe('Room: room1, Message: Hello');
  });

  it('shows the display name as from, else the connection id', async () => {
    const [a, b] = await connect(2);
    await a.request({ type: 'join', room: 'names', name: 'Alice' }, 'joined');
    await b.request({ type: 'join', room: 'names' }, 'joined');
    a.send({ type: 'message', message: 'hi' });
    expect((await b.next('message')).from).toBe('Alice');
    b.send({ type: 'message', message: 'hey' });
    const anonymous = (await a.next('message')).from;
    b.send({ type: 'message', message: 'again' });
    expect((await a.next('message')).from).toBe(anonymous);
    expect(anonymous).not.toBe('Alice');
  });

  it('never delivers to another room', async () => {
    const [a, b, c] = await connect(3);
    await joinAll([a, b], 'iso-1');
    await joinAll([c], 'iso-2');
    a.send({ type: 'message', message: 'only iso-1' });
    await b.next('message');
    expect(await c.nothingWithin(150)).toBe(true);
  });

  it('sends a message without room to the most recently joined room still held', async () => {
    const [a, r1, r2] = await connect(3);
    await joinAll([r1], 'recent-1');
    await joinAll([r2], 'recent-2');
    await joinAll([a], 'recent-1');
    await joinAll([a], 'recent-2');
    a.send({ type: 'message', message: 'to 2' });
    expect(await r2.next('message')).toMatchObject({ room: 'recent-2', message: 'to 2' });
    await a.request({ type: 'leave', room: 'recent-2' }, 'left');
    a.send({ type: 'message', message: 'to 1' });
    expect(await r1.next('message')).toMatchObject({ room: 'recent-1', message: 'to 1' });
    expect(await r2.nothingWithin(100)).toBe(true);
  });

  it('keeps a connection in several rooms, receiving from each', async () => {
    const [multi, x, y] = await connect(3);
    await joinAll([multi, x], 'multi-x');
    await joinAll([multi, y], 'multi-y');
    x.send({ type: 'message', message: 'from x' });
    y.send({ type: 'message', message: 'from y' });
    const got = [await multi.next('message'), await multi.next('message')]
      .map((f) => `${f.room}:${f.message}`)
      .sort();
    expect(got).toEqual(['multi-x:from x', 'multi-y:from y']);
  });

  it('answers not_in_room for leave and message outside a room', async () => {
    const [a] = await connect(1);
    expect(await a.request({ type: 'leave', room: 'nowhere' })).toMatchObject({
      type: 'error',
      code: 'not_in_room',
      event: 'leave',
    });
    expect(await a.request({ type: 'message', message: 'x' })).toMatchObject({
      code: 'not_in_room',
      event: 'message',
    });
    expect(await a.request({ type: 'message', message: 'x', room: 'nowhere' })).toMatchObject({
      code: 'not_in_room',
    });
  });

  it('handles frames in order: a join and a message sent at once never see not_in_room', async () => {
    const [a, b] = await connect(2);
    await joinAll([b], 'order');
    for (let i = 0; i < 20; i++) {
      a.send({ type: 'join', room: 'order' });
      a.send({ type: 'message', message: `m${i}` });
      a.send({ type: 'leave', room: 'order' });
      a.send({ type: 'echo', message: `e${i}` });
    }
    for (let i = 0; i < 20; i++) {
      expect(await a.next('joined')).toMatchObject({ room: 'order' });
      expect(await a.next('left')).toMatchObject({ room: 'order' });
      expect(await a.next('echo')).toEqual({ type: 'echo', message: `e${i}` });
      expect(await b.next('message')).toMatchObject({ message: `m${i}` });
    }
  });

  describe('GET /rooms', () => {
    it('counts members through join, leave and disconnect', async () => {
      await eventually(async () => expect((await rooms()).connections).toBe(0)); // earlier tests' clients gone
      const [a, b] = await connect(2);
      await eventually(async () => expect((await rooms()).connections).toBe(2));
      await joinAll([a, b], 'counted');
      expect((await rooms()).rooms).toContainEqual({ name: 'counted', members: 2 });
      await request(server.httpUrl).get('/rooms/counted').expect(200, { name: 'counted', members: 2 });
      await a.request({ type: 'leave', room: 'counted' }, 'left');
      await request(server.httpUrl).get('/rooms/counted').expect(200, { name: 'counted', members: 1 });
      b.close();
      await eventually(() => request(server.httpUrl).get('/rooms/counted').expect(404));
      expect((await rooms()).rooms.map((r: { name: string }) => r.name)).not.toContain('counted');
      await eventually(async () => expect((await rooms()).connections).toBe(1));
    });

    it('lists busiest first and pages with limit and offset', async () => {
      const [a, b] = await connect(2);
      await joinAll([a, b], 'page-big');
      await joinAll([a], 'page-small');
      const all = await rooms();
      expect(all).toMatchObject({ limit: 100, offset: 0 });
      expect(all.rooms.slice(0, 2)).toEqual([
        { name: 'page-big', members: 2 },
        { name: 'page-small', members: 1 },
      ]);
      const page = await request(server.httpUrl).get('/rooms?limit=1&offset=1').expect(200);
      expect(page.body).toMatchObject({
        rooms: [{ name: 'page-small', members: 1 }],
        total: 2,
        limit: 1,
        offset: 1,
      });
    });

    it.each(['limit=0', 'limit=1001', 'limit=x', 'offset=-1'])(
      'refuses ?%s with a JSON 400',
      async (query) => {
        const res = await request(server.httpUrl).get(`/rooms?${query}`).expect(400);
        expect(res.body).toMatchObject({ statusCode: 400 });
      },
    );

    it('answers a JSON 404 for a room without members and 400 for an impossible name', async () => {
      const missing = await request(server.httpUrl).get('/rooms/nobody-here').expect(404);
      expect(missing.body).toMatchObject({
        statusCode: 404,
        message: expect.stringContaining('nobody-here'),
      });
      await request(server.httpUrl).get('/rooms/bad%20name').expect(400);
    });
  });

  describe('GET /rooms/:name/members', () => {
    // An app of its own: tokens verified, and a short leave grace so a departed member's listing can be watched out.
    const GRACE_MS = 300;
    let jwt: RunningApp;
    const mine: TestClient[] = [];
    const anonymous = async (room: string, name?: string) => {
      const client = await TestClient.connect(jwt.wsUrl);
      mine.push(client);
      await client.request({ type: 'join', room, ...(name !== undefined && { name }) }, 'joined');
      return client;
    };
    const user = async (room: string, sub: string, claims: { name?: string; rooms?: string[] } = {}) => {
      const client = await TestClient.connect(jwt.wsUrl);
      mine.push(client);
      await client.request({ type: 'auth', token: await sign({ sub, ...claims }) }, 'authenticated');
      await client.request({ type: 'join', room }, 'joined');
      return client;
    };
    const members = (room: string, query = '') =>
      request(jwt.httpUrl)
        .get(`/rooms/${room}/members${query}`)
        .expect(200)
        .then((r) => r.body);
    const key = (m: { user?: string; conn?: string }) =>
      m.user !== undefined ? `u:${m.user}` : `c:${m.conn}`;
    const inKeyOrder = <T extends { user?: string; conn?: string }>(list: T[]) =>
      [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

    beforeAll(async () => {
      jwt = await startApp({ JWT_SECRET: SECRET, PRESENCE_LEAVE_GRACE_MS: String(GRACE_MS) });
    });
    afterEach(() => mine.splice(0).forEach((c) => c.close()));
    afterAll(() => jwt.close());

    it('lists each anonymous connection as a member of its own: name, conn and connections, in key order', async () => {
      await anonymous('m-anon', 'ann');
      await anonymous('m-anon', 'bob');
      await anonymous('m-anon'); // no name: its connection id stands for one
      const body = await members('m-anon');
      expect(body).toEqual({
        name: 'm-anon',
        count: 3,
        rev: 3,
        members: expect.any(Array),
        limit: 100,
        offset: 0,
      });
      for (const member of body.members) {
        expect(Object.keys(member).sort()).toEqual(['conn', 'connections', 'name']);
        expect(member).toEqual({
          name: expect.any(String),
          conn: expect.stringMatching(/^\S+$/),
          connections: 1,
        });
      }
      expect(new Set(body.members.map((m: { conn: string }) => m.conn)).size).toBe(3);
      const names = body.members.map((m: { name: string }) => m.name);
      expect(names).toEqual(expect.arrayContaining(['ann', 'bob']));
      const nameless = body.members.find((m: { name: string }) => m.name !== 'ann' && m.name !== 'bob');
      expect(nameless.name).toBe(nameless.conn);
      expect(body.members).toEqual(inKeyOrder(body.members));
    });

    it('lists a JWT user with two connections once, with connections 2, and keeps it through the grace with 0', async () => {
      const tab1 = await user('m-user', 'u-alice', { name: 'Alice' });
      const tab2 = await user('m-user', 'u-alice', { name: 'Alice' });
      await anonymous('m-user', 'guest');
      const body = await members('m-user');
      expect(body).toMatchObject({ name: 'm-user', count: 2, rev: 2 });
      const alice = { name: 'Alice', user: 'u-alice', connections: 2 };
      expect(body.members).toEqual([{ name: 'guest', conn: expect.any(String), connections: 1 }, alice]);
      expect(Object.keys(body.members[1]).sort()).toEqual(['connections', 'name', 'user']);

      tab1.close();
      await eventually(async () =>
        expect((await members('m-user')).members[1]).toEqual({ ...alice, connections: 1 }),
      );
      expect((await members('m-user')).rev).toBe(2); // closing an extra tab is no leave
      tab2.close();
      // Away within the grace: still a member, with no connection.
      await eventually(async () =>
        expect(await members('m-user')).toMatchObject({
          count: 2,
          rev: 2,
          members: [{}, { ...alice, connections: 0 }],
        }),
      );
      await eventually(async () =>
        expect(await members('m-user')).toMatchObject({ count: 1, rev: 3, members: [{ name: 'guest' }] }),
      );
    });

    it('pages with limit and offset in key order, with count exact on every page', async () => {
      const room = 'm-paged';
      // Joined out of order; anonymous keys (c:) come before users' (u:).
      for (const sub of ['p4', 'p1', 'p5', 'p3', 'p2']) await user(room, sub);
      await anonymous(room, 'anon');
      const all = await members(room);
      expect(all.count).toBe(6);
      expect(all.members.map((m: { user?: string }) => m.user)).toEqual([
        undefined,
        'p1',
        'p2',
        'p3',
        'p4',
        'p5',
      ]);
      expect(all.members).toEqual(inKeyOrder(all.members));

      const pages = [];
      for (const offset of [0, 2, 4]) {
        const page = await members(room, `?limit=2&offset=${offset}`);
        expect(page).toMatchObject({ name: room, count: 6, rev: all.rev, limit: 2, offset });
        expect(page.members).toHaveLength(2);
        pages.push(...page.members);
      }
      expect(pages).toEqual(all.members);
      expect(await members(room, '?offset=5')).toMatchObject({
        count: 6,
        members: [all.members[5]],
        limit: 100,
      });
      expect(await members(room, '?offset=6')).toMatchObject({ count: 6, members: [], offset: 6 });
      expect(await members(room, '?limit=1')).toMatchObject({
        count: 6,
        members: [all.members[0]],
        limit: 1,
      });
      expect(await members(room, '?limit=1000&offset=0')).toEqual({ ...all, limit: 1000 });
    });

    it('agrees with the presence snapshot a follower gets over the WebSocket', async () => {
      await user('m-agree', 'u-zed', { name: 'Zed' });
      await anonymous('m-agree', 'amy');
      const follower = await TestClient.connect(jwt.wsUrl);
      mine.push(follower);
      await follower.request({ type: 'join', room: 'm-agree', name: 'fred', presence: true }, 'joined');
      const snapshot = await follower.next('presence');
      expect(await members('m-agree')).toMatchObject({
        count: snapshot.count,
        rev: snapshot.rev,
        members: snapshot.members,
      });
      expect(snapshot.count).toBe(3);
    });

    it('answers 404, as GET /rooms/:name does, for a private room and for a room without members', async () => {
      await user('private:m-club', 'u-ops', { rooms: ['private:*'] });
      await anonymous('m-public', 'x');
      const empty = await request(jwt.httpUrl).get('/rooms/m-nobody/members').expect(404);
      expect(empty.body).toEqual({
        statusCode: 404,
        message: 'No room "m-nobody": it has no members',
        error: 'Not Found',
      });
      expect((await request(jwt.httpUrl).get('/rooms/m-nobody').expect(404)).body).toEqual(empty.body);
      const hidden = await request(jwt.httpUrl).get('/rooms/private:m-club/members').expect(404);
      expect(hidden.body).toEqual({ ...empty.body, message: 'No room "private:m-club": it has no members' });
      await request(jwt.httpUrl).get('/rooms/private:m-club/members?limit=2').expect(404);
      await request(jwt.httpUrl).get('/rooms/m-public/members').expect(200);
    });

    it.each([
      ['limit=0', 'limit must not be less than 1'],
      ['limit=1001', 'limit must not be greater than 1000'],
      ['limit=x', 'limit must be an integer number'],
      ['limit=1.5', 'limit must be an integer number'],
      ['offset=-1', 'offset must not be less than 0'],
      ['offset=x', 'offset must be an integer number'],
    ])('refuses ?%s with a JSON 400 saying why', async (query, why) => {
      await anonymous('m-bad', 'x');
      const res = await request(jwt.httpUrl).get(`/rooms/m-bad/members?${query}`).expect(400);
      expect(res.body).toEqual({
        statusCode: 400,
        message: expect.arrayContaining([why]),
        error: 'Bad Request',
      });
    });

    it.each([
      ['with a space', 'bad%20name'],
      ['of 65 characters', 'x'.repeat(65)],
      ['with a letter outside ASCII', 'caf%C3%A9'],
    ])('refuses a room name %s with a JSON 400', async (_, name) => {
      const res = await request(jwt.httpUrl).get(`/rooms/${name}/members`).expect(400);
      expect(res.body).toEqual({
        statusCode: 400,
        message: expect.stringMatching(/^room must be 1 to 64 characters/),
        error: 'Bad Request',
      });
    });
  });

  describe('health', () => {
    it("answers liveness and readiness in terminus's format, never cached", async () => {
      const live = await request(server.httpUrl).get('/health').expect(200);
      expect(live.body).toEqual({ status: 'ok', info: {}, error: {}, details: {} });
      const ready = await request(server.httpUrl).get('/health/ready').expect(200);
      // One instance: no cluster to lose, so shutdown is the only thing readiness watches.
      const up = { lifecycle: { status: 'up' } };
      expect(ready.body).toEqual({ status: 'ok', info: up, error: {}, details: up });
      for (const res of [live, ready]) expect(res.headers['cache-control']).toContain('no-store');
    });
  });

  describe('upgrade', () => {
    it.each(['/', '/wss', '/ws/extra', '/rooms'])('refuses a WebSocket on %s', async (path) => {
      await expect(TestClient.connect(server.wsUrl.replace(/\/ws$/, path))).rejects.toThrow(/404/);
    });

    it('accepts /ws with a query string', async () => {
      const client = await TestClient.connect(`${server.wsUrl}?token=abc`);
      clients.push(client);
      expect(await client.request({ type: 'echo', message: 'q' })).toEqual({ type: 'echo', message: 'q' });
    });
  });
});
