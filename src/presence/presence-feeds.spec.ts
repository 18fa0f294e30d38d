import type { Connection } from '../rooms/connection';
import type { OutboundText } from '../rooms/outbound';
import { PresenceFeeds } from './presence-feeds';
import type { MemberPage, PresenceChange } from './presence-store';

const WINDOW_MS = 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A connection that records the frames it is sent. */
function connection() {
  const frames: Record<string, unknown>[] = [];
  const conn = {
    send: (text: OutboundText) => frames.push(JSON.parse(text.json)) > 0,
  } as unknown as Connection;
  return { conn, frames };
}

const join = (rev: number, name: string): PresenceChange => ({
  room: 'r',
  rev,
  count: rev,
  kind: 'join',
  key: `c:${name}`,
  member: { name, conn: name, connections: 1 },
});

/** A store whose reads answer when the test says. */
function slowStore() {
  const reads: Array<(page: MemberPage | 'unavailable') => void> = [];
  const read = () => new Promise<MemberPage | 'unavailable'>((resolve) => reads.push(resolve));
  return { reads, read };
}

describe(PresenceFeeds.name, () => {
  const config = { graceMs: 0, maxMembers: 10, windowMs: WINDOW_MS };

  it('sends a change heard while a snapshot is read to that snapshot’s connection too, once it is sent', async () => {
    const store = slowStore();
    const sut = new PresenceFeeds(config, store.read);
    const old = connection();
    const late = connection();
    sut.follow(old.conn, 'r');
    await sleep(2 * WINDOW_MS);
    store.reads.shift()!({ rev: 1, count: 1, members: [{ name: 'a', conn: 'a', connections: 1 }] });
    await sleep(0);
    expect(old.frames.map((f) => f.type)).toEqual(['presence']);

    sut.follow(late.conn, 'r');
    await sleep(2 * WINDOW_MS); // its read is on its way
    sut.changed(join(2, 'b')); // heard first, but newer than what the read will answer
    await sleep(3 * WINDOW_MS); // windows pass while the read is out: the change waits
    expect(old.frames).toHaveLength(1);
    store.reads.shift()!({ rev: 1, count: 1, members: [{ name: 'a', conn: 'a', connections: 1 }] });
    await sleep(2 * WINDOW_MS);
    expect(late.frames).toEqual([
      expect.objectContaining({ type: 'presence', rev: 1 }),
      expect.objectContaining({
        type: 'presence_diff',
        rev: 2,
        joins: [expect.objectContaining({ name: 'b' })],
      }),
    ]);
    expect(old.frames.slice(1)).toEqual([expect.objectContaining({ type: 'presence_diff', rev: 2 })]);
  });

  it('does not send a follower a diff its snapshot already holds', async () => {
    const store = slowStore();
    const sut = new PresenceFeeds(config, store.read);
    const follower = connection();
    sut.follow(follower.conn, 'r');
    await sleep(2 * WINDOW_MS);
    sut.changed(join(1, 'a'));
    store.reads.shift()!({ rev: 1, count: 1, members: [{ name: 'a', conn: 'a', connections: 1 }] });
    await sleep(3 * WINDOW_MS);
    expect(follower.frames.map((f) => [f.type, f.rev])).toEqual([['presence', 1]]);
  });

  it('keeps connections waiting, and reads again, when a read fails', async () => {
    const store = slowStore();
    const sut = new PresenceFeeds(config, store.read);
    const follower = connection();
    sut.follow(follower.conn, 'r');
    await sleep(2 * WINDOW_MS);
    store.reads.shift()!('unavailable');
    await sleep(2 * WINDOW_MS);
    expect(follower.frames).toEqual([]);
    store.reads.shift()!({ rev: 3, count: 0, members: [] });
    await sleep(0);
    expect(follower.frames.map((f) => f.type)).toEqual(['presence']);
  });

  it('drops a snapshot read before a reset, and sends the one read after', async () => {
    const store = slowStore();
    const sut = new PresenceFeeds(config, store.read);
    const follower = connection();
    sut.follow(follower.conn, 'r');
    await sleep(2 * WINDOW_MS);
    sut.reset();
    store.reads.shift()!({ rev: 9, count: 0, members: [] });
    await sleep(2 * WINDOW_MS);
    store.reads.shift()!({ rev: 1, count: 0, members: [] });
    await sleep(0);
    expect(follower.frames.map((f) => [f.type, f.rev])).toEqual([['presence', 1]]);
  });

  it('forgets a room once its last snapshot is sent and nobody follows it', async () => {
    const sut = new PresenceFeeds(config, () => ({ rev: 0, count: 0, members: [] }));
    const asker = connection();
    sut.request(asker.conn, 'r');
    await sleep(2 * WINDOW_MS);
    expect(asker.frames.map((f) => f.type)).toEqual(['presence']);
    sut.changed(join(1, 'x'));
    expect(sut.revOf('r')).toBe(0); // not followed here: the change is not kept
  });
});
