/** How long to wait before attempt `failures + 1`: a random time up to a doubling cap ("full jitter"). */
export function backoffMs(failures: number, baseMs: number, maxMs: number, random = Math.random): number {
  // Full jitter spreads the retries of endpoints that failed together, so they don't return together.
  return random() * Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
}

/** Whether a response with this status is worth sending again: the receiver may take it later. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * The wait a Retry-After header asks for, in ms: delay-seconds or an HTTP-date (RFC 9110
 * section 10.2.3). Undefined when absent or unreadable.
 */
export function retryAfterMs(header: string | null, nowMs = Date.now()): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Date.parse reads nearly anything ('1.5' is a day in 2001); an HTTP-date starts with its weekday.
  const date = /^[A-Za-z]{3}/.test(text) ? Date.parse(text) : NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
