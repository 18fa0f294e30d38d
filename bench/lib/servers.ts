import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { ProtocolName } from '../load/protocols';
import { freePort } from '../../test/support/free-port';

export const ROOT = join(__dirname, '..', '..');

export interface ServerSpec {
  name: string;
  protocol: ProtocolName;
  script: string;
  env?: Record<string, string>;
}

/** The servers under test: ours and the three baselines (bench/baselines/, never shipped). */
export const SERVERS: ServerSpec[] = [
  { name: 'tutorial', protocol: 'tutorial', script: 'bench/baselines/tutorial-server.js' },
  { name: 'socket.io', protocol: 'socket.io', script: 'bench/baselines/socketio-server.js' },
  { name: 'raw-ws', protocol: 'chat', script: 'bench/baselines/raw-ws-server.js' },
  {
    name: 'rooms-service',
    protocol: 'chat',
    script: 'dist/main.js',
    env: { LOG_LEVEL: 'warn', NODE_ENV: 'production' },
  },
];

export interface RunningServer {
  spec: ServerSpec;
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  const port = await freePort();
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '-r', join(__dirname, 'exit-on-sigterm.js')] : [];
  const child = spawn(process.execPath, [...profile, spec.script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', ...spec.env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(port, child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    spec,
    child,
    url: `ws://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
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
