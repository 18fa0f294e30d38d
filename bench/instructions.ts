/**
 * `npm run bench:instructions [-- --only S3] [--servers tutorial,rooms-service] [--rounds N]
 *   [--window-ms MS]`: instructions per delivered message, counted by callgrind, for each server
 * and scenario. CPU time from /proc swings with whatever else shares the machine; an instruction
 * count does not, so this settles comparisons the CPU step of `npm run bench` leaves in the noise.
 * Each server runs under valgrind (about 50 times slower), so the offered rate is a fortieth of the
 * scenario's common rate. See docs/benchmarks.md.
 */
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Callgrind } from './lib/callgrind';
import { LoadPool } from './lib/load-pool';
import { ROOT, SERVERS, type ServerSpec, startServer } from './lib/servers';
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
  instructionsPerDelivery: number;
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
      const instructions = await callgrind.instructions(pid);
      const window = { scenario: scenario.id, server: spec.name, round, delivered, wrong };
      windows.push({ ...window, instructionsPerDelivery: instructions / Math.max(1, delivered) });
      console.error(`  ${delivered} delivered, ${Math.round(instructions / delivered)} instructions each`);
    }
    return windows;
  } finally {
    await pool.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function printTable(windows: Window[], scenario: FanoutScenario): void {
  const mine = windows.filter((w) => w.scenario === scenario.id);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const perServer = new Map(
    servers.map((s) => [
      s.name,
      mine.filter((w) => w.server === s.name).map((w) => w.instructionsPerDelivery),
    ]),
  );
  const base = median(perServer.get('tutorial') ?? []);
  const ceiling = median(perServer.get('raw-ws') ?? []);
  const ratio = (x: number, b: number) => (Number.isFinite(x / b) ? `${(x / b).toFixed(2)}×` : '-');
  console.log(
    `\n${scenario.id} ${scenario.title}; ${scenario.commonRate / SLOWDOWN} deliveries/s under callgrind`,
  );
  console.log(
    '| server | instructions per delivery (median) | every window | vs tutorial | vs raw-ws | wrong |',
  );
  console.log('| --- | ---: | --- | ---: | ---: | ---: |');
  for (const [server, counts] of perServer) {
    const m = median(counts);
    const wrong = mine.filter((w) => w.server === server).reduce((a, w) => a + w.wrong, 0);
    const each = counts.map((c) => Math.round(c).toLocaleString('en-US')).join(', ');
    console.log(
      `| ${server} | ${Math.round(m).toLocaleString('en-US')} | ${each} | ${ratio(m, base)} | ${ratio(m, ceiling)} | ${wrong} |`,
    );
  }
}

async function main(): Promise<void> {
  execSync('npm run build', { cwd: ROOT, stdio: 'ignore' });
  const scenarios = FANOUT.filter((s) => only.includes(s.id));
  const windows: Window[] = [];
  for (let round = 1; round <= rounds; round++)
    for (const scenario of scenarios)
      for (const server of servers) {
        console.error(`round ${round} ${scenario.id} ${server.name}`);
        windows.push(...(await measure(server, scenario, round)));
      }
  const commit = execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim();
  console.log(`commit ${commit}; \`npm run bench:instructions -- ${args.join(' ')}\``);
  for (const scenario of scenarios) printTable(windows, scenario);
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
