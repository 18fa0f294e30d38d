import { spawn } from 'node:child_process';
import inspector from 'node:inspector';
import { constants } from 'node:os';

/**
 * The V8 flags the service runs with, however it is started: a larger young generation and no
 * allocation-site pretenuring let a message's objects die young instead of in the old generation,
 * whose collections mark the whole heap (docs/benchmarks.md, "Garbage collection").
 */
export const V8_FLAGS = ['--max-semi-space-size=32', '--no-allocation-site-pretenuring'];

/**
 * Set for the process started again with the flags: `execve`, or `stand-in` for a stand-in's
 * child. It starts again at most once, whatever its command line turns out to hold.
 */
const RELAUNCHED_ENV = 'ROOMS_SERVICE_RELAUNCHED';

/** What a stand-in passes on: the signals a process manager, a terminal or a shell sends. */
const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR2'] as const;

/** Whether this process serves, and if it serves without some of V8_FLAGS, why. */
export type Settled = { serve: false } | { serve: true; untuned?: string };

type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never;

/**
 * The V8_FLAGS that neither the command line nor NODE_OPTIONS sets, to any value: a flag given
 * by whoever started the process (`--max-semi-space-size=64`, `--allocation-site-pretenuring`)
 * is theirs to choose.
 */
export function missingV8Flags(execArgv: readonly string[], nodeOptions = ''): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].map(flagName));
  return V8_FLAGS.filter((flag) => !given.has(flagName(flag)));
}

/** `--x-y=1`, `--no-x-y` and `--x_y` all set x-y. */
function flagName(arg: string): string {
  return arg
    .replace(/^--(no-)?/, '')
    .split('=')[0]
    .replaceAll('_', '-');
}

/**
 * Makes this process one that runs with V8_FLAGS, and says whether it is the one to serve.
 *
 * The flags size the heap, which V8 sets up before any of our code runs (`v8.setFlagsFromString`
 * is too late for the young generation's size), so a process started without them, as
 * `node dist/main.js`, starts again with them before it loads anything else. Where Node has
 * `process.execve` (22.15 and later, so the image's 24) the new program replaces this one under
 * the same PID, and signals and exit status are simply its own. Earlier Nodes have no such call:
 * there this process stays as a stand-in for a child and does not serve.
 */
export function settleV8Flags(): Settled {
  const relaunched = process.env[RELAUNCHED_ENV];
  delete process.env[RELAUNCHED_ENV];
  if (relaunched === 'stand-in') stopWithLauncher();
  const missing = missingV8Flags(process.execArgv, process.env.NODE_OPTIONS);
  if (missing.length === 0) return { serve: true };
  const kept = reasonToStay(relaunched);
  if (kept) return { serve: true, untuned: `Running without ${missing.join(' ')}: ${kept}` };

  const args = [...missing, ...process.execArgv, ...process.argv.slice(1)];
  const execve = (process as unknown as { execve?: Execve }).execve;
  if (execve && process.platform !== 'win32') {
    execve(process.execPath, [process.execPath, ...args], { ...process.env, [RELAUNCHED_ENV]: 'execve' });
  }
  standIn(args);
  return { serve: false };
}

/** Where starting again would take away what whoever started this process relies on. */
function reasonToStay(relaunched: string | undefined): string | undefined {
  if (relaunched) return 'started again with them once already, and they did not take';
  // An IPC channel (pm2, child_process.fork, cluster workers, node --watch) does not survive
  // execve, and a stand-in would not pass its messages on.
  if (process.channel) return 'its parent talks to it over IPC; put the flags on its command line';
  // The debugger is attached to this process, and a child could not have its port.
  if (inspector.url()) return 'a debugger is attached; put the flags on the command line';
  return undefined;
}

/**
 * Runs the service as a child and passes on what a process manager expects of it: the signals it
 * sends, and the child's exit code or signal as this process's own.
 */
function standIn(args: string[]): void {
  const child = spawn(process.execPath, args, {
    // Its own session, so that a terminal's Ctrl-C reaches it once, from here, not twice.
    detached: true,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [RELAUNCHED_ENV]: 'stand-in' },
  });
  for (const signal of FORWARDED) process.on(signal, () => child.kill(signal));
  child.on('error', (err) => {
    console.error(`Could not start the service with its V8 flags: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (code !== null) process.exit(code);
    process.removeAllListeners(signal!);
    process.kill(process.pid, signal!);
    // As PID 1 (a container's init) a process ignores its own fatal signals: exit as a shell
    // reports a death by signal.
    setTimeout(() => process.exit(128 + constants.signals[signal!]), 1000);
  });
}

/**
 * In a stand-in's child: the IPC channel closes when the stand-in dies, however (even by
 * SIGKILL, which it cannot pass on), and then the service shuts down as on SIGTERM rather than
 * serve on, orphaned, out of the process manager's sight.
 */
function stopWithLauncher(): void {
  if (!process.channel) return;
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
