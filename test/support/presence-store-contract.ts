import type { MemberHere, MemberPage, PresenceChange } from '../../src/presence/presence-store';

export const GRACE_MS = 200;

/** A presence store as the suite drives it: nodes (instances) set their connections of members. */
export interface PresenceUnderTest {
  set(node: number, room: string, member: MemberHere): Promise<void>;
  page(room: string, offset: number, limit: number): Promise<MemberPage>;
  /** Every change heard, in the order heard. */
  changes: PresenceChange[];
  /** Past the grace of every member that left before it, with the graces ended. */
  afterGrace(): Promise<void>;
  /** Where nodes can die: node 1 stops beating, and node 0 reaps it once it is stale. */
  reap?(): Promise<void>;
  /** Where a node registers again (after an outage): its members become exactly these. */
  reregister?(node: number, members: Array<[string, MemberHere]>): Promise<void>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Lets changes the store published arrive. */
const heard = () => sleep(50);
let rooms = 0;
const freshRoom = () => `pres-${process.pid}-${++rooms}`;
const anon = (id: string, here: number): MemberHere => ({
  key: `c:${id}`,
  info: { name: `anon ${id}`, conn: id },
  here,
});
const user = (sub: string, here: number): MemberHere => ({
  key: `u:${sub}`,
  info: { name: `User ${sub}`, user: sub },
  here,
});

/**
 * The promises of a presence store (src/presence/presence-store.ts), which the memory one and
 * the Redis one must both keep. `start(graceMs)` makes a store with that grace.
 */
export function describePresenceStore(
  name: string,
  start: (graceMs: number) => Promise<PresenceUnderTest>,
  nodes: 1 | 2,
): void {
  /** What only a store of several nodes (instances) can show; one node has none of it to promise. */
  const onNodes = (title: string, test: () => Promise<void>) => nodes > 1 && it(title, test);
  describe(`${name}: the presence store contract`, () => {
    let sut: PresenceUnderTest;
    beforeEach(async () => (sut = await start(GRACE_MS)));
    afterEach(() => sut.close());
    const changesOf = (room: string) => sut.changes.filter((c) => c.room === room);

    it('a first connection joins the member: one change, rev 1, listed with its connections', async () => {
      const room = freshRoom();
      await sut.set(0, room, user('alice', 1));
      await heard();
      expect(changesOf(room)).toEqual([
        {
          room,
          rev: 1,
          count: 1,
          kind: 'join',
          key: 'u:alice',
          member: { name: 'User alice', user: 'alice', connections: 1 },
        },
      ]);
      expect(await sut.page(room, 0, 10)).toEqual({
        rev: 1,
        count: 1,
        members: [{ name: 'User alice', user: 'alice', connections: 1 }],
      });
    });

    it('more connections of a member, or the same count written again, change nothing but its count', async () => {
      const room = freshRoom();
      await sut.set(0, room, user('alice', 1));
      await sut.set(0, room, user('alice', 3));
      await sut.set(0, room, user('alice', 3));
      if (nodes > 1) await sut.set(1, room, user('alice', 2));
      await heard();
      expect(changesOf(room)).toHaveLength(1);
      const page = await sut.page(room, 0, 10);
      expect(page.members[0].connections).toBe(nodes > 1 ? 5 : 3);
      expect(page.rev).toBe(1);
    });

    it('a member whose last connection went is listed with 0 connections for the grace, then leaves once', async () => {
      const room = freshRoom();
      await sut.set(0, room, anon('x', 2));
      await sut.set(0, room, anon('x', 0));
      await heard();
      expect(changesOf(room).map((c) => c.kind)).toEqual(['join']);
      expect((await sut.page(room, 0, 10)).members).toEqual([{ name: 'anon x', conn: 'x', connections: 0 }]);
      await sut.afterGrace();
      await heard();
      expect(changesOf(room).slice(1)).toEqual([
        {
          room,
          rev: 2,
          count: 0,
          kind: 'leave',
          key: 'c:x',
          member: { name: 'anon x', conn: 'x', connections: 0 },
        },
      ]);
      expect(await sut.page(room, 0, 10)).toEqual({ rev: 0, count: 0, members: [] });
    });

    it('a connection back within the grace makes neither a leave nor a join', async () => {
      const room = freshRoom();
      await sut.set(0, room, user('bob', 1));
      await sut.set(0, room, user('bob', 0));
      await sut.set(nodes - 1, room, user('bob', 1));
      await sut.afterGrace();
      await heard();
      expect(changesOf(room).map((c) => c.kind)).toEqual(['join']);
      expect((await sut.page(room, 0, 10)).members).toEqual([
        { name: 'User bob', user: 'bob', connections: 1 },
      ]);
    });

    it('lists members in key order, a page at a time, with the exact count', async () => {
      const room = freshRoom();
      const subs = ['g', 'c', 'e', 'a', 'f', 'b', 'd'];
      for (const sub of subs) await sut.set(0, room, user(sub, 1));
      const first = await sut.page(room, 0, 3);
      const rest = await sut.page(room, 3, 10);
      expect(first.count).toBe(7);
      expect(first.rev).toBe(7);
      expect([...first.members, ...rest.members].map((m) => m.user)).toEqual([...subs].sort());
      expect(first.members).toHaveLength(3);
      expect((await sut.page(room, 7, 10)).members).toEqual([]);
    });

    it('keeps rooms apart, and a room name like __proto__ is just a name', async () => {
      const [room, other] = [freshRoom(), '__proto__'];
      await sut.set(0, room, anon('y', 1));
      await sut.set(0, other, anon('y', 1));
      await sut.set(0, other, anon('y', 0));
      await sut.afterGrace();
      expect((await sut.page(room, 0, 10)).count).toBe(1);
      expect((await sut.page(other, 0, 10)).count).toBe(0);
    });

    it('revs go up by one with each join and leave, in the order heard', async () => {
      const room = freshRoom();
      await sut.set(0, room, user('a', 1));
      await sut.set(0, room, user('b', 1));
      await sut.set(0, room, user('a', 0));
      await sut.afterGrace();
      await sut.set(0, room, user('a', 1));
      await heard();
      expect(changesOf(room).map((c) => [c.kind, c.key, c.rev, c.count])).toEqual([
        ['join', 'u:a', 1, 1],
        ['join', 'u:b', 2, 2],
        ['leave', 'u:a', 3, 1],
        ['join', 'u:a', 4, 2],
      ]);
    });

    onNodes(
      'a dead node is reaped: members it alone held leave once, after the grace; others stay',
      async () => {
        const room = freshRoom();
        await sut.set(1, room, anon('gone', 1));
        await sut.set(1, room, user('dana', 1));
        await sut.set(0, room, user('dana', 2));
        await sut.reap!();
        await heard();
        expect(changesOf(room).map((c) => c.kind)).toEqual(['join', 'join']);
        await sut.afterGrace();
        await heard();
        expect(changesOf(room).map((c) => [c.kind, c.key])).toEqual([
          ['join', 'c:gone'],
          ['join', 'u:dana'],
          ['leave', 'c:gone'],
        ]);
        expect((await sut.page(room, 0, 10)).members).toEqual([
          { name: 'User dana', user: 'dana', connections: 2 },
        ]);
      },
    );

    onNodes(
      'a node registering again keeps the members it still holds silent, and those it no longer holds leave once',
      async () => {
        const room = freshRoom();
        await sut.set(1, room, user('erin', 2));
        await sut.set(1, room, anon('dropped', 1));
        await sut.reregister!(1, [[room, user('erin', 2)]]);
        await sut.afterGrace();
        await heard();
        expect(changesOf(room).map((c) => [c.kind, c.key])).toEqual([
          ['join', 'u:erin'],
          ['join', 'c:dropped'],
          ['leave', 'c:dropped'],
        ]);
        expect((await sut.page(room, 0, 10)).members).toEqual([
          { name: 'User erin', user: 'erin', connections: 2 },
        ]);
      },
    );

    onNodes('with a member on two nodes, it stays while either holds a connection', async () => {
      const room = freshRoom();
      await sut.set(0, room, user('carol', 1));
      await sut.set(1, room, user('carol', 1));
      await sut.set(0, room, user('carol', 0));
      await sut.afterGrace();
      await heard();
      expect(changesOf(room).map((c) => c.kind)).toEqual(['join']);
      await sut.set(1, room, user('carol', 0));
      await sut.afterGrace();
      await heard();
      expect(changesOf(room).map((c) => c.kind)).toEqual(['join', 'leave']);
    });
  });

  describe(`${name}: with no grace`, () => {
    it('a member leaves as its last connection goes', async () => {
      const sut = await start(0);
      try {
        const room = freshRoom();
        await sut.set(0, room, anon('z', 1));
        await sut.set(0, room, anon('z', 0));
        await heard();
        expect(sut.changes.filter((c) => c.room === room).map((c) => c.kind)).toEqual(['join', 'leave']);
      } finally {
        await sut.close();
      }
    });

    onNodes('a node registering again with the same members changes nothing: no leave and join', async () => {
      const sut = await start(0);
      try {
        const room = freshRoom();
        await sut.set(1, room, user('fay', 1));
        await sut.reregister!(1, [[room, user('fay', 1)]]);
        await heard();
        expect(sut.changes.filter((c) => c.room === room).map((c) => c.kind)).toEqual(['join']);
      } finally {
        await sut.close();
      }
    });
  });
}
