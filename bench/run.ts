/**
 * `npm run bench [-- --quick] [--only S1,S4] [--servers rooms-service,raw-ws] [--rounds N]
 *   [--steps N] [--step-ms MS] [--chart] [--out FILE]`, or `npm run bench -- --report FILE` to
 * print the tables of a saved run again.
 * Runs every scenario against every server, alternating servers (A B C D A B C D ...), and
 * prints one table with ratios to the tutorial server. See docs/benchmarks.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { type Measured, measureCommon, measureFanout, measureIdle } from './lib/measure';
import { buildService } from './lib/build';
import { printTables, writeChart } from './lib/report';
import { ROOT, SERVERS } from './lib/servers';
import { FANOUT } from './scenarios';

const args = process.argv.slice(2);
const option = (name: string) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? undefined : args[at + 1];
};
const quick = args.includes('--quick');
const only = option('only')?.split(',');
const named = option('servers')?.split(',');
const servers = SERVERS.filter((s) => (named ? named.includes(s.name) : !s.optIn));
const rounds = Number(option('rounds') ?? (quick ? 1 : 2));
const idleCounts = quick ? [2000] : [10_000, 19_500];
const settings = {
  stepMs: Number(option('step-ms') ?? (quick ? 1000 : 3000)),
  maxSteps: Number(option('steps') ?? (quick ? 1 : 24)),
  messageBytes: 1024,
};

interface Saved {
  header: string;
  results: Measured[];
}

async function main(): Promise<void> {
  const from = option('report');
  const saved = from ? (JSON.parse(readFileSync(from, 'utf8')) as Saved) : await measureAll();
  console.log(`\n${saved.header}\n`);
  printTables(saved.results);
  mkdirSync(`${ROOT}/docs`, { recursive: true });
  if (args.includes('--chart')) writeChart(saved.results, `${ROOT}/docs/benchmarks.svg`);
  if (from) return;
  const out = option('out') ?? `${ROOT}/docs/bench-results.json`;
  writeFileSync(out, JSON.stringify(saved, null, 1));
  console.error(`results saved to ${out}`);
}

async function measureAll(): Promise<Saved> {
  const built = buildService();
  const results: Measured[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const scenario of FANOUT.filter((s) => !only || only.includes(s.id))) {
      console.error(`round ${round} ${scenario.id} common rate`);
      const common = await measureCommon(servers, scenario, settings);
      for (const server of servers) {
        console.error(`round ${round} ${scenario.id} ${server.name}`);
        results.push(await measureFanout(server, scenario, round, settings, common.get(server.name)!));
      }
    }
    if (!only || only.includes('S4')) {
      for (const count of idleCounts) {
        // Memory per connection is a property of one process: S4 runs single instances.
        for (const server of servers.filter((s) => !s.instances)) {
          console.error(`round ${round} S4 ${count} ${server.name}`);
          results.push(await measureIdle(server, count, round, settings));
        }
      }
    }
  }
  const machine = `${cpus().length} x ${cpus()[0].model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const header = `machine: ${machine}; ${built}; ${quick ? 'quick' : 'full'} run, ${rounds} round(s); \`npm run bench -- ${args.join(' ')}\``;
  return { header, results };
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
