import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { ProtocolName } from '../load/protocols';
import type { ClientSpec, Command, WindowStats } from '../load/worker';

type Reply =
  | { ev: 'ready'; connectMs: number }
  | { ev: 'sent'; sent: Record<number, number> }
  | { ev: 'count'; received: number }
  | { ev: 'stats'; stats: WindowStats };

// Each setup connects from loopback addresses no recent setup used, 127.0.<block>.<2 + worker>.
// Connections an earlier setup closed leave their ports in TIME_WAIT for a minute, and new
// connections from the same addresses then waited on SYN retransmits: 10,000 connects to one
// server took 3.6 to 29 s, where fresh addresses took 3.0 to 3.5 s every time. S4's connects/s
// fell with each server measured after another. The first block is random so that runs started
// within a minute of each other do not meet either.
const BLOCKS = 250;
let nextBlock = Math.floor(Math.random() * BLOCKS);

/** The load-generator processes, driven together: each holds a share of the clients. */
export class LoadPool {
  private constructor(private readonly workers: ChildProcess[]) {}

  static start(count: number): LoadPool {
    const workers = Array.from({ length: count }, () =>
      fork(join(__dirname, '..', 'load', 'worker.ts'), [], {
        execArgv: ['-r', 'ts-node/register/transpile-only'],
        stdio: 'inherit',
      }),
    );
    return new LoadPool(workers);
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid!);
  }

  /**
   * Connects and joins every client (round-robin over the workers; client `idx` on
   * `urls[idx % urls.length]`, so each room's members spread over the instances); resolves
   * with the time it took.
   */
  async setup(
    urls: string[],
    protocol: ProtocolName,
    clients: ClientSpec[],
    messageBytes: number,
  ): Promise<number> {
    const roomOf = clients.map((c) => c.room);
    const block = 1 + (nextBlock++ % BLOCKS);
    const started = performance.now();
    await this.all((w, i) => ({
      cmd: 'setup',
      urls,
      protocol,
      clients: clients.filter((_, k) => k % this.workers.length === i),
      roomOf,
      messageBytes,
      localAddress: `127.0.${block}.${2 + i}`,
    }));
    return performance.now() - started;
  }

  /** Sends for `durationMs`; resolves with the messages each sender sent. */
  async send(ratePerSender: number, durationMs: number): Promise<Map<number, number>> {
    const replies = await this.all(() => ({ cmd: 'send', ratePerSender, durationMs }));
    const sent = new Map<number, number>();
    for (const r of replies)
      if (r.ev === 'sent') for (const [k, v] of Object.entries(r.sent)) sent.set(Number(k), v);
    return sent;
  }

  async received(): Promise<number> {
    const replies = await this.all(() => ({ cmd: 'count' }));
    return replies.reduce((sum, r) => sum + (r.ev === 'count' ? r.received : 0), 0);
  }

  async collect(): Promise<WindowStats[]> {
    const replies = await this.all(() => ({ cmd: 'collect' }));
    return replies.flatMap((r) => (r.ev === 'stats' ? [r.stats] : []));
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map((w) => {
        const gone = new Promise((resolve) => w.once('exit', resolve));
        w.send({ cmd: 'exit' } satisfies Command);
        return gone;
      }),
    );
  }

  private all(command: (w: ChildProcess, i: number) => Command): Promise<Reply[]> {
    return Promise.all(
      this.workers.map(
        (w, i) =>
          new Promise<Reply>((resolve, reject) => {
            const onExit = (code: number) => reject(new Error(`load worker exited with ${code}`));
            w.once('exit', onExit);
            w.once('message', (reply: Reply) => {
              w.off('exit', onExit);
              resolve(reply);
            });
            w.send(command(w, i));
          }),
      ),
    );
  }
}
