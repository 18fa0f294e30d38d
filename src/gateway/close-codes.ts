/** WebSocket close codes the server sends (RFC 6455, section 7.4.1; 4000-4999 are ours). */
export const CLOSE_GOING_AWAY = 1001;
/** Sent by ws itself when a frame exceeds maxPayload (MAX_PAYLOAD_BYTES). */
export const CLOSE_TOO_BIG = 1009;
/** The token failed verification. Retry only with another token. */
export const CLOSE_INVALID_TOKEN = 4001;
/** The token expired (or was expired when sent). Retry with a fresh token. */
export const CLOSE_TOKEN_EXPIRED = 4002;
/** A refresh named another user. Do not retry with the same token. */
export const CLOSE_FORBIDDEN = 4003;
/** AUTH_MODE=jwt and no token came within AUTH_TIMEOUT_MS. Retry, authenticating at once. */
export const CLOSE_AUTH_TIMEOUT = 4008;
/** The connection went on sending over its frame rate limit. Retry later, more slowly. */
export const CLOSE_RATE_LIMITED = 4029;
