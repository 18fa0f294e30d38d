import type { RedisClient } from '../cluster/redis-clients';
import type { HistoryConfig } from '../config/load-config';
import { newEpoch } from './epoch';
import {
  type Appended,
  type Draft,
  type HistoryStore,
  type Page,
  type Position,
  type Recovery,
  recoveryFailure,
} from './history-store';
import { HISTORY_SCRIPTS } from './redis-history.scripts';

/** A kept message as the stream holds it: `origin` is what its sender's instance put on it. */
export interface Entry {
  readonly offset: number;
  readonly origin: string;
  readonly frame: string;
}

/** The room's position and its kept entries from the first asked for, in order. */
export interface Range extends Position {
  readonly entries: Entry[];
}

type Scripted = {
  roomsHistoryAppend(...args: (string | number)[]): Promise<[string, string | number]>;
  roomsHistoryPosition(...args: (string | number)[]): Promise<[string, number]>;
  roomsHistoryRange(...args: (string | number)[]): Promise<(string | number)[]>;
  roomsHistoryPage(...args: (string | number)[]): Promise<(string | number)[]>;
};

/** PUBLISH on one Redis, SPUBLISH (sharded) on a Redis Cluster. */
export type PublishCommand = 'PUBLISH' | 'SPUBLISH';

/**
 * Room logs in Redis, shared by every instance. Appending a message is one script: the
 * cid check, the offset, the capped stream and the publish, so the channel carries each
 * room's offsets in order and a retry is never published twice. Every key and the channel of
 * a room share the hash tag `{<room>}` (room names cannot hold braces).
 */
export class RedisHistory implements HistoryStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly config: HistoryConfig,
    private readonly publishCommand: PublishCommand,
  ) {
    for (const [name, { lua, keys }] of Object.entries(HISTORY_SCRIPTS)) {
      if (!(name in redis)) redis.defineCommand(name, { lua, numberOfKeys: keys });
    }
  }

  /** The channel a room's messages are published on: `<epoch> <offset> <origin> <frame>`. */
  channel(room: string): string {
    return `${this.prefix}:{${room}}:ch`;
  }

  /** The room a channel of `channel()` is for. */
  roomOf(channel: string): string {
    return channel.slice(this.prefix.length + 2, -4);
  }

  async append(room: string, draft: Draft & { origin?: string }): Promise<Appended> {
    const { meta, log } = this.keys(room);
    const cid = draft.cid;
    const [epoch, offset] = await this.scripts.roomsHistoryAppend(
      meta,
      log,
      cid ? `${this.prefix}:{${room}}:cid:${cid.sender.length}:${cid.sender}:${cid.id}` : meta,
      draft.head,
      this.config.size,
      this.config.ttlMs,
      this.channel(room),
      newEpoch(),
      cid ? this.config.idempotencyTtlMs : '',
      this.publishCommand,
      draft.origin ?? '-',
      draft.id,
      draft.ts,
    );
    if (epoch === '') {
      const [first, id, ts] = String(offset).split(' ');
      return { duplicate: true, offset: Number(first), id, ts: Number(ts) };
    }
    return {
      duplicate: false,
      epoch,
      offset: Number(offset),
      frame: draft.head + offset + '}',
      id: draft.id,
      ts: draft.ts,
    };
  }

  async position(room: string): Promise<Position> {
    const { meta, log } = this.keys(room);
    const [epoch, offset] = await this.scripts.roomsHistoryPosition(meta, log, newEpoch(), this.config.ttlMs);
    return { epoch, offset: Number(offset) };
  }

  keep(room: string): void {
    this.position(room).catch(() => undefined); // refreshes the TTL; a miss only shortens it
  }

  /** The room's position and up to `count` kept entries from offset `from` on. */
  async range(room: string, from: number, count: number): Promise<Range> {
    const { meta, log } = this.keys(room);
    const reply = await this.scripts.roomsHistoryRange(meta, log, newEpoch(), from, count, this.config.ttlMs);
    const entries: Entry[] = [];
    for (let i = 2; i < reply.length; i += 3) {
      entries.push({
        offset: parseInt(String(reply[i]), 10),
        origin: String(reply[i + 1]),
        frame: String(reply[i + 2]),
      });
    }
    return { epoch: String(reply[0]), offset: Number(reply[1]), entries };
  }

  async recover(room: string, since: Position, max: number): Promise<Recovery> {
    const wanted = Math.min(max, this.config.size);
    const { entries, ...now } = await this.range(room, since.offset + 1, wanted);
    return judge(since, now, entries, max, this.config.size);
  }

  async page(room: string, before: number | undefined, limit: number): Promise<Page> {
    const { meta, log } = this.keys(room);
    const reply = await this.scripts.roomsHistoryPage(
      meta,
      log,
      newEpoch(),
      before ?? '',
      limit,
      this.config.ttlMs,
    );
    return {
      epoch: String(reply[0]),
      offset: Number(reply[1]),
      more: reply[2] === 1,
      frames: reply.slice(3).map(String).reverse(),
    };
  }

  private keys(room: string): { meta: string; log: string } {
    const tag = `${this.prefix}:{${room}}`;
    return { meta: `${tag}:meta`, log: `${tag}:log` };
  }

  private get scripts(): Scripted {
    return this.redis as unknown as Scripted;
  }
}

/**
 * A recovery from a read of the log from since + 1: all of since + 1 .. offset, in order, or
 * the reason it cannot be (the entries start later: trimmed or expired).
 */
function judge(
  since: Position,
  now: Position,
  entries: readonly Entry[],
  max: number,
  size: number,
): Recovery {
  if (size === 0) return { ...now, ok: false, reason: 'history_off' };
  const oldest = entries.length > 0 ? entries[0].offset : now.offset + 1;
  const reason = recoveryFailure(since, now, oldest, max);
  if (reason) return { ...now, ok: false, reason };
  const frames = entries.filter((e) => e.offset <= now.offset).map((e) => e.frame);
  if (frames.length !== now.offset - since.offset) return { ...now, ok: false, reason: 'gone' };
  return { ...now, ok: true, frames };
}
