import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SECRET } from './tokens';

const RECIPE = join(__dirname, '..', '..', 'examples', 'verify-webhook.js');

/** The README's recipe for verifying a webhook without a library (examples/verify-webhook.js, shown in full there). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const { verifyWebhook } = require(RECIPE) as {
  verifyWebhook(secret: string, headers: IncomingHttpHeaders, body: string, nowMs?: number): boolean;
};

/** The recipe as the README must show it. */
export const recipeText = () => readFileSync(RECIPE, 'utf8');

/** Two live signing secrets, as during a rotation. */
export const WEBHOOK_SECRETS = [0, 1].map(() => `whsec_${randomBytes(32).toString('base64')}`);
export const WEBHOOK_API_KEY = 'webhook-suite-key-0123456789abcdef';

/** What the webhook suites run with, sending to `urls`: a short grace, open mode, and the API. */
export const webhookEnv = (urls: URL[], env: Record<string, string> = {}) => ({
  WEBHOOK_URL: urls.map(String).join(','),
  WEBHOOK_SECRET: WEBHOOK_SECRETS.join(','),
  PRESENCE_LEAVE_GRACE_MS: '300',
  AUTH_MODE: 'open',
  JWT_SECRET: SECRET,
  API_KEYS: `suite:${WEBHOOK_API_KEY}:publish,read,control`,
  RATE_LIMIT_FRAMES_PER_S: '0',
  ...env,
});

/** Throws unless the request verifies with `secret`, as a receiver using the standardwebhooks library checks it. */
export function verify(secret: string, body: string, headers: IncomingHttpHeaders): unknown {
  return new Webhook(secret).verify(body, headers as Record<string, string>);
}
