import { randomBytes } from 'node:crypto';
import type { Control } from '../rooms/engine';
import type { RedisClient } from './redis-clients';

// Appends a command to the capped log and publishes it with its id, in one step, so the order
// on the channel is the order in the log.
const SEND = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'c', ARGV[1])
redis.call(ARGV[2], ARGV[4], id .. ' ' .. ARGV[1])
return id`;

/** How old a command may be and still be carried out by an instance that missed it. */
export const CONTROL_REPLAY_MS = 60_000;
const KEPT = 1000;
const APPLIED_KEPT = 10_000;

type Scripts = {
  controlSend(log: string, json: string, publish: string, kept: number, channel: string): Promise<string>;
};

/**
 * The backend's commands (disconnect, remove) in cluster mode: kept in a capped stream as well
 * as published, so that an instance cut off from Redis when one was sent (its clients may still
 * be connected to it) carries it out once it is back, if it is at most CONTROL_REPLAY_MS old.
 * A command heard live and found again in the log is carried out once. Key and channel share
 * the registry's hash tag.
 */
export class ControlLog {
  readonly channel: string;
  private readonly log: string;
  /** The nonces of the commands carried out here (or sent from here), newest last. */
  private readonly applied = new Set<string>();
  /** The newest id this instance has accounted for: a catch-up reads the log after it. */
  private floor: string | undefined;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly publish: 'PUBLISH' | 'SPUBLISH',
  ) {
    this.channel = `{${prefix}}:control`;
    this.log = `{${prefix}}:control-log`;
    if (!('controlSend' in redis)) redis.defineCommand('controlSend', { lua: SEND, numberOfKeys: 1 });
  }

  /**
   * Sends `command` to every instance; this one carries it out itself. Its nonce is noted
   * before it goes, so its echo is skipped even when it comes before the script's answer.
   */
  async send(command: Control): Promise<void> {
    const nonce = randomBytes(9).toString('base64url');
    this.remember(nonce);
    try {
      await (this.redis as unknown as Scripts).controlSend(
        this.log,
        JSON.stringify({ ...command, nonce }),
        this.publish,
        KEPT,
        this.channel,
      );
    } catch (err) {
      // No answer is no proof it was not run: should a hung Redis run it late, its echo or a
      // catch-up carries it out here too, like everywhere else.
      this.applied.delete(nonce);
      throw err;
    }
  }

  /** A command heard on the channel (`<id> <json>`), unless it was carried out here already. */
  heard(message: string): Control | undefined {
    const space = message.indexOf(' ');
    this.floor = message.slice(0, space);
    return this.fresh(message.slice(space + 1));
  }

  /**
   * After a (re-)registration, once subscribed: the commands sent while this instance could not
   * hear them. At the first, none: it starts from the newest.
   */
  async missed(): Promise<Control[]> {
    if (this.floor === undefined) {
      const newest = (await this.redis.xrevrange(this.log, '+', '-', 'COUNT', 1)) as [string, string[]][];
      this.floor ??= newest[0]?.[0] ?? '0-0';
      return [];
    }
    const entries = (await this.redis.xrange(this.log, `(${this.floor}`, '+', 'COUNT', KEPT)) as [
      string,
      string[],
    ][];
    const oldest = Date.now() - CONTROL_REPLAY_MS;
    const missed: Control[] = [];
    for (const [id, fields] of entries) {
      this.floor = id;
      // A stream id starts with Redis's time in ms.
      if (Number(id.slice(0, id.indexOf('-'))) < oldest) continue;
      const command = this.fresh(fields[1]);
      // Sent before now: connections opened since are not the ones it was meant for.
      if (command) missed.push({ ...command, at: Number(id.slice(0, id.indexOf('-'))) });
    }
    return missed;
  }

  private fresh(json: string): Control | undefined {
    const { nonce, ...command } = JSON.parse(json) as Control & { nonce: string };
    if (this.applied.has(nonce)) return undefined;
    this.remember(nonce);
    return command as Control;
  }

  private remember(nonce: string): void {
    this.applied.add(nonce);
    if (this.applied.size > APPLIED_KEPT) this.applied.delete(this.applied.values().next().value!);
  }
}
