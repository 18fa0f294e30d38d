import { startApp } from './support/app';
import { CONTINUITY_ENV, describeContinuity } from './support/continuity-contract';
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
