import { ConfigService } from '@nestjs/config';
import type { IncomingMessage } from 'node:http';
import { EventEmitter } from 'node:events';
import type { AppConfigService } from '../config/config.module';
import { loadConfig } from '../config/load-config';
import { ConnectRate } from './connect-rate';
import { AddressCheck, CapacityCheck, OriginCheck } from './upgrade-checks';

const config = (env: Record<string, string>) => new ConfigService(loadConfig(env)) as AppConfigService;

/** An upgrade request whose socket the test closes. */
function upgrade(headers: Record<string, string> = {}, remoteAddress = '203.0.113.1') {
  const socket = Object.assign(new EventEmitter(), { remoteAddress, destroyed: false });
  return { req: { socket, headers } as unknown as IncomingMessage, close: () => socket.emit('close') };
}

describe(OriginCheck.name, () => {
  it('asks nothing when ALLOWED_ORIGINS is unset', () => {
    expect(new OriginCheck(config({})).check(upgrade({ origin: 'null' }).req)).toBeUndefined();
  });

  it('refuses a foreign origin with 403, and lets a request without one through', () => {
    const sut = new OriginCheck(config({ ALLOWED_ORIGINS: 'https://chat.example.com' }));
    expect(sut.check(upgrade({ origin: 'https://evil.example.net' }).req)).toEqual({
      status: 403,
      reason: 'origin',
    });
    expect(sut.check(upgrade({ origin: 'https://chat.example.com' }).req)).toBeUndefined();
    expect(sut.check(upgrade().req)).toBeUndefined();
  });

  it('reads the origin of protocol version 8 from Sec-WebSocket-Origin', () => {
    const sut = new OriginCheck(config({ ALLOWED_ORIGINS: 'https://chat.example.com' }));
    expect(sut.check(upgrade({ 'sec-websocket-origin': 'https://evil.example.net' }).req)).toMatchObject({
      status: 403,
    });
  });
});

describe(CapacityCheck.name, () => {
  it('takes the last slot at once, so a second upgrade in the same turn is refused', () => {
    const sut = new CapacityCheck(config({ MAX_CONNECTIONS: '1' }));
    const [first, second] = [upgrade(), upgrade()];
    expect(sut.check(first.req)).toBeUndefined();
    expect(sut.check(second.req)).toMatchObject({
      status: 503,
      reason: 'capacity',
      headers: { 'Retry-After': '10' },
    });
  });

  it('gives the slot back when the socket closes, upgraded or not', () => {
    const sut = new CapacityCheck(config({ MAX_CONNECTIONS: '1' }));
    const first = upgrade();
    sut.check(first.req);
    first.close();
    expect(sut.check(upgrade().req)).toBeUndefined();
  });
});

describe(AddressCheck.name, () => {
  it('is synchronous and counts nothing when no limit is set', () => {
    const sut = new AddressCheck(config({}), null);
    expect(sut.check(upgrade().req)).toBeUndefined();
    expect(sut.openByAddress.size).toBe(0);
  });

  it('caps each address on its own, and forgets an address with nothing open', () => {
    const sut = new AddressCheck(config({ MAX_CONNECTIONS_PER_IP: '1' }), null);
    const first = upgrade({}, '203.0.113.1');
    expect(sut.check(first.req)).toBeUndefined();
    expect(sut.check(upgrade({}, '203.0.113.1').req)).toMatchObject({ status: 429, reason: 'rate' });
    expect(sut.check(upgrade({}, '203.0.113.2').req)).toBeUndefined();
    first.close();
    expect(sut.openByAddress.has('203.0.113.1')).toBe(false);
  });

  it('asks the rate once the cap has let an upgrade through, and turns its wait into Retry-After', async () => {
    const waits = [0, 1200];
    const rate = { consume: jest.fn(async () => waits.shift()!) } as unknown as ConnectRate;
    const sut = new AddressCheck(config({ CONNECT_RATE_PER_IP: '1', MAX_CONNECTIONS_PER_IP: '1' }), rate);
    const first = upgrade();
    expect(await sut.check(first.req)).toBeUndefined();
    expect(await sut.check(upgrade().req)).toMatchObject({ status: 429 }); // the cap: the rate is not asked
    first.close();
    expect(await sut.check(upgrade().req)).toEqual({
      status: 429,
      reason: 'rate',
      headers: { 'Retry-After': '2' },
    });
    expect(rate.consume).toHaveBeenCalledTimes(2);
  });
});
