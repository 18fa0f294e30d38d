import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Runs a server under valgrind's callgrind, which counts the instructions the process executes
 * in user space (every thread: JIT compilers and GC helpers included). The count does not
 * depend on what else the machine is doing, unlike CPU time read from /proc.
 */
export class Callgrind {
  private dumps = 0;

  constructor(private readonly dir: string) {}

  /** The command line to put before `node server.js`. */
  get wrapper(): string[] {
    return [
      'valgrind',
      '--tool=callgrind',
      '--dump-instr=no',
      '--separate-threads=yes',
      `--callgrind-out-file=${this.outFile}`,
      `--vgdb-prefix=${this.vgdbPrefix}`,
    ];
  }

  /** Starts a window: forget what was counted so far. */
  zero(pid: number): void {
    this.control('--zero', pid);
  }

  /**
   * Ends a window: the instructions executed since zero(), on the main thread (JavaScript, the
   * event loop, scavenges) and on all threads (adding V8's concurrent marking and compilers,
   * which swing from window to window with when a major collection happens to run).
   */
  async instructions(pid: number): Promise<{ main: number; all: number }> {
    this.control('--dump', pid);
    const dump = `callgrind.out.${++this.dumps}-`; // then the thread number: 01 is the main thread
    for (let tries = 0; tries < 100; tries++) {
      const files = readdirSync(this.dir).filter((f) => f.startsWith(dump));
      const totals = files.map((f) => /^totals: (\d+)/m.exec(readFileSync(join(this.dir, f), 'utf8')));
      if (files.includes(`${dump}01`) && totals.every(Boolean)) {
        const count = (f: string) => Number(totals[files.indexOf(f)]![1]);
        return { main: count(`${dump}01`), all: files.reduce((sum, f) => sum + count(f), 0) };
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`callgrind wrote no totals for dump ${this.dumps} in ${this.dir}`);
  }

  // callgrind_control reaches the process through vgdb's FIFOs, named after the USER and HOST
  // variables. The servers run with HOST=127.0.0.1 (their bind address) and no USER, so the
  // controller must too.
  private control(action: string, pid: number): void {
    const env = { PATH: process.env.PATH, HOST: '127.0.0.1' };
    const out = execFileSync('callgrind_control', [action, `--vgdb-prefix=${this.vgdbPrefix}`, String(pid)], {
      env,
    });
    if (!out.includes('OK')) throw new Error(`callgrind_control ${action} ${pid}: ${out}`);
  }

  private get vgdbPrefix(): string {
    return join(this.dir, 'vgdb');
  }

  private get outFile(): string {
    return join(this.dir, 'callgrind.out');
  }
}
