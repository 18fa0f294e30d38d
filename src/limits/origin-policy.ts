/**
 * ALLOWED_ORIGINS: which pages may open a WebSocket here. Entries are exact origins
 * (`https://chat.example.com`) or subdomain wildcards (`https://*.example.com`), compared on the
 * parsed origin (scheme, host, port, a default port dropped), never as text: a look-alike such as
 * `https://example.com.evil.net` parses to another host. A wildcard stands for one or more labels,
 * so `*.example.com` takes `a.example.com` and `a.b.example.com` but not `example.com` itself.
 */

// What an entry may look like before the URL parser has its say: a scheme, a host (a `*.` in
// front for a wildcard) and an optional port, nothing after but an optional trailing slash.
const ENTRY = /^(https?):\/\/(\*\.)?([^/?#@*\s]+)\/?$/i;
// Stands for the wildcard's label while the URL parser checks and normalises the rest of the host.
const LABEL = 'wildcard';

interface Wildcard {
  /** `https:`, as URL.protocol writes it. */
  readonly protocol: string;
  /** '' for the scheme's default port. */
  readonly port: string;
  /** `.example.com`: what a matching host ends with. */
  readonly suffix: string;
}

type Parsed = { exact: string } | { wildcard: Wildcard } | { problem: string };

/** Why an ALLOWED_ORIGINS entry is not an origin, or undefined when it is one. */
export function originProblem(entry: string): string | undefined {
  const parsed = parseEntry(entry);
  return 'problem' in parsed ? parsed.problem : undefined;
}

export class OriginPolicy {
  private readonly exact = new Set<string>();
  private readonly wildcards: Wildcard[] = [];

  /** `entries` are valid (see originProblem); a bad one throws. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const parsed = parseEntry(entry);
      if ('problem' in parsed) throw new Error(`ALLOWED_ORIGINS: ${parsed.problem}`);
      if ('exact' in parsed) this.exact.add(parsed.exact);
      else this.wildcards.push(parsed.wildcard);
    }
  }

  /** Whether a page of `origin` (an Origin header's value) may connect; `null` and garbage may not. */
  allows(origin: string): boolean {
    const url = parseUrl(origin);
    // Non-http(s) schemes (`null`, file:, extensions) have an opaque origin, written "null".
    if (!url || url.origin === 'null') return false;
    if (this.exact.has(url.origin)) return true;
    const host = url.hostname;
    return this.wildcards.some(
      (w) =>
        w.protocol === url.protocol &&
        w.port === url.port &&
        host.length > w.suffix.length &&
        host.endsWith(w.suffix),
    );
  }
}

function parseEntry(entry: string): Parsed {
  const shape = ENTRY.exec(entry);
  if (!shape) {
    return {
      problem: `"${entry}" is not an origin: write scheme://host[:port] (http or https), with * only as a whole first label (https://*.example.com)`,
    };
  }
  const [, scheme, star, rest] = shape;
  const url = parseUrl(`${scheme}://${star ? `${LABEL}.` : ''}${rest}`);
  if (!url) return { problem: `"${entry}" does not parse as an origin` };
  if (!star) return { exact: url.origin };
  // (`*.` before an IP address did not parse: a host ending in a number must be all IPv4.)
  return { wildcard: { protocol: url.protocol, port: url.port, suffix: url.hostname.slice(LABEL.length) } };
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
