import type { HistoryConfig } from '../config/load-config';
import { newEpoch } from '../history/epoch';
import {
  type Position,
  type Recovery,
  type RecoveryFailure,
  recoveryFailure,
} from '../history/history-store';
import type { Entry, RedisHistory } from '../history/redis-history';
import type { Except, LocalRooms } from '../rooms/engine';
import { OutboundText } from '../rooms/outbound';

/**
 * Who among the members here must not get a message: its sender or the connections the
 * backend excluded, or all of them when it went out here already without an offset (an
 * append Redis answered too late).
 */
export type LocalCopy = Except | 'delivered';

/** A message that came before one it follows. */
interface Held {
  readonly epoch: string;
  readonly frame: string;
  readonly origin: string;
  /** Settled on arrival: the sender of an append is known only until Redis has answered it. */
  readonly except: LocalCopy;
}

/**
 * What one room's members here have been given: up to `offset` in `epoch`, every offset
 * once and in order. Messages ahead of a missing one wait in `held` while it is fetched.
 */
class Feed implements Position {
  epoch = '';
  offset = 0;
  positioned = false;
  /** A message went to the members here without an offset (Redis was away): they get `reset`. */
  diverged = false;
  /** Counts resets, so a recovery under way can tell one happened. */
  resets = 0;
  /** The offset at the last `quiet()`: unchanged means no message since. */
  checked = -1;
  fetching = false;
  readonly held = new Map<number, Held>();
  /** Lists that recoveries under way keep of what is delivered meanwhile. */
  readonly recorders = new Set<Entry[]>();
  ready: Promise<void> = Promise.resolve();
}

// Past this many messages waiting on missing ones, the wait ends with a reset.
const MAX_HELD = 10_000;

/**
 * Cluster mode's delivery of room messages to this instance's members, in offset order.
 * Messages come on the room's channel (in order, at most once), and from this instance's own
 * appends as Redis answers them (sooner than their echo): whichever comes first is
 * delivered, the other is skipped by its offset. A gap means the channel lost messages: they
 * are read back from the room's stream, and if they are gone the members get `reset`.
 */
export class RoomFeeds {
  private readonly feeds = new Map<string, Feed>();

  constructor(
    private readonly history: RedisHistory,
    private readonly config: HistoryConfig,
    private readonly local: () => LocalRooms,
    /** What the members here have of a message this instance appended, by its origin. */
    private readonly localCopy: (origin: string) => LocalCopy,
  ) {}

  /** Starts following a room once its channel is `live`: from the log's position then, or, for a feed kept over an outage, from where it stood. */
  follow(room: string, live: Promise<unknown>): Promise<void> {
    let feed = this.feeds.get(room);
    if (!feed) this.feeds.set(room, (feed = new Feed()));
    const current = feed;
    current.ready = live.then(
      () => (current.positioned ? this.catchUp(room, current) : this.start(room, current)),
      () => void this.standIn(current),
    );
    return current.ready;
  }

  /** The rooms followed that had no message since the last call. */
  quiet(): string[] {
    const rooms: string[] = [];
    for (const [room, feed] of this.feeds) {
      if (feed.offset === feed.checked) rooms.push(room);
      feed.checked = feed.offset;
    }
    return rooms;
  }

  /** The rooms followed. */
  rooms(): string[] {
    return [...this.feeds.keys()];
  }

  /** No member here any more. */
  drop(room: string): void {
    this.feeds.delete(room);
  }

  /** Redis is away: a message went to the members here alone. */
  unpositioned(room: string): void {
    const feed = this.feeds.get(room);
    if (feed) feed.diverged = true;
  }

  /**
   * A message of the room's log: from its channel, from the answer to this instance's append,
   * or from such an answer while Redis counts as away here (`late`), which nothing after it
   * should wait for.
   */
  receive(
    room: string,
    epoch: string,
    offset: number,
    frame: string,
    origin: string,
    via: 'channel' | 'append' | 'late',
  ): void {
    const feed = this.feeds.get(room);
    if (!feed) return;
    // Until its position is read, a feed holds what comes: whatever is past that position follows it.
    if (!feed.positioned)
      return void feed.held.set(offset, { epoch, frame, origin, except: this.localCopy(origin) });
    if (epoch !== feed.epoch) this.reset(room, feed, { epoch, offset: offset - 1 });
    if (offset <= feed.offset) return;
    if (offset === feed.offset + 1) {
      this.deliver(room, feed, offset, frame, origin);
      return this.deliverHeld(room, feed);
    }
    feed.held.set(offset, { epoch, frame, origin, except: this.localCopy(origin) });
    if (via === 'late' || feed.held.size > MAX_HELD) return this.deliverAcrossGaps(room, feed, []);
    // The channel is in offset order: a gap on it is a loss. An append's answer may simply
    // come before the channel's earlier messages, whose arrival fills the gap.
    if (via === 'channel') this.fetchMissing(room, feed);
  }

  /** Redis is away: nothing held here waits for it any longer. */
  deliverAllHeld(): void {
    for (const [room, feed] of this.feeds) if (feed.held.size > 0) this.deliverAcrossGaps(room, feed, []);
  }

  /**
   * Calls `enter` with the room's position here, or with `since`, the recovery up to it. A
   * recovery reads the log from the older of `since` and this feed's position, brings the
   * members here up to what it read, and answers from it and from what was delivered while
   * it was read.
   */
  async enter<T>(
    room: string,
    since: Position | undefined,
    up: boolean,
    enter: (at: Position | Recovery) => T,
  ): Promise<T> {
    let feed = this.feeds.get(room);
    if (!feed) this.feeds.set(room, (feed = this.standIn(new Feed())));
    await feed.ready;
    const at = (): Position => ({ epoch: feed.epoch, offset: feed.offset });
    if (!since) return enter(at());
    const refuse = (reason: RecoveryFailure) => enter({ ...at(), ok: false, reason });
    if (this.config.size === 0) return refuse('history_off');
    if (!up || feed.diverged) return refuse('unavailable');
    if (since.epoch !== feed.epoch) return refuse('epoch');
    // This instance is never ahead of the log: too many missed here is too many there.
    if (feed.offset - since.offset > this.config.maxRecover) return refuse('too_many');
    const from = Math.min(since.offset, feed.offset) + 1;
    const wanted = Math.min(this.config.size, since.offset + 1 - from + this.config.maxRecover + 1);
    const recorded: Entry[] = [];
    const resets = feed.resets;
    feed.recorders.add(recorded);
    let read;
    try {
      read = await this.history.range(room, from, wanted);
    } catch {
      feed.recorders.delete(recorded);
      return refuse('unavailable');
    }
    if (this.feeds.get(room) !== feed || feed.resets !== resets || read.epoch !== feed.epoch) {
      feed.recorders.delete(recorded);
      return refuse('epoch');
    }
    this.deliverEntries(room, feed, read.entries);
    feed.recorders.delete(recorded);
    return enter(this.recovery(since, feed, [...read.entries, ...recorded]));
  }

  /** All of since + 1 .. the feed's offset among `entries` (the log's, then those delivered since), or why not. */
  private recovery(since: Position, feed: Feed, entries: Entry[]): Recovery {
    const now = { epoch: feed.epoch, offset: feed.offset };
    const byOffset = new Map(entries.map((e) => [e.offset, e.frame]));
    let oldest = since.offset + 1; // the oldest of the run that reaches the feed's offset
    while (oldest <= now.offset && !byOffset.has(oldest)) oldest++;
    const reason = recoveryFailure(since, now, oldest, this.config.maxRecover);
    if (reason) return { ...now, ok: false, reason };
    const frames: string[] = [];
    for (let offset = since.offset + 1; offset <= now.offset; offset++) {
      const frame = byOffset.get(offset);
      if (frame === undefined) return { ...now, ok: false, reason: 'gone' };
      frames.push(frame);
    }
    return { ...now, ok: true, frames };
  }

  private async start(room: string, feed: Feed): Promise<void> {
    try {
      const at = await this.history.position(room);
      feed.epoch = at.epoch;
      feed.offset = at.offset;
    } catch {
      this.standIn(feed);
    }
    feed.positioned = true;
    for (const [offset, held] of feed.held) if (held.epoch !== feed.epoch) feed.held.delete(offset);
    this.settle(room, feed);
  }

  /** A position that matches no log, for a room Redis could not be asked about: a catch-up resets it. */
  private standIn(feed: Feed): Feed {
    feed.epoch = newEpoch();
    feed.offset = 0;
    feed.positioned = true;
    feed.diverged = true;
    return feed;
  }

  /**
   * After an outage, or for a feed kept while its channel was away: the members here get
   * what the log gained meanwhile, in order. Where the log no longer has some of it, a `reset`
   * says so and what it has follows; a log started afresh is a `reset` to where it stands. A
   * room whose members here got messages the log never had gets a `reset` at the end.
   */
  async catchUp(room: string, feed = this.feeds.get(room)): Promise<void> {
    if (!feed) return;
    feed.fetching = true;
    try {
      const read = await this.history.range(room, feed.offset + 1, Math.max(this.config.size, 1));
      if (this.feeds.get(room) !== feed) return;
      if (read.epoch !== feed.epoch) {
        this.reset(room, feed, read);
      } else {
        const diverged = feed.diverged;
        this.deliverAcrossGaps(room, feed, read.entries);
        if (feed.offset < read.offset) this.reset(room, feed, read);
        if (diverged) this.reset(room, feed, { epoch: feed.epoch, offset: feed.offset });
      }
    } catch {
      // Redis went away again: the next catch-up will do it.
    } finally {
      feed.fetching = false;
    }
    this.settle(room, feed);
  }

  /** Reads the offsets missing before the first held message from the log. */
  private fetchMissing(room: string, feed: Feed): void {
    if (feed.fetching) return;
    const next = Math.min(...feed.held.keys());
    const from = feed.offset + 1;
    feed.fetching = true;
    this.history.range(room, from, next - from).then(
      (read) => {
        feed.fetching = false;
        if (this.feeds.get(room) !== feed) return;
        if (read.epoch !== feed.epoch) return this.reset(room, feed, read);
        this.deliverEntries(room, feed, read.entries);
        // Short of the held message, what is missing is gone; past it, the next gap is fetched.
        if (feed.offset < next - 1) this.deliverAcrossGaps(room, feed, read.entries);
        else this.settle(room, feed);
      },
      () => {
        // Redis is failing (its recovery catches the feed up): what is held goes out now.
        feed.fetching = false;
        this.deliverAcrossGaps(room, feed, []);
      },
    );
  }

  /** The entries that follow the feed's offset, in order, then whatever they let through. */
  private deliverEntries(room: string, feed: Feed, entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.offset !== feed.offset + 1) continue;
      this.deliver(room, feed, entry.offset, entry.frame, entry.origin);
    }
    this.deliverHeld(room, feed);
  }

  /** Delivers what the held messages allow, and fetches what they still wait for. */
  private settle(room: string, feed: Feed): void {
    this.deliverHeld(room, feed);
    if (feed.held.size > 0) this.fetchMissing(room, feed);
  }

  private deliverHeld(room: string, feed: Feed): void {
    if (feed.held.size === 0) return;
    for (const offset of feed.held.keys()) if (offset <= feed.offset) feed.held.delete(offset);
    let next: Held | undefined;
    while ((next = feed.held.get(feed.offset + 1))) {
      feed.held.delete(feed.offset + 1);
      this.deliver(room, feed, feed.offset + 1, next.frame, next.origin, next.except);
    }
  }

  /**
   * Gives up on what is missing: `entries` read from the log and the held messages go out in
   * offset order, each gap announced by a `reset` first. Nothing that reached this instance is
   * dropped (an append of this instance's own may be held only here), and no gap is silent.
   */
  private deliverAcrossGaps(room: string, feed: Feed, entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.offset > feed.offset && !feed.held.has(e.offset)) {
        feed.held.set(e.offset, {
          epoch: feed.epoch,
          frame: e.frame,
          origin: e.origin,
          except: this.localCopy(e.origin),
        });
      }
    }
    const offsets = [...feed.held.keys()].sort((a, b) => a - b);
    for (const offset of offsets) {
      const held = feed.held.get(offset)!;
      feed.held.delete(offset);
      if (offset <= feed.offset) continue;
      if (offset > feed.offset + 1) this.reset(room, feed, { epoch: feed.epoch, offset: offset - 1 }, false);
      this.deliver(room, feed, offset, held.frame, held.origin, held.except);
    }
  }

  private deliver(
    room: string,
    feed: Feed,
    offset: number,
    frame: string,
    origin: string,
    except = this.localCopy(origin),
  ): void {
    feed.offset = offset;
    if (feed.recorders.size > 0)
      for (const recorded of feed.recorders) recorded.push({ offset, origin, frame });
    if (except !== 'delivered') return this.local().deliverToRoom(room, new OutboundText(frame), except);
    // The members here had it already, without an offset (its append seemed to fail): their
    // offsets skip it, so they are told to go on from it.
    this.reset(room, feed, { epoch: feed.epoch, offset }, false);
  }

  private reset(room: string, feed: Feed, at: Position, dropHeld = true): void {
    feed.epoch = at.epoch;
    feed.offset = at.offset;
    feed.diverged = false;
    feed.resets++;
    if (dropHeld) feed.held.clear();
    this.local().resetRoom(room, { epoch: at.epoch, offset: at.offset });
  }
}
