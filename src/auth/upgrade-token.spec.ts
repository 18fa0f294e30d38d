import type { IncomingMessage } from 'node:http';
import { chooseProtocol, upgradeToken } from './upgrade-token';

const upgrade = (headers: Record<string, string | undefined>) => ({ headers }) as unknown as IncomingMessage;

describe(upgradeToken.name, () => {
  it('finds none in an upgrade without Authorization or a token subprotocol', () => {
    expect(upgradeToken(upgrade({}))).toBeUndefined();
    expect(upgradeToken(upgrade({ 'sec-websocket-protocol': 'rooms.v1, chat' }))).toBeUndefined();
  });

  it('reads a bearer token, whatever the case of the scheme', () => {
    expect(upgradeToken(upgrade({ authorization: 'Bearer a.b.c' }))).toEqual({ token: 'a.b.c' });
    expect(upgradeToken(upgrade({ authorization: 'bearer  a.b.c' }))).toEqual({ token: 'a.b.c' });
  });

  it('reads a token offered as a subprotocol', () => {
    expect(upgradeToken(upgrade({ 'sec-websocket-protocol': 'rooms.v1, rooms.token.a.b.c' }))).toEqual({
      token: 'a.b.c',
    });
  });

  it.each([
    { authorization: 'Basic YTpi' },
    { authorization: 'Bearer' },
    { authorization: 'Bearer a b' },
    { 'sec-websocket-protocol': 'rooms.token.a, rooms.token.b' },
    { authorization: 'Bearer a', 'sec-websocket-protocol': 'rooms.v1, rooms.token.b' },
  ])('names the problem with %j rather than guess', (headers) => {
    expect(upgradeToken(upgrade(headers))).toEqual({ problem: expect.any(String) });
  });
});

describe(chooseProtocol.name, () => {
  it('answers rooms.v1 when offered, else the first offer that is not a token, else none', () => {
    expect(chooseProtocol(new Set(['rooms.token.x', 'rooms.v1']))).toBe('rooms.v1');
    expect(chooseProtocol(new Set(['rooms.token.x', 'chat']))).toBe('chat');
    expect(chooseProtocol(new Set(['rooms.token.x']))).toBe(false);
  });
});
