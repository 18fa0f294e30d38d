import { MetricsService } from './metrics.service';

describe(MetricsService.name, () => {
  let sut: MetricsService;
  const scraped = () => sut.registry.metrics();

  beforeEach(() => {
    sut = new MetricsService();
  });

  it('serves every label of every counter from the start, at zero', async () => {
    const text = await scraped();
    expect(text).toMatch(/^chat_joins_total 0$/m);
    expect(text).toMatch(/^chat_errors_total\{code="too_many_rooms"\} 0$/m);
    expect(text).toMatch(/^chat_disconnects_total\{reason="heartbeat"\} 0$/m);
    expect(text).toMatch(/^chat_rate_limited_frames_total 0$/m);
    expect(text).toMatch(/^chat_fanout_seconds_count 0$/m);
  });

  it('reads the tallies when scraped, as often as it is scraped', async () => {
    sut.deliveries.broadcast.value += 3;
    expect(await scraped()).toMatch(/^chat_deliveries_total\{type="broadcast"\} 3$/m);
    sut.deliveries.broadcast.value += 2;
    expect(await scraped()).toMatch(/^chat_deliveries_total\{type="broadcast"\} 5$/m);
  });

  it('counts frames by event, and any name it does not know as unknown', async () => {
    for (const event of ['join', 'join', 'echo', 'made-up', '__proto__', 'unknown']) sut.countFrame(event);
    const text = await scraped();
    expect(text).toMatch(/^chat_frames_total\{event="join"\} 2$/m);
    expect(text).toMatch(/^chat_frames_total\{event="echo"\} 1$/m);
    expect(text).toMatch(/^chat_frames_total\{event="unknown"\} 3$/m);
    expect(text).not.toMatch(/made-up|__proto__/);
  });

  it('reads the gauges from the sizes it is given', async () => {
    sut.readSizesFrom({ rooms: () => 4, connections: () => 9 });
    const text = await scraped();
    expect(text).toMatch(/^chat_rooms 4$/m);
    expect(text).toMatch(/^chat_connections 9$/m);
  });

  it('puts fan-out times in cumulative buckets, with their sum and count', async () => {
    for (const seconds of [0.000001, 0.000005, 0.00003, 0.002, 5]) sut.fanout.observe(seconds);
    const text = await scraped();
    expect(text).toContain('# TYPE chat_fanout_seconds histogram');
    expect(text).toMatch(/^chat_fanout_seconds_bucket\{le="0.000005"\} 2$/m); // a bound is inclusive
    expect(text).toMatch(/^chat_fanout_seconds_bucket\{le="0.00005"\} 3$/m);
    expect(text).toMatch(/^chat_fanout_seconds_bucket\{le="0.0025"\} 4$/m);
    expect(text).toMatch(/^chat_fanout_seconds_bucket\{le="0.1"\} 4$/m);
    expect(text).toMatch(/^chat_fanout_seconds_bucket\{le="\+Inf"\} 5$/m);
    expect(text).toMatch(/^chat_fanout_seconds_count 5$/m);
    expect(Number(/^chat_fanout_seconds_sum (\S+)$/m.exec(text)![1])).toBeCloseTo(5.002036, 9);
  });

  it('keeps its metrics in a registry of its own', async () => {
    const other = new MetricsService();
    other.joins.value = 7;
    expect(await other.registry.metrics()).toMatch(/^chat_joins_total 7$/m);
    expect(await scraped()).toMatch(/^chat_joins_total 0$/m);
  });
});
