import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { AppConfigService } from '../config/config.module';

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

/** Where REDIS_URL or REDIS_CLUSTER_NODES point: cluster mode; undefined on one instance. */
export function redisTarget(config: AppConfigService): RedisTarget | undefined {
  const url = config.get('redisUrl', { infer: true });
  const clusterNodes = config.get('redisClusterNodes', { infer: true });
  return url ? { url } : clusterNodes ? { clusterNodes } : undefined;
}

export function createTransport(target: RedisTarget, name: string): RedisTransport {
  return 'url' in target ? single(target.url, name) : cluster(target.clusterNodes, name);
}

/** One connection for commands alone, named `<name>:commands`; connect() it. */
export function createCommandClient(target: RedisTarget, name: string): RedisClient {
  return 'url' in target ? singleCommands(target.url, name) : clusterCommands(target.clusterNodes, name);
}

const SINGLE: RedisOptions = {
  ...CONNECTION,
  lazyConnect: true,
  enableOfflineQueue: false,
  retryStrategy: retry,
};

const singleCommands = (url: string, name: string) =>
  new Redis(url, { ...SINGLE, connectionName: `${name}:commands`, enableAutoPipelining: true });

function single(url: string, name: string): RedisTransport {
  const commands = singleCommands(url, name);
  const subscriber = new Redis(url, { ...SINGLE, connectionName: `${name}:subscriber` });
  return {
    commands,
    subscriber,
    messageEvent: 'message',
    publish: (channel, message) => commands.publish(channel, message),
    subscribe: (channels) => subscriber.subscribe(...channels),
    unsubscribe: (channel) => subscriber.unsubscribe(channel),
  };
}

function clusterOptions(nodes: string[], connectionName: string, sharded: boolean): ClusterOptions {
  // Nodes found later (the cluster's other shards) get the seed's credentials.
  const { username, password } = new URL(nodes[0].includes('://') ? nodes[0] : `redis://${nodes[0]}`);
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: retry,
    shardedSubscribers: sharded,
    redisOptions: {
      ...CONNECTION,
      connectionName,
      username: decodeURIComponent(username) || undefined,
      password: decodeURIComponent(password) || undefined,
    },
  };
}

const clusterCommands = (nodes: string[], name: string) =>
  new Cluster(nodes, { ...clusterOptions(nodes, `${name}:commands`, false), enableAutoPipelining: true });

function cluster(nodes: string[], name: string): RedisTransport {
  const commands = clusterCommands(nodes, name);
  const subscriber = new Cluster(nodes, clusterOptions(nodes, `${name}:subscriber`, true));
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
