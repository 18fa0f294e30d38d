import type { HistoryConfig } from '../../src/config/load-config';
import type { Draft, HistoryStore } from '../../src/history/history-store';

export const CONFIG: HistoryConfig = {
  size: 5,
  ttlMs: 60_000,
  maxBytes: 64 * 1024 * 1024,
  maxRecover: 100,
  idempotencyTtlMs: 60_000,
  idempotencyMaxKeys: 1000,
};

/** Makes a store on a fresh namespace; `config` overrides CONFIG. */
export type MakeStore = (config?: Partial<HistoryConfig>) => HistoryStore | Promise<HistoryStore>;

let drafts = 0;
const draft = (text: string, cid?: Draft['cid']): Draft => {
  const id = `id-${++drafts}`;
  return {
    head: `{"type":"message","message":${JSON.stringify(text)},"id":"${id}","ts":1,"offset":`,
    id,
    ts: 1,
    cid,
  };
};
const textOf = (frame: string) => (JSON.parse(frame) as { message: string }).message;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What every HistoryStore promises, run against each (memory, Redis, Redis Cluster), so that
 * none can promise what another cannot.
 */
export function describeHistoryStore(name: string, make: MakeStore): void {
  describe(`${name}: the HistoryStore contract`, () => {
    let store: HistoryStore;
    let rooms = 0;
    let room: string;
    beforeEach(async () => {
      store = await make();
      room = `room-${++rooms}`;
    });
    const send = async (...texts: string[]) => {
      for (const text of texts) await store.append(room, draft(text));
    };

    describe('position', () => {
      it('starts a room at offset 0 in an epoch of its own, and keeps it', async () => {
        const first = await store.position(room);
        expect(first).toEqual({ epoch: expect.stringMatching(/^[A-Za-z0-9_-]{8}$/), offset: 0 });
        expect(await store.position(room)).toEqual(first);
        const other = await store.position(`${room}-b`);
        expect(other.epoch).not.toBe(first.epoch);
      });
    });

    describe('append', () => {
      it('gives offsets 1, 2, 3 in the epoch of the room, each frame ending with its offset', async () => {
        const { epoch } = await store.position(room);
        const appended = [];
        for (const text of ['a', 'b', 'c']) appended.push(await store.append(room, draft(text)));
        expect(appended.map((a) => a.duplicate === false && [a.epoch, a.offset])).toEqual([
          [epoch, 1],
          [epoch, 2],
          [epoch, 3],
        ]);
        const frame = appended[2].duplicate === false ? appended[2].frame : '';
        expect(JSON.parse(frame)).toMatchObject({ message: 'c', offset: 3 });
        expect(await store.position(room)).toEqual({ epoch, offset: 3 });
      });

      it('answers a cid seen before with the first ack, and keeps nothing', async () => {
        const cid = { id: 'c-1', sender: 'alice' };
        const first = draft('once', cid);
        await store.append(room, first);
        const again = await store.append(room, draft('twice', cid));
        expect(again).toEqual({ duplicate: true, offset: 1, id: first.id, ts: 1 });
        expect((await store.position(room)).offset).toBe(1);
      });

      it('tells cids apart by sender and by room', async () => {
        await store.append(room, draft('a', { id: 'x', sender: 'alice' }));
        const bob = await store.append(room, draft('b', { id: 'x', sender: 'bob' }));
        const elsewhere = await store.append(`${room}-2`, draft('c', { id: 'x', sender: 'alice' }));
        expect(bob).toMatchObject({ duplicate: false, offset: 2 });
        expect(elsewhere).toMatchObject({ duplicate: false, offset: 1 });
      });

      it('forgets a cid after IDEMPOTENCY_TTL_MS', async () => {
        store = await make({ idempotencyTtlMs: 100 });
        const cid = { id: 'late', sender: '' };
        await store.append(room, draft('a', cid));
        await sleep(250);
        expect(await store.append(room, draft('b', cid))).toMatchObject({ duplicate: false, offset: 2 });
      });
    });

    describe('recover', () => {
      it('returns every message after the position, in order', async () => {
        const since = await store.position(room);
        await send('a', 'b', 'c');
        const recovery = await store.recover(room, since, 100);
        expect(recovery).toMatchObject({ ok: true, epoch: since.epoch, offset: 3 });
        expect(recovery.ok && recovery.frames.map(textOf)).toEqual(['a', 'b', 'c']);
      });

      it('recovers a quiet room with nothing missed', async () => {
        await send('a');
        const since = await store.position(room);
        expect(await store.recover(room, since, 100)).toMatchObject({ ok: true, offset: 1, frames: [] });
      });

      it.each([
        ['another epoch', 'epoch', () => ({ epoch: 'AAAAAAAA', offset: 0 })],
        ['an offset beyond the room', 'ahead', (epoch: string) => ({ epoch, offset: 4 })],
      ])('refuses %s', async (_what, reason, since) => {
        const { epoch } = await store.position(room);
        await send('a', 'b');
        expect(await store.recover(room, since(epoch), 100)).toMatchObject({
          ok: false,
          reason,
          epoch,
          offset: 2,
        });
      });

      it('refuses more than it may replay', async () => {
        const since = await store.position(room);
        await send('a', 'b', 'c');
        expect(await store.recover(room, since, 2)).toMatchObject({
          ok: false,
          reason: 'too_many',
          offset: 3,
        });
      });

      it('refuses when the messages after the position are gone (HISTORY_SIZE)', async () => {
        const since = await store.position(room);
        await send('1', '2', '3', '4', '5', '6');
        expect(await store.recover(room, since, 100)).toMatchObject({ ok: false, reason: 'gone', offset: 6 });
        const recent = await store.recover(room, { ...since, offset: 1 }, 100);
        expect(recent.ok && recent.frames.map(textOf)).toEqual(['2', '3', '4', '5', '6']);
      });

      it('refuses with history off (HISTORY_SIZE=0), while offsets still count', async () => {
        store = await make({ size: 0 });
        const since = await store.position(room);
        await send('a');
        expect(await store.recover(room, since, 100)).toMatchObject({
          ok: false,
          reason: 'history_off',
          offset: 1,
        });
        expect(await store.page(room, undefined, 10)).toMatchObject({ frames: [], more: false, offset: 1 });
      });

      it('starts a new epoch when the log outlives HISTORY_TTL_MS untouched', async () => {
        store = await make({ ttlMs: 200 });
        const since = await store.position(room);
        await send('a');
        await sleep(450);
        const recovery = await store.recover(room, since, 100);
        expect(recovery).toMatchObject({ ok: false, reason: 'epoch', offset: 0 });
        expect(recovery.epoch).not.toBe(since.epoch);
      });
    });

    describe('page', () => {
      it('pages back through a full log, oldest first, saying when older ones remain', async () => {
        await send('1', '2', '3', '4', '5', '6', '7');
        const newest = await store.page(room, undefined, 2);
        expect(newest).toMatchObject({ offset: 7, more: true });
        expect(newest.frames.map(textOf)).toEqual(['6', '7']);
        const older = await store.page(room, 6, 2);
        expect(older.frames.map(textOf)).toEqual(['4', '5']);
        expect(older.more).toBe(true);
        const oldest = await store.page(room, 4, 2);
        expect(oldest.frames.map(textOf)).toEqual(['3']);
        expect(oldest.more).toBe(false);
        expect(await store.page(room, 3, 2)).toMatchObject({ frames: [], more: false });
      });

      it('reads the whole log when asked for more than it holds', async () => {
        await send('a', 'b');
        const all = await store.page(room, undefined, 50);
        expect(all.frames.map(textOf)).toEqual(['a', 'b']);
        expect(all.more).toBe(false);
        expect(await store.page(room, 100, 50)).toMatchObject({ more: false, offset: 2 });
      });
    });
  });
}
