import request from 'supertest';
import { type RunningApp, startApp } from './support/app';
import { type Frame, TestClient } from './support/ws-client';

const CLIENTS = 200;
const ROOMS = 20;
const MESSAGES = 20;

describe(`${CLIENTS} clients in ${ROOMS} rooms, each sending ${MESSAGES} messages at once (e2e)`, () => {
  let server: RunningApp;
  let clients: TestClient[];
  const roomOf = (i: number) => `load-${i % ROOMS}`;

  beforeAll(async () => {
    server = await startApp();
    clients = [];
    for (let i = 0; i < CLIENTS; i += 50) {
      clients.push(
        ...(await Promise.all(Array.from({ length: 50 }, () => TestClient.connect(server.wsUrl)))),
      );
    }
    await Promise.all(
      clients.map((c, i) => c.request({ type: 'join', room: roomOf(i), name: `user-${i}` }, 'joined')),
    );
  }, 30_000);
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await server.close();
  });

  it('counts exactly', async () => {
    const { body } = await request(server.httpUrl).get('/rooms').expect(200);
    expect(body.connections).toBe(CLIENTS);
    expect(body.total).toBe(ROOMS);
    expect(body.rooms).toHaveLength(ROOMS);
    for (const room of body.rooms) expect(room.members).toBe(CLIENTS / ROOMS);
  });

  it('delivers every message of a room to each other member exactly once, in per-sender order', async () => {
    clients.forEach((c, i) => {
      for (let n = 0; n < MESSAGES; n++) c.send({ type: 'message', message: `${i}:${n}` });
    });
    const expected = (CLIENTS / ROOMS - 1) * MESSAGES;
    const inboxes = await Promise.all(clients.map((c) => takeN(c, expected)));

    const ids = new Set<string>();
    inboxes.forEach((frames, i) => {
      const nextFrom = new Map<number, number>();
      for (const frame of frames) {
        expect(frame).toMatchObject({ type: 'message', room: roomOf(i) });
        const [sender, n] = frame.message.split(':').map(Number);
        expect(sender).not.toBe(i);
        expect(roomOf(sender)).toBe(roomOf(i));
        expect(frame.from).toBe(`user-${sender}`);
        expect(n).toBe(nextFrom.get(sender) ?? 0); // in order, none missing, none twice
        nextFrom.set(sender, n + 1);
        ids.add(frame.id);
      }
      for (const count of nextFrom.values()) expect(count).toBe(MESSAGES);
      expect(nextFrom.size).toBe(CLIENTS / ROOMS - 1);
    });
    expect(ids.size).toBe(CLIENTS * MESSAGES); // one id per message, shared by its copies
    const quiet = await Promise.all(clients.map((c) => c.nothingWithin(100)));
    expect(quiet.every(Boolean)).toBe(true);
  }, 30_000);
});

async function takeN(client: TestClient, n: number): Promise<Frame[]> {
  const frames: Frame[] = [];
  while (frames.length < n) frames.push(await client.next(undefined, 10_000));
  return frames;
}
