import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { HistoryConfig } from '../config/load-config';
import type { Draft } from './history-store';
import { MemoryHistory } from './memory-history';

const MIB = 1024 * 1024;
const CONFIG: HistoryConfig = {
  size: 100,
  ttlMs: 300_000,
  maxBytes: 64 * MIB,
  maxRecover: 100,
  idempotencyTtlMs: 300_000,
  idempotencyMaxKeys: 1000,
};

let ids = 0;
const draft = (text: string, cid?: string): Draft => {
  const id = `i${++ids}`;
  return {
    head: `{"type":"message","message":${JSON.stringify(text)},"id":"${id}","ts":1,"offset":`,
    id,
    ts: 1,
    cid: cid === undefined ? undefined : { id: cid, sender: '' },
  };
};

describe(MemoryHistory.name, () => {
  describe('the HISTORY_MAX_BYTES bound', () => {
    it('holds however many rooms fill their logs', () => {
      const sut = new MemoryHistory({ ...CONFIG, maxBytes: 4 * MIB }, () => false);
      const text = 'x'.repeat(1000);
      for (let room = 0; room < 20_000; room++) {
        sut.append(`r${room}`, draft(text));
        expect(sut.usage.bytes).toBeLessThanOrEqual(4 * MIB);
      }
      for (let n = 0; n < 100; n++) sut.append('full', draft(text));
      expect(sut.usage.bytes).toBeLessThanOrEqual(4 * MIB);
      expect(sut.recover('full', { ...sut.position('full'), offset: 0 }, 100)).toMatchObject({ ok: true });
    });

    it('writes over the oldest messages first, whichever room they are in', () => {
      const sut = new MemoryHistory({ ...CONFIG, maxBytes: 1 * MIB }, () => false);
      const text = 'y'.repeat(2000);
      const old = sut.position('old');
      sut.append('old', draft(text));
      for (let n = 0; n < 400; n++) sut.append(`filler-${n % 10}`, draft(text)); // 800 KB
      const kept = sut.position('kept');
      sut.append('kept', draft(text));
      expect(sut.recover('old', old, 100)).toMatchObject({ ok: false, reason: 'gone', epoch: old.epoch });
      expect(sut.recover('kept', kept, 100)).toMatchObject({ ok: true, epoch: kept.epoch });
    });

    it('past its share for positions, drops those of the rooms nobody is in, used least recently first', () => {
      const sut = new MemoryHistory({ ...CONFIG, maxBytes: 1 * MIB }, () => false);
      const idle = sut.position('idle');
      const busy = sut.position('busy');
      for (let room = 0; room < 2000; room++) {
        sut.position(`r${room}`); // 2,000 logs: past the quarter of 1 MiB their positions may take
        sut.position('busy');
      }
      expect(sut.usage.bytes).toBeLessThanOrEqual(1 * MIB);
      expect(sut.position('idle').epoch).not.toBe(idle.epoch);
      expect(sut.position('busy').epoch).toBe(busy.epoch);
    });

    it('takes only the messages of a room someone is in, never its position', () => {
      const sut = new MemoryHistory({ ...CONFIG, maxBytes: 1 * MIB }, (room) => room === 'busy');
      const text = 'z'.repeat(2000);
      const at = sut.position('busy');
      sut.append('busy', draft(text));
      for (let room = 0; room < 400; room++) sut.append(`filler-${room}`, draft(text));
      expect(sut.position('busy')).toEqual({ epoch: at.epoch, offset: 1 });
      expect(sut.recover('busy', at, 100)).toMatchObject({ ok: false, reason: 'gone', epoch: at.epoch });
    });

    it('keeps the process within it: 100,000 rooms of full logs of 4 KB messages', () => {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const sut = new MemoryHistory(CONFIG, () => false);
      const text = 'm'.repeat(4000);
      const used = () => {
        const { heapUsed, arrayBuffers } = process.memoryUsage();
        return heapUsed + arrayBuffers;
      };
      gc();
      const before = used();
      // Every room gets a message; the last thousand fill their logs (100 each).
      const full = (room: number) => room >= 99_000;
      for (let room = 0; room < 100_000; room++) {
        for (let n = 0, count = full(room) ? 100 : 1; n < count; n++) {
          sut.append(`room-${room}`, draft(text));
        }
      }
      gc();
      const grown = used() - before;
      expect(sut.usage.bytes).toBeLessThanOrEqual(CONFIG.maxBytes);
      expect(grown).toBeLessThanOrEqual(CONFIG.maxBytes);
      expect(sut.usage.logs).toBeLessThan(100_000);
    }, 60_000);
  });

  it('keeps a message cut out of a big frame without the rest of that frame', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const sut = new MemoryHistory(CONFIG, () => false);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let n = 0; n < 3000; n++) {
      // A 60 KB frame of which the message is a few dozen characters, cut out as messageJson does.
      const frameText = `{"type":"message","message":"hello number ${n} of many","pad":"${'p'.repeat(60_000)}${n}"}`;
      const message = frameText.slice(27, 54);
      const head = `{"type":"message","room":"r","message":${message},"id":"i${n}","ts":1,"offset":`;
      sut.append(`room-${n % 30}`, { head, id: `i${n}`, ts: 1 });
    }
    gc();
    // Without a copy of its own, each kept frame would hold its 60 KB source: 180 MB.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(10 * MIB);
  });

  describe('remembered cids', () => {
    it('are bounded: a fresh cid on every message forgets the oldest past IDEMPOTENCY_MAX_KEYS', () => {
      const sut = new MemoryHistory(CONFIG, () => false);
      for (let n = 0; n < 5000; n++) sut.append('room', draft('x', `c${n}`));
      expect(sut.usage.cids).toBe(1000);
      expect(sut.append('room', draft('x', 'c4999'))).toMatchObject({ duplicate: true });
      expect(sut.append('room', draft('x', 'c0'))).toMatchObject({ duplicate: false });
    });
  });

  describe('HISTORY_TTL_MS', () => {
    it('drops the log of a room nobody is in once it has been untouched that long, never one in use', () => {
      let now = 1_000_000;
      const inUse = new Set(['busy']);
      const sut = new MemoryHistory(
        { ...CONFIG, ttlMs: 1000 },
        (room) => inUse.has(room),
        () => now,
      );
      const idle = sut.position('idle');
      const busy = sut.position('busy');
      sut.append('idle', draft('a'));
      sut.append('busy', draft('b'));
      now += 999;
      expect(sut.position('idle').epoch).toBe(idle.epoch);
      now += 1001;
      expect(sut.position('idle')).toEqual({ epoch: expect.not.stringMatching(idle.epoch), offset: 0 });
      expect(sut.position('busy')).toEqual({ epoch: busy.epoch, offset: 1 });
    });

    it('counts from the last leave (keep)', () => {
      let now = 0;
      const sut = new MemoryHistory(
        { ...CONFIG, ttlMs: 1000 },
        () => false,
        () => now,
      );
      const at = sut.position('r');
      now = 900;
      sut.keep('r');
      now = 1800;
      expect(sut.position('r').epoch).toBe(at.epoch);
    });
  });
});
