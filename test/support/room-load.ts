import request from 'supertest';
import { type Frame, TestClient } from './ws-client';

/**
 * The foundation's delivery check, for one instance or many: CLIENTS clients in ROOMS
 * rooms (client i on instance i mod N, in room i mod ROOMS), each sending MESSAGES messages
 * at once. Every member must get exactly its room's messages from the others, once each, in
 * per-sender order, each message with one id and the same from/ts on every copy.
 */
export class RoomLoad {
  static readonly CLIENTS = 200;
  static readonly ROOMS = 20;
  static readonly MESSAGES = 20;
  readonly clients: TestClient[] = [];

  constructor(private readonly wsUrls: string[]) {}

  roomOf(i: number): string {
    return `load-${i % RoomLoad.ROOMS}`;
  }

  async connectAndJoin(): Promise<void> {
    for (let i = 0; i < RoomLoad.CLIENTS; i += 50) {
      this.clients.push(
        ...(await Promise.all(
          Array.from({ length: 50 }, (_, k) => TestClient.connect(this.wsUrls[(i + k) % this.wsUrls.length])),
        )),
      );
    }
    await Promise.all(
      this.clients.map((c, i) =>
        c.request({ type: 'join', room: this.roomOf(i), name: `user-${i}` }, 'joined'),
      ),
    );
  }

  /** GET /rooms on one instance: every room and connection counted exactly. */
  async expectCounts(httpUrl: string): Promise<void> {
    const { body } = await request(httpUrl).get('/rooms').expect(200);
    expect(body.connections).toBe(RoomLoad.CLIENTS);
    expect(body.total).toBe(RoomLoad.ROOMS);
    expect(body.rooms).toHaveLength(RoomLoad.ROOMS);
    for (const room of body.rooms) expect(room.members).toBe(RoomLoad.CLIENTS / RoomLoad.ROOMS);
  }

  async sendAndCheck(): Promise<void> {
    const { CLIENTS, ROOMS, MESSAGES } = RoomLoad;
    this.clients.forEach((c, i) => {
      for (let n = 0; n < MESSAGES; n++) c.send({ type: 'message', message: `${i}:${n}` });
    });
    const expected = (CLIENTS / ROOMS - 1) * MESSAGES;
    const inboxes = await Promise.all(this.clients.map((c) => takeN(c, expected)));

    const copies = new Map<string, string>(); // id -> message, from and ts, which every copy shares
    inboxes.forEach((frames, i) => {
      const nextFrom = new Map<number, number>();
      for (const frame of frames) {
        expect(frame).toMatchObject({ type: 'message', room: this.roomOf(i) });
        const [sender, n] = frame.message.split(':').map(Number);
        expect(sender).not.toBe(i);
        expect(this.roomOf(sender)).toBe(this.roomOf(i));
        expect(frame.from).toBe(`user-${sender}`);
        expect(n).toBe(nextFrom.get(sender) ?? 0); // in order, none missing, none twice
        nextFrom.set(sender, n + 1);
        const copy = `${frame.message} ${frame.from} ${frame.ts}`;
        expect(copies.get(frame.id) ?? copy).toBe(copy);
        copies.set(frame.id, copy);
      }
      for (const count of nextFrom.values()) expect(count).toBe(MESSAGES);
      expect(nextFrom.size).toBe(CLIENTS / ROOMS - 1);
    });
    expect(copies.size).toBe(CLIENTS * MESSAGES); // one id per message, shared by its copies
    const quiet = await Promise.all(this.clients.map((c) => c.nothingWithin(100)));
    expect(quiet.every(Boolean)).toBe(true);
  }

  close(): void {
    this.clients.forEach((c) => c.close());
  }
}

async function takeN(client: TestClient, n: number): Promise<Frame[]> {
  const frames: Frame[] = [];
  while (frames.length < n) frames.push(await client.next(undefined, 10_000));
  return frames;
}
