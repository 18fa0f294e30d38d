import { clientsOf, type FanoutScenario, IDLE_ROOM_SIZE } from '../scenarios';
import { LoadPool } from './load-pool';
import { rssBytes } from './proc';
import { Rig, type StepResult, summarize, type Window } from './rig';
import { type ServerSpec, startServer } from './servers';

export interface Settings {
  stepMs: number;
  maxSteps: number;
  messageBytes: number;
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

const IDLE_LOAD_WORKERS = 4;
const STEP_FACTOR = 1.25;

// CPU per delivery at the common rate is what servers are compared on, and the shared machine's
// other load moves a 3-second window's reading by up to ±20%: each server gets three windows.
const COMMON_STEPS = 3;

/** A server's result at the common rate, and the duplicates and misroutes of its windows. */
export interface Common {
  step: StepResult;
  wrongDeliveries: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * CPU per delivery at the scenario's common rate, for every server in `specs`. All of them are
 * started and their clients joined first; then each gets a warm-up step, and the measured
 * windows go round the servers (A B C D A B C D ...), COMMON_STEPS of them each. Each server's
 * result sums its windows. So the windows compared lie seconds apart, not minutes: the shared
 * machine's other load, which drifts over minutes, weighs on every server alike.
 */
export async function measureCommon(
  specs: ServerSpec[],
  scenario: FanoutScenario,
  settings: Settings,
): Promise<Map<string, Common>> {
  const rigs: Rig[] = [];
  try {
    for (const spec of specs) rigs.push(await Rig.start(spec, scenario, settings.messageBytes));
    // Warm-up, not reported: one step at the common rate, so that the collection of the
    // connection setup's garbage and the JIT's first compiles fall outside the measured
    // windows. A half-second warm-up left them in the common-rate window, which then read
    // up to 1.6x the CPU per delivery of a step at the same rate later (docs/benchmarks.md).
    for (const rig of rigs) await rig.step(scenario.commonRate, settings.stepMs);
    const windows = rigs.map((): Window[] => []);
    for (let pass = 0; pass < COMMON_STEPS; pass++) {
      for (const [i, rig] of rigs.entries())
        windows[i].push(await rig.window(scenario.commonRate, settings.stepMs));
    }
    return new Map(
      rigs.map((rig, i) => {
        const step = summarize(windows[i]);
        console.error(`  ${rig.spec.name} at ${scenario.commonRate}/s: ${describe(step)}`);
        return [rig.spec.name, { step, wrongDeliveries: rig.wrongDeliveries }];
      }),
    );
  } finally {
    for (const rig of rigs) await rig.stop();
  }
}

/** Steps the offered rate up from the start rate until the server stops keeping up. */
export async function measureFanout(
  spec: ServerSpec,
  scenario: FanoutScenario,
  round: number,
  settings: Settings,
  common: Common,
): Promise<FanoutResult> {
  const atCommon = {
    kind: 'fanout',
    scenario: scenario.id,
    server: spec.name,
    round,
    common: common.step,
    wrongDeliveries: common.wrongDeliveries,
  } as const;
  if (settings.maxSteps === 0) return atCommon; // `--steps 0`: the common rate only
  const rig = await Rig.start(spec, scenario, settings.messageBytes);
  try {
    await rig.step(scenario.commonRate, settings.stepMs); // warm-up, as in measureCommon
    const steps: StepResult[] = [];
    for (let rate = scenario.startRate; steps.length < settings.maxSteps; rate *= STEP_FACTOR) {
      let result = await rig.step(rate, settings.stepMs);
      console.error(`  ${Math.round(rate)}/s: ${describe(result)}`);
      if (result.why === 'p99' || result.why === 'load generator fell behind') {
        // Both cores are busy near the top, so one stall of the shared machine (another
        // process, a GC of the load generator) can push a window's p99 over the limit: a
        // step fails on latency only when the same rate fails again right after. Loss and
        // wrong deliveries are not transient and end the search at once.
        result = await rig.step(rate, settings.stepMs);
        console.error(`  ${Math.round(rate)}/s again: ${describe(result)}`);
      }
      steps.push(result);
      if (!result.sustained) break;
    }
    return {
      ...atCommon,
      best: steps.filter((s) => s.sustained).at(-1),
      wrongDeliveries: common.wrongDeliveries + rig.wrongDeliveries,
    };
  } finally {
    await rig.stop();
  }
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
    // S4 runs single instances only; a Node 20 stand-in's RSS (rooms-service-plain) stays put.
    const rss = () => server.pids.reduce((sum, pid) => sum + rssBytes(pid), 0);
    await sleep(500);
    const rssBefore = rss();
    const clients = clientsOf({
      rooms: Math.ceil(connections / IDLE_ROOM_SIZE),
      members: IDLE_ROOM_SIZE,
      senders: 0,
    }).slice(0, connections);
    const connectMs = await pool.setup(server.urls, spec.protocol, clients, settings.messageBytes);
    await sleep(2000);
    const rssPerConnection = (rss() - rssBefore) / connections;
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
