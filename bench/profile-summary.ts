/**
 * `node -r ts-node/register/transpile-only bench/profile-summary.ts <file.cpuprofile> [top]`
 * Self time by function and by package, from a `node --cpu-prof` profile (BENCH_PROFILE=1).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const functions = new Map<string, number>();
const packages = new Map<string, number>();
let total = 0;
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  if (functionName === '(idle)') continue;
  total += us;
  const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|dist|bench)\//, '$1/');
  functions.set(
    `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`,
    (functions.get(`${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`) ?? 0) + us,
  );
  const pkg =
    url === ''
      ? functionName
      : (/node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
        (url.startsWith('node:') ? 'node core' : 'ours'));
  packages.set(pkg, (packages.get(pkg) ?? 0) + us);
}
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (share of busy samples)`);
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([k, v]) => console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`));
};
print('by package', packages);
print('by function', functions);
