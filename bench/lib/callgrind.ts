import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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
      `--callgrind-out-file=${this.outFile}`,
      `--vgdb-prefix=${this.vgdbPrefix}`,
    ];
  }

  /** Starts a window: forget what was counted so far. */
  zero(pid: number): void {
    this.control('--zero', pid);
  }

  /** Ends a window: the instructions executed since zero(). */
  async instructions(pid: number): Promise<number> {
    this.control('--dump', pid);
    const file = `${this.outFile}.${++this.dumps}`;
    for (let tries = 0; tries < 100; tries++) {
      const totals = existsSync(file) && /^totals: (\d+)/m.exec(readFileSync(file, 'utf8'));
      if (totals) return Number(totals[1]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`callgrind wrote no totals to ${file}`);
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
