import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '../cluster/redis-clients';
import type { EndpointQueue, QueuedEvent } from './endpoint-queue';
import type { WebhookEvent } from './webhook-event';
import { droppedKey, endpointKey, streamKey } from './webhook-streams';

// Appends one event as the presence scripts do: past the queue's size the oldest go, counted.
const PUSH = `
local over = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[1]) + 1
if over > 0 then redis.call('HINCRBY', KEYS[2], ARGV[2], over) end
return redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', 'e', ARGV[3])`;

// Takes the lease, or keeps it for another term if it is ours: 1 when held.
const LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

// The batch being sent is noted (its last stream id, and when it was first tried) by the lease's
// holder alone: a former holder must not move the note of the one after it. The time already
// noted for the same batch (a takeover resuming it), the time given for a new one, or -1 when
// the lease is another's.
const MARK = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local noted = redis.call('GET', KEYS[2])
if noted then
  local space = string.find(noted, ' ', 1, true)
  if string.sub(noted, 1, space - 1) == ARGV[2] then return tonumber(string.sub(noted, space + 1)) end
end
redis.call('SET', KEYS[2], ARGV[2] .. ' ' .. ARGV[3])
return tonumber(ARGV[3])`;

const UNMARK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 0`;

type Scripts = {
  webhookPush(stream: string, dropped: string, size: number, endpoint: string, json: string): Promise<string>;
  webhookLease(lease: string, holder: string, ms: number): Promise<number>;
  webhookMark(lease: string, batch: string, holder: string, last: string, now: number): Promise<number>;
  webhookUnmark(lease: string, batch: string, holder: string): Promise<number>;
};

/** How long a lease lasts without renewal: a dead deliverer's endpoint waits this long for another. */
export const LEASE_MS = 5000;
/**
 * The holder gives the lease up this long before it could have lapsed in Redis (its clock
 * counts from before each renewal was sent), so two holders never overlap.
 */
const LEASE_MARGIN_MS = 500;
/** How often the queue's holder looks for events; others try for the lease as often. */
const POLL_MS = 100;

/**
 * An endpoint's events in a Redis stream (cluster mode), written by the presence scripts (room
 * and member events) and by push() (messages). Every instance has one for each endpoint, but
 * only the holder of the endpoint's lease reads it: one request in flight per endpoint, cluster
 * wide. The holder renews the lease every LEASE_MS / 3; once Redis has not confirmed it for
 * nearly a lease's length it stops (`lost()` aborts the request in flight). If it dies, the
 * lease lapses and another instance resends the batch it was sending (noted at `:batch`), as it
 * was unless the queue's bound dropped some of it meanwhile, then goes on.
 */
export class RedisEndpointQueue implements EndpointQueue {
  private readonly stream: string;
  private readonly droppedHash: string;
  private readonly lease: string;
  /** `<last stream id> <first attempt ms>` of the batch being sent, until it is acked. */
  private readonly batch: string;
  private readonly key: string;
  private readonly endpoint: string;
  private readonly logger = new Logger('Webhooks');
  /** While this instance holds the lease: aborted when it may no longer. */
  private held: AbortController | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private renewal: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    url: URL,
    private readonly size: number,
    /** This instance, as the lease names its holder. */
    private readonly nodeId: string,
  ) {
    this.stream = streamKey(prefix, url);
    this.droppedHash = droppedKey(prefix);
    this.lease = `${this.stream}:lease`;
    this.batch = `${this.stream}:batch`;
    this.key = endpointKey(url);
    this.endpoint = `${url.origin}${url.pathname}`;
    if (!('webhookPush' in redis)) {
      redis.defineCommand('webhookPush', { lua: PUSH, numberOfKeys: 2 });
      redis.defineCommand('webhookLease', { lua: LEASE, numberOfKeys: 1 });
      redis.defineCommand('webhookMark', { lua: MARK, numberOfKeys: 2 });
      redis.defineCommand('webhookUnmark', { lua: UNMARK, numberOfKeys: 2 });
    }
  }

  private get scripts(): Scripts {
    return this.redis as unknown as Scripts;
  }

  async push(events: readonly WebhookEvent[]): Promise<void> {
    await Promise.all(
      events.map((event) =>
        this.scripts.webhookPush(this.stream, this.droppedHash, this.size, this.key, JSON.stringify(event)),
      ),
    );
  }

  /**
   * Nothing unless this instance holds the endpoint's lease (taking it if it is free). A batch
   * being sent when its holder died comes first, as it was.
   */
  async peek(max: number): Promise<QueuedEvent[]> {
    if (!this.holds() && !(await this.takeLease())) return [];
    const noted = await this.redis.get(this.batch);
    if (noted !== null) {
      const batch = await this.read(noted.slice(0, noted.indexOf(' ')), max);
      if (batch.length > 0) return batch;
    }
    return this.read('+', max);
  }

  async sending(batch: readonly QueuedEvent[]): Promise<number | undefined> {
    const last = batch[batch.length - 1].key;
    const firstAt = await this.scripts.webhookMark(this.lease, this.batch, this.nodeId, last, Date.now());
    return firstAt < 0 ? undefined : firstAt;
  }

  holds(): boolean {
    return this.held !== undefined;
  }

  lost(): AbortSignal | undefined {
    return this.held?.signal;
  }

  async ack(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.redis.xdel(this.stream, ...keys);
    await this.scripts.webhookUnmark(this.lease, this.batch, this.nodeId);
  }

  depth(): Promise<number> {
    return this.redis.xlen(this.stream);
  }

  async dropped(): Promise<number> {
    return Number((await this.redis.hget(this.droppedHash, this.key)) ?? 0);
  }

  /** Polls: the stream is written by scripts anywhere in the cluster, which wake nobody here. */
  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    const poll = this.holds() ? POLL_MS : 10 * POLL_MS;
    await sleep(Math.max(0, Math.min(ms, poll)), undefined, { signal }).catch(() => undefined);
  }

  /** Lets the lease go (shutdown), so another instance takes over at once. */
  async close(): Promise<void> {
    if (!this.holds()) return;
    this.lose();
    await this.redis.eval(
      "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 0",
      1,
      this.lease,
      this.nodeId,
    );
  }

  /** Up to `max` of the oldest events, up to the stream id `last` ('+': the newest). */
  private async read(last: string, max: number): Promise<QueuedEvent[]> {
    const entries = (await this.redis.xrange(this.stream, '-', last, 'COUNT', max)) as [string, string[]][];
    return entries.map(([id, fields]) => ({
      key: id,
      event: JSON.parse(fields[1]) as WebhookEvent,
      // A stream id starts with Redis's time in ms; a Redis clock ahead of ours must not hold a batch back.
      at: Math.min(Number(id.slice(0, id.indexOf('-'))), Date.now()),
    }));
  }

  private async takeLease(): Promise<boolean> {
    const asked = Date.now();
    if ((await this.scripts.webhookLease(this.lease, this.nodeId, LEASE_MS)) !== 1) return false;
    this.held = new AbortController();
    this.confirmed(asked);
    // Renewed on a timer, not on each read: a batch being retried for minutes must keep it.
    this.renewal = setInterval(this.renew, LEASE_MS / 3).unref();
    this.logger.log(`This instance now delivers the webhooks to ${this.endpoint}`);
    return true;
  }

  private readonly renew = (): void => {
    const asked = Date.now();
    this.scripts.webhookLease(this.lease, this.nodeId, LEASE_MS).then(
      (held) => (held === 1 ? this.confirmed(asked) : this.lose()),
      () => undefined, // Redis away: the lease runs out here when it could have in Redis
    );
  };

  /** Redis extended the lease by LEASE_MS from some moment after `asked`: it is ours until then, less the margin. */
  private confirmed(asked: number): void {
    clearTimeout(this.expiry);
    this.expiry = setTimeout(() => this.lose(), asked + LEASE_MS - LEASE_MARGIN_MS - Date.now()).unref();
  }

  private lose(): void {
    clearInterval(this.renewal);
    clearTimeout(this.expiry);
    this.held?.abort(new Error('the webhook lease was lost'));
    this.held = undefined;
  }
}
