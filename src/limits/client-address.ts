import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

const MAPPED_V4 = '::ffff:';

/** Why a TRUSTED_PROXIES entry is not an address or CIDR, or undefined when it is one. */
export function proxyProblem(entry: string): string | undefined {
  try {
    addTo(new BlockList(), entry);
    return undefined;
  } catch {
    return `"${entry}" is not an IPv4 or IPv6 address or CIDR (10.0.0.0/8, fd00::/8)`;
  }
}

/**
 * Whose address an upgrade counts against. The peer's, unless the peer is a trusted proxy
 * (TRUSTED_PROXIES): then X-Forwarded-For is read from the right, each hop appended by the one
 * after it, and the first address that is not itself a trusted proxy is the client. What lies to
 * the left of that the client wrote itself, so it is never believed.
 */
export class ClientAddress {
  private readonly trusted: BlockList | undefined;

  /** `proxies` are valid (see proxyProblem); a bad one throws. */
  constructor(proxies: readonly string[]) {
    if (proxies.length === 0) return;
    this.trusted = new BlockList();
    for (const entry of proxies) addTo(this.trusted, entry);
  }

  of(req: IncomingMessage): string {
    const peer = normalise(req.socket.remoteAddress ?? '');
    const forwarded = req.headers['x-forwarded-for'];
    if (!forwarded || !this.isTrusted(peer)) return peer;
    // Node joins repeated headers with ", " (String() an array with ","): the hops stay in order.
    const hops = String(forwarded).split(',');
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hopAddress(hops[i]);
      // An unreadable hop: the last address we can name is that of the proxy that passed it on.
      if (hop === undefined) return client;
      client = hop;
      if (!this.isTrusted(hop)) return hop;
    }
    return client; // every hop a proxy of ours: the first of them
  }

  private isTrusted(address: string): boolean {
    const family = isIP(address);
    return (
      family !== 0 &&
      this.trusted !== undefined &&
      this.trusted.check(address, family === 4 ? 'ipv4' : 'ipv6')
    );
  }
}

/** An IPv4 peer of a dual-stack socket reads `::ffff:1.2.3.4`; it counts as 1.2.3.4 either way. */
export function normalise(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith(MAPPED_V4) && isIP(lower.slice(MAPPED_V4.length)) === 4
    ? lower.slice(MAPPED_V4.length)
    : lower;
}

// Some proxies write a port too: `1.2.3.4:5678`, `[2001:db8::1]:5678`.
function hopAddress(hop: string): string | undefined {
  const text = hop.trim();
  const bare = isIP(text)
    ? text
    : (/^\[([^\]]+)\](?::\d+)?$/.exec(text)?.[1] ?? /^([\d.]+):\d+$/.exec(text)?.[1]);
  return bare !== undefined && isIP(bare) ? normalise(bare) : undefined;
}

function addTo(list: BlockList, entry: string): void {
  const [address, prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) throw new Error(`not an address: ${entry}`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (prefix === undefined) return list.addAddress(address, type);
  if (!/^\d{1,3}$/.test(prefix)) throw new Error(`not a prefix length: ${entry}`);
  list.addSubnet(address, Number(prefix), type); // throws past 32 (IPv4) or 128 (IPv6)
}
