/** Every event a webhook can carry; WEBHOOK_EVENTS picks among them. */
export const WEBHOOK_EVENT_NAMES = [
  'room_occupied',
  'room_vacated',
  'member_joined',
  'member_left',
  'message',
] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENT_NAMES)[number];

/** Sent when WEBHOOK_EVENTS is unset: `message` is opt-in, since it is by far the busiest. */
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEventName[] = WEBHOOK_EVENT_NAMES.filter(
  (name) => name !== 'message',
);

/** Why a member left, as `member_left` says in its `reason`. */
export const MEMBER_LEFT_REASONS = ['left', 'closed', 'removed', 'disconnected', 'instance_lost'] as const;
export type MemberLeftReason = (typeof MEMBER_LEFT_REASONS)[number];

/**
 * One event as the body's `events` list carries it. `id` is unique per event, and what a
 * batch's `webhook-id` is derived from; fields past these are the generator's business.
 */
export interface WebhookEvent {
  id: string;
  name: WebhookEventName;
  room: string;
  /** Unix milliseconds. */
  ts: number;
  [field: string]: unknown;
}

/**
 * Where events go as they happen, on one instance (no REDIS_URL): the webhook queues. In
 * cluster mode the presence scripts write room and member events to Redis themselves.
 * `fields` are the event's own, past id, name, room and ts.
 */
export type EventSink = (name: WebhookEventName, room: string, fields?: Record<string, unknown>) => void;

/** A member as events name it: `user` or `conn`, and `member_name`. */
export const memberFields = (info: { name: string; user?: string; conn?: string }) =>
  info.user === undefined
    ? { conn: info.conn, member_name: info.name }
    : { user: info.user, member_name: info.name };
