import type { Metric, Registry } from 'prom-client';

/**
 * A histogram the hot path can observe without allocating. prom-client's Histogram#observe
 * builds a labels object and finds its bucket by the bound turned into a property name, on
 * every call (about as long as the rest of a small fan-out's bookkeeping); this one keeps
 * plain counts and gives the registry the same series when it is scraped.
 */
export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** Observations per bucket, not cumulative; the last slot counts those above every bound. */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
    // The registry asks a metric only for get() (and reset()); it prints the series as it does
    // prom-client's own histograms.
    registry.registerMetric(this as unknown as Metric);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]) bucket++;
    this.counts[bucket]++;
    this.sum += value;
    this.count++;
  }

  async get() {
    const bucket = `${this.name}_bucket`;
    let cumulative = 0;
    const values = this.bounds.map((le, i) => ({
      metricName: bucket,
      labels: { le: le as number | string },
      value: (cumulative += this.counts[i]),
    }));
    values.push({ metricName: bucket, labels: { le: '+Inf' }, value: this.count });
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [
        ...values,
        { metricName: `${this.name}_sum`, labels: {}, value: this.sum },
        { metricName: `${this.name}_count`, labels: {}, value: this.count },
      ],
    };
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}
