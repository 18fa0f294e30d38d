/** WebSocket close codes the server sends (RFC 6455, section 7.4.1). */
export const CLOSE_GOING_AWAY = 1001;
/** Sent by ws itself when a frame exceeds maxPayload (MAX_PAYLOAD_BYTES). */
export const CLOSE_TOO_BIG = 1009;
