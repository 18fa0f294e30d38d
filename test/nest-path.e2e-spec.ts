import type { NestInterceptor } from '@nestjs/common';
import { type RunningApp, startApp } from './support/app';
import { joinAll, TestClient } from './support/ws-client';

/**
 * ChatGateway's events normally bypass Nest's per-frame machinery (src/gateway/direct-dispatch.ts).
 * An app with a global enhancer puts every event back on Nest's own path, with the handlers
 * Nest binds per connection; the protocol must not change.
 */
describe("Nest's own handler path (e2e)", () => {
  const seen: string[] = [];
  const recording: NestInterceptor = {
    intercept: (context, next) => {
      seen.push(context.switchToWs().getPattern());
      return next.handle();
    },
  };
  let server: RunningApp;
  let alice: TestClient;
  let bob: TestClient;

  beforeAll(async () => {
    server = await startApp({}, (app) => app.useGlobalInterceptors(recording));
    [alice, bob] = await Promise.all([TestClient.connect(server.wsUrl), TestClient.connect(server.wsUrl)]);
  });
  afterAll(async () => {
    alice.close();
    bob.close();
    await server.close();
  });

  it('joins, delivers and echoes through the interceptor', async () => {
    await joinAll([alice, bob], 'lobby');
    alice.send({ type: 'message', message: 'hi' });
    expect(await bob.next('message')).toMatchObject({ room: 'lobby', message: 'hi' });
    expect(await alice.request({ type: 'echo', message: 'back' })).toEqual({ type: 'echo', message: 'back' });
    expect(seen).toEqual(['join', 'join', 'message', 'echo']);
  });

  it('answers an invalid payload with its details and an unknown event by name', async () => {
    expect(await alice.request({ type: 'echo', message: '' }, 'error')).toMatchObject({
      code: 'invalid_payload',
      event: 'echo',
      details: [{ field: 'message', rule: 'charLength' }],
    });
    expect(await alice.request({ type: 'shout', message: 'x' }, 'error')).toMatchObject({
      code: 'unknown_event',
      event: 'shout',
    });
    expect(await alice.request({ type: 'echo', message: 'still here' })).toEqual({
      type: 'echo',
      message: 'still here',
    });
  });
});
