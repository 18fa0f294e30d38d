import * as hdr from 'hdr-histogram-js';
import { PROTOCOLS } from '../load/protocols';
import type { WindowStats } from '../load/worker';
import { clientsOf, type FanoutScenario, fanoutOf } from '../scenarios';
import { LoadPool } from './load-pool';
import { cpuUs } from './proc';
import { type RunningServer, type ServerSpec, startServer } from './servers';

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

/** What one window of offered load measured, kept raw so that windows can be summed. */
export interface Window {
  rate: number;
  /** Messages the senders were asked to send, and those they did. */
  planned: number;
  sent: number;
  expected: number;
  received: number;
  ms: number;
  serverCpuUs: number;
  stats: WindowStats[];
}

const LOAD_WORKERS = 2;
const DRAIN_LIMIT_MS = 2000;
const P99_LIMIT_MS = 50;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A server under test with a scenario's clients connected and joined. */
export class Rig {
  /** Duplicates and misroutes over every window this rig ran. */
  wrongDeliveries = 0;

  private constructor(
    readonly spec: ServerSpec,
    private readonly scenario: FanoutScenario,
    private readonly server: RunningServer,
    private readonly pool: LoadPool,
  ) {}

  static async start(spec: ServerSpec, scenario: FanoutScenario, messageBytes: number): Promise<Rig> {
    const server = await startServer(spec);
    const pool = LoadPool.start(LOAD_WORKERS);
    const rig = new Rig(spec, scenario, server, pool);
    try {
      await pool.setup(server.urls, spec.protocol, clientsOf(scenario), messageBytes);
      if (!PROTOCOLS[spec.protocol].joinAck) await sleep(1000); // no join replies: let joins settle
      return rig;
    } catch (err) {
      await rig.stop();
      throw err;
    }
  }

  /** Offers `rate` deliveries/s for `durationMs`, then waits for what was sent to arrive. */
  async window(rate: number, durationMs: number): Promise<Window> {
    const { scenario, pool } = this;
    const senders = scenario.rooms * scenario.senders;
    const ratePerSender = rate / (senders * fanoutOf(scenario));
    const cpu = () => this.server.pids.reduce((sum, pid) => sum + cpuUs(pid), 0);
    const cpuBefore = cpu();
    const started = performance.now();
    const sent = [...(await pool.send(ratePerSender, durationMs)).values()].reduce((a, b) => a + b, 0);
    const ms = performance.now() - started;
    const expected = sent * fanoutOf(scenario);

    // Stop timing when every send has been received, or when it is clear they won't be.
    const drainStarted = performance.now();
    let received = await pool.received();
    while (received < expected && performance.now() - drainStarted < DRAIN_LIMIT_MS) {
      await sleep(20);
      received = await pool.received();
    }
    const serverCpuUs = cpu() - cpuBefore;
    const stats = await pool.collect();
    for (const s of stats) this.wrongDeliveries += s.duplicates + s.misrouted;
    const planned = (ratePerSender * senders * durationMs) / 1000;
    return { rate, planned, sent, expected, received, ms, serverCpuUs, stats };
  }

  async step(rate: number, durationMs: number): Promise<StepResult> {
    return summarize([await this.window(rate, durationMs)]);
  }

  async stop(): Promise<void> {
    await this.pool.stop();
    await this.server.stop();
  }
}

/** One result for windows at the same rate: sums, and percentiles of their merged histograms. */
export function summarize(windows: Window[]): StepResult {
  const total = (pick: (w: Window) => number) => windows.reduce((a, w) => a + pick(w), 0);
  const stats = windows.flatMap((w) => w.stats);
  const sum = (pick: (s: WindowStats) => number) => stats.reduce((a, s) => a + pick(s), 0);
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
  for (const s of stats) histogram.add(hdr.decodeFromCompressedBase64(s.histogram));
  const received = total((w) => w.received);
  const result: StepResult = {
    offered: windows[0].rate,
    delivered: (received * 1000) / total((w) => w.ms),
    loss: total((w) => w.expected) - sum((s) => s.received),
    duplicates: sum((s) => s.duplicates),
    misrouted: sum((s) => s.misrouted),
    p50: histogram.getValueAtPercentile(50) / 1000,
    p99: histogram.getValueAtPercentile(99) / 1000,
    p999: histogram.getValueAtPercentile(99.9) / 1000,
    serverCpuUsPerDelivery: total((w) => w.serverCpuUs) / Math.max(1, received),
    loadCpuUsPerDelivery: sum((s) => s.cpuUs) / Math.max(1, received),
    sustained: false,
  };
  const sentShare = total((w) => w.sent) / total((w) => w.planned);
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
