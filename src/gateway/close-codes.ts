/**
 * Every close code the server sends (RFC 6455 section 7.4.1; 4000-4999 are ours), with when it
 * is sent and what a client should do: the README's and the AsyncAPI document's table.
 */
export const CLOSE_CODES = {
  1001: { when: 'The server is shutting down.', retry: 'Reconnect (to another instance, or after a moment).' },
  1007: { when: 'A text frame was not valid UTF-8.', retry: 'Fix the client; reconnecting sends the same bytes.' },
  1009: { when: 'A frame was over MAX_PAYLOAD_BYTES.', retry: 'Send smaller frames; do not resend that one.' },
  4001: { when: 'A token failed verification (`invalid_token`).', retry: 'Only with another token.' },
  4002: { when: 'The token expired, when sent or later (`token_expired`).', retry: 'With a fresh token.' },
  4003: { when: 'A refresh named another user (`forbidden`).', retry: 'Not with the same tokens.' },
  4008: { when: 'AUTH_MODE=jwt and no token within AUTH_TIMEOUT_MS (`unauthenticated`).', retry: 'Yes, authenticating at once.' },
  4029: { when: 'The connection went on sending over its frame rate limit (`rate_limited`).', retry: 'Later, and more slowly.' },
} as const;

export const CLOSE_GOING_AWAY = 1001;
/** Sent by ws itself, like 1007. */
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_INVALID_TOKEN = 4001;
export const CLOSE_TOKEN_EXPIRED = 4002;
export const CLOSE_FORBIDDEN = 4003;
export const CLOSE_AUTH_TIMEOUT = 4008;
export const CLOSE_RATE_LIMITED = 4029;
