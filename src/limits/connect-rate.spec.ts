import { connectRate } from './connect-rate';

describe(connectRate.name, () => {
  const settings = {
    connectRatePerIp: 1,
    connectBurstPerIp: 3,
    redisUrl: undefined,
    redisClusterNodes: undefined,
    redisPrefix: 'rooms',
  };

  it('is null when CONNECT_RATE_PER_IP is 0', () => {
    expect(connectRate({ ...settings, connectRatePerIp: 0 })).toBeNull();
  });

  describe('in memory (one instance)', () => {
    it('lets the burst through at once, then says how long to wait, within the window', async () => {
      const sut = connectRate(settings)!;
      const waits = [];
      for (let i = 0; i < 4; i++) waits.push(await sut.consume('203.0.113.1'));
      expect(waits.slice(0, 3)).toEqual([0, 0, 0]);
      expect(waits[3]).toBeGreaterThan(0);
      expect(waits[3]).toBeLessThanOrEqual(3000); // a window of burst / rate seconds
    });

    it('counts each address by itself', async () => {
      const sut = connectRate({ ...settings, connectBurstPerIp: 1 })!;
      expect(await sut.consume('203.0.113.1')).toBe(0);
      expect(await sut.consume('203.0.113.1')).toBeGreaterThan(0);
      expect(await sut.consume('2001:db8::1')).toBe(0);
    });
  });
});
