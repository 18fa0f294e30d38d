/**
 * `npm run bench:instructions [-- --only S3] [--servers tutorial,rooms-service] [--rounds N]
 *   [--window-ms MS] [--keep]`: instructions per delivered message, counted by callgrind, for
 * each server and scenario. CPU time from /proc swings with whatever else shares the machine; an
 * instruction count does not, so this settles what the CPU step of `npm run bench` leaves in the
 * noise. Each server runs under valgrind, tens of times slower, so the offered rate is a tenth of
 * the scenario's common rate; every server keeps up with it. --keep leaves callgrind's dumps for
 * callgrind_annotate, which names the C++ functions and V8 builtins the instructions went to.
 * See docs/benchmarks.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildService } from './lib/build';
import { Callgrind } from './lib/callgrind';
import { LoadPool } from './lib/load-pool';
import { SERVERS, type ServerSpec, startServer } from './lib/servers';
import { PROTOCOLS } from './load/protocols';
import { clientsOf, FANOUT, type FanoutScenario, fanoutOf } from './scenarios';

const args = process.argv.slice(2);
const option = (name: string) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? undefined : args[at + 1];
};
const only = (option('only') ?? 'S3').split(',');
const servers = SERVERS.filter(
  (s) => !s.instances && (!option('servers') || option('servers')!.split(',').includes(s.name)),
);
const rounds = Number(option('rounds') ?? 2);
const windowMs = Number(option('window-ms') ?? 10_000);
const keep = args.includes('--keep');
const SLOWDOWN = 10;
const BOOT_MS = 300_000;
const DRAIN_MS = 120_000;
const WARMUP_WINDOWS = 3;
const WINDOWS = 3;

interface Window {
  scenario: string;
  server: string;
  round: number;
  delivered: number;
  wrong: number;
  /** Instructions per delivery on the main thread, and on all threads. */
  main: number;
  all: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(spec: ServerSpec, scenario: FanoutScenario, round: number): Promise<Window[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-callgrind-'));
  const callgrind = new Callgrind(dir);
  const server = await startServer(spec, callgrind.wrapper, BOOT_MS);
  const [pid] = server.pids;
  const pool = LoadPool.start(2);
  const ratePerSender =
    scenario.commonRate / SLOWDOWN / (scenario.rooms * scenario.senders * fanoutOf(scenario));
  const send = async () => {
    const sent = [...(await pool.send(ratePerSender, windowMs)).values()].reduce((a, b) => a + b, 0);
    const expected = sent * fanoutOf(scenario);
    const drainStart = performance.now();
    for (const until = performance.now() + DRAIN_MS; performance.now() < until; await sleep(100))
      if ((await pool.received()) >= expected) break;
    console.error(`  drained in ${Math.round(performance.now() - drainStart)} ms`);
    const stats = await pool.collect();
    const sum = (pick: (s: (typeof stats)[number]) => number) => stats.reduce((a, s) => a + pick(s), 0);
    const delivered = sum((s) => s.received);
    return { delivered, wrong: expected - delivered + sum((s) => s.duplicates + s.misrouted) };
  };
  try {
    await pool.setup(server.urls, spec.protocol, clientsOf(scenario), 1024);
    if (!PROTOCOLS[spec.protocol].joinAck) await sleep(10_000); // no join replies: let joins settle
    // Warm-up: the JIT compiles the hot path, as it would have in production.
    for (let w = 0; w < WARMUP_WINDOWS; w++) await send();
    const windows: Window[] = [];
    for (let w = 0; w < WINDOWS; w++) {
      callgrind.zero(pid);
      const { delivered, wrong } = await send();
      const { main, all } = await callgrind.instructions(pid);
      const per = (n: number) => n / Math.max(1, delivered);
      windows.push({
        scenario: scenario.id,
        server: spec.name,
        round,
        delivered,
        wrong,
        main: per(main),
        all: per(all),
      });
      console.error(
        `  ${delivered} delivered; instructions each: ${Math.round(per(main))} main, ${Math.round(per(all))} all`,
      );
    }
    return windows;
  } finally {
    await pool.stop();
    await server.stop();
    if (keep) console.error(`  callgrind's dumps, for callgrind_annotate: ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

function printTable(windows: Window[], scenario: FanoutScenario): void {
  const mine = windows.filter((w) => w.scenario === scenario.id);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const of = (server: string, pick: (w: Window) => number) =>
    median(mine.filter((w) => w.server === server).map(pick));
  const ratio = (x: number, b: number) => (Number.isFinite(x / b) ? `${(x / b).toFixed(2)}×` : '-');
  const count = (x: number) => Math.round(x).toLocaleString('en-US');
  console.log(
    `\n${scenario.id} ${scenario.title}; ${scenario.commonRate / SLOWDOWN} deliveries/s under callgrind`,
  );
  console.log('instructions per delivery, median over windows; ratios to the tutorial server');
  console.log('| server | main thread | vs tutorial | every window | all threads | vs tutorial | wrong |');
  console.log('| --- | ---: | ---: | --- | ---: | ---: | ---: |');
  for (const { name } of servers) {
    const main = of(name, (w) => w.main);
    const all = of(name, (w) => w.all);
    const each = mine.filter((w) => w.server === name).map((w) => count(w.main));
    const wrong = mine.filter((w) => w.server === name).reduce((a, w) => a + w.wrong, 0);
    console.log(
      `| ${name} | ${count(main)} | ${ratio(
        main,
        of('tutorial', (w) => w.main),
      )} | ${each.join(', ')} | ${count(all)} | ${ratio(
        all,
        of('tutorial', (w) => w.all),
      )} | ${wrong} |`,
    );
  }
}

async function main(): Promise<void> {
  const built = buildService();
  const scenarios = FANOUT.filter((s) => only.includes(s.id));
  const windows: Window[] = [];
  for (let round = 1; round <= rounds; round++)
    for (const scenario of scenarios)
      for (const server of servers) {
        console.error(`round ${round} ${scenario.id} ${server.name}`);
        windows.push(...(await measure(server, scenario, round)));
      }
  console.log(`${built}; \`npm run bench:instructions -- ${args.join(' ')}\``);
  for (const scenario of scenarios) printTable(windows, scenario);
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
