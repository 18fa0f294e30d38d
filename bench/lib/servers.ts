import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { BENCH_JWT_SECRET, type ProtocolName } from '../load/protocols';
import { V8_FLAGS } from '../../src/runtime/v8-flags';
import { freePort } from '../../test/support/free-port';
import { withDescendants } from './proc';

export const ROOT = join(__dirname, '..', '..');

export interface ServerSpec {
  name: string;
  protocol: ProtocolName;
  script: string;
  /** Node's own flags, before the script. */
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** Cluster mode: this many instances on a redis-server of the bench's own, clients spread over them. */
  instances?: number;
  /** Runs only when `--servers` names it. */
  optIn?: boolean;
}

/**
 * Our service as it is measured: the frame rate limit stays on (its arithmetic is part of the
 * cost of every frame) but is raised far past any sender's rate, so that the search for the
 * maximum measures fan-out, not the limiter: a sender in S1's ladder sends up to 150 frames a
 * second, past the default 50.
 */
const SERVICE_ENV = {
  LOG_LEVEL: 'warn',
  NODE_ENV: 'production',
  RATE_LIMIT_FRAMES_PER_S: '1000000',
  RATE_LIMIT_BURST: '1000000',
};

/** The servers under test: ours and the three baselines (bench/baselines/, never shipped). */
export const SERVERS: ServerSpec[] = [
  { name: 'tutorial', protocol: 'tutorial', script: 'bench/baselines/tutorial-server.js' },
  { name: 'socket.io', protocol: 'socket.io', script: 'bench/baselines/socketio-server.js' },
  { name: 'raw-ws', protocol: 'chat', script: 'bench/baselines/raw-ws-server.js' },
  { name: 'rooms-service', protocol: 'chat', script: 'dist/main.js', nodeArgs: V8_FLAGS, env: SERVICE_ENV },
  {
    name: 'rooms-service-x3',
    protocol: 'chat',
    script: 'dist/main.js',
    nodeArgs: V8_FLAGS,
    env: SERVICE_ENV,
    instances: 3,
  },
  {
    // The frame rate limit off, to show what the limiter's arithmetic costs beside rooms-service.
    name: 'rooms-service-nolimit',
    protocol: 'chat',
    script: 'dist/main.js',
    nodeArgs: V8_FLAGS,
    env: { ...SERVICE_ENV, RATE_LIMIT_FRAMES_PER_S: '0' },
    optIn: true,
  },
  {
    // HISTORY_SIZE=0: offsets still, but no room log kept; what history costs beside rooms-service.
    name: 'rooms-service-nohistory',
    protocol: 'chat',
    script: 'dist/main.js',
    nodeArgs: V8_FLAGS,
    env: { ...SERVICE_ENV, HISTORY_SIZE: '0' },
    optIn: true,
  },
  {
    // The same in cluster mode: the append script assigns the offset and publishes, with no stream.
    name: 'rooms-service-x3-nohistory',
    protocol: 'chat',
    script: 'dist/main.js',
    nodeArgs: V8_FLAGS,
    env: { ...SERVICE_ENV, HISTORY_SIZE: '0' },
    instances: 3,
    optIn: true,
  },
  {
    // AUTH_MODE=jwt: every client's token is verified at its upgrade, and its messages carry `user`.
    name: 'rooms-service-auth',
    protocol: 'chat-token',
    script: 'dist/main.js',
    nodeArgs: V8_FLAGS,
    env: { ...SERVICE_ENV, AUTH_MODE: 'jwt', JWT_SECRET: BENCH_JWT_SECRET },
    optIn: true,
  },
  {
    // As a process manager or a Kubernetes `command:` would start it: the service adds its V8
    // flags itself (src/runtime/v8-flags.ts). For comparison with rooms-service, which has them
    // on its command line as the image does.
    name: 'rooms-service-plain',
    protocol: 'chat',
    script: 'dist/main.js',
    env: SERVICE_ENV,
    optIn: true,
  },
];

export interface RunningServer {
  spec: ServerSpec;
  /** ws://127.0.0.1:<port> of each instance. */
  urls: string[];
  /** Every process whose CPU counts as the server's: the instances, and Redis in cluster mode. */
  pids: number[];
  stop(): Promise<void>;
}

/**
 * Starts `spec` on free loopback ports. `wrapper` runs a single instance under another program
 * (callgrind), which can make it boot far slower than `bootMs` would otherwise allow.
 */
export async function startServer(
  spec: ServerSpec,
  wrapper: string[] = [],
  bootMs = 10_000,
): Promise<RunningServer> {
  if (wrapper.length && spec.instances) throw new Error(`${spec.name}: a wrapper runs single instances only`);
  if (!spec.instances) {
    const [command, ...args] = [...wrapper, process.execPath, ...(spec.nodeArgs ?? []), spec.script];
    const server = await startProcess(command, args, spec.env ?? {}, undefined, bootMs);
    return { spec, urls: [server.url], pids: server.pids, stop: server.stop };
  }
  const redisPort = await freePort();
  const redis = await startProcess(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {},
    redisPort,
  );
  const env = { ...spec.env, REDIS_URL: `redis://127.0.0.1:${redisPort}` };
  const instances = await Promise.all(
    Array.from({ length: spec.instances }, () =>
      startProcess(process.execPath, [...(spec.nodeArgs ?? []), spec.script], env),
    ),
  );
  return {
    spec,
    urls: instances.map((i) => i.url),
    pids: [...instances.flatMap((i) => i.pids), ...redis.pids],
    stop: async () => {
      await Promise.all(instances.map((i) => i.stop()));
      await redis.stop();
    },
  };
}

async function startProcess(
  command: string,
  args: string[],
  env: Record<string, string>,
  fixedPort?: number,
  bootMs = 10_000,
): Promise<{ url: string; pids: number[]; stop(): Promise<void> }> {
  const port = fixedPort ?? (await freePort());
  const node = command === process.execPath;
  const profile =
    node && process.env.BENCH_PROFILE ? ['--cpu-prof', '-r', join(__dirname, 'exit-on-sigterm.js')] : [];
  const child = spawn(command, [...profile, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(port, child, bootMs);
  const pids = withDescendants(child.pid!);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `ws://127.0.0.1:${port}`,
    pids,
    stop: async () => {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, bootMs: number): Promise<void> {
  for (const deadline = performance.now() + bootMs; performance.now() < deadline;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`server did not listen on ${port}`);
}
