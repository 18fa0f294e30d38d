import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import request from 'supertest';
import { type RunningApp, startApp } from './support/app';
import { eventually } from './support/eventually';
import { joinAll, TestClient } from './support/ws-client';

describe('liveness (e2e)', () => {
  let server: RunningApp;
  const members = async (room: string) =>
    (await request(server.httpUrl).get(`/rooms/${room}`)).body.members ?? 0;

  afterEach(() => server.close());

  it('terminates a peer that stops answering pings, and it leaves its rooms', async () => {
    server = await startApp({ HEARTBEAT_INTERVAL_MS: '100' });
    const live = await TestClient.connect(server.wsUrl);
    const silent = await TestClient.connect(server.wsUrl, { autoPong: false });
    await joinAll([live, silent], 'pings');
    await joinAll([silent], 'pings-2');

    expect((await silent.closed).code).toBe(1006);
    await eventually(async () => expect(await members('pings')).toBe(1));
    expect(await members('pings-2')).toBe(0);
    // The peer that answers stays through several more intervals.
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await live.request({ type: 'echo', message: 'alive' })).toEqual({
      type: 'echo',
      message: 'alive',
    });
    live.close();
  });

  it('drops a client that never reads, keeps serving the room, and holds memory to the bound', async () => {
    // The sender floods faster than the frame limit allows (frame-limit.e2e-spec.ts tests that).
    // History off: its buffer (HISTORY_MAX_BYTES, outside the heap too) has a bound of its own,
    // measured in memory-history.spec.ts; this one is the bound on what waits for a reader.
    server = await startApp({
      SLOW_CONSUMER_BYTES: '65536',
      RATE_LIMIT_FRAMES_PER_S: '0',
      HISTORY_SIZE: '0',
    });
    const [sender, reader, slow] = await Promise.all([1, 2, 3].map(() => TestClient.connect(server.wsUrl)));
    await joinAll([sender, reader, slow], 'flood');
    (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();

    const message = 'x'.repeat(4000);
    // What is held outside the heap (socket buffers), garbage collected first: when the
    // collector would have run depends on the runtime (Node 24's later than 20's) and on what
    // ran before in the process, and is no part of the bound.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const held = () => {
      gc();
      const { arrayBuffers, external } = process.memoryUsage();
      return arrayBuffers + external;
    };
    const baseline = held();
    let most = 0;
    let sent = 0;
    // Flow-controlled by the reader, so only the slow client can fall behind. Loopback
    // buffers take a few MB before the server's own output queue starts to grow.
    while ((await members('flood')) === 3) {
      expect(sent).toBeLessThan(40_000); // ~160 MB: the slow client should have been dropped long before
      for (let i = 0; i < 200; i++) sender.send({ type: 'message', message });
      for (let i = 0; i < 200; i++) await reader.next('message');
      sent += 200;
      most = Math.max(most, held() - baseline);
    }
    expect(await members('flood')).toBe(2);
    expect(most).toBeLessThan(32 * 2 ** 20);

    // The room goes on without it.
    sender.send({ type: 'message', message: 'after' });
    expect(await reader.next('message')).toMatchObject({ message: 'after' });
    const { body } = await request(server.httpUrl).get('/rooms').expect(200);
    expect(body.connections).toBe(2);
    sender.close();
    reader.close();
  }, 60_000);
});
