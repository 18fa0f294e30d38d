import { FLOOD_CLOSE_MS, STREAK_GAP_MS, TokenBucketRule } from './token-bucket';

describe(TokenBucketRule.name, () => {
  // 50 a second (one every 20 ms), 100 saved up: the defaults.
  const sut = new TokenBucketRule(50, 100);
  const takeMany = (bucket: ReturnType<TokenBucketRule['bucket']>, count: number, now: number) =>
    Array.from({ length: count }, () => sut.take(bucket, now));

  describe('take', () => {
    it('lets a full burst through at once, then refuses with the wait for the next token', () => {
      const bucket = sut.bucket(0);
      expect(takeMany(bucket, 100, 0).every((wait) => wait === 0)).toBe(true);
      expect(sut.take(bucket, 0)).toBe(20);
      expect(sut.take(bucket, 5)).toBe(15);
    });

    it('refills from the time of the last take, at the rate', () => {
      const bucket = sut.bucket(0);
      takeMany(bucket, 100, 0);
      expect(sut.take(bucket, 20)).toBe(0);
      expect(sut.take(bucket, 30)).toBe(10);
      expect(sut.take(bucket, 40)).toBe(0);
    });

    it('never saves up more than the burst', () => {
      const bucket = sut.bucket(0);
      const later = 3_600_000;
      expect(takeMany(bucket, 100, later).every((wait) => wait === 0)).toBe(true);
      expect(sut.take(bucket, later)).toBeGreaterThan(0);
    });

    it('does not charge a refused frame', () => {
      const bucket = sut.bucket(0);
      takeMany(bucket, 100, 0);
      takeMany(bucket, 50, 10);
      expect(sut.take(bucket, 20)).toBe(0);
    });

    it('rounds the wait up to whole milliseconds', () => {
      const slow = new TokenBucketRule(3, 1);
      const bucket = slow.bucket(0);
      slow.take(bucket, 0);
      expect(slow.take(bucket, 0)).toBe(334);
    });
  });

  describe('flooding', () => {
    it('is false until the connection has stayed over the limit for the whole time', () => {
      const bucket = sut.bucket(0);
      takeMany(bucket, 100, 0);
      sut.take(bucket, 0); // over, from 0
      for (let t = 20; t < FLOOD_CLOSE_MS; t += 20) takeMany(bucket, 3, t); // one token in, two refused
      expect(sut.flooding(bucket, FLOOD_CLOSE_MS - 1)).toBe(false);
      sut.take(bucket, FLOOD_CLOSE_MS);
      expect(sut.flooding(bucket, FLOOD_CLOSE_MS)).toBe(true);
    });

    it('is false for a connection that never went over', () => {
      const bucket = sut.bucket(0);
      takeMany(bucket, 100, 0);
      expect(sut.flooding(bucket, 60_000)).toBe(false);
    });

    it('starts a new streak once the bucket has refilled to full', () => {
      const bucket = sut.bucket(0);
      takeMany(bucket, 101, 0); // over from 0
      takeMany(bucket, 101, 2000); // refilled to full (100 in 2 s), over again from 2000
      expect(sut.flooding(bucket, FLOOD_CLOSE_MS + 1000)).toBe(false);
      expect(sut.flooding(bucket, FLOOD_CLOSE_MS + 2000)).toBe(true);
    });

    it(`keeps the streak while refusals come less than ${STREAK_GAP_MS} ms apart`, () => {
      const bucket = sut.bucket(0);
      takeMany(bucket, 101, 0);
      // Over the rate by a little: a refusal every 900 ms, never a full bucket.
      for (let t = 900; t <= FLOOD_CLOSE_MS; t += 900) takeMany(bucket, 46, t);
      expect(sut.flooding(bucket, FLOOD_CLOSE_MS)).toBe(true);
    });

    it('does not close a client that flooded, slowed below the rate, and later sends a burst', () => {
      const bucket = sut.bucket(0);
      takeMany(bucket, 101, 0); // over from 0
      // 49 a second for 11 s: one token saved a second, never full again.
      for (let t = 20; t < 11_000; t += 1000 / 49) expect(sut.take(bucket, t)).toBe(0);
      takeMany(bucket, 15, 11_000); // a rejoin: about 11 saved, so a few are refused
      expect(sut.take(bucket, 11_000)).toBeGreaterThan(0);
      expect(sut.flooding(bucket, 11_000)).toBe(false);
    });
  });
});
