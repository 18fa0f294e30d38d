/** WebSocket close codes the server sends (RFC 6455 section 7.4.1; 4000-4999 are ours). */
export const CLOSE_GOING_AWAY = 1001;
/** Sent by ws itself, as the standard requires, like 1009. */
export const CLOSE_INVALID_UTF8 = 1007;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_INVALID_TOKEN = 4001;
export const CLOSE_TOKEN_EXPIRED = 4002;
export const CLOSE_FORBIDDEN = 4003;
export const CLOSE_AUTH_TIMEOUT = 4008;
export const CLOSE_RATE_LIMITED = 4029;

/** When each is sent and what a client should do: the table the AsyncAPI document is built from. */
export const CLOSE_CODES: Record<number, { when: string; retry: string }> = {
  [CLOSE_GOING_AWAY]: {
    when: 'The server is shutting down.',
    retry: 'Reconnect (to another instance, or after a moment).',
  },
  [CLOSE_INVALID_UTF8]: {
    when: 'A text frame was not valid UTF-8.',
    retry: 'Fix the client; reconnecting sends the same bytes.',
  },
  [CLOSE_TOO_BIG]: {
    when: 'A frame was over MAX_PAYLOAD_BYTES.',
    retry: 'Send smaller frames; do not resend that one.',
  },
  [CLOSE_INVALID_TOKEN]: {
    when: 'A token failed verification (`invalid_token`).',
    retry: 'Only with another token.',
  },
  [CLOSE_TOKEN_EXPIRED]: {
    when: 'The token expired, when sent or later (`token_expired`).',
    retry: 'With a fresh token.',
  },
  [CLOSE_FORBIDDEN]: {
    when:
      "A refresh named another user (`forbidden`); or the app's backend disconnected the user " +
      '(POST /api/v1/users/:sub/disconnect), with the reason it gave (default "disconnected"). The backend ' +
      'may choose 1000 or any code of 4000-4999 instead.',
    retry:
      "After a refresh: not with the same tokens. After the backend's: as your app decides (a valid " +
      'token still connects).',
  },
  [CLOSE_AUTH_TIMEOUT]: {
    when: 'AUTH_MODE=jwt and no token within AUTH_TIMEOUT_MS (`unauthenticated`).',
    retry: 'Yes, authenticating at once.',
  },
  [CLOSE_RATE_LIMITED]: {
    when: 'The connection went on sending over its frame rate limit (`rate_limited`).',
    retry: 'Later, and more slowly.',
  },
};
