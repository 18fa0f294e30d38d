import Redis from 'ioredis';
import { Registry } from '../src/cluster/registry';
import type { Census } from '../src/rooms/engine';
import { describeWithRedis, RedisServer } from './support/redis-server';

/** What the registry must always hold: each room's count is the sum of the registered nodes' own counts. */
type Model = Map<string, Map<string, number>>; // node id -> room -> local count

function expected(model: Model): Census {
  const sums = new Map<string, number>();
  for (const rooms of model.values()) {
    for (const [room, n] of rooms) sums.set(room, (sums.get(room) ?? 0) + n);
  }
  const rooms = [...sums]
    .filter(([, n]) => n > 0)
    .map(([name, members]) => ({ name, members }))
    .sort((a, b) => b.members - a.members || (a.name < b.name ? -1 : 1));
  return { rooms, connections: 0 };
}

describeWithRedis('Registry: cluster-wide counts in Redis (Lua scripts, against a real redis-server)', () => {
  let redis: RedisServer;
  let client: Redis;
  let prefix = 0;
  const registries = (...ids: string[]) => {
    prefix++;
    return ids.map((id) => new Registry(client, `reg${prefix}`, id, [`{reg${prefix}}`, 'PUBLISH', 0, '']));
  };
  const census = async (registry: Registry) => ({ ...(await registry.census()), connections: 0 });

  beforeAll(async () => {
    redis = await RedisServer.start();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });

  it('keeps every count equal to the sum of the nodes’ own, through any sequence of writes', async () => {
    const ids = ['a', 'b', 'c'];
    const nodes = registries(...ids);
    const model: Model = new Map(ids.map((id) => [id, new Map()]));
    for (const node of nodes) await node.register({ rooms: [], connections: 0 });
    const rooms = ['r1', 'r2', '__proto__', 'constructor'];
    let seed = 7;
    const random = (n: number) => (seed = (seed * 16807) % 2147483647) % n;
    for (let step = 0; step < 400; step++) {
      const i = random(3);
      const room = rooms[random(rooms.length)];
      const count = random(4);
      const total = await nodes[i].setLocal(room, count);
      model.get(ids[i])!.set(room, count);
      expect(total).toBe(expected(model).rooms.find((r) => r.name === room)?.members ?? 0);
      if (step % 50 === 0) expect(await census(nodes[0])).toEqual(expected(model));
    }
    expect(await census(nodes[1])).toEqual(expected(model));
  });

  it('replaces a node’s whole contribution when it registers again (after an outage)', async () => {
    const [a, b] = registries('a', 'b');
    await a.register({
      rooms: [
        { name: 'x', members: 3 },
        { name: 'y', members: 1 },
      ],
      connections: 4,
    });
    await b.register({ rooms: [{ name: 'x', members: 2 }], connections: 2 });
    await a.register({ rooms: [{ name: 'x', members: 1 }], connections: 1 });
    expect(await a.census()).toEqual({ rooms: [{ name: 'x', members: 3 }], connections: 3 });
  });

  it('refuses writes for a node that is not registered', async () => {
    const [a] = registries('a');
    expect(await a.setLocal('x', 2)).toBe(-1);
    expect(await a.setConnections(5)).toBe(false);
    expect(await a.census()).toEqual({ rooms: [], connections: 0 });
  });

  it('reaps a silent node: its members and connections stop counting, and it learns it must register again', async () => {
    const [a, b] = registries('a', 'b');
    await a.register({ rooms: [{ name: 'x', members: 2 }], connections: 2 });
    await b.register({
      rooms: [
        { name: 'x', members: 5 },
        { name: 'z', members: 1 },
      ],
      connections: 6,
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await a.heartbeat(10_000)).toBe(true); // b is not silent for that long
    expect(await a.census()).toEqual({
      rooms: [
        { name: 'x', members: 7 },
        { name: 'z', members: 1 },
      ],
      connections: 8,
    });
    expect(await a.heartbeat(50)).toBe(true); // a was refreshed just now; b was silent for 60 ms
    expect(await a.census()).toEqual({ rooms: [{ name: 'x', members: 2 }], connections: 2 });
    expect(await b.heartbeat(50)).toBe(false);
    expect(await b.setLocal('x', 5)).toBe(-1);
  });

  it('reaps nobody on the beat of a node that was itself silent too long (a hung Redis running it late)', async () => {
    const [a, b] = registries('a', 'b');
    await a.register({ rooms: [{ name: 'x', members: 2 }], connections: 2 });
    await b.register({ rooms: [{ name: 'x', members: 1 }], connections: 1 });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await a.heartbeat(50)).toBe(true); // a, silent for 60 ms too, cannot judge b
    expect(await a.census()).toEqual({ rooms: [{ name: 'x', members: 3 }], connections: 3 });
    expect(await a.heartbeat(50)).toBe(true); // now a is fresh and b still silent: reaped
    expect(await a.census()).toEqual({ rooms: [{ name: 'x', members: 2 }], connections: 2 });
  });

  it('takes everything of a node away when it unregisters', async () => {
    const [a, b] = registries('a', 'b');
    await a.register({ rooms: [{ name: 'x', members: 2 }], connections: 2 });
    await b.register({ rooms: [{ name: 'x', members: 1 }], connections: 1 });
    await a.unregister();
    expect(await b.census()).toEqual({ rooms: [{ name: 'x', members: 1 }], connections: 1 });
    expect(await b.members('x')).toBe(1);
  });
});
