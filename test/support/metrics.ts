import request from 'supertest';

/** One scrape of GET /metrics: each series, as printed (`name{label="value"}`), to its value. */
export class Scrape {
  private constructor(readonly series: Map<string, number>) {}

  static async of(httpUrl: string): Promise<Scrape> {
    const res = await request(httpUrl)
      .get('/metrics')
      .expect(200)
      .expect('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
    const series = new Map<string, number>();
    for (const line of res.text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const space = line.lastIndexOf(' ');
      series.set(line.slice(0, space), Number(line.slice(space + 1)));
    }
    return new Scrape(series);
  }

  /**
   * The value of `name`, with its labels when given (in the order the metric declares them); a
   * series that is not there fails the test.
   */
  get(name: string, labels?: Record<string, string>): number {
    const pairs = Object.entries(labels ?? {}).map(([key, value]) => `${key}="${value}"`);
    const series = pairs.length === 0 ? name : `${name}{${pairs.join(',')}}`;
    const found = this.series.get(series);
    if (found === undefined) throw new Error(`no series ${series} in the scrape`);
    return found;
  }

  /** Every series of a labelled counter, as label value to count. */
  byLabel(name: string): Record<string, number> {
    const values: Record<string, number> = {};
    for (const [series, value] of this.series) {
      const match = new RegExp(`^${name}\\{\\w+="([^"]*)"\\}$`).exec(series);
      if (match) values[match[1]] = value;
    }
    return values;
  }
}
