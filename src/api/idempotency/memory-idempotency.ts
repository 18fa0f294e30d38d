import { IN_FLIGHT_MS, type Claim, type IdempotencyStore, judge, type Kept } from './idempotency-store';

/**
 * One instance's keys in a Map: at most `maxKeys` (past it, the oldest are forgotten), each
 * forgotten when its time is up.
 */
export class MemoryIdempotency implements IdempotencyStore {
  private readonly kept = new Map<string, Kept & { until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxKeys: number,
  ) {}

  async claim(scope: string, key: string, fingerprint: string): Promise<Claim> {
    const id = `${scope}\n${key}`;
    const kept = this.kept.get(id);
    if (kept && kept.until > Date.now()) return judge(kept, fingerprint);
    this.put(id, { f: fingerprint, until: Date.now() + Math.min(IN_FLIGHT_MS, this.ttlMs) });
    return { kind: 'new' };
  }

  async complete(scope: string, key: string, fingerprint: string, body: unknown): Promise<void> {
    this.put(`${scope}\n${key}`, { f: fingerprint, b: body, done: true, until: Date.now() + this.ttlMs });
  }

  async release(scope: string, key: string, fingerprint: string): Promise<void> {
    const id = `${scope}\n${key}`;
    const kept = this.kept.get(id);
    if (kept?.f === fingerprint && !kept.done) this.kept.delete(id);
  }

  private put(id: string, kept: Kept & { until: number }): void {
    this.kept.delete(id); // re-inserted last: the Map's order is the order keys were last written
    this.kept.set(id, kept);
    if (this.kept.size > this.maxKeys) this.kept.delete(this.kept.keys().next().value!);
    this.dropExpired();
  }

  // Answers outlive claims, so the oldest written are not always the first to expire: the sweep
  // stops at the first one still live, and claim() checks the time of what it finds anyway.
  private dropExpired(): void {
    const now = Date.now();
    for (const [id, kept] of this.kept) {
      if (kept.until > now) break;
      this.kept.delete(id);
    }
  }
}
