import { isIPv6 } from 'node:net';

// RFC 1123 labels, 253 characters at most; dotted decimals (an IPv4 address) are labels too.
const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const HOST_PORT = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::([1-9]\d{0,4}))?$/i;

/** Whether a Host header is a plausible `host[:port]`: a hostname, IPv4, or bracketed IPv6 address. */
export function isPlausibleHost(value: string): boolean {
  const match = HOST_PORT.exec(value);
  if (!match) return false;
  const [, ipv6, name, port] = match;
  const hostOk = ipv6 !== undefined ? isIPv6(ipv6) : HOSTNAME.test(name);
  return hostOk && (port === undefined || Number(port) <= 65535);
}

/**
 * The `host[:port]` the document points clients at: the one the client asked for, so the
 * document works through whatever name or proxy it was reached by, unless it is not a plausible
 * host (then the configured HOST and PORT). The answer varies with Host: see the controller.
 */
export function serverHost(requested: string | undefined, config: { host: string; port: number }): string {
  if (requested !== undefined && isPlausibleHost(requested)) return requested;
  const host = isIPv6(config.host) ? `[${config.host}]` : config.host;
  return `${host}:${config.port}`;
}
