import Redis, { type RedisOptions } from 'ioredis';

export type RedisClient = Redis;

/** How long a Redis command may take before the instance counts Redis as unreachable. */
export const REDIS_TIMEOUT_MS = 1000;

/**
 * The options every connection shares. Nothing waits for Redis: while it is away a
 * command fails at once instead of queuing (enableOfflineQueue), nothing is replayed on
 * reconnect (the engine re-registers and resubscribes itself, knowing what is current),
 * and a hung server fails each command after REDIS_TIMEOUT_MS.
 */
const OPTIONS: RedisOptions = {
  lazyConnect: true,
  enableOfflineQueue: false,
  autoResubscribe: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
  commandTimeout: REDIS_TIMEOUT_MS,
  connectTimeout: 2 * REDIS_TIMEOUT_MS,
  // Back off to one attempt a second, forever: Redis coming back must be noticed.
  retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  // After a failover the old primary answers writes with READONLY: reconnect, to the new one.
  reconnectOnError: (err) => err.message.startsWith('READONLY'),
};

/** One connection for commands and publishing, one for subscriptions (a subscribed connection takes no other commands). */
export function createClients(url: string, name: string): { commands: Redis; subscriber: Redis } {
  return {
    commands: new Redis(url, { ...OPTIONS, connectionName: `${name}:commands`, enableAutoPipelining: true }),
    subscriber: new Redis(url, { ...OPTIONS, connectionName: `${name}:subscriber` }),
  };
}
