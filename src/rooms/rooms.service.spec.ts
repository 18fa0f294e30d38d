import { ConfigService } from '@nestjs/config';
import type { WebSocket } from 'ws';
import type { AppConfigService } from '../config/config.module';
import { loadConfig } from '../config/load-config';
import { MetricsService } from '../metrics/metrics.service';
import { Connection } from './connection';
import type { Census, MaybeAsync } from './engine';
import { PresenceService } from '../presence/presence.service';
import { MemoryEngine } from './memory-engine';
import { OutboundText, WriteBatch } from './outbound';
import { WebhookService } from '../webhooks/webhook.service';
import { RoomsService } from './rooms.service';

/**
 * A ws socket whose TCP side records the frames written to it; its writableLength can be
 * raised to play a slow reader, and `extensions` set to play a compressed connection (which goes
 * through ws's own send).
 */
function fakeSocket(extensions = '') {
  const tcp = {
    writableCorked: 0,
    writableLength: 0,
    written: [] as Buffer[],
    cork() {
      this.writableCorked++;
    },
    uncork() {
      this.writableCorked--;
    },
    write(frame: Buffer) {
      this.written.push(frame);
      this.writableLength += frame.length; // a peer that reads nothing
    },
  };
  return {
    readyState: 1,
    bufferedAmount: 0,
    extensions,
    _socket: tcp,
    send: jest.fn(),
    terminate: jest.fn(),
  };
}

/** The JSON of a server text frame (2- or 4-byte header: our frames are under 64 KiB). */
const payloadOf = (frame: Buffer) => JSON.parse(frame.subarray(frame[1] === 126 ? 4 : 2).toString());

let nextId = 0;
function connection(slowConsumerBytes = 1024, extensions = '') {
  const socket = fakeSocket(extensions);
  const conn = new Connection(
    `c${++nextId}`,
    socket as unknown as WebSocket,
    slowConsumerBytes,
    new WriteBatch(),
  );
  const received = () => socket._socket.written.map(payloadOf);
  /** What reached it but the `joined` replies to its own joins. */
  const delivered = () => received().filter((frame) => frame.type !== 'joined');
  /** The `joined` replies to its joins. */
  const joins = () => received().filter((frame) => frame.type === 'joined');
  return { conn, socket, received, delivered, joins };
}

/** What the memory engine answered: at once, never a promise. */
function now<T>(value: MaybeAsync<T>): T {
  expect(value).not.toBeInstanceOf(Promise);
  return value as T;
}

/** Lets the write batch of this turn go out (WriteBatch uncorks on setImmediate). */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A `joined` frame to `room` with `members`, at the room's position (`offset`). */
const joinedTo = (room: string, members: number, offset: number = 0) => ({
  type: 'joined',
  room,
  members,
  epoch: expect.stringMatching(/^[A-Za-z0-9_-]{8}$/),
  offset,
});

describe(RoomsService.name, () => {
  let sut: RoomsService;
  let metrics: MetricsService;
  const connected = (slowConsumerBytes?: number) => {
    const c = connection(slowConsumerBytes);
    sut.connect(c.conn);
    return c;
  };

  beforeEach(() => {
    metrics = new MetricsService();
    sut = new RoomsService(
      new ConfigService({ maxRoomsPerConnection: 3 }) as AppConfigService,
      new MemoryEngine(loadConfig({}).history, 0),
      metrics,
      new PresenceService(loadConfig({}).presence),
      new WebhookService(undefined, undefined, metrics),
    );
  });

  describe('join', () => {
    it('adds the member and reports the count in its joined frame', () => {
      const a = connected();
      const b = connected();
      expect(sut.join(a.conn, 'room1')).toBeUndefined();
      expect(sut.join(b.conn, 'room1')).toBeUndefined();
      expect(a.received()).toEqual([joinedTo('room1', 1)]);
      expect(b.received()).toEqual([joinedTo('room1', 2)]);
      expect(sut.membersOf('room1')).toBe(2);
    });

    it('does not make a member of a connection that has already disconnected', () => {
      const a = connected();
      sut.disconnect(a.conn);
      expect(sut.join(a.conn, 'room1')).toEqual({ ok: false, code: 'not_in_room' });
      expect(sut.census()).toEqual({ rooms: [], connections: 0 });
      expect(a.received()).toEqual([]);
    });

    it('is idempotent', () => {
      const a = connected();
      sut.join(a.conn, 'room1');
      expect(sut.join(a.conn, 'room1')).toBeUndefined();
      expect(a.received()).toEqual([joinedTo('room1', 1), joinedTo('room1', 1)]);
      expect((sut.census() as Census).rooms).toEqual([{ name: 'room1', members: 1 }]);
    });

    it('treats __proto__, constructor and toString as ordinary rooms', () => {
      const a = connected();
      for (const room of ['__proto__', 'constructor', 'toString']) {
        expect(sut.join(a.conn, room)).toBeUndefined();
        expect(a.received().at(-1)).toEqual(joinedTo(room, 1));
      }
      expect((sut.census() as Census).rooms).toHaveLength(3);
      expect(sut.membersOf('hasOwnProperty')).toBe(0);
    });

    it('refuses a room past the limit with too_many_rooms, and changes nothing', () => {
      const a = connected();
      ['r1', 'r2', 'r3'].forEach((r) => sut.join(a.conn, r));
      expect(sut.join(a.conn, 'r4')).toEqual({ ok: false, code: 'too_many_rooms' });
      expect(sut.membersOf('r4')).toBe(0);
      expect(a.joins().map((f) => f.room)).toEqual(['r1', 'r2', 'r3']);
      expect(sut.join(a.conn, 'r1')).toBeUndefined();
      expect(a.received().at(-1)).toEqual(joinedTo('r1', 1));
    });

    it('keeps the display name for later messages', () => {
      const a = connected();
      const b = connected();
      sut.join(a.conn, 'room1', { name: 'alice' });
      sut.join(b.conn, 'room1');
      sut.send(a.conn, { message: 'hi' });
      expect(b.delivered()).toEqual([expect.objectContaining({ from: 'alice' })]);
    });
  });

  describe('leave', () => {
    it('removes the member and deletes an empty room', () => {
      const a = connected();
      const b = connected();
      sut.join(a.conn, 'room1');
      sut.join(b.conn, 'room1');
      expect(sut.leave(a.conn, 'room1')).toEqual({ ok: true, members: 1 });
      expect(sut.leave(b.conn, 'room1')).toEqual({ ok: true, members: 0 });
      expect(sut.census()).toEqual({ rooms: [], connections: 2 });
    });

    it('replies not_in_room when never joined', () => {
      const a = connected();
      expect(sut.leave(a.conn, 'room1')).toEqual({ ok: false, code: 'not_in_room' });
    });
  });

  describe('send', () => {
    it('delivers to the other members only, once, with one shared payload', () => {
      const [a, b, c, outsider] = [connected(), connected(), connected(), connected()];
      [a, b, c].forEach((x) => sut.join(x.conn, 'room1'));
      sut.join(outsider.conn, 'room2');
      expect(sut.send(a.conn, { message: 'hello' })).toEqual({
        ok: true,
        room: 'room1',
        published: {
          duplicate: false,
          epoch: expect.any(String),
          offset: 1,
          frame: expect.any(String),
          id: expect.any(String),
          ts: expect.any(Number),
          utf8: expect.any(Buffer),
        },
      });
      const frame = { type: 'message', room: 'room1', message: 'hello', from: a.conn.id, offset: 1 };
      expect(b.delivered()).toEqual([expect.objectContaining(frame)]);
      expect(c.delivered()).toEqual([expect.objectContaining(frame)]);
      // after each one's own joined frame, the very same bytes: framed once
      expect(b.socket._socket.written[1]).toBe(c.socket._socket.written[1]);
      expect(a.delivered()).toEqual([]);
      expect(outsider.delivered()).toEqual([]);
    });

    it('gives each message its own id and a timestamp', () => {
      const [a, b] = [connected(), connected()];
      [a, b].forEach((x) => sut.join(x.conn, 'room1'));
      sut.send(a.conn, { message: 'one' });
      sut.send(a.conn, { message: 'two' });
      const [first, second] = b.delivered();
      expect(first.id).not.toEqual(second.id);
      expect(Math.abs(first.ts - Date.now())).toBeLessThan(5000);
    });

    it('goes to the most recently joined room still held when no room is named', () => {
      const [a, inR1, inR2] = [connected(), connected(), connected()];
      sut.join(inR1.conn, 'r1');
      sut.join(inR2.conn, 'r2');
      sut.join(a.conn, 'r1');
      sut.join(a.conn, 'r2');
      sut.send(a.conn, { message: 'to r2' });
      sut.leave(a.conn, 'r2');
      sut.send(a.conn, { message: 'to r1' });
      expect(inR2.delivered().map((f) => f.message)).toEqual(['to r2']);
      expect(inR1.delivered().map((f) => f.message)).toEqual(['to r1']);
    });

    it('makes a re-joined room the current one again', () => {
      const [a, inR1] = [connected(), connected()];
      sut.join(inR1.conn, 'r1');
      sut.join(a.conn, 'r1');
      sut.join(a.conn, 'r2');
      sut.join(a.conn, 'r1');
      sut.send(a.conn, { message: 'x' });
      expect(inR1.delivered()).toHaveLength(1);
    });

    it('replies not_in_room with no room joined, or for a named room not joined', () => {
      const [a, b] = [connected(), connected()];
      sut.join(b.conn, 'r1');
      expect(sut.send(a.conn, { message: 'x' })).toEqual({ ok: false, code: 'not_in_room' });
      expect(sut.send(a.conn, { message: 'x' }, 'r1')).toEqual({ ok: false, code: 'not_in_room' });
      expect(b.delivered()).toEqual([]);
    });

    it('uses the JSON the caller has, and asks for it only once the message goes out', () => {
      const [a, b] = [connected(), connected()];
      sut.join(b.conn, 'r1');
      const body = {
        message: 'x',
        reads: 0,
        get messageJson() {
          this.reads++;
          return '"x"';
        },
      };
      sut.send(a.conn, body, 'r1');
      expect(body.reads).toBe(0);
      sut.join(a.conn, 'r1');
      sut.send(a.conn, body);
      expect(body.reads).toBe(1);
      expect(b.delivered()).toEqual([expect.objectContaining({ type: 'message', message: 'x' })]);
    });

    it('drops a member that stopped reading, takes it out of its rooms and still serves the rest', async () => {
      const [a, slow, ok] = [connected(), connected(64), connected()];
      [a, slow, ok].forEach((x) => sut.join(x.conn, 'room1'));
      sut.join(slow.conn, 'room2');
      await nextTurn(); // the joined frames are written
      slow.socket._socket.writableLength = 65;
      sut.send(a.conn, { message: 'x' });
      expect(slow.socket.terminate).toHaveBeenCalled();
      expect(slow.conn.closedFor).toBe('slow_consumer');
      expect(ok.delivered()).toHaveLength(1);
      expect(sut.membersOf('room1')).toBe(2);
      expect(sut.membersOf('room2')).toBe(0);
      expect((sut.census() as Census).connections).toBe(2);
    });
    it('counts a burst within one event-loop turn as batched, not as a backlog', async () => {
      const [a, b] = [connected(), connected(200)];
      [a, b].forEach((x) => sut.join(x.conn, 'room1'));
      await nextTurn(); // the joined frames are written, and read
      b.socket._socket.writableLength = 0;
      for (let i = 0; i < 10; i++) sut.send(a.conn, { message: `burst ${i}` });
      expect(b.delivered()).toHaveLength(10);
      expect(b.socket.terminate).not.toHaveBeenCalled();
      await nextTurn(); // the batch is written; nothing was read
      sut.send(a.conn, { message: 'next turn' });
      expect(b.socket.terminate).toHaveBeenCalled();
      expect(sut.membersOf('room1')).toBe(1);
    });

    it('sends through ws (which compresses) to a connection with an extension, the same JSON', () => {
      const [a, b] = [connected(), connection(1024, 'permessage-deflate')];
      sut.connect(b.conn);
      [a, b].forEach((x) => sut.join(x.conn, 'room1'));
      sut.send(a.conn, { message: 'squeeze' });
      expect(b.socket.send).toHaveBeenCalledWith(expect.stringContaining('"message":"squeeze"'), {
        binary: false,
      });
      expect(b.socket._socket.written).toEqual([]);
      expect(b.socket.send).toHaveBeenCalledWith(expect.stringContaining('"type":"joined"'), {
        binary: false,
      });
    });
  });

  describe('broadcast', () => {
    it('reaches every connection, the sender included', () => {
      const [a, b] = [connected(), connected()];
      sut.join(b.conn, 'r1');
      sut.broadcast(a.conn, { message: 'all' });
      for (const x of [a, b])
        expect(x.delivered()).toEqual([expect.objectContaining({ type: 'broadcast', message: 'all' })]);
      expect(a.delivered()[0]).not.toHaveProperty('offset'); // in no room's log
    });
  });

  describe('disconnect', () => {
    it('leaves every room and is safe to repeat', () => {
      const [a, b] = [connected(), connected()];
      sut.join(a.conn, 'r1');
      sut.join(a.conn, 'r2');
      sut.join(b.conn, 'r1');
      sut.disconnect(a.conn);
      sut.disconnect(a.conn);
      expect(sut.census()).toEqual({ rooms: [{ name: 'r1', members: 1 }], connections: 1 });
    });
  });

  describe('metrics', () => {
    const counts = () => ({
      joins: metrics.joins.value,
      leaves: metrics.leaves.value,
      messages: metrics.deliveries.message.value,
      broadcasts: metrics.deliveries.broadcast.value,
    });
    const fanouts = async () =>
      (await metrics.registry.getSingleMetricAsString('chat_fanout_seconds')).match(/_count (\d+)/)![1];

    it('counts memberships added and ended, a repeat join and a repeat disconnect adding nothing', () => {
      const [a, b] = [connected(), connected()];
      sut.join(a.conn, 'r1');
      sut.join(a.conn, 'r1');
      sut.join(a.conn, 'r2');
      sut.join(b.conn, 'r1');
      sut.leave(b.conn, 'r1');
      sut.leave(b.conn, 'r1'); // not_in_room
      sut.disconnect(a.conn);
      sut.disconnect(a.conn);
      expect(counts()).toMatchObject({ joins: 3, leaves: 3 });
    });

    it('counts a delivery per recipient reached and a fan-out per message', async () => {
      const [a, b, c] = [connected(), connected(), connected()];
      [a, b, c].forEach((x) => sut.join(x.conn, 'room1'));
      sut.send(a.conn, { message: 'to two' });
      sut.broadcast(a.conn, { message: 'to three' });
      sut.deliverToRoom('room1', new OutboundText('{}')); // from another instance
      sut.deliverToRoom('nobody-here', new OutboundText('{}'));
      expect(counts()).toMatchObject({ messages: 5, broadcasts: 3 });
      expect(await fanouts()).toBe('3');
    });

    it('does not count a delivery to a member dropped as slow, and counts its leaves once', async () => {
      const [a, slow, ok] = [connected(), connected(64), connected()];
      [a, slow, ok].forEach((x) => sut.join(x.conn, 'room1'));
      await nextTurn(); // the joined frames are written
      slow.socket._socket.writableLength = 65;
      sut.send(a.conn, { message: 'x' });
      sut.disconnect(slow.conn); // its close event, later
      expect(counts()).toMatchObject({ messages: 1, leaves: 1 });
    });

    it('gives the gauges the rooms and connections here', async () => {
      const [a, b] = [connected(), connected()];
      sut.join(a.conn, 'r1');
      sut.join(b.conn, 'r2');
      sut.join(b.conn, 'r1');
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/^chat_rooms 2$/m);
      expect(text).toMatch(/^chat_connections 2$/m);
    });
  });

  describe('positions, recovery, acks and history', () => {
    it('gives joined the epoch and the offset the room has reached', () => {
      const [a, b] = [connected(), connected()];
      sut.join(a.conn, 'room1');
      sut.send(a.conn, { message: 'one' });
      sut.send(a.conn, { message: 'two' });
      sut.join(b.conn, 'room1');
      const [first] = a.joins();
      expect(first).toEqual(joinedTo('room1', 1, 0));
      expect(b.joins()).toEqual([{ ...joinedTo('room1', 2, 2), epoch: first.epoch }]);
      expect(first).not.toHaveProperty('recovered'); // only a join with since is told
    });

    it('gives message frames consecutive offsets, as their last field, in every room of its own', () => {
      const [a, b] = [connected(), connected()];
      for (const x of [a, b]) ['r1', 'r2'].forEach((room) => sut.join(x.conn, room));
      for (const room of ['r1', 'r2', 'r1', 'r1', 'r2']) sut.send(a.conn, { message: room }, room);
      const got = b.delivered();
      expect(got.filter((f) => f.room === 'r1').map((f) => f.offset)).toEqual([1, 2, 3]);
      expect(got.filter((f) => f.room === 'r2').map((f) => f.offset)).toEqual([1, 2]);
      const raw = b.socket._socket.written.slice(2).map((frame) => frame.subarray(2).toString());
      raw.forEach((text, n) => expect(text).toMatch(new RegExp(`,"offset":${got[n].offset}}$`)));
    });

    it('replays exactly the missed messages right after joined, then goes on live', () => {
      const [a, b, c] = [connected(), connected(), connected()];
      [a, b, c].forEach((x) => sut.join(x.conn, 'room1'));
      sut.send(a.conn, { message: 'seen' });
      const last = b.delivered().at(-1)!;
      const epoch = b.joins()[0].epoch as string;
      sut.disconnect(b.conn);
      sut.send(a.conn, { message: 'missed 1' });
      sut.send(a.conn, { message: 'missed 2' });
      const back = connected();
      expect(sut.join(back.conn, 'room1', { since: { epoch, offset: last.offset } })).toBeUndefined();
      sut.send(a.conn, { message: 'live' });
      expect(back.received()).toEqual([
        { ...joinedTo('room1', 3, 3), epoch, recovered: true, missed: 2 },
        ...c.delivered().slice(1, 3), // exactly the frames delivered live
        expect.objectContaining({ message: 'live', offset: 4 }),
      ]);
      expect(back.delivered().map((f) => f.message)).toEqual(['missed 1', 'missed 2', 'live']);
      expect(metrics.recoveries.recovered.value).toBe(1);
    });

    it('recovers a quiet room with nothing missed', () => {
      const [a, b] = [connected(), connected()];
      sut.join(a.conn, 'room1');
      sut.send(a.conn, { message: 'x' });
      const epoch = a.joins()[0].epoch as string;
      sut.join(b.conn, 'room1', { since: { epoch, offset: 1 } });
      expect(b.received()).toEqual([{ ...joinedTo('room1', 2, 1), epoch, recovered: true, missed: 0 }]);
    });

    it('answers recovered:false with the position of the room, and replays nothing, for another epoch', () => {
      const [a, b] = [connected(), connected()];
      sut.join(a.conn, 'room1');
      sut.send(a.conn, { message: 'one' });
      sut.send(a.conn, { message: 'two' });
      const epoch = a.joins()[0].epoch as string;
      const other = epoch === 'AAAAAAAA' ? 'BBBBBBBB' : 'AAAAAAAA';
      sut.join(b.conn, 'room1', { since: { epoch: other, offset: 1 } });
      expect(b.received()).toEqual([{ ...joinedTo('room1', 2, 2), epoch, recovered: false }]);
      expect(metrics.recoveries.not_recovered.value).toBe(1);
      sut.send(a.conn, { message: 'three' });
      expect(b.delivered()).toEqual([expect.objectContaining({ message: 'three', offset: 3 })]);
    });

    it('answers a cid seen before with the place of its first message, and does not deliver it again', () => {
      const [a, b] = [connected(), connected()];
      [a, b].forEach((x) => sut.join(x.conn, 'room1'));
      const first = now(sut.send(a.conn, { message: 'once' }, undefined, 'c-1'));
      expect(first).toMatchObject({ ok: true, published: { duplicate: false, offset: 1 } });
      const { id, ts } = (first.ok && first.published) as { id: string; ts: number };
      expect(sut.send(a.conn, { message: 'once' }, undefined, 'c-1')).toEqual({
        ok: true,
        room: 'room1',
        published: { duplicate: true, offset: 1, id, ts },
      });
      sut.send(a.conn, { message: 'next' }, undefined, 'c-2');
      expect(b.delivered().map((f) => [f.message, f.offset, f.id])).toEqual([
        ['once', 1, id],
        ['next', 2, expect.any(String)],
      ]);
      expect(metrics.duplicates.value).toBe(1);
    });

    it('pages history for a member, and answers not_in_room to anyone else', () => {
      const [a, outsider] = [connected(), connected()];
      sut.join(a.conn, 'room1');
      sut.join(outsider.conn, 'room2');
      for (const message of ['one', 'two', 'three']) sut.send(a.conn, { message });
      expect(sut.history(outsider.conn, 'room1', undefined, 50)).toEqual({ ok: false, code: 'not_in_room' });
      const answer = now(sut.history(a.conn, 'room1', 3, 1));
      expect(answer).toEqual({
        ok: true,
        page: { epoch: a.joins()[0].epoch, offset: 3, frames: [expect.any(String)], more: true },
      });
      expect(JSON.parse(answer.ok ? answer.page.frames[0] : '')).toMatchObject({ message: 'two', offset: 2 });
    });
  });

  describe('census', () => {
    it('orders busiest first, then by name', () => {
      const conns = [connected(), connected(), connected()];
      sut.join(conns[0].conn, 'b');
      sut.join(conns[0].conn, 'a');
      conns.forEach((x) => sut.join(x.conn, 'busy'));
      expect(sut.census()).toEqual({
        rooms: [
          { name: 'busy', members: 3 },
          { name: 'a', members: 1 },
          { name: 'b', members: 1 },
        ],
        connections: 3,
      });
    });
  });
});
