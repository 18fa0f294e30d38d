/** A connection still over its frame limit this long after it first went over is closed (4029). */
export const FLOOD_CLOSE_MS = 10_000;
/**
 * A refusal this long after the one before starts a new streak: a flooder is refused every few
 * milliseconds, while a client that slowed down below the rate is refused only when a burst of
 * its own (a rejoin) finds the bucket not yet refilled.
 */
export const STREAK_GAP_MS = 1000;

const NOT_OVER = -1;

/**
 * One connection's frame budget: all an idle connection pays for the limit is these four
 * numbers. Tokens are refilled when a frame comes, from the time of the last one, so there
 * is no timer and taking a token allocates nothing.
 */
export class TokenBucket {
  /** When the current streak over the limit began; NOT_OVER between streaks. */
  overSince = NOT_OVER;
  /** When a frame was last refused. */
  refusedAt = NOT_OVER;

  constructor(
    public tokens: number,
    /** Milliseconds on the clock the rule is given (performance.now()). */
    public at: number,
  ) {}
}

/** The rule every connection's bucket follows: `perSecond` tokens a second, at most `burst` saved up. */
export class TokenBucketRule {
  private readonly perMs: number;

  constructor(
    perSecond: number,
    private readonly burst: number,
  ) {
    this.perMs = perSecond / 1000;
  }

  /** A full bucket. */
  bucket(now: number): TokenBucket {
    return new TokenBucket(this.burst, now);
  }

  /**
   * Takes a token for one frame: 0 when there was one, else the milliseconds until there will
   * be (the frame is refused and takes nothing). A bucket that has refilled to full ends the
   * streak over the limit; a refusal outside a streak, or more than STREAK_GAP_MS after the
   * one before, starts one.
   */
  take(bucket: TokenBucket, now: number): number {
    const tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    if (tokens === this.burst) bucket.overSince = NOT_OVER;
    if (tokens >= 1) {
      bucket.tokens = tokens - 1;
      return 0;
    }
    bucket.tokens = tokens;
    if (bucket.overSince === NOT_OVER || now - bucket.refusedAt > STREAK_GAP_MS) bucket.overSince = now;
    bucket.refusedAt = now;
    return Math.ceil((1 - tokens) / this.perMs);
  }

  /** Whether the bucket has been over the limit for FLOOD_CLOSE_MS, refused all along with no gap past STREAK_GAP_MS. */
  flooding(bucket: TokenBucket, now: number): boolean {
    return bucket.overSince !== NOT_OVER && now - bucket.overSince >= FLOOD_CLOSE_MS;
  }
}
