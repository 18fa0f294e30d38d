import * as hdr from 'hdr-histogram-js';
import { PROTOCOLS } from '../load/protocols';
import { clientsOf, type FanoutScenario, fanoutOf, IDLE_ROOM_SIZE } from '../scenarios';
import { LoadPool } from './load-pool';
import { cpuUs, rssBytes } from './proc';
import { type ServerSpec, startServer } from './servers';

export interface Settings {
  stepMs: number;
  maxSteps: number;
  messageBytes: number;
}

export interface StepResult {
  offered: number;
  delivered: number;
  loss: number;
  duplicates: number;
  misrouted: number;
  p50: number;
  p99: number;
  p999: number;
  serverCpuUsPerDelivery: number;
  loadCpuUsPerDelivery: number;
  sustained: boolean;
  why?: string;
}

export interface FanoutResult {
  kind: 'fanout';
  scenario: FanoutScenario['id'];
  server: string;
  round: number;
  /** The first step, at the scenario's common rate. */
  common: StepResult;
  /** The highest step that was sustained. */
  best?: StepResult;
  /**
   * Duplicates and misroutes over every step run, the warm-up and the failed and repeated
   * steps included. Absent from runs saved before it was counted.
   */
  wrongDeliveries?: number;
}

export interface IdleResult {
  kind: 'idle';
  server: string;
  round: number;
  connections: number;
  connectsPerSecond: number;
  rssPerConnection: number;
}

export type Measured = FanoutResult | IdleResult;

const LOAD_WORKERS = 2;
const IDLE_LOAD_WORKERS = 4;
const STEP_FACTOR = 1.25;
const DRAIN_LIMIT_MS = 2000;
const P99_LIMIT_MS = 50;

// CPU per delivery at the common rate is what servers are compared on, and the shared machine's
// other load moves a 3-second window's reading by up to ±20%: that window is three steps long.
const COMMON_STEPS = 3;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Steps the offered rate up from the common rate until the server stops keeping up. */
export async function measureFanout(
  spec: ServerSpec,
  scenario: FanoutScenario,
  round: number,
  settings: Settings,
): Promise<FanoutResult> {
  const server = await startServer(spec);
  const pool = LoadPool.start(LOAD_WORKERS);
  try {
    await pool.setup(server.urls, spec.protocol, clientsOf(scenario), settings.messageBytes);
    if (!PROTOCOLS[spec.protocol].joinAck) await sleep(1000); // no join replies: let joins settle
    let wrongDeliveries = 0;
    const measure = async (rate: number, durationMs: number) => {
      const result = await step(server.pids, pool, scenario, rate, durationMs);
      wrongDeliveries += result.duplicates + result.misrouted;
      return result;
    };
    // Warm-up, not reported: one step at the common rate, so that the collection of the
    // connection setup's garbage and the JIT's first compiles fall outside the measured
    // windows. A half-second warm-up left them in the common-rate window, which then read
    // up to 1.6x the CPU per delivery of a step at the same rate later (docs/benchmarks.md).
    await measure(scenario.commonRate, settings.stepMs);
    // CPU per delivery at the rate every server is compared at, whether it sustains it or not.
    const common = await measure(scenario.commonRate, settings.stepMs * COMMON_STEPS);
    console.error(`  common ${scenario.commonRate}/s: ${describe(common)}`);
    const steps: StepResult[] = [];
    for (let rate = scenario.startRate; steps.length < settings.maxSteps; rate *= STEP_FACTOR) {
      let result = await measure(rate, settings.stepMs);
      console.error(`  ${Math.round(rate)}/s: ${describe(result)}`);
      if (result.why === 'p99' || result.why === 'load generator fell behind') {
        // Both cores are busy near the top, so one stall of the shared machine (another
        // process, a GC of the load generator) can push a window's p99 over the limit: a
        // step fails on latency only when the same rate fails again right after. Loss and
        // wrong deliveries are not transient and end the search at once.
        result = await measure(rate, settings.stepMs);
        console.error(`  ${Math.round(rate)}/s again: ${describe(result)}`);
      }
      steps.push(result);
      if (!result.sustained) break;
    }
    return {
      kind: 'fanout',
      scenario: scenario.id,
      server: spec.name,
      round,
      common,
      best: steps.filter((s) => s.sustained).at(-1),
      wrongDeliveries,
    };
  } finally {
    await pool.stop();
    await server.stop();
  }
}

async function step(
  pids: number[],
  pool: LoadPool,
  scenario: FanoutScenario,
  rate: number,
  durationMs: number,
): Promise<StepResult> {
  const senders = scenario.rooms * scenario.senders;
  const ratePerSender = rate / (senders * fanoutOf(scenario));
  const cpu = () => pids.reduce((sum, pid) => sum + cpuUs(pid), 0);
  const cpuBefore = cpu();
  const started = performance.now();
  const sent = [...(await pool.send(ratePerSender, durationMs)).values()].reduce((a, b) => a + b, 0);
  const windowMs = performance.now() - started;
  const expected = sent * fanoutOf(scenario);

  // Stop timing when every send has been received, or when it is clear they won't be.
  const drainStarted = performance.now();
  let received = await pool.received();
  while (received < expected && performance.now() - drainStarted < DRAIN_LIMIT_MS) {
    await sleep(20);
    received = await pool.received();
  }
  const serverCpu = cpu() - cpuBefore;
  const stats = await pool.collect();

  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
  for (const s of stats) histogram.add(hdr.decodeFromCompressedBase64(s.histogram));
  const sum = (pick: (s: (typeof stats)[number]) => number) => stats.reduce((a, s) => a + pick(s), 0);
  const result: StepResult = {
    offered: rate,
    delivered: (received * 1000) / windowMs,
    loss: expected - sum((s) => s.received),
    duplicates: sum((s) => s.duplicates),
    misrouted: sum((s) => s.misrouted),
    p50: histogram.getValueAtPercentile(50) / 1000,
    p99: histogram.getValueAtPercentile(99) / 1000,
    p999: histogram.getValueAtPercentile(99.9) / 1000,
    serverCpuUsPerDelivery: serverCpu / Math.max(1, received),
    loadCpuUsPerDelivery: sum((s) => s.cpuUs) / Math.max(1, received),
    sustained: false,
  };
  const sentShare = sent / ((ratePerSender * senders * durationMs) / 1000);
  result.why =
    result.loss > 0
      ? 'loss'
      : result.duplicates + result.misrouted > 0
        ? 'wrong delivery'
        : result.p99 > P99_LIMIT_MS
          ? 'p99'
          : sentShare < 0.97
            ? 'load generator fell behind'
            : undefined;
  result.sustained = result.why === undefined;
  return result;
}

/** S4: joined idle connections: how fast they connect and how much memory each costs the server. */
export async function measureIdle(
  spec: ServerSpec,
  connections: number,
  round: number,
  settings: Settings,
): Promise<IdleResult> {
  const server = await startServer(spec);
  const pool = LoadPool.start(IDLE_LOAD_WORKERS);
  try {
    const [pid] = server.pids; // S4 runs single instances only
    await sleep(500);
    const rssBefore = rssBytes(pid);
    const clients = clientsOf({
      rooms: Math.ceil(connections / IDLE_ROOM_SIZE),
      members: IDLE_ROOM_SIZE,
      senders: 0,
    }).slice(0, connections);
    const connectMs = await pool.setup(server.urls, spec.protocol, clients, settings.messageBytes);
    await sleep(2000);
    const rssPerConnection = (rssBytes(pid) - rssBefore) / connections;
    console.error(
      `  ${Math.round((connections * 1000) / connectMs)} connects/s, ${(rssPerConnection / 1024).toFixed(1)} KB/connection`,
    );
    return {
      kind: 'idle',
      server: spec.name,
      round,
      connections,
      connectsPerSecond: (connections * 1000) / connectMs,
      rssPerConnection,
    };
  } finally {
    await pool.stop();
    await server.stop();
  }
}

function describe(r: StepResult): string {
  return `${Math.round(r.delivered)} delivered/s, p99 ${r.p99.toFixed(1)} ms, ${r.serverCpuUsPerDelivery.toFixed(2)} µs CPU/delivery${r.why ? ` (${r.why})` : ''}`;
}
