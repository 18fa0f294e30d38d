import type { Deployment } from './continuity-contract';
import { eventually } from './eventually';
import { SECRET, sign } from './tokens';
import { type Frame, TestClient } from './ws-client';

export type { Deployment } from './continuity-contract';

/**
 * Settings every deployment of the presence suite runs with: a short grace and window so
 * leaves and diffs come quickly, five members per snapshot so truncation is cheap to reach,
 * and open mode with the test secret, so clients may be anonymous or carry a token.
 */
export const PRESENCE_ENV = {
  AUTH_MODE: 'open',
  JWT_SECRET: SECRET,
  PRESENCE_LEAVE_GRACE_MS: '400',
  PRESENCE_WINDOW_MS: '50',
  PRESENCE_MAX_MEMBERS: '5',
  RATE_LIMIT_FRAMES_PER_S: '0',
};

const GRACE_MS = Number(PRESENCE_ENV.PRESENCE_LEAVE_GRACE_MS);
const WINDOW_MS = Number(PRESENCE_ENV.PRESENCE_WINDOW_MS);
const MAX_MEMBERS = Number(PRESENCE_ENV.PRESENCE_MAX_MEMBERS);
/** How long a client is watched to show that nothing comes: six windows. */
const QUIET_MS = 6 * WINDOW_MS;
/** How long a view may take to reach an expected state (a grace included). */
const SETTLE_MS = 5000;
/** Each test's own timeout. */
const TEST_MS = 20_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let rooms = 0;
const freshRoom = () => `pres-${process.pid}-${++rooms}`;

/** A member as frames show it: `user` (a verified user) or `conn` (an anonymous connection), never both. */
export interface Member {
  name: string;
  user?: string;
  conn?: string;
  connections?: number;
}

/** How clients key members: `u:<sub>` or `c:<connection id>`, the order snapshots list them in. */
export const memberKey = (m: Member) => (m.user !== undefined ? `u:${m.user}` : `c:${m.conn}`);
const sorted = (values: string[]) => [...values].sort();
const namesOf = (members: Member[]) => sorted(members.map((m) => m.name));
const named = (snapshot: Frame, name: string): Member | undefined =>
  (snapshot.members as Member[]).find((m) => m.name === name);

/**
 * One connection's member list for one room, kept by the client rule: replace it on every
 * snapshot, apply a diff only when its rev is above the last snapshot's. Frames are taken from
 * the client as a test waits for a state (`until`), so coalesced diffs never matter: a test
 * waits for where the list ends up, not for a frame per change.
 */
export class PresenceView {
  snapshot: Frame | undefined;
  /** The member count of the last frame applied. */
  count = 0;
  readonly members = new Map<string, Member>();
  readonly snapshots: Frame[] = [];
  /** Every presence_diff of the room received, applied or not, in arrival order. */
  readonly diffs: Frame[] = [];
  /** Every other frame. */
  readonly others: Frame[] = [];
  /** Diffs that came after a snapshot with a rev not above its own, which the server must never send. */
  readonly stale: Frame[] = [];

  constructor(
    readonly client: TestClient,
    readonly room: string,
  ) {}

  apply(frame: Frame): void {
    if (frame.room !== this.room || (frame.type !== 'presence' && frame.type !== 'presence_diff')) {
      this.others.push(frame);
      return;
    }
    if (frame.type === 'presence') {
      this.snapshot = frame;
      this.snapshots.push(frame);
      this.count = frame.count;
      this.members.clear();
      for (const member of frame.members as Member[]) this.members.set(memberKey(member), member);
      return;
    }
    this.diffs.push(frame);
    if (this.snapshot === undefined) {
      throw new Error(`a presence_diff arrived before any snapshot: ${JSON.stringify(frame)}`);
    }
    if (frame.rev <= this.snapshot.rev) {
      this.stale.push(frame);
      return;
    }
    this.count = frame.count;
    for (const member of frame.joins as Member[]) this.members.set(memberKey(member), member);
    for (const member of frame.leaves as Member[]) this.members.delete(memberKey(member));
  }

  /** Takes frames until `done` holds; fails with the list and the last frames when it does not in time. */
  async until(done: (view: this) => boolean, timeoutMs = SETTLE_MS): Promise<this> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this)) {
      let frame: Frame;
      try {
        frame = await this.client.next(undefined, Math.max(1, deadline - Date.now()));
      } catch {
        throw new Error(
          `the presence of ${this.room} did not get there within ${timeoutMs} ms; the list: ` +
            `${JSON.stringify(this.names())}; last frames: ${JSON.stringify(this.lastFrames())}`,
        );
      }
      this.apply(frame);
    }
    return this;
  }

  /** The frames that arrive within `ms` (applied). */
  async during(ms: number): Promise<Frame[]> {
    const end = Date.now() + ms;
    const got: Frame[] = [];
    for (;;) {
      const left = end - Date.now();
      if (left <= 0 || (await this.client.nothingWithin(left))) return got;
      const frame = await this.client.next();
      this.apply(frame);
      got.push(frame);
    }
  }

  /** Asks for a snapshot ({"type":"presence"}) and returns it, once it has replaced the list. */
  async ask(): Promise<Frame> {
    const count = this.snapshots.length;
    this.client.send({ type: 'presence', room: this.room });
    await this.until(() => this.snapshots.length > count);
    return this.snapshot!;
  }

  names(): string[] {
    return namesOf([...this.members.values()]);
  }

  keys(): string[] {
    return sorted([...this.members.keys()]);
  }

  has(name: string): boolean {
    return this.names().includes(name);
  }

  /** Whether the list is exactly these names, from a snapshot that listed every member. */
  is(names: string[]): boolean {
    return (
      this.snapshot?.truncated === false &&
      this.count === names.length &&
      JSON.stringify(this.names()) === JSON.stringify(sorted(names))
    );
  }

  /**
   * Whether the list agrees with these names as far as a client can know: exactly, or after a
   * truncated snapshot, only members among them and the right count.
   */
  shows(names: string[]): boolean {
    if (this.snapshot?.truncated !== true) return this.is(names);
    return this.count === names.length && this.names().every((name) => names.includes(name));
  }

  /** Diffs from index `from` on that mention a member of this name, as [joins or leaves, member]. */
  mentions(name: string, from = 0): Array<['joins' | 'leaves', Member]> {
    const found: Array<['joins' | 'leaves', Member]> = [];
    for (const diff of this.diffs.slice(from)) {
      for (const side of ['joins', 'leaves'] as const) {
        for (const member of diff[side] as Member[]) if (member.name === name) found.push([side, member]);
      }
    }
    return found;
  }

  private lastFrames(): Frame[] {
    return [...this.snapshots.slice(-2), ...this.diffs.slice(-8)];
  }
}

/** Who a test client is: a verified user (a token at the upgrade) or an anonymous connection with a name. */
interface Who {
  user?: string;
  name?: string;
  /** Which instance (modulo their number); by default the next one in turn. */
  instance?: number;
}

/**
 * The presence promises (issue 18; README "Presence"), black-box, on a deployment of one
 * instance or several: a test's clients are spread over the instances in turn.
 */
export function describePresence(name: string, start: () => Promise<Deployment>): void {
  describe(`${name}: presence`, () => {
    let deployment: Deployment;
    const clients: TestClient[] = [];
    let turn = 0;

    const connect = async ({ user, name: displayName, instance }: Who = {}) => {
      const url = deployment.urls[(instance ?? turn++) % deployment.urls.length];
      const headers =
        user === undefined
          ? undefined
          : { Authorization: `Bearer ${await sign({ sub: user, name: displayName })}` };
      const client = await TestClient.connect(url, headers && { headers });
      clients.push(client);
      if (user !== undefined) expect(await client.next('authenticated')).toMatchObject({ user });
      return client;
    };
    const join = (client: TestClient, room: string, extra: object = {}) =>
      client.request({ type: 'join', room, ...extra }, 'joined');
    /** A connection in `room`; an anonymous one gives its name in `join`. */
    const enter = async (room: string, who: Who = {}, extra: object = {}) => {
      const client = await connect(who);
      const name = who.user === undefined && who.name !== undefined ? { name: who.name } : {};
      await join(client, room, { ...name, ...extra });
      return client;
    };
    /** A connection in `room` with presence:true, once its first snapshot has come. */
    const follow = async (room: string, who: Who = {}) => {
      const client = await enter(room, who, { presence: true });
      return new PresenceView(client, room).until((view) => view.snapshot !== undefined);
    };

    beforeAll(async () => (deployment = await start()), 60_000);
    afterAll(async () => {
      clients.forEach((c) => c.close());
      await deployment.close();
    });

    describe('snapshots', () => {
      it(
        'a join with presence:true gets, after joined, a snapshot of every member: name, user or conn, connections, count, rev, ordered by key',
        async () => {
          const room = freshRoom();
          await enter(room, { name: 'Bob' });
          const unnamed = await enter(room);
          await enter(room, { user: 'alice', name: 'Alice' });
          await enter(room, { user: 'alice', name: 'Alice' });
          await enter(room, { user: 'zed' }); // no name claim: its sub
          const carol = await connect({ user: 'carol', name: 'Carol' });
          expect(await join(carol, room, { presence: true })).toMatchObject({ type: 'joined', room });
          const snapshot = await carol.next('presence');
          expect(snapshot).toEqual({
            type: 'presence',
            room,
            rev: expect.any(Number),
            count: 5,
            members: expect.any(Array),
            truncated: false,
          });
          // Five members joined a fresh room, one rev each.
          expect(Number.isInteger(snapshot.rev) && snapshot.rev >= 5).toBe(true);
          const members = snapshot.members as Member[];
          const keys = members.map(memberKey);
          expect(keys).toEqual(sorted(keys));
          expect(members.slice(2)).toEqual([
            { name: 'Alice', user: 'alice', connections: 2 },
            { name: 'Carol', user: 'carol', connections: 1 },
            { name: 'zed', user: 'zed', connections: 1 },
          ]);
          // An anonymous member is its connection: `conn` is its id, and its name the one it gave, else the id.
          unnamed.send({ type: 'message', room, message: 'who am I' });
          const id = (await carol.next('message')).from as string;
          expect(members.slice(0, 2)).toEqual(
            expect.arrayContaining([
              { name: 'Bob', conn: expect.any(String), connections: 1 },
              { name: id, conn: id, connections: 1 },
            ]),
          );
          expect(members[0].conn).not.toBe(members[1].conn);
          // Its own join comes in the snapshot, never as a diff after it.
          await expect(carol.nothingWithin(QUIET_MS)).resolves.toBe(true);
        },
        TEST_MS,
      );

      it(
        '{"type":"presence"} from a member gets a snapshot; from a non-member not_in_room; with a bad room invalid_payload',
        async () => {
          const room = freshRoom();
          const ann = await enter(room, { name: 'Ann' }); // joined without presence
          await enter(room, { user: 'ben', name: 'Ben' });
          const expected = {
            type: 'presence',
            room,
            rev: expect.any(Number),
            count: 2,
            members: [
              { name: 'Ann', conn: expect.any(String), connections: 1 },
              { name: 'Ben', user: 'ben', connections: 1 },
            ],
            truncated: false,
          };
          expect(await ann.request({ type: 'presence', room }, 'presence')).toEqual(expected);
          expect(await ann.request({ event: 'presence', data: { room } }, 'presence')).toEqual(expected);

          const outsider = await connect({ name: 'Out' });
          expect(await outsider.request({ type: 'presence', room })).toMatchObject({
            type: 'error',
            code: 'not_in_room',
            event: 'presence',
          });
          await join(outsider, freshRoom());
          expect(await outsider.request({ type: 'presence', room })).toMatchObject({
            type: 'error',
            code: 'not_in_room',
            event: 'presence',
          });

          for (const bad of [
            { room: '' },
            { room: 'has space' },
            { room: 42 },
            { room: 'x'.repeat(65) },
            {},
          ]) {
            const reply = await ann.request({ type: 'presence', ...bad });
            expect(reply).toMatchObject({ type: 'error', code: 'invalid_payload', event: 'presence' });
            expect(reply.details).toEqual(
              expect.arrayContaining([expect.objectContaining({ field: 'room' })]),
            );
          }
          await expect(ann.nothingWithin(QUIET_MS)).resolves.toBe(true);
        },
        TEST_MS,
      );

      it(
        'lists at most PRESENCE_MAX_MEMBERS, the first by key, with the exact count and truncated:true',
        async () => {
          const room = freshRoom();
          const users = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'];
          const first = await enter(room, { user: users[0] });
          for (const user of users.slice(1, -1)) await enter(room, { user });
          const view = await follow(room, { user: users[6] });
          const expected = {
            type: 'presence',
            room,
            rev: expect.any(Number),
            count: 7,
            members: users.slice(0, MAX_MEMBERS).map((user) => ({ name: user, user, connections: 1 })),
            truncated: true,
          };
          expect(view.snapshot).toEqual(expected);
          expect(await first.request({ type: 'presence', room }, 'presence')).toEqual(expected);
        },
        TEST_MS,
      );
    });

    describe('diffs', () => {
      it(
        "a user's first connection is a join and its last a leave; extra tabs, on another instance, send nothing",
        async () => {
          const room = freshRoom();
          const watcher = await follow(room, { user: 'watcher', name: 'Watcher' });
          const base = watcher.snapshot!.rev;
          const tab1 = await enter(room, { user: 'dan', name: 'Dan' });
          await watcher.until((v) => v.diffs.length === 1);
          expect(watcher.diffs[0]).toEqual({
            type: 'presence_diff',
            room,
            rev: base + 1,
            count: 2,
            joins: [{ name: 'Dan', user: 'dan', connections: 1 }],
            leaves: [],
          });

          const tab2 = await enter(room, { user: 'dan', name: 'Dan' }); // the next instance
          expect(await watcher.during(QUIET_MS)).toEqual([]);
          const two = await watcher.ask();
          expect(named(two, 'Dan')).toEqual({ name: 'Dan', user: 'dan', connections: 2 });
          expect(two).toMatchObject({ rev: base + 1, count: 2 });

          tab1.close();
          await eventually(async () =>
            expect(named(await watcher.ask(), 'Dan')).toEqual({ name: 'Dan', user: 'dan', connections: 1 }),
          );
          expect(watcher.diffs).toHaveLength(1);

          tab2.close();
          await watcher.until((v) => v.diffs.length === 2);
          expect(watcher.diffs[1]).toEqual({
            type: 'presence_diff',
            room,
            rev: base + 2,
            count: 1,
            joins: [],
            leaves: [{ name: 'Dan', user: 'dan' }],
          });
          expect(await watcher.during(QUIET_MS)).toEqual([]);
          expect(watcher.names()).toEqual(['Watcher']);
        },
        TEST_MS,
      );

      it(
        "every diff's rev is above the snapshot's and strictly increasing, and rev goes up by one per join or leave",
        async () => {
          const room = freshRoom();
          const watchers = [await follow(room, { name: 'W1' }), await follow(room, { name: 'W2' })];
          // The second watcher's join is a diff to the first: start both from a snapshot taken after it.
          for (const w of watchers) await w.ask();
          const bases = watchers.map((w) => w.snapshot!.rev);
          const marks = watchers.map((w) => w.diffs.length);
          const [w1, w2] = watchers;
          expect(bases[0]).toBe(bases[1]);

          const r0 = await enter(room, { user: 'r0' });
          const r1 = await enter(room, { user: 'r1' });
          const a0 = await enter(room, { name: 'a0' });
          r0.close();
          await enter(room, { user: 'r2' });
          await a0.request({ type: 'leave', room }, 'left');
          await enter(room, { user: 'r3' });
          await enter(room, { name: 'a1' });
          r1.close();
          const final = ['W1', 'W2', 'r2', 'r3', 'a1'];
          for (const [i, w] of watchers.entries()) {
            await w.until((v) => v.is(final));
            await w.during(QUIET_MS);
            expect(w.stale).toEqual([]);
            const diffs = w.diffs.slice(marks[i]);
            const revs = diffs.map((d) => d.rev as number);
            expect(revs.every((rev) => rev > bases[i])).toBe(true);
            expect(revs).toEqual([...revs].sort((x, y) => x - y));
            expect(new Set(revs).size).toBe(revs.length);
            // A diff holds each member changed in its window once: at least that many revs.
            let previous = bases[i];
            for (const diff of diffs) {
              expect(diff.rev - previous).toBeGreaterThanOrEqual(diff.joins.length + diff.leaves.length);
              previous = diff.rev;
            }
            // Six joins and three leaves.
            expect(diffs[diffs.length - 1]).toMatchObject({ rev: bases[i] + 9, count: 5 });
            expect(w.is(final)).toBe(true);
          }
          for (const w of [w1, w2]) {
            const keys = w.keys();
            expect(await w.ask()).toMatchObject({ rev: bases[0] + 9, count: 5 });
            expect(w.keys()).toEqual(keys);
          }
        },
        TEST_MS,
      );

      it(
        'the client rule (replace on snapshot, apply diffs above its rev) ends with the true list, for followers joining amid churn',
        async () => {
          // At most five members (PRESENCE_MAX_MEMBERS) at any time, so every snapshot lists them all:
          // two users whose tabs come and go, away for less and more than the grace, and three
          // followers that arrive meanwhile, each with a snapshot that a join or leave may race.
          const room = freshRoom();
          const followers: PresenceView[] = [];
          const churn = async (user: string, endsIn: boolean) => {
            for (let step = 0; step < 6; step++) {
              const tab = await enter(room, { user });
              await sleep(step % 2 === 0 ? 20 : WINDOW_MS + 20);
              if (step % 3 === 0) (await enter(room, { user })).close(); // a second tab, open and closed
              if (step === 5 && endsIn) return;
              tab.close();
              await sleep(step % 2 === 0 ? GRACE_MS + 2 * WINDOW_MS : WINDOW_MS); // gone, or back in time
            }
          };
          const arrive = async () => {
            for (let i = 0; i < 3; i++) {
              await sleep(i === 0 ? 0 : GRACE_MS + 70 * i);
              followers.push(await follow(room, { name: `f${i}` }));
            }
          };
          await Promise.all([churn('u0', true), churn('u1', false), arrive()]);
          const expected = ['f0', 'f1', 'f2', 'u0'];
          for (const f of followers) await f.until((v) => v.is(expected), GRACE_MS + SETTLE_MS);
          for (const f of followers) {
            await f.during(QUIET_MS);
            expect(f.stale).toEqual([]);
            expect(f.is(expected)).toBe(true);
            const keys = f.keys();
            const fresh = await f.ask();
            expect(fresh).toMatchObject({ count: expected.length, truncated: false });
            expect(f.keys()).toEqual(keys);
            expect(named(fresh, 'u0')).toEqual({ name: 'u0', user: 'u0', connections: 1 });
          }
          // Every follower saw joins and leaves of both users after its snapshot.
          expect(followers[0].mentions('u1').map(([side]) => side)).toContain('leaves');
        },
        TEST_MS,
      );

      it(
        'a non-follower that asks for a snapshot gets no diffs afterwards',
        async () => {
          const room = freshRoom();
          const witness = await follow(room, { name: 'Witness' });
          const asker = await enter(room, { name: 'Asker' });
          expect(await asker.request({ type: 'presence', room }, 'presence')).toMatchObject({ count: 2 });
          const newcomer = await enter(room, { user: 'newcomer' });
          await witness.until((v) => v.has('newcomer'));
          newcomer.close();
          await witness.until((v) => !v.has('newcomer'), GRACE_MS + SETTLE_MS);
          await expect(asker.nothingWithin(QUIET_MS)).resolves.toBe(true);
        },
        TEST_MS,
      );

      it(
        'a repeat join with presence:false stops the diffs; with presence:true it follows again from a fresh snapshot',
        async () => {
          const room = freshRoom();
          const witness = await follow(room, { name: 'Witness' });
          const f = await follow(room, { name: 'F' });
          await join(f.client, room, { presence: false });
          await enter(room, { name: 'X' });
          await witness.until((v) => v.has('X'));
          expect(await f.during(QUIET_MS)).toEqual([]);

          await join(f.client, room, { presence: true });
          await f.until((v) => v.snapshots.length === 2);
          expect(f.names()).toEqual(['F', 'Witness', 'X']);
          const rev = f.snapshot!.rev;
          await enter(room, { name: 'Y' });
          await f.until((v) => v.has('Y'));
          expect(f.diffs.length).toBeGreaterThan(0);
          expect(f.diffs.every((d) => d.rev > rev)).toBe(true);
        },
        TEST_MS,
      );

      it(
        'tutorial clients (join without presence) never get a presence frame while others come and go',
        async () => {
          const room = freshRoom();
          const tutorial = await enter(room, { name: 'Tut' });
          const witness = await follow(room, { name: 'Witness' });
          const ta = await enter(room, { user: 'ta' });
          const tb = await enter(room, { name: 'tb' });
          const taAgain = await enter(room, { user: 'ta' });
          const other = await follow(room, { name: 'Other' });
          ta.close();
          await tb.request({ type: 'leave', room }, 'left');
          await witness.until((v) => v.is(['Tut', 'Witness', 'ta', 'Other']), GRACE_MS + SETTLE_MS);
          taAgain.close();
          other.client.close();
          await witness.until((v) => v.is(['Tut', 'Witness']), GRACE_MS + SETTLE_MS);
          await expect(tutorial.nothingWithin(QUIET_MS)).resolves.toBe(true);
          expect(tutorial.drain()).toEqual([]);
        },
        TEST_MS,
      );

      it.each([
        ['"yes"', 'yes'],
        ['1', 1],
        ['null', null],
        ['{}', {}],
      ])(
        'refuses presence %s with invalid_payload, changing nothing',
        async (_what, value) => {
          const room = freshRoom();
          const witness = await follow(room, { name: 'Witness' });
          const client = await connect();
          const reply = await client.request({ type: 'join', room, name: 'Bad', presence: value });
          expect(reply).toMatchObject({ type: 'error', code: 'invalid_payload', event: 'join' });
          expect(reply.details).toEqual(
            expect.arrayContaining([expect.objectContaining({ field: 'presence' })]),
          );
          // Not in the room: no member appeared, and it may not ask.
          expect(await client.request({ type: 'presence', room })).toMatchObject({ code: 'not_in_room' });
          expect(await witness.during(QUIET_MS)).toEqual([]);
          expect((await witness.ask()).count).toBe(1);

          // A follower's repeat join with it: refused, and it goes on following, with no new snapshot.
          const again = await witness.client.request({ type: 'join', room, presence: value });
          expect(again).toMatchObject({ type: 'error', code: 'invalid_payload', event: 'join' });
          const snapshots = witness.snapshots.length;
          await enter(room, { name: 'Next' });
          await witness.until((v) => v.has('Next'));
          expect(witness.snapshots).toHaveLength(snapshots);
        },
        TEST_MS,
      );
    });

    describe('signing in', () => {
      it(
        'an anonymous connection that signs in while in the room becomes its user: its anonymous self leaves at once, once',
        async () => {
          const room = freshRoom();
          const watcher = await follow(room, { name: 'Watcher' });
          const client = await enter(room, { name: 'Anon' });
          await watcher.until((v) => v.is(['Watcher', 'Anon']));
          const from = watcher.diffs.length;
          client.send({ type: 'auth', token: await sign({ sub: 'signed-in', name: 'Signed' }) });
          expect(await client.next('authenticated')).toMatchObject({ user: 'signed-in' });
          await watcher.until((v) => v.is(['Watcher', 'Signed']));
          await watcher.during(QUIET_MS);
          expect(watcher.mentions('Anon', from)).toEqual([['leaves', expect.anything()]]);
          expect(watcher.mentions('Signed', from)).toEqual([
            ['joins', expect.objectContaining({ user: 'signed-in' })],
          ]);
          const snapshot = await watcher.ask();
          expect(named(snapshot, 'Signed')).toMatchObject({ user: 'signed-in', connections: 1 });
        },
        TEST_MS,
      );
    });

    describe('the leave grace', () => {
      it(
        'a reconnect within the grace shows nothing: no leave, no join',
        async () => {
          const room = freshRoom();
          const watcher = await follow(room, { name: 'Watcher' });
          const eve = await enter(room, { user: 'eve', name: 'Eve' });
          await watcher.until((v) => v.has('Eve'));
          const mark = watcher.diffs.length;
          eve.close();
          // The server has seen it go: listed with no connection.
          await eventually(async () => expect(named(await watcher.ask(), 'Eve')?.connections).toBe(0));
          await enter(room, { user: 'eve', name: 'Eve' }); // back, on the next instance
          expect(named(await watcher.ask(), 'Eve')).toEqual({ name: 'Eve', user: 'eve', connections: 1 });
          await watcher.during(GRACE_MS + QUIET_MS);
          expect(watcher.diffs.slice(mark)).toEqual([]);
          const after = await watcher.ask();
          expect(after.count).toBe(2);
          expect(named(after, 'Eve')).toEqual({ name: 'Eve', user: 'eve', connections: 1 });
        },
        TEST_MS,
      );

      it(
        'during the grace the member is still listed, with connections 0',
        async () => {
          const room = freshRoom();
          const watcher = await follow(room, { name: 'Watcher' });
          const gus = await enter(room, { user: 'gus', name: 'Gus' });
          const hal = await enter(room, { name: 'Hal' });
          await watcher.until((v) => v.has('Gus') && v.has('Hal'));
          const mark = watcher.diffs.length;
          gus.close();
          await hal.request({ type: 'leave', room }, 'left');
          await eventually(async () => {
            const snapshot = await watcher.ask();
            expect(named(snapshot, 'Gus')).toEqual({ name: 'Gus', user: 'gus', connections: 0 });
            expect(named(snapshot, 'Hal')).toEqual({ name: 'Hal', conn: expect.any(String), connections: 0 });
            expect(snapshot.count).toBe(3);
          });
          expect(watcher.diffs.slice(mark)).toEqual([]);
          await watcher.until((v) => v.is(['Watcher']));
          expect(watcher.mentions('Gus', mark)).toEqual([['leaves', { name: 'Gus', user: 'gus' }]]);
          expect(watcher.mentions('Hal', mark)).toEqual([
            ['leaves', { name: 'Hal', conn: expect.any(String) }],
          ]);
        },
        TEST_MS,
      );

      it(
        'a longer absence is exactly one leave, to followers on every instance',
        async () => {
          const room = freshRoom();
          const watchers = [await follow(room, { name: 'W1' }), await follow(room, { name: 'W2' })];
          const ivy = await enter(room, { user: 'ivy', name: 'Ivy' });
          const marks: number[] = [];
          for (const w of watchers) {
            await w.until((v) => v.has('Ivy'));
            marks.push(w.diffs.length);
          }
          ivy.close();
          for (const [i, w] of watchers.entries()) {
            await w.until((v) => !v.has('Ivy'));
            await w.during(QUIET_MS);
            expect(w.mentions('Ivy', marks[i])).toEqual([['leaves', { name: 'Ivy', user: 'ivy' }]]);
            expect(w.names()).toEqual(['W1', 'W2']);
          }
        },
        TEST_MS,
      );
    });

    describe('storms and races', () => {
      it(
        'a storm of 30 joins, then of 30 leaves, costs a follower at most one diff per window, and ends with the right list',
        async () => {
          const room = freshRoom();
          const watcher = await follow(room, { user: 'storm-watcher', name: 'Watcher' });
          const bound = (ms: number) => Math.floor(ms / WINDOW_MS) + 2;
          const size = 30;
          const names = Array.from({ length: size }, (_, i) => `s${i}`);

          const joinedAt = Date.now();
          const crowd = await Promise.all(names.map((name) => enter(room, { name }, { presence: true })));
          const views = crowd.map((client) => new PresenceView(client, room));
          const everyone = ['Watcher', ...names];
          await watcher.until((v) => v.is(everyone));
          // Their snapshots were truncated (PRESENCE_MAX_MEMBERS): they know the count, and whom they list.
          for (const view of views) await view.until((v) => v.shows(everyone));
          const joinMs = Date.now() - joinedAt;
          await watcher.during(QUIET_MS);
          expect(watcher.diffs.length).toBeLessThanOrEqual(bound(joinMs));
          expect(watcher.diffs.length).toBeLessThan(size);
          for (const view of views) {
            expect(view.snapshots).toHaveLength(1);
            expect(view.diffs.length).toBeLessThanOrEqual(bound(joinMs));
          }

          const mark = watcher.diffs.length;
          const leftAt = Date.now();
          crowd.forEach((client) => client.close());
          await watcher.until((v) => v.is(['Watcher']), GRACE_MS + SETTLE_MS);
          const leaveMs = Date.now() - leftAt;
          await watcher.during(QUIET_MS);
          const leaveDiffs = watcher.diffs.length - mark;
          expect(leaveDiffs).toBeLessThanOrEqual(bound(leaveMs));
          expect(leaveDiffs).toBeLessThan(size);
          expect(await watcher.ask()).toMatchObject({
            count: 1,
            members: [{ name: 'Watcher', user: 'storm-watcher', connections: 1 }],
          });
        },
        TEST_MS,
      );

      it(
        'two connections of one user racing join and leave 200 times on two instances end with the right list after the grace',
        async () => {
          const room = freshRoom();
          const watchers = [
            await follow(room, { name: 'W1', instance: 0 }),
            await follow(room, { name: 'W2', instance: 1 }),
          ];
          const a = await connect({ user: 'racer', name: 'Racer', instance: 0 });
          const b = await connect({ user: 'racer', name: 'Racer', instance: 1 });
          /** The replies to `count` joins and leaves; presence frames (they follow on every other join) aside. */
          const replies = async (client: TestClient, count: number) => {
            const types: string[] = [];
            while (types.length < count) {
              const { type } = await client.next();
              if (type !== 'presence' && type !== 'presence_diff') types.push(type);
            }
            return types;
          };
          const rounds = 200;
          for (let i = 0; i < rounds; i++) {
            for (const client of [a, b]) {
              client.send({ type: 'join', room, presence: i % 2 === 0 });
              client.send({ type: 'leave', room });
            }
          }
          b.send({ type: 'join', room }); // b ends in the room
          const [fromA, fromB] = await Promise.all([replies(a, 2 * rounds), replies(b, 2 * rounds + 1)]);
          const tally = (types: string[]) => ({
            joined: types.filter((t) => t === 'joined').length,
            left: types.filter((t) => t === 'left').length,
          });
          expect(tally(fromA)).toEqual({ joined: rounds, left: rounds });
          expect(tally(fromB)).toEqual({ joined: rounds + 1, left: rounds });

          for (const w of watchers) {
            await w.until((v) => v.is(['W1', 'W2', 'Racer']));
            await w.during(GRACE_MS + QUIET_MS);
            expect(w.names()).toEqual(['Racer', 'W1', 'W2']);
            const keys = w.keys();
            const fresh = await w.ask();
            expect(fresh.count).toBe(3);
            expect(named(fresh, 'Racer')).toEqual({ name: 'Racer', user: 'racer', connections: 1 });
            expect(w.keys()).toEqual(keys);
          }

          await b.request({ type: 'leave', room }, 'left');
          for (const w of watchers) {
            await w.until((v) => v.is(['W1', 'W2']), GRACE_MS + SETTLE_MS);
            await w.during(QUIET_MS);
            expect(w.is(['W1', 'W2'])).toBe(true);
            expect((await w.ask()).count).toBe(2);
          }
        },
        TEST_MS,
      );
    });
  });
}
