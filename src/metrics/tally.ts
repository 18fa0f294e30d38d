/** One counter series as a plain number: what the hot path adds to, and its metric reads when scraped. */
export class Tally {
  value = 0;
}

/** A Tally per label value, made once, so counting never looks a label up by building a key. */
export function tallies<L extends string>(labels: readonly L[]): Record<L, Tally> {
  return Object.fromEntries(labels.map((label) => [label, new Tally()])) as Record<L, Tally>;
}
