/**
 * What a mass reconnect costs in presence frames: `node -r ts-node/register/transpile-only
 * bench/presence-storm.ts [--members N] [--servers rooms-service,rooms-service-x3]`.
 *
 * N users (each with a token of its own: a user that reconnects is the same member) follow one
 * room (`join` with `"presence":true`), spread over the instances, in three
 * storms, each measured until every client's list, kept by the client rule, holds all N:
 * - cold: all N join an empty room at once;
 * - blip: all N drop and reconnect at once, within the leave grace (5 s by default);
 * - return: all N drop, stay away past the grace (the room empties), then reconnect at once.
 * Per storm: presence frames (snapshots and diffs) per member, mean and most; bytes per member;
 * the servers' CPU; how long until every list was whole. A benchmark, not a test.
 */
import WebSocket from 'ws';
import { signHs256 } from '../src/auth/hs256';
import { buildService } from './lib/build';
import { cpuUs } from './lib/proc';
import { BENCH_JWT_SECRET } from './load/protocols';
import { type RunningServer, SERVERS, startServer } from './lib/servers';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : args[at + 1];
};
const MEMBERS = Number(option('members', '1000'));
const SERVER_NAMES = option('servers', 'rooms-service,rooms-service-x3').split(',');
const GRACE_MS = 5000;
const ROOM = 'storm';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Frame {
  type: string;
  rev: number;
  count: number;
  members?: { user?: string; conn?: string }[];
  joins?: { user?: string; conn?: string }[];
  leaves?: { user?: string; conn?: string }[];
}

const keyOf = (m: { user?: string; conn?: string }) => (m.user !== undefined ? `u:${m.user}` : `c:${m.conn}`);

/** One member: its socket, and its list of the room as the client rule keeps it. */
class Member {
  socket: WebSocket | undefined;
  frames = 0;
  bytes = 0;
  private rev = -1;
  readonly list = new Set<string>();

  constructor(readonly name: string) {}

  async connect(url: string): Promise<void> {
    const token = signHs256({ sub: this.name, exp: Math.floor(Date.now() / 1000) + 3600 }, BENCH_JWT_SECRET);
    const socket = new WebSocket(`${url}/ws`, { headers: { Authorization: `Bearer ${token}` } });
    this.socket = socket;
    socket.on('message', (data: Buffer) => this.receive(data));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ type: 'join', room: ROOM, presence: true }));
  }

  async drop(): Promise<void> {
    const socket = this.socket!;
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.close();
    await closed;
  }

  private receive(data: Buffer): void {
    const frame = JSON.parse(data.toString()) as Frame;
    if (frame.type !== 'presence' && frame.type !== 'presence_diff') return;
    this.frames++;
    this.bytes += data.length;
    if (frame.type === 'presence') {
      this.rev = frame.rev;
      this.list.clear();
      for (const m of frame.members!) this.list.add(keyOf(m));
    } else if (frame.rev > this.rev) {
      for (const m of frame.leaves!) this.list.delete(keyOf(m));
      for (const m of frame.joins!) this.list.add(keyOf(m));
    }
  }
}

interface Storm {
  storm: string;
  framesMean: number;
  framesMax: number;
  bytesPerMember: number;
  cpuMs: number;
  wholeAfterMs: number;
}

async function measure(server: RunningServer, members: Member[], storm: string, act: () => Promise<void>) {
  for (const m of members) [m.frames, m.bytes] = [0, 0];
  const cpu = () => server.pids.reduce((sum, pid) => sum + cpuUs(pid), 0);
  const cpuBefore = cpu();
  const started = performance.now();
  await act();
  while (!members.every((m) => m.list.size === MEMBERS)) await sleep(20);
  const wholeAfterMs = performance.now() - started;
  await sleep(1000); // any late frame still counts
  const frames = members.map((m) => m.frames);
  return {
    storm,
    framesMean: frames.reduce((a, b) => a + b, 0) / MEMBERS,
    framesMax: Math.max(...frames),
    bytesPerMember: members.reduce((sum, m) => sum + m.bytes, 0) / MEMBERS,
    cpuMs: (cpu() - cpuBefore) / 1000,
    wholeAfterMs,
  };
}

async function run(name: string): Promise<Storm[]> {
  const found = SERVERS.find((s) => s.name === name);
  if (!found) throw new Error(`no server ${name}`);
  const spec = { ...found, env: { ...found.env, AUTH_MODE: 'open', JWT_SECRET: BENCH_JWT_SECRET } };
  const server = await startServer(spec);
  try {
    const members = Array.from({ length: MEMBERS }, (_, i) => new Member(`m${i}`));
    const urlOf = (i: number) => server.urls[i % server.urls.length];
    const connectAll = () => Promise.all(members.map((m, i) => m.connect(urlOf(i)))).then(() => undefined);
    const dropAll = () => Promise.all(members.map((m) => m.drop())).then(() => undefined);
    const storms = [await measure(server, members, 'cold: N join an empty room', connectAll)];
    storms.push(
      await measure(server, members, 'blip: N reconnect within the grace', async () => {
        await dropAll();
        await connectAll();
      }),
    );
    await dropAll();
    await sleep(GRACE_MS + 2000);
    storms.push(await measure(server, members, 'return: N reconnect past the grace', connectAll));
    await dropAll();
    return storms;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const built = buildService();
  console.log(`${built}; ${MEMBERS} members; Node ${process.version}`);
  for (const name of SERVER_NAMES) {
    console.log(`\n${name}`);
    console.log(
      '| storm | presence frames / member (mean, most) | bytes / member | server CPU ms | every list whole after ms |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const s of await run(name)) {
      console.log(
        `| ${s.storm} | ${s.framesMean.toFixed(1)}, ${s.framesMax} | ${Math.round(s.bytesPerMember)} | ${Math.round(s.cpuMs)} | ${Math.round(s.wholeAfterMs)} |`,
      );
    }
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
