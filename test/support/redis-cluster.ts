import { execFileSync } from 'node:child_process';
import Redis from 'ioredis';
import { describeWith, findProgram } from './programs';
import { RedisServer } from './redis-server';

/** `describe` for suites that build a Redis Cluster (redis-server, and redis-cli to join it). */
export const describeWithRedisCluster = (name: string, body: () => void) =>
  describeWith('redis-server', 'redis-server redis-tools', name, () =>
    describeWith('redis-cli', 'redis-tools', name, body),
  );

/** A Redis Cluster of three masters and no replicas, on free ports, made the way operators make one. */
export class RedisCluster {
  private constructor(readonly servers: RedisServer[]) {}

  static async start(): Promise<RedisCluster> {
    const servers = await Promise.all(
      [0, 1, 2].map(() =>
        RedisServer.start([
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '2000',
        ]),
      ),
    );
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
    execFileSync(
      findProgram('redis-cli')!,
      ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
      {
        stdio: 'ignore',
      },
    );
    const cluster = new RedisCluster(servers);
    await cluster.waitUntilServing();
    return cluster;
  }

  /** Seed nodes, as REDIS_CLUSTER_NODES takes them. */
  get nodes(): string {
    return this.servers.map((s) => `127.0.0.1:${s.port}`).join(',');
  }

  /** One connection per master, for assertions on each. */
  connectEach(): Redis[] {
    return this.servers.map((s) => new Redis(s.url));
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }

  private async waitUntilServing(): Promise<void> {
    const clients = this.connectEach();
    try {
      for (const deadline = Date.now() + 10_000; ;) {
        const states = await Promise.all(clients.map((c) => c.cluster('INFO') as Promise<string>));
        if (states.every((info) => info.includes('cluster_state:ok'))) return;
        if (Date.now() > deadline)
          throw new Error(`the Redis Cluster did not come up:\n${states.join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      clients.forEach((c) => c.disconnect());
    }
  }
}
