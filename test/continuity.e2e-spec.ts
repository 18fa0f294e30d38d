import { startApp } from './support/app';
import { CONTINUITY_ENV, describeContinuity } from './support/continuity-contract';
import { SECRET, sign } from './support/tokens';
import { TestClient } from './support/ws-client';

describeContinuity('one instance', async () => {
  const app = await startApp(CONTINUITY_ENV);
  return { urls: [app.wsUrl], close: () => app.close() };
});

describe('one instance with HISTORY_SIZE=0', () => {
  it('still gives offsets, but recovers nothing and has no history', async () => {
    const app = await startApp({ HISTORY_SIZE: '0' });
    const [a, b] = [await TestClient.connect(app.wsUrl), await TestClient.connect(app.wsUrl)];
    try {
      const at = await a.request({ type: 'join', room: 'off' }, 'joined');
      await b.request({ type: 'join', room: 'off' }, 'joined');
      a.send({ type: 'message', message: 'one' });
      expect(await b.next('message')).toMatchObject({ offset: 1 });
      const c = await TestClient.connect(app.wsUrl);
      expect(
        await c.request({ type: 'join', room: 'off', since: { epoch: at.epoch, offset: 0 } }),
      ).toMatchObject({
        recovered: false,
        offset: 1,
      });
      expect(await b.request({ type: 'history', room: 'off' })).toMatchObject({
        messages: [],
        more: false,
        offset: 1,
      });
      c.close();
    } finally {
      a.close();
      b.close();
      await app.close();
    }
  });
});

describe('cids of verified senders (AUTH_MODE=jwt)', () => {
  it('are kept apart by sub: one user retrying is acked duplicate, another user with the same cid is delivered', async () => {
    const app = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET });
    const as = async (sub: string) => {
      const token = await sign({ sub });
      const client = await TestClient.connect(app.wsUrl, { headers: { Authorization: `Bearer ${token}` } });
      await client.next('authenticated');
      await client.request({ type: 'join', room: 'verified' }, 'joined');
      return client;
    };
    const [alice, aliceAgain, bob, watcher] = [
      await as('alice'),
      await as('alice'),
      await as('bob'),
      await as('carol'),
    ];
    try {
      const first = await alice.request({ type: 'message', message: 'hi', cid: 'same' }, 'ack');
      for (const other of [aliceAgain, bob]) expect(await other.next('message')).toMatchObject({ message: 'hi' });
      expect(await aliceAgain.request({ type: 'message', message: 'hi', cid: 'same' }, 'ack')).toEqual({
        ...first,
        duplicate: true,
      });
      const other = await bob.request({ type: 'message', message: 'hi too', cid: 'same' }, 'ack');
      expect(other).not.toHaveProperty('duplicate');
      expect(other.offset).toBe(first.offset + 1);
      expect((await watcher.next('message')).user).toBe('alice');
      expect((await watcher.next('message')).user).toBe('bob');
      await expect(watcher.nothingWithin(100)).resolves.toBe(true);
    } finally {
      [alice, aliceAgain, bob, watcher].forEach((c) => c.close());
      await app.close();
    }
  });
});
