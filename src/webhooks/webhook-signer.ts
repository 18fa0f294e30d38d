import { createHash, createHmac, type KeyObject } from 'node:crypto';
import { SERVICE } from '../docs/service-info';

const USER_AGENT = `${SERVICE.title}-webhooks/${SERVICE.version}`;
/** Long enough that two batches never share an id (192 bits), short enough for a receiver's key column. */
const ID_CHARS = 32;

/**
 * The `webhook-id` of a batch: a digest of its events' ids, so the same events get the same id
 * whoever sends them (a retry, or another instance that took over the queue), and other events
 * never do. A receiver can drop a repeat by it.
 */
export function webhookId(eventIds: readonly string[]): string {
  // JSON keeps ['a,b'] and ['a', 'b'] apart, where joining them would not.
  const digest = createHash('sha256').update(JSON.stringify(eventIds)).digest('base64url');
  return `msg_${digest.slice(0, ID_CHARS)}`;
}

/** Signs requests the Standard Webhooks way (https://www.standardwebhooks.com), with every secret. */
export class WebhookSigner {
  constructor(private readonly secrets: readonly KeyObject[]) {
    if (secrets.length === 0) throw new Error('WebhookSigner needs at least one secret');
  }

  /** The headers of one attempt; `nowMs` is its time, so every attempt is signed afresh. */
  headers(id: string, body: string, nowMs = Date.now()): Record<string, string> {
    const timestamp = String(Math.floor(nowMs / 1000));
    const signed = `${id}.${timestamp}.${body}`;
    const signatures = this.secrets.map(
      (key) => `v1,${createHmac('sha256', key).update(signed).digest('base64')}`,
    );
    return {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'webhook-id': id,
      'webhook-timestamp': timestamp,
      'webhook-signature': signatures.join(' '),
    };
  }
}
