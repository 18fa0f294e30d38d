import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A connection to one Redis, or to a Redis Cluster: both run the registry's scripts. */
export type RedisClient = Redis | Cluster;

/** How long a Redis command may take before the instance counts Redis as unreachable. */
export const REDIS_TIMEOUT_MS = 1000;

/** Where Redis is: one server (REDIS_URL) or a cluster's seed nodes (REDIS_CLUSTER_NODES). */
export type RedisTarget = { url: string } | { clusterNodes: string[] };

/**
 * The two connections the engine uses and how it publishes and subscribes on them: plain
 * pub/sub on one server; sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7) on a cluster, so a
 * room's messages travel only to the shard that owns its channel, not to every node.
 */
export interface RedisTransport {
  /** Scripts, counts and publishing. */
  commands: RedisClient;
  /** Subscriptions only (a subscribed connection takes no other commands). */
  subscriber: RedisClient;
  /** The subscriber's event for an incoming message: (channel, message). */
  messageEvent: 'message' | 'smessage';
  publish(channel: string, message: string): Promise<unknown>;
  /** Resolves once every channel's subscription is live. */
  subscribe(channels: string[]): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
}

/**
 * Options every connection shares. Nothing waits for Redis: while it is away a command
 * fails at once instead of queuing (enableOfflineQueue), nothing is replayed on reconnect
 * (the engine re-registers and resubscribes itself, knowing what is current), and a hung
 * server fails each command after REDIS_TIMEOUT_MS.
 */
const CONNECTION: RedisOptions = {
  autoResubscribe: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
  commandTimeout: REDIS_TIMEOUT_MS,
  connectTimeout: 2 * REDIS_TIMEOUT_MS,
  // After a failover the old primary answers writes with READONLY: reconnect, to the new one.
  reconnectOnError: (err) => err.message.startsWith('READONLY'),
};
// Back off to one attempt a second, forever: Redis coming back must be noticed.
const retry = (attempt: number) => Math.min(attempt * 100, 1000);

export function createTransport(target: RedisTarget, name: string): RedisTransport {
  return 'url' in target ? single(target.url, name) : cluster(target.clusterNodes, name);
}

function single(url: string, name: string): RedisTransport {
  const options: RedisOptions = {
    ...CONNECTION,
    lazyConnect: true,
    enableOfflineQueue: false,
    retryStrategy: retry,
  };
  const commands = new Redis(url, {
    ...options,
    connectionName: `${name}:commands`,
    enableAutoPipelining: true,
  });
  const subscriber = new Redis(url, { ...options, connectionName: `${name}:subscriber` });
  return {
    commands,
    subscriber,
    messageEvent: 'message',
    publish: (channel, message) => commands.publish(channel, message),
    subscribe: (channels) => subscriber.subscribe(...channels),
    unsubscribe: (channel) => subscriber.unsubscribe(channel),
  };
}

function cluster(nodes: string[], name: string): RedisTransport {
  // Nodes found later (the cluster's other shards) get the seed's credentials.
  const { username, password } = new URL(nodes[0].includes('://') ? nodes[0] : `redis://${nodes[0]}`);
  const options = (role: string, sharded: boolean): ClusterOptions => ({
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: retry,
    shardedSubscribers: sharded,
    redisOptions: {
      ...CONNECTION,
      connectionName: `${name}:${role}`,
      username: decodeURIComponent(username) || undefined,
      password: decodeURIComponent(password) || undefined,
    },
  });
  const commands = new Cluster(nodes, { ...options('commands', false), enableAutoPipelining: true });
  const subscriber = new Cluster(nodes, options('subscriber', true));
  return {
    commands,
    subscriber,
    messageEvent: 'smessage',
    publish: (channel, message) => commands.spublish(channel, message),
    // A sharded SUBSCRIBE takes channels of one slot only: one command per channel.
    subscribe: (channels) => Promise.all(channels.map((channel) => subscriber.ssubscribe(channel))),
    unsubscribe: (channel) => subscriber.sunsubscribe(channel),
  };
}
