/**
 * `npm run bench [-- --quick] [-- --only S1,S4] [-- --servers rooms-service,raw-ws]`
 * Runs every scenario against every server, alternating servers (A B C D A B C D ...), and
 * prints one table with ratios to the tutorial server. See docs/benchmarks.md.
 */
import { execSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { type Measured, measureFanout, measureIdle } from './lib/measure';
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
const servers = SERVERS.filter((s) => !option('servers') || option('servers')!.split(',').includes(s.name));
const rounds = Number(option('rounds') ?? (quick ? 1 : 2));
const idleCounts = quick ? [2000] : [10_000, 19_500];
const settings = {
  stepMs: Number(option('step-ms') ?? (quick ? 1000 : 3000)),
  maxSteps: Number(option('steps') ?? (quick ? 1 : 12)),
  messageBytes: 1024,
};

async function main(): Promise<void> {
  execSync('npm run build', { cwd: ROOT, stdio: 'ignore' });
  const results: Measured[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const scenario of FANOUT.filter((s) => !only || only.includes(s.id))) {
      for (const server of servers) {
        console.error(`round ${round} ${scenario.id} ${server.name}`);
        results.push(await measureFanout(server, scenario, round, settings));
      }
    }
    if (!only || only.includes('S4')) {
      for (const count of idleCounts) {
        for (const server of servers) {
          console.error(`round ${round} S4 ${count} ${server.name}`);
          results.push(await measureIdle(server, count, round, settings));
        }
      }
    }
  }
  const commit = execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim();
  console.log(
    `\nmachine: ${cpus().length} x ${cpus()[0].model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; commit ${commit}; ${quick ? 'quick' : 'full'} run, ${rounds} round(s)\n`,
  );
  printTables(results);
  if (args.includes('--chart')) writeChart(results, `${ROOT}/docs/benchmarks.svg`);
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
