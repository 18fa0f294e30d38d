import type { RedisClient } from '../cluster/redis-clients';
import { type Member, memberKey, type MemberPage, type PresenceChange } from './presence-store';
import { PRESENCE_SCRIPTS } from './redis-presence.scripts';

type Scripted = {
  presenceSweep(...args: (string | number)[]): Promise<number>;
  presencePage(...args: (string | number)[]): Promise<(string | number)[]>;
};

/**
 * Reads members from Redis and hears their changes (see redis-presence.scripts.ts; the
 * registry's scripts write them). Every key shares the registry's hash tag.
 */
export class RedisPresence {
  private readonly tag: string;
  /** Where every change of every room is published, in order. */
  readonly channel: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly graceMs: number,
    private readonly publish: 'PUBLISH' | 'SPUBLISH',
    /** Which webhook streams take which events (webhookSpec); '' for none. */
    private readonly webhooks = '',
  ) {
    this.tag = `{${prefix}}`;
    this.channel = `${this.tag}:presence`;
    for (const [name, { lua, keys }] of Object.entries(PRESENCE_SCRIPTS)) {
      if (!(name in redis)) redis.defineCommand(name, { lua, numberOfKeys: keys });
    }
  }

  /** What the registry's scripts need to write members: the tag, the publish command, the grace, the webhook streams. */
  get scriptArgs(): [string, string, number, string] {
    return [this.tag, this.publish, this.graceMs, this.webhooks];
  }

  async page(room: string, offset: number, limit: number): Promise<MemberPage> {
    const { tag } = this;
    const [rev, count, ...rest] = await this.scripts.presencePage(
      `${tag}:pm:${room}`,
      `${tag}:pc:${room}`,
      `${tag}:pi:${room}`,
      offset,
      limit,
    );
    const members: Member[] = [];
    for (let i = 0; i < rest.length; i += 3) {
      members.push({ ...JSON.parse(String(rest[i + 2])), connections: Number(rest[i + 1]) });
    }
    return { rev: Number(rev), count: Number(count), members };
  }

  /** Ends the graces that are over; any instance may, and each runs it now and then. */
  sweep(): Promise<number> {
    return this.scripts.presenceSweep(`${this.tag}:leaving`, ...this.scriptArgs);
  }

  /** A change as published: `<room> <rev> <count> <j|l> <member JSON>`; undefined if it does not decode. */
  parse(message: string): PresenceChange | undefined {
    const parts: string[] = [];
    let from = 0;
    for (let i = 0; i < 4; i++) {
      const space = message.indexOf(' ', from);
      if (space === -1) return undefined;
      parts.push(message.slice(from, space));
      from = space + 1;
    }
    const [room, rev, count, kind] = parts;
    let member: Member;
    try {
      member = JSON.parse(message.slice(from)) as Member;
    } catch {
      return undefined;
    }
    return {
      room,
      rev: Number(rev),
      count: Number(count),
      kind: kind === 'j' ? 'join' : 'leave',
      key: memberKey(member),
      member,
    };
  }

  private get scripts(): Scripted {
    return this.redis as unknown as Scripted;
  }
}
