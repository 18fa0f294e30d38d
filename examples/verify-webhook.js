// Verifies a webhook from rooms-service (Standard Webhooks): node:crypto alone, no dependency.
const { createHmac, timingSafeEqual } = require('node:crypto');

/** WEBHOOK_SECRET's bytes: `whsec_<base64>`, or any other secret as its UTF-8 bytes. */
const keyOf = (secret) =>
  secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');

/** True when `body` (the raw request body, a string) was signed with `secret` in the last 5 minutes. */
function verifyWebhook(secret, headers, body, nowMs = Date.now()) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  if (!id || !timestamp || Math.abs(nowMs / 1000 - Number(timestamp)) > 300) return false;
  const expected = createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest();
  return String(headers['webhook-signature'] ?? '')
    .split(' ')
    .some((signature) => {
      const given = Buffer.from(signature.slice(3), 'base64');
      return signature.startsWith('v1,') && given.length === expected.length && timingSafeEqual(given, expected);
    });
}

module.exports = { verifyWebhook };
