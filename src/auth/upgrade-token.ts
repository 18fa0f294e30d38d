import type { IncomingMessage } from 'node:http';

/** The subprotocol the server answers with when a client offers it. */
const SUBPROTOCOL = 'rooms.v1';
/** A token offered as a subprotocol: `rooms.v1, rooms.token.<JWT>`. */
const TOKEN_PROTOCOL = 'rooms.token.';
const BEARER = /^Bearer +(\S+) *$/i;

/** The token an upgrade carries, none, or why what it carries is not one token. */
type UpgradeToken = { token: string } | { problem: string } | undefined;

/**
 * From `Authorization: Bearer <JWT>` or the subprotocol list, never the query string (which
 * proxies and access logs keep). Two tokens, or an Authorization header of another scheme,
 * are refused rather than guessed at.
 */
export function upgradeToken(req: IncomingMessage): UpgradeToken {
  const authorization = req.headers.authorization;
  const offered = protocolTokens(req.headers['sec-websocket-protocol']);
  if (authorization === undefined && offered.length === 0) return undefined;
  if (offered.length > 1 || (authorization !== undefined && offered.length > 0)) {
    return { problem: 'The upgrade carries more than one token' };
  }
  if (authorization === undefined) return { token: offered[0] };
  const bearer = BEARER.exec(authorization);
  return bearer ? { token: bearer[1] } : { problem: 'Authorization must be "Bearer <token>"' };
}

/**
 * ws's handleProtocols: `rooms.v1` when offered, else the first offered that is not a token,
 * so a token is never echoed back in the response.
 */
export function chooseProtocol(protocols: Set<string>): string | false {
  if (protocols.has(SUBPROTOCOL)) return SUBPROTOCOL;
  for (const protocol of protocols) if (!protocol.startsWith(TOKEN_PROTOCOL)) return protocol;
  return false;
}

function protocolTokens(header: string | undefined): string[] {
  if (header === undefined || !header.includes(TOKEN_PROTOCOL)) return [];
  return header
    .split(',')
    .map((protocol) => protocol.trim())
    .filter((protocol) => protocol.startsWith(TOKEN_PROTOCOL))
    .map((protocol) => protocol.slice(TOKEN_PROTOCOL.length));
}
