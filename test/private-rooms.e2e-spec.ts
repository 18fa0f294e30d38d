import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { type RunningApp, startApp } from './support/app';
import { eventually } from './support/eventually';
import { describeWithRedis, RedisServer } from './support/redis-server';
import { SECRET, sign } from './support/tokens';
import { TestClient } from './support/ws-client';

async function signedIn(url: string, rooms?: string[], sub = 'alice'): Promise<TestClient> {
  const client = await TestClient.connect(url);
  await client.request({ type: 'auth', token: await sign({ sub, rooms }) }, 'authenticated');
  return client;
}

const joinError = async (client: TestClient, room: string) => client.request({ type: 'join', room });

describe('private rooms (one instance)', () => {
  let server: RunningApp;
  const clients: TestClient[] = [];
  const track = (client: TestClient) => (clients.push(client), client);
  beforeAll(async () => {
    server = await startApp({ JWT_SECRET: SECRET });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(() => server.close());

  it.each([
    ['private:team-7:*', 'private:team-7:a', true],
    ['private:team-7:*', 'private:team-7:', true],
    ['private:team-7:*', 'private:team-70', false],
    ['private:team-7:*', 'private:team-8:a', false],
    ['private:Team', 'private:team', false],
    ['private:team', 'private:team', true],
    ['private:team', 'private:team:x', false],
    ['*', 'private:anything', true],
  ])('a grant of %s %s join %s', async (grant, room, allowed) => {
    const client = track(await signedIn(server.wsUrl, [grant]));
    const reply = await joinError(client, room);
    if (allowed) expect(reply).toMatchObject({ type: 'joined', room });
    else expect(reply).toMatchObject({ type: 'error', code: 'forbidden', event: 'join' });
    // Either way the connection stays open and usable.
    expect(await client.request({ type: 'echo', message: 'ok' }, 'echo')).toMatchObject({ message: 'ok' });
  });

  it('is forbidden to an anonymous connection and to a token without a rooms claim; public rooms stay open to both', async () => {
    const anon = track(await TestClient.connect(server.wsUrl));
    const plain = track(await signedIn(server.wsUrl));
    for (const client of [anon, plain]) {
      expect(await joinError(client, 'private:x')).toMatchObject({ code: 'forbidden', event: 'join' });
      expect(await client.request({ type: 'join', room: 'Private:x' }, 'joined')).toBeTruthy(); // not the prefix: public
    }
  });

  it('delivers nothing to a client that was refused, and a refused join leaves no membership behind', async () => {
    const member = track(await signedIn(server.wsUrl, ['private:club']));
    const outsider = track(await signedIn(server.wsUrl, [], 'mallory'));
    await member.request({ type: 'join', room: 'private:club' }, 'joined');
    await joinError(outsider, 'private:club');
    expect(await outsider.request({ type: 'message', room: 'private:club', message: 'x' }, 'error')).toMatchObject({
      code: 'not_in_room',
    });
    const other = track(await signedIn(server.wsUrl, ['private:club'], 'bob'));
    expect(await other.request({ type: 'join', room: 'private:club' }, 'joined')).toMatchObject({ members: 2 });
    other.send({ type: 'message', room: 'private:club', message: 'members only' });
    expect(await member.next('message')).toMatchObject({ message: 'members only', user: 'bob' });
    await expect(outsider.nothingWithin(100)).resolves.toBe(true);
  });

  it('is never shown by GET /rooms, and GET /rooms/:name answers 404 for it as for an empty room', async () => {
    const member = track(await signedIn(server.wsUrl, ['private:*']));
    await member.request({ type: 'join', room: 'private:hidden' }, 'joined');
    await member.request({ type: 'join', room: 'shown' }, 'joined');
    const list = await request(server.httpUrl).get('/rooms').expect(200);
    expect(list.body.rooms).toEqual([{ name: 'shown', members: 1 }]);
    expect(list.body.total).toBe(1);
    // The same answer as for a public room nobody is in: nothing tells the private one exists.
    const hidden = await request(server.httpUrl).get('/rooms/private:hidden').expect(404);
    const empty = await request(server.httpUrl).get('/rooms/nobody-here').expect(404);
    expect(hidden.body).toEqual({ ...empty.body, message: empty.body.message.replace('nobody-here', 'private:hidden') });
  });

  it('follows PRIVATE_ROOM_PREFIX', async () => {
    const custom = await startApp({ JWT_SECRET: SECRET, PRIVATE_ROOM_PREFIX: 'team.' });
    try {
      const anon = await TestClient.connect(custom.wsUrl);
      expect(await joinError(anon, 'team.x')).toMatchObject({ code: 'forbidden' });
      expect(await joinError(anon, 'private:x')).toMatchObject({ type: 'joined' });
      anon.close();
    } finally {
      await custom.close();
    }
  });
});

describeWithRedis('private rooms and identity across three instances on one Redis', () => {
  const prefix = `test-${randomBytes(4).toString('hex')}`;
  let redis: RedisServer;
  let servers: RunningApp[];
  const clients: TestClient[] = [];
  beforeAll(async () => {
    redis = await RedisServer.start();
    servers = await Promise.all(
      [0, 1, 2].map(() => startApp({ JWT_SECRET: SECRET, REDIS_URL: redis.url, REDIS_PREFIX: prefix })),
    );
  }, 30_000);
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await Promise.all(servers.map((s) => s.close()));
    await redis.stop();
  });

  it('carries user to members on other instances, and hides the private room from every instance', async () => {
    const alice = await signedIn(servers[0].wsUrl, ['private:ops'], 'alice');
    const bob = await signedIn(servers[1].wsUrl, ['private:ops'], 'bob');
    const anon = await TestClient.connect(servers[2].wsUrl);
    clients.push(alice, bob, anon);
    await alice.request({ type: 'join', room: 'private:ops' }, 'joined');
    expect(await bob.request({ type: 'join', room: 'private:ops' }, 'joined')).toMatchObject({ members: 2 });
    expect(await joinError(anon, 'private:ops')).toMatchObject({ code: 'forbidden' });
    await anon.request({ type: 'join', room: 'lobby' }, 'joined');
    await alice.request({ type: 'join', room: 'lobby' }, 'joined');
    alice.send({ type: 'message', room: 'private:ops', message: 'ops only' });
    expect(await bob.next('message')).toMatchObject({ message: 'ops only', user: 'alice', from: 'alice' });
    alice.send({ type: 'message', room: 'lobby', message: 'everyone' });
    expect(await anon.next('message')).toMatchObject({ message: 'everyone', user: 'alice' });
    await expect(anon.nothingWithin(100)).resolves.toBe(true);
    for (const server of servers) {
      await eventually(async () => {
        const list = await request(server.httpUrl).get('/rooms').expect(200);
        expect(list.body.rooms).toEqual([{ name: 'lobby', members: 2 }]);
      });
      await request(server.httpUrl).get('/rooms/private:ops').expect(404);
    }
  });
});
