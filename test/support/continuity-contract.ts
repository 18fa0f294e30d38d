import { type Frame, TestClient } from './ws-client';

/** Settings every deployment of the continuity suite runs with. */
export const CONTINUITY_ENV = {
  HISTORY_SIZE: '20',
  MAX_RECOVER: '40',
  HISTORY_TTL_MS: '2000',
  IDEMPOTENCY_TTL_MS: '1500',
  RATE_LIMIT_FRAMES_PER_S: '0',
};

/** Where the suite's clients connect: one URL per instance (one instance: one URL). */
export interface Deployment {
  urls: string[];
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let rooms = 0;
const freshRoom = () => `cont-${process.pid}-${++rooms}`;

/** The offsets of a list of message frames. */
const offsets = (frames: Frame[]) => frames.map((f) => f.offset as number);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * The continuity promises (README "Continuity"), black-box, on a deployment of one instance
 * or several: a test's clients are spread over the instances in turn.
 */
export function describeContinuity(name: string, start: () => Promise<Deployment>): void {
  describe(`${name}: positions, recovery, history and acks`, () => {
    let deployment: Deployment;
    const clients: TestClient[] = [];
    let turn = 0;
    const connect = async (instance = turn++) => {
      const client = await TestClient.connect(deployment.urls[instance % deployment.urls.length]);
      clients.push(client);
      return client;
    };
    const join = (client: TestClient, room: string, extra: object = {}) =>
      client.request({ type: 'join', room, ...extra }, 'joined');
    /** Sends `count` messages from `client` and waits until `witness` has them all. */
    const say = async (client: TestClient, witness: TestClient, room: string, count: number, text = 'm') => {
      for (let i = 0; i < count; i++) client.send({ type: 'message', room, message: `${text}${i}` });
      const got: Frame[] = [];
      for (let i = 0; i < count; i++) got.push(await witness.next('message'));
      return got;
    };

    beforeAll(async () => (deployment = await start()), 60_000);
    afterAll(async () => {
      clients.forEach((c) => c.close());
      await deployment.close();
    });

    describe('positions', () => {
      it('joined gives the room epoch and offset; the next message has offset + 1; a broadcast has none', async () => {
        const room = freshRoom();
        const [a, b] = [await connect(), await connect()];
        const joinedA = await join(a, room);
        expect(joinedA).toEqual({
          type: 'joined',
          room,
          members: 1,
          epoch: expect.stringMatching(/^[\w-]{8}$/),
          offset: 0,
        });
        const joinedB = await join(b, room);
        expect(joinedB).toMatchObject({ epoch: joinedA.epoch, offset: 0 });
        const [first] = await say(a, b, room, 1);
        expect(first).toMatchObject({ room, message: 'm0', offset: 1 });
        const [second] = await say(b, a, room, 1);
        expect(second.offset).toBe(2);
        a.send({ type: 'broadcast', message: 'to all' });
        expect(await b.next('broadcast')).not.toHaveProperty('offset');
      });

      it('a late joiner starts at the latest offset and sees the next ones without gaps', async () => {
        const room = freshRoom();
        const [a, b, late] = [await connect(), await connect(), await connect()];
        await join(a, room);
        await join(b, room);
        await say(a, b, room, 3);
        expect(await join(late, room)).toMatchObject({ offset: 3 });
        const seen = await say(a, late, room, 2);
        expect(offsets(seen)).toEqual([4, 5]);
      });

      it('gives three senders on every instance one order: every member sees each offset once, in order, with the same message everywhere', async () => {
        const room = freshRoom();
        const members = [await connect(), await connect(), await connect()];
        const starts = [];
        for (const m of members) starts.push((await join(m, room)).offset as number);
        const watcher = await connect();
        const base = (await join(watcher, room)).offset as number;
        const perSender = 30;
        members.forEach((m, s) => {
          for (let i = 0; i < perSender; i++) m.send({ type: 'message', room, message: `s${s}-${i}` });
        });
        const total = members.length * perSender;
        const seenBy = async (client: TestClient, expected: number) => {
          const frames: Frame[] = [];
          for (let i = 0; i < expected; i++) frames.push(await client.next('message', 10_000));
          return frames;
        };
        const watched = await seenBy(watcher, total);
        expect(offsets(watched)).toEqual(range(base + 1, base + total));
        const byOffset = new Map(watched.map((f) => [f.offset, f.id]));
        for (const [s, member] of members.entries()) {
          const frames = await seenBy(member, total - perSender);
          const got = offsets(frames);
          expect(got).toEqual([...got].sort((x, y) => x - y));
          expect(new Set(got).size).toBe(got.length);
          for (const f of frames) expect(byOffset.get(f.offset)).toBe(f.id);
          // Its own messages are the offsets it did not get: acked to nobody, shown to everyone else.
          const own = range(base + 1, base + total).filter((o) => !got.includes(o));
          expect(own.map((o) => watched[o - base - 1].message)).toEqual(
            range(0, perSender - 1).map((i) => `s${s}-${i}`),
          );
        }
      }, 30_000);
    });

    describe('recovery', () => {
      it('replays exactly the missed messages after joined, then goes on live', async () => {
        const room = freshRoom();
        const [sender, gone] = [await connect(), await connect()];
        await join(sender, room);
        const at = await join(gone, room);
        const [seen] = await say(sender, gone, room, 1);
        gone.close();
        const witness = await connect();
        await join(witness, room);
        const missed = await say(sender, witness, room, 3, 'while away ');
        const back = await connect();
        const joined = await join(back, room, { since: { epoch: at.epoch, offset: seen.offset } });
        expect(joined).toMatchObject({
          recovered: true,
          missed: 3,
          epoch: at.epoch,
          offset: seen.offset + 3,
        });
        const replayed = [await back.next('message'), await back.next('message'), await back.next('message')];
        expect(replayed).toEqual(missed);
        const [live] = await say(sender, back, room, 1, 'after ');
        expect(live.offset).toBe(seen.offset + 4);
        await expect(back.nothingWithin(100)).resolves.toBe(true);
      });

      it('recovers a quiet room with nothing missed', async () => {
        const room = freshRoom();
        const [a, b] = [await connect(), await connect()];
        await join(a, room);
        const at = await join(b, room);
        const last = (await say(a, b, room, 2))[1];
        const again = await connect();
        const joined = await join(again, room, { since: { epoch: at.epoch, offset: last.offset } });
        expect(joined).toMatchObject({ recovered: true, missed: 0, offset: last.offset });
        await expect(again.nothingWithin(100)).resolves.toBe(true);
      });

      it('keeps the log of a room everyone left, for a client coming back', async () => {
        const room = freshRoom();
        const [a, b] = [await connect(), await connect()];
        const at = await join(a, room);
        await join(b, room);
        await say(a, b, room, 2);
        a.close();
        b.close();
        await sleep(100);
        const back = await connect();
        const joined = await join(back, room, { since: { epoch: at.epoch, offset: 0 } });
        expect(joined).toMatchObject({ recovered: true, missed: 2, epoch: at.epoch });
        expect(offsets([await back.next('message'), await back.next('message')])).toEqual([1, 2]);
      });

      it('keeps the log of a room with members, however long it is quiet', async () => {
        const room = freshRoom();
        const [a, b] = [await connect(), await connect()];
        const at = await join(a, room);
        await join(b, room);
        await say(a, b, room, 1);
        await sleep(3000); // past HISTORY_TTL_MS
        const [next] = await say(a, b, room, 1);
        expect(next.offset).toBe(2);
        const late = await connect();
        expect(await join(late, room, { since: { epoch: at.epoch, offset: 0 } })).toMatchObject({
          recovered: true,
          missed: 2,
          epoch: at.epoch,
        });
      });

      it('does not replay anything to a join without since', async () => {
        const room = freshRoom();
        const [a, b] = [await connect(), await connect()];
        await join(a, room);
        await join(b, room);
        await say(a, b, room, 2);
        const fresh = await connect();
        expect(await join(fresh, room)).not.toHaveProperty('recovered');
        await expect(fresh.nothingWithin(150)).resolves.toBe(true);
      });

      describe('answers recovered:false, replaying nothing, when it cannot prove it has everything', () => {
        const refused = async (room: string, since: object) => {
          const client = await connect();
          const joined = await join(client, room, { since });
          expect(joined).toMatchObject({ recovered: false });
          expect(joined).not.toHaveProperty('missed');
          await expect(client.nothingWithin(150)).resolves.toBe(true);
          return joined;
        };
        const roomWith = async (count: number) => {
          const room = freshRoom();
          const [a, b] = [await connect(), await connect()];
          const at = await join(a, room);
          await join(b, room);
          if (count > 0) await say(a, b, room, count);
          return { room, epoch: at.epoch as string };
        };

        it('for another epoch', async () => {
          const { room, epoch } = await roomWith(1);
          const joined = await refused(room, { epoch: 'AAAAAAAA', offset: 0 });
          expect(joined).toMatchObject({ epoch, offset: 1 });
        });

        it('for an offset beyond the room', async () => {
          const { room, epoch } = await roomWith(1);
          await refused(room, { epoch, offset: 5 });
        });

        it('for more than MAX_RECOVER missed', async () => {
          const { room, epoch } = await roomWith(41);
          await refused(room, { epoch, offset: 0 });
        });

        it('for messages no longer kept (HISTORY_SIZE)', async () => {
          const { room, epoch } = await roomWith(21);
          await refused(room, { epoch, offset: 0 });
        });

        it('for a log gone by HISTORY_TTL_MS after everyone left', async () => {
          const room = freshRoom();
          const [a, b] = [await connect(), await connect()];
          const at = await join(a, room);
          await join(b, room);
          await say(a, b, room, 1);
          a.close();
          b.close();
          await sleep(2600);
          const joined = await refused(room, { epoch: at.epoch, offset: 1 });
          expect(joined.epoch).not.toBe(at.epoch);
          expect(joined.offset).toBe(0);
        });
      });

      it('recovers over and over under load, on another instance each time, with no gap or repeat at the seam', async () => {
        const room = freshRoom();
        const sender = await connect(0);
        await join(sender, room);
        let client = await connect(1);
        let at = await join(client, room);
        const epoch = at.epoch;
        const seen: number[] = [];
        let sent = 0;
        const timer = setInterval(
          () => sender.send({ type: 'message', room, message: `load ${sent++}` }),
          15,
        );
        try {
          for (let cycle = 0; cycle < 6; cycle++) {
            await sleep(60);
            for (const f of client.drain()) if (f.type === 'message') seen.push(f.offset);
            client.socket.terminate();
            const last = seen.length > 0 ? seen[seen.length - 1] : at.offset;
            client = await connect(cycle + 2);
            at = await join(client, room, { since: { epoch, offset: last } });
            expect(at).toMatchObject({ recovered: true, epoch });
          }
        } finally {
          clearInterval(timer);
        }
        await sleep(200);
        for (const f of client.drain()) if (f.type === 'message') seen.push(f.offset);
        expect(seen).toEqual(range(seen[0], seen[0] + seen.length - 1));
        expect(seen[seen.length - 1]).toBe(sent);
      }, 30_000);
    });

    describe('history', () => {
      it('pages back through a full log, each message exactly as it was delivered', async () => {
        const room = freshRoom();
        const [a, b] = [await connect(), await connect()];
        await join(a, room);
        await join(b, room);
        const delivered = await say(a, b, room, 25);
        const page = (extra: object) => b.request({ type: 'history', room, ...extra }, 'history');
        const newest = await page({ limit: 8 });
        expect(newest).toMatchObject({ room, epoch: expect.any(String), offset: 25, more: true });
        expect(newest.messages).toEqual(delivered.slice(17, 25));
        const older = await page({ before: 18, limit: 8 });
        expect(older.messages).toEqual(delivered.slice(9, 17));
        expect(older.more).toBe(true);
        const oldest = await page({ before: 10, limit: 8 });
        expect(oldest.messages).toEqual(delivered.slice(5, 9)); // offsets 6..9: the log keeps 20
        expect(oldest.more).toBe(false);
        const all = await page({});
        expect(all.messages).toEqual(delivered.slice(5));
        expect(all.more).toBe(false);
      });

      it('is only for members of the room', async () => {
        const room = freshRoom();
        const [a, outsider] = [await connect(), await connect()];
        await join(a, room);
        expect(await outsider.request({ type: 'history', room })).toMatchObject({
          type: 'error',
          code: 'not_in_room',
          event: 'history',
        });
      });

      it.each([
        ['a limit of 0', { limit: 0 }, 'limit'],
        ['a limit over 100', { limit: 101 }, 'limit'],
        ['a limit that is a string', { limit: '5' }, 'limit'],
        ['before 0', { before: 0 }, 'before'],
        ['a fractional before', { before: 1.5 }, 'before'],
      ])('refuses %s with invalid_payload', async (_what, extra, field) => {
        const room = freshRoom();
        const a = await connect();
        await join(a, room);
        const reply = await a.request({ type: 'history', room, ...extra });
        expect(reply).toMatchObject({ type: 'error', code: 'invalid_payload', event: 'history' });
        expect(reply.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      });
    });

    describe('acks and retries', () => {
      const roomOfTwo = async () => {
        const room = freshRoom();
        const [a, b] = [await connect(), await connect()];
        await join(a, room);
        await join(b, room);
        return { room, a, b };
      };

      it('acks a message with a cid once it has its offset', async () => {
        const { room, a, b } = await roomOfTwo();
        const ack = await a.request({ type: 'message', room, message: 'hi', cid: 'c-1' }, 'ack');
        const got = await b.next('message');
        expect(ack).toEqual({ type: 'ack', cid: 'c-1', room, offset: got.offset, id: got.id, ts: got.ts });
      });

      it('does not deliver a repeated cid again: the sender gets the first ack, marked duplicate', async () => {
        const { room, a, b } = await roomOfTwo();
        const first = await a.request({ type: 'message', room, message: 'once', cid: 'dup-1' }, 'ack');
        const again = await a.request({ type: 'message', room, message: 'once', cid: 'dup-1' }, 'ack');
        expect(again).toEqual({ ...first, duplicate: true });
        expect(await b.next('message')).toMatchObject({ message: 'once', offset: first.offset });
        await expect(b.nothingWithin(150)).resolves.toBe(true);
      });

      it('recognises the cid after a reconnect, on another instance', async () => {
        const { room, a, b } = await roomOfTwo();
        const first = await a.request({ type: 'message', room, message: 'retry me', cid: 'r-1' }, 'ack');
        await b.next('message');
        a.close();
        const again = await connect();
        await join(again, room);
        const retry = await again.request({ type: 'message', room, message: 'retry me', cid: 'r-1' }, 'ack');
        expect(retry).toEqual({ ...first, duplicate: true });
        await expect(b.nothingWithin(150)).resolves.toBe(true);
      });

      it('delivers the cid again once IDEMPOTENCY_TTL_MS has passed', async () => {
        const { room, a, b } = await roomOfTwo();
        const first = await a.request({ type: 'message', room, message: 'x', cid: 'ttl-1' }, 'ack');
        await b.next('message');
        await sleep(1800);
        const later = await a.request({ type: 'message', room, message: 'x', cid: 'ttl-1' }, 'ack');
        expect(later).not.toHaveProperty('duplicate');
        expect(later.offset).toBe(first.offset + 1);
        expect(await b.next('message')).toMatchObject({ offset: later.offset });
      });

      it('sends no ack for a message without a cid', async () => {
        const { room, a, b } = await roomOfTwo();
        a.send({ type: 'message', room, message: 'plain' });
        await b.next('message');
        await expect(a.nothingWithin(150)).resolves.toBe(true);
      });

      it.each([[''], ['has space'], ['x'.repeat(65)], [42]])(
        'refuses the cid %j with invalid_payload, delivering nothing',
        async (cid) => {
          const { room, a, b } = await roomOfTwo();
          expect(await a.request({ type: 'message', room, message: 'bad', cid })).toMatchObject({
            type: 'error',
            code: 'invalid_payload',
            event: 'message',
          });
          await expect(b.nothingWithin(100)).resolves.toBe(true);
        },
      );
    });

    describe('bad since', () => {
      it.each([
        ['a string', 'abc'],
        ['no epoch', { offset: 1 }],
        ['a negative offset', { epoch: 'AAAAAAAA', offset: -1 }],
        ['a fractional offset', { epoch: 'AAAAAAAA', offset: 1.5 }],
        ['a nested epoch', { epoch: { $ne: 1 }, offset: 1 }],
        ['an array', [1, 2]],
      ])('refuses %s with invalid_payload and does not join', async (_what, since) => {
        const room = freshRoom();
        const a = await connect();
        expect(await a.request({ type: 'join', room, since })).toMatchObject({
          type: 'error',
          code: 'invalid_payload',
          event: 'join',
        });
        expect(await a.request({ type: 'history', room })).toMatchObject({ code: 'not_in_room' });
      });
    });
  });
}
