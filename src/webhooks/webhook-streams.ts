import { createHash } from 'node:crypto';
import type { WebhookConfig } from './webhook-config';
import type { WebhookEventName } from './webhook-event';

/**
 * An endpoint's name in Redis keys: a digest of its URL, the same on every instance that
 * lists it, whatever its position in WEBHOOK_URL, and with no secret of the URL in it.
 */
export const endpointKey = (url: URL) =>
  createHash('sha256').update(url.href).digest('base64url').slice(0, 16);

/** An endpoint's stream of events waiting for it, in the registry's slot (`{prefix}`). */
export const streamKey = (prefix: string, url: URL) => `{${prefix}}:wh:${endpointKey(url)}`;

/** The hash of events dropped per endpoint key, because its stream was full. */
export const droppedKey = (prefix: string) => `{${prefix}}:wh:dropped`;

// The letters the presence scripts know the events they make by (redis-presence.scripts.ts).
const KINDS: Partial<Record<WebhookEventName, string>> = {
  room_occupied: 'o',
  room_vacated: 'v',
  member_joined: 'j',
  member_left: 'l',
};

/**
 * What the presence scripts need to make webhook events: `<queue size> <kinds>:<endpoint
 * key> ...` for each endpoint taking some of their events; '' for none.
 */
export function webhookSpec(config: WebhookConfig | undefined): string {
  const parts = (config?.endpoints ?? [])
    .map(({ url, events }) => [events.map((name) => KINDS[name] ?? '').join(''), endpointKey(url)])
    .filter(([kinds]) => kinds !== '')
    .map(([kinds, key]) => `${kinds}:${key}`);
  return parts.length === 0 ? '' : `${config!.queueSize} ${parts.join(' ')}`;
}
