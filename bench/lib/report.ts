import { writeFileSync } from 'node:fs';
import { FANOUT } from '../scenarios';
import type { FanoutResult, IdleResult, Measured } from './measure';

const BASE = 'tutorial';
const CEILING = 'raw-ws';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x: number, digits = 0) =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '-';
const ratio = (x: number, base: number) => (Number.isFinite(x / base) ? `${(x / base).toFixed(2)}×` : '-');

interface FanoutRow {
  server: string;
  maxDelivered: number;
  latency: [number, number, number];
  cpu: number;
  loadCpu: number;
  wrong: number;
}

/** Medians over rounds, per scenario and server. */
export function fanoutRows(results: Measured[], scenario: string): FanoutRow[] {
  const mine = results.filter((r): r is FanoutResult => r.kind === 'fanout' && r.scenario === scenario);
  return [...new Set(mine.map((r) => r.server))].map((server) => {
    const runs = mine.filter((r) => r.server === server);
    const best = runs.map((r) => r.best ?? r.common);
    return {
      server,
      maxDelivered: median(runs.map((r) => r.best?.delivered ?? 0)),
      latency: [
        median(best.map((b) => b.p50)),
        median(best.map((b) => b.p99)),
        median(best.map((b) => b.p999)),
      ],
      cpu: median(runs.map((r) => r.common.serverCpuUsPerDelivery)),
      loadCpu: median(runs.map((r) => r.common.loadCpuUsPerDelivery)),
      // Loss is what stops the search above the maximum, so it counts at the common rate and the
      // maximum; duplicates and misroutes count from every step (older saved runs: from those two).
      wrong: runs.reduce(
        (sum, r) =>
          sum +
          r.common.loss +
          (r.best?.loss ?? 0) +
          (r.wrongDeliveries ??
            r.common.duplicates + r.common.misrouted + (r.best ? r.best.duplicates + r.best.misrouted : 0)),
        0,
      ),
    };
  });
}

export function printTables(results: Measured[]): void {
  for (const scenario of FANOUT) {
    const rows = fanoutRows(results, scenario.id);
    if (rows.length === 0) continue;
    const base = rows.find((r) => r.server === BASE);
    const ceiling = rows.find((r) => r.server === CEILING);
    console.log(`${scenario.id} ${scenario.title}; CPU at ${fmt(scenario.commonRate)} deliveries/s`);
    console.log(
      '| server | max delivered/s | vs tutorial | vs raw-ws | p50 / p99 / p99.9 ms at max | server CPU µs/delivery | vs tutorial | vs raw-ws | load-gen CPU µs/delivery | loss+dup+misroute |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of rows) {
      console.log(
        `| ${r.server} | ${fmt(r.maxDelivered)} | ${ratio(r.maxDelivered, base?.maxDelivered ?? NaN)} | ${ratio(r.maxDelivered, ceiling?.maxDelivered ?? NaN)} | ${r.latency.map((l) => fmt(l, 1)).join(' / ')} | ${fmt(r.cpu, 2)} | ${ratio(r.cpu, base?.cpu ?? NaN)} | ${ratio(r.cpu, ceiling?.cpu ?? NaN)} | ${fmt(r.loadCpu, 2)} | ${r.wrong} |`,
      );
    }
    console.log('');
  }
  const idle = results.filter((r): r is IdleResult => r.kind === 'idle');
  if (idle.length === 0) return;
  console.log('S4 idle joined connections');
  console.log('| connections | server | connects/s | vs tutorial | RSS KB/connection | vs tutorial |');
  console.log('| ---: | --- | ---: | ---: | ---: | ---: |');
  for (const count of [...new Set(idle.map((r) => r.connections))]) {
    const rows = [...new Set(idle.map((r) => r.server))].map((server) => {
      const runs = idle.filter((r) => r.server === server && r.connections === count);
      return {
        server,
        connects: median(runs.map((r) => r.connectsPerSecond)),
        rss: median(runs.map((r) => r.rssPerConnection / 1024)),
      };
    });
    const base = rows.find((r) => r.server === BASE);
    for (const r of rows) {
      console.log(
        `| ${fmt(count)} | ${r.server} | ${fmt(r.connects)} | ${ratio(r.connects, base?.connects ?? NaN)} | ${fmt(r.rss, 1)} | ${ratio(r.rss, base?.rss ?? NaN)} |`,
      );
    }
  }
  console.log('');
}

/** Two grouped bar charts: server CPU per delivery, and max delivered/s, per scenario and server. */
export function writeChart(results: Measured[], path: string): void {
  const scenarios = FANOUT.map((s) => s.id).filter((id) => fanoutRows(results, id).length > 0);
  const servers = [...new Set(results.map((r) => r.server))];
  const colors = ['#9aa5b1', '#e8a33d', '#3d7be8', '#2e9e5b', '#b14aa8'];
  const panel = (title: string, value: (r: FanoutRow) => number, unit: string, top: number) => {
    // Scenarios differ by orders of magnitude, so each group is scaled to its own largest bar.
    const maxOf = (s: string) => Math.max(...fanoutRows(results, s).map(value).filter(Number.isFinite), 1e-9);
    const groupWidth = 560 / scenarios.length;
    const barWidth = (groupWidth - 30) / servers.length;
    const bars = scenarios.flatMap((s, g) =>
      fanoutRows(results, s).map((row) => {
        const i = servers.indexOf(row.server);
        const v = value(row);
        const h = (Number.isFinite(v) ? v / maxOf(s) : 0) * 180;
        const x = 60 + g * groupWidth + i * barWidth;
        return `<rect x="${x}" y="${top + 200 - h}" width="${barWidth - 4}" height="${h}" fill="${colors[i % colors.length]}"/><text x="${x + (barWidth - 4) / 2}" y="${top + 196 - h}" font-size="9" text-anchor="middle">${fmt(v, v < 10 ? 2 : 0)}</text>`;
      }),
    );
    const labels = scenarios.map(
      (s, g) =>
        `<text x="${60 + g * groupWidth + (groupWidth - 30) / 2}" y="${top + 215}" font-size="12" text-anchor="middle">${s}</text>`,
    );
    return `<text x="60" y="${top + 5}" font-size="14" font-weight="bold">${title} (${unit}; bars scaled per scenario)</text><line x1="55" y1="${top + 200}" x2="620" y2="${top + 200}" stroke="#333"/>${bars.join('')}${labels.join('')}`;
  };
  const legend = servers.map(
    (s, i) =>
      `<rect x="${60 + i * 130}" y="490" width="12" height="12" fill="${colors[i % colors.length]}"/><text x="${76 + i * 130}" y="500" font-size="12">${s}</text>`,
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="520" font-family="sans-serif">
<rect width="640" height="520" fill="white"/>
${panel('Server CPU per delivered message, lower is better', (r) => r.cpu, 'µs', 20)}
${panel('Max sustained deliveries per second, higher is better', (r) => r.maxDelivered, '/s', 260)}
${legend.join('')}
</svg>
`;
  writeFileSync(path, svg);
}
