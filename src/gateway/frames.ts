/** Every frame of the wire protocol: decoding what clients send, building what the server sends. */

import { FRAME_TEXT } from './message-json';

/** Every error code a client may get (the AsyncAPI document and the metrics list them from here). */
export const ERROR_CODES = [
  'invalid_json',
  'invalid_payload',
  'unknown_event',
  'not_in_room',
  'too_many_rooms',
  'unsupported_frame',
  'internal',
  'unauthenticated',
  'invalid_token',
  'token_expired',
  'forbidden',
  'rate_limited',
  'unavailable',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorDetail {
  field: string;
  rule: string;
  message: string;
}

export interface ErrorFrame {
  type: 'error';
  code: ErrorCode;
  message: string;
  event?: string;
  details?: ErrorDetail[];
  /** With rate_limited: when a frame would next be accepted. */
  retryAfterMs?: number;
  /** With a message that carried one: the client's id for it. */
  cid?: string;
}

/** `recovered` and `missed` only answer a join with `since`. */
export interface JoinedFrame {
  type: 'joined';
  room: string;
  members: number;
  epoch: string;
  offset: number;
  recovered?: boolean;
  missed?: number;
}

export interface AckFrame {
  type: 'ack';
  cid: string;
  room: string;
  offset: number;
  id: string;
  ts: number;
  duplicate?: true;
}

export type ReplyFrame =
  | JoinedFrame
  | AckFrame
  | {
      type: 'left';
      room: string;
      members: number;
      reason?: 'permission_revoked' | 'removed';
      detail?: string;
    }
  | { type: 'echo'; message: string }
  | { type: 'authenticated'; user: string; name: string; exp: number; ttl: number }
  | ErrorFrame;

/** A client frame after either envelope has been taken off. */
export interface InboundFrame {
  event: string;
  data: FrameFields;
}

/** The fields events read, and the frame's text (for message-json.ts). */
export type FrameFields = Record<string, unknown> & { [FRAME_TEXT]?: string };

export type Decoded = { ok: true; frame: InboundFrame } | { ok: false; error: ErrorFrame };

/** The `message` of each code's error frame, unless the frame says more. */
export const DEFAULT_MESSAGES: Record<ErrorCode, string> = {
  invalid_json: 'The frame is not valid JSON',
  invalid_payload: 'The frame does not have the fields this event needs',
  unknown_event: 'There is no such event',
  not_in_room: 'You are not in that room',
  too_many_rooms: 'You are in as many rooms as a connection may be; leave one first',
  unsupported_frame: 'Binary frames are not supported; send JSON as text',
  internal: 'The server failed to handle this frame',
  unauthenticated: 'Authenticate first: send {"type":"auth","token":"<JWT>"}',
  invalid_token: 'The token is not valid',
  token_expired: 'The token has expired; connect again with a fresh one',
  forbidden: 'You may not do that',
  rate_limited: 'Too many frames; slow down',
  unavailable: 'The server cannot do this right now; try again shortly',
};

export function errorFrame(
  code: ErrorCode,
  extra: {
    event?: string;
    message?: string;
    details?: ErrorDetail[];
    retryAfterMs?: number;
    cid?: string;
  } = {},
): ErrorFrame {
  const frame: ErrorFrame = { type: 'error', code, message: extra.message ?? DEFAULT_MESSAGES[code] };
  if (extra.event !== undefined) frame.event = extra.event;
  if (extra.details !== undefined) frame.details = extra.details;
  if (extra.retryAfterMs !== undefined) frame.retryAfterMs = extra.retryAfterMs;
  if (extra.cid !== undefined) frame.cid = extra.cid;
  return frame;
}

/** The join took effect at `at`; with `since`, whether the `missed` messages that follow are all there were. */
export function joinedFrame(
  room: string,
  members: number,
  at: { epoch: string; offset: number },
  recovery?: { recovered: boolean; missed: number },
): JoinedFrame {
  const frame: JoinedFrame = { type: 'joined', room, members, epoch: at.epoch, offset: at.offset };
  if (recovery) {
    frame.recovered = recovery.recovered;
    if (recovery.recovered) frame.missed = recovery.missed;
  }
  return frame;
}

/** The message with `cid` has its place in the room's log (`duplicate`: it had it already). */
export function ackFrame(
  cid: string,
  room: string,
  first: { offset: number; id: string; ts: number },
  duplicate: boolean,
): AckFrame {
  const frame: AckFrame = { type: 'ack', cid, room, offset: first.offset, id: first.id, ts: first.ts };
  if (duplicate) frame.duplicate = true;
  return frame;
}

/** Continuity in `room` was lost here: what follows goes on from `offset` in `epoch`. */
export const resetJson = (room: string, epoch: string, offset: number) =>
  `{"type":"reset","room":${JSON.stringify(room)},"epoch":${JSON.stringify(epoch)},"offset":${offset}}`;

type HistoryPage = { epoch: string; offset: number; frames: readonly string[]; more: boolean };

/** A history page's fields: each of `frames` is a message frame as it was delivered, kept as JSON. */
const historyFields = (room: string, page: HistoryPage) =>
  `"room":${JSON.stringify(room)},"epoch":${JSON.stringify(page.epoch)},"offset":${page.offset},"messages":[${page.frames.join(',')}],"more":${page.more}`;
/** A history page as the `history` frame. */
export const historyJson = (room: string, page: HistoryPage) =>
  `{"type":"history",${historyFields(room, page)}}`;
/** A history page as GET /api/v1/rooms/:name/messages answers it: the frame's fields but its type. */
export const historyBodyJson = (room: string, page: HistoryPage) => `{${historyFields(room, page)}}`;
export const leftFrame = (room: string, members: number): ReplyFrame => ({ type: 'left', room, members });
export const echoFrame = (message: string): ReplyFrame => ({ type: 'echo', message });
/** Taken out of the room by the app's backend (DELETE /api/v1/rooms/:name/members/:sub), with its words if it gave some. */
export const removedFrame = (room: string, members: number, detail?: string): ReplyFrame =>
  detail === undefined
    ? { type: 'left', room, members, reason: 'removed' }
    : { type: 'left', room, members, reason: 'removed', detail };
/** Left because a refreshed token no longer allows the room. */
export const revokedFrame = (room: string, members: number): ReplyFrame => ({
  type: 'left',
  room,
  members,
  reason: 'permission_revoked',
});
/** `exp` in epoch seconds; `ttl` the whole seconds left until then. */
export const authenticatedFrame = (
  user: string,
  name: string,
  exp: number,
  now = Date.now(),
): ReplyFrame => ({
  type: 'authenticated',
  user,
  name,
  exp,
  ttl: Math.max(0, Math.floor(exp - now / 1000)),
});

/**
 * The sender's fields of a message, `"from":"...","user":"..."` (`user` only for a verified
 * sender), as JSON.stringify writes them: made when the sender's name or identity changes,
 * not per message.
 */
export const senderJson = (from: string, user: string | undefined) =>
  user === undefined
    ? `"from":${JSON.stringify(from)}`
    : `"from":${JSON.stringify(from)},"user":${JSON.stringify(user)}`;

/** The sender fields of a message or broadcast the app's backend sent: no client's frame has `origin`. */
export const serverSenderJson = (from: string) => `"origin":"server","from":${JSON.stringify(from)}`;

// Built as text around the message's JSON, which may come straight from the frame that carried
// it (see message-json.ts); each is what JSON.stringify makes of the same object.
/** A room message frame up to its offset's value: the log appends the offset and the closing brace. */
export const roomMessageHead = (room: string, messageJson: string, sender: string, id: string, ts: number) =>
  `{"type":"message","room":${JSON.stringify(room)},"message":${messageJson},${sender},"id":${JSON.stringify(id)},"ts":${ts},"offset":`;

const OFFSET_KEY = ',"offset":';
/** The frame of a message that has no place in the room's log (cluster mode, Redis away): no offset. */
export const unpositionedJson = (head: string) => head.slice(0, -OFFSET_KEY.length) + '}';

export const broadcastJson = (messageJson: string, sender: string, id: string, ts: number) =>
  `{"type":"broadcast","message":${messageJson},${sender},"id":${JSON.stringify(id)},"ts":${ts}}`;

/**
 * The fields events read: those their DTOs declare (gateway-events.spec holds the two lists
 * together). Anything else in a frame is ignored: never copied, never walked.
 */
export const DECODED_FIELDS = [
  'room',
  'name',
  'message',
  'token',
  'since',
  'cid',
  'before',
  'limit',
  'presence',
] as const;
// Fields are strings and numbers, and `since` an object of two: any other nested value can
// only fail validation, so a small stand-in fails it the same way without the validator
// walking (or copying) a hostile structure.
const NESTED = Object.freeze({});

/**
 * Accepts both envelopes: the tutorial's flat `{"type":"join","room":"..."}` and Nest's
 * `{"event":"join","data":{...}}`; a frame with a string `type` is read as the tutorial's.
 * Valid JSON that is not an object (`[]`, `null`, `"hi"`, `1`) is `invalid_payload`:
 * the text parsed, it is the shape that is wrong.
 */
export function decodeFrame(text: string): Decoded {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, error: errorFrame('invalid_json') };
  }
  if (!isObject(parsed)) {
    return invalid('(frame)', 'isObject', 'A frame must be a JSON object');
  }
  if (typeof parsed.type === 'string')
    return { ok: true, frame: { event: parsed.type, data: fieldsOf(parsed, text) } };
  if (Object.hasOwn(parsed, 'event')) {
    const { event, data = {} } = parsed;
    if (typeof event !== 'string') return invalid('event', 'isString', 'event must be a string');
    if (!isObject(data)) return invalid('data', 'isObject', 'data must be a JSON object', event);
    return { ok: true, frame: { event, data: fieldsOf(data, text) } };
  }
  return invalid('type', 'isString', 'A frame needs a string "type" (or "event")');
}

function fieldsOf(source: Record<string, unknown>, text: string): FrameFields {
  // A symbol key: copied into the DTO by the fast validator's Object.assign, never validated.
  const data: FrameFields = { [FRAME_TEXT]: text };
  for (const field of DECODED_FIELDS) {
    if (!Object.hasOwn(source, field)) continue;
    const value = source[field];
    data[field] = typeof value === 'object' && value !== null ? nested(field, value) : value;
  }
  return data;
}

/** `since` keeps its own two fields, if they are not objects themselves; anything else nested is NESTED. */
function nested(field: string, value: object): object {
  if (field !== 'since' || Array.isArray(value)) return NESTED;
  const position: Record<string, unknown> = {};
  for (const key of ['epoch', 'offset']) {
    const inner = Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
    if (inner !== undefined) position[key] = typeof inner === 'object' && inner !== null ? NESTED : inner;
  }
  return position;
}

function invalid(field: string, rule: string, message: string, event?: string): Decoded {
  return {
    ok: false,
    error: errorFrame('invalid_payload', { event, message, details: [{ field, rule, message }] }),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
