import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Env } from '../../src/config/load-config';
import { V8_FLAGS } from '../../src/runtime/v8-flags';

const ROOT = join(__dirname, '..', '..');

export interface ServerProcess {
  child: ChildProcess;
  httpUrl: string;
  wsUrl: string;
  /** stdout and stderr as they came. */
  output: () => string;
  /** stdout alone: the log lines. */
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** With the service's V8 flags given, as the image gives them, so that it does not start again. */
const FROM_SOURCE = {
  args: [...V8_FLAGS, '-r', 'ts-node/register/transpile-only', 'src/main.ts'],
  cwd: ROOT,
};

/**
 * Runs the service as its own process (for signals and exit codes), on a free loopback port:
 * src/main.ts by default, or the given entry point (a built dist/main.js).
 */
export function spawnServer(
  env: Env = {},
  { args, cwd } = FROM_SOURCE,
): ServerProcess & { listening: Promise<void> } {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const server = { child, output: () => output, stdout: () => stdout, exited, httpUrl: '', wsUrl: '' };
  const listening = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      // The line is JSON by default, so the path ends at a quote.
      const match = /Listening on (http:\/\/\S+), WebSocket at ([^\s"]+)/.exec(output);
      if (match && !server.httpUrl) {
        server.httpUrl = match[1].replace('[::1]', '127.0.0.1');
        server.wsUrl = `${server.httpUrl.replace('http', 'ws')}${match[2]}`;
        resolve();
      }
    };
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => reject(new Error(`server exited before listening:\n${output}`)));
  });
  return Object.assign(server, { listening });
}
