import { backoffMs, isRetryableStatus, retryAfterMs } from './retry-policy';

describe(backoffMs.name, () => {
  it('doubles from the base up to the cap, times a random fraction', () => {
    const most = (failures: number) => backoffMs(failures, 500, 60_000, () => 1);
    expect([1, 2, 3, 4].map(most)).toEqual([500, 1000, 2000, 4000]);
    expect(most(8)).toBe(60_000);
    expect(most(1000)).toBe(60_000);
    expect(backoffMs(3, 500, 60_000, () => 0.25)).toBe(500);
    expect(backoffMs(3, 500, 60_000, () => 0)).toBe(0);
  });
});

describe(isRetryableStatus.name, () => {
  it('retries 408, 429 and 5xx, and nothing else', () => {
    const statuses = [200, 301, 400, 401, 404, 408, 409, 410, 422, 429, 500, 502, 503, 504, 599];
    expect(statuses.filter(isRetryableStatus)).toEqual([408, 429, 500, 502, 503, 504, 599]);
  });
});

describe(retryAfterMs.name, () => {
  const now = Date.UTC(2030, 0, 1, 12, 0, 0);

  it('reads delay-seconds', () => {
    expect(retryAfterMs('1', now)).toBe(1000);
    expect(retryAfterMs(' 120 ', now)).toBe(120_000);
    expect(retryAfterMs('0', now)).toBe(0);
  });

  it('reads an HTTP-date as the time until it, or 0 once past', () => {
    expect(retryAfterMs('Tue, 01 Jan 2030 12:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Tuesday, 01-Jan-30 12:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Tue, 01 Jan 2030 11:00:00 GMT', now)).toBe(0);
  });

  it('ignores what is absent or unreadable', () => {
    expect(retryAfterMs(null, now)).toBeUndefined();
    for (const junk of ['', '1.5', '-1', 'soon', 'Tue, 99 Foo 2030'])
      expect(retryAfterMs(junk, now)).toBeUndefined();
  });
});
