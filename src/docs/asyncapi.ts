import type { AppConfig } from '../config/load-config';
import { CLOSE_CODES } from '../gateway/close-codes';
import { examples } from './asyncapi-examples';
import { payloadSchemas, type PayloadSchemas } from './asyncapi-payloads';
import { SERVICE } from './service-info';

/** The settings the protocol's limits come from. */
type ProtocolConfig = Pick<
  AppConfig,
  'wsPath' | 'maxMessageLength' | 'maxRoomsPerConnection' | 'maxPayloadBytes' | 'history' | 'presence'
>;

type MessageKey = keyof PayloadSchemas;

const MESSAGES: Record<MessageKey, { name: string; summary: string; contentType?: string }> = {
  auth: { name: 'auth', summary: 'Authenticate with a JWT, or refresh with a fresh one for the same user.' },
  join: {
    name: 'join',
    summary:
      'Join a room; `name` sets your display name; `since` recovers what you missed; `presence` follows who is in it.',
  },
  leave: { name: 'leave', summary: 'Leave a room.' },
  message: {
    name: 'message',
    summary: 'Send to a room you are in; without `room`, to your current room; with `cid`, acked.',
  },
  history: {
    name: 'history',
    summary: 'Ask for the newest messages of a room you are in, or those before an offset.',
  },
  presence: { name: 'presence', summary: 'Ask for a snapshot of the members of a room you are in.' },
  broadcast: { name: 'broadcast', summary: 'Send to every open connection, yours included.' },
  echo: { name: 'echo', summary: 'Have a message sent back to you alone.' },
  notJson: { name: 'text', summary: 'A text frame that is not JSON.', contentType: 'text/plain' },
  refused: { name: 'refused', summary: 'JSON the server refuses: not an object, no event, bad fields.' },
  binary: { name: 'binary', summary: 'A binary frame.', contentType: 'application/octet-stream' },
  joined: {
    name: 'joined',
    summary:
      "You are in the room: `members` counts its members now; `epoch` and `offset` are the room's position.",
  },
  left: {
    name: 'left',
    summary:
      'You left the room, or were taken out of it (`reason`, and `detail` when the backend gave one); ' +
      '`members` counts those remaining.',
  },
  authenticated: { name: 'authenticated', summary: 'Your token verified: who you are, and until when.' },
  roomMessage: {
    name: 'message',
    summary:
      "A message another member (or, with `origin`, the app's backend) sent to a room you are in, with its " +
      '`offset` in the room.',
  },
  broadcastMessage: {
    name: 'broadcast',
    summary: "A broadcast, from anyone (you included), or, with `origin`, from the app's backend.",
  },
  echoReply: { name: 'echo', summary: 'Your echo, back to you alone.' },
  historyReply: {
    name: 'history',
    summary: "A page of a room's messages, oldest first, each as it was delivered.",
  },
  ack: { name: 'ack', summary: 'Your message with this `cid` has its offset in the room.' },
  reset: {
    name: 'reset',
    summary: 'Continuity in the room was lost: go on from this position, and reload with `history`.',
  },
  presenceSnapshot: {
    name: 'presence',
    summary: "A room's members at `rev`: replace your list with them.",
  },
  presenceDiff: {
    name: 'presence_diff',
    summary:
      'Members who came (`joins`) and went (`leaves`), up to `rev`: apply it over a snapshot with a lower `rev`.',
  },
  error: { name: 'error', summary: 'A frame was refused; nothing changed and the connection stays open.' },
};

// What a client sends, and what may come back to it on the same connection.
const REQUESTS: Record<string, { messages: MessageKey[]; replies: MessageKey[]; summary: string }> = {
  auth: {
    messages: ['auth'],
    replies: ['authenticated', 'left', 'error'],
    summary: 'Authenticate, or refresh (private rooms the new token does not grant are left first)',
  },
  join: {
    messages: ['join'],
    replies: ['joined', 'roomMessage', 'presenceSnapshot', 'error'],
    summary:
      'Join a room: `joined`, then, with `since` and `recovered:true`, the `missed` messages; then, with ' +
      '`presence:true`, a `presence` snapshot (and `presence_diff` frames after it: deliverPresenceDiff)',
  },
  leave: { messages: ['leave'], replies: ['left', 'error'], summary: 'Leave a room' },
  message: {
    messages: ['message'],
    replies: ['ack', 'error'],
    summary:
      'Send a message to a room: its other members get it (deliverMessage); the sender gets an `ack` when ' +
      'it carried a `cid`, else nothing',
  },
  history: {
    messages: ['history'],
    replies: ['historyReply', 'error'],
    summary: "Read a room's history, newest first in pages, each page oldest first",
  },
  presence: {
    messages: ['presence'],
    replies: ['presenceSnapshot', 'error'],
    summary: "Ask for a snapshot of a room's members (a connection that follows the room goes on from it)",
  },
  broadcast: { messages: ['broadcast'], replies: ['broadcastMessage', 'error'], summary: 'Broadcast' },
  echo: { messages: ['echo'], replies: ['echoReply', 'error'], summary: 'Echo' },
  refuse: {
    messages: ['notJson', 'refused', 'binary'],
    replies: ['error'],
    summary: 'Frames the server refuses',
  },
};

// What the server sends.
const DELIVERIES: Record<string, { message: MessageKey; summary: string }> = {
  replyAuthenticated: {
    message: 'authenticated',
    summary: 'Reply to auth, or the first frame after an upgrade that carried a token',
  },
  replyJoined: { message: 'joined', summary: 'Reply to join' },
  replyLeft: { message: 'left', summary: 'Reply to leave' },
  deliverRemoved: {
    message: 'left',
    summary:
      'To each connection of a user the app\'s backend took out of a room (`reason:"removed"`; never in ' +
      'reply to a frame)',
  },
  deliverMessage: {
    message: 'roomMessage',
    summary: "A room's message, to its members but the sender (all of them when the app's backend sent it)",
  },
  deliverBroadcast: { message: 'broadcastMessage', summary: 'A broadcast, to every connection' },
  replyEcho: { message: 'echoReply', summary: 'Reply to echo' },
  replyHistory: { message: 'historyReply', summary: 'Reply to history' },
  replyAck: { message: 'ack', summary: 'Reply to a message with a `cid`, once it has its offset' },
  deliverReset: {
    message: 'reset',
    summary:
      "To a room's members on an instance that lost continuity in the room (never in reply to a frame)",
  },
  replyPresence: {
    message: 'presenceSnapshot',
    summary: 'Reply to presence, and to a join with `presence:true` (after `joined` and any missed messages)',
  },
  deliverPresenceDiff: {
    message: 'presenceDiff',
    summary:
      "To a connection that joined a room with `presence:true`: the room's members who came and went, at most " +
      'one frame per room per PRESENCE_WINDOW_MS (never in reply to a frame)',
  },
  replyError: { message: 'error', summary: 'Reply to a frame refused' },
};

const channel = { $ref: '#/channels/chat' };
const message = (key: MessageKey) => ({ $ref: `#/channels/chat/messages/${key}` });

/**
 * The AsyncAPI 3.0.0 document of the WebSocket protocol, with the running limits; without
 * `servers`, which depends on the request.
 */
export function asyncApiDocument(config: ProtocolConfig): object {
  const payloads = payloadSchemas(config);
  const examplesOf = examples(config);
  const messages = Object.fromEntries(
    (Object.keys(MESSAGES) as MessageKey[]).map((key) => [
      key,
      {
        ...MESSAGES[key],
        payload: payloads[key],
        examples: examplesOf[key].examples,
        ...(examplesOf[key].recipes && { 'x-recipes': examplesOf[key].recipes }),
      },
    ]),
  );
  const receive = Object.entries(REQUESTS).map(([id, op]) => [
    id,
    {
      action: 'receive',
      channel,
      summary: op.summary,
      messages: op.messages.map(message),
      reply: { channel, messages: op.replies.map(message) },
    },
  ]);
  const send = Object.entries(DELIVERIES).map(([id, op]) => [
    id,
    { action: 'send', channel, summary: op.summary, messages: [message(op.message)] },
  ]);
  return {
    asyncapi: '3.0.0',
    info: { title: SERVICE.title, version: SERVICE.version, description: description(config) },
    defaultContentType: 'application/json',
    channels: {
      chat: { address: config.wsPath, title: 'Chat', description: 'One WebSocket per client.', messages },
    },
    operations: Object.fromEntries([...receive, ...send]),
  };
}

function description(config: ProtocolConfig): string {
  const protocol = [
    `${SERVICE.description}. Every frame is a text frame holding one JSON object, in either envelope:`,
    'the tutorial\'s, fields beside `type` (`{"type":"join","room":"room1"}`), or Nest\'s, fields under',
    '`data` (`{"event":"join","data":{"room":"room1"}}`). A connection\'s frames are handled in order and',
    'its replies leave in that order. Every refused frame gets one `error` frame and changes nothing.',
    `A connection may be in ${config.maxRoomsPerConnection} rooms at once (MAX_ROOMS_PER_CONNECTION).`,
    `A frame may be up to ${config.maxPayloadBytes} bytes (MAX_PAYLOAD_BYTES).`,
  ];
  const auth = [
    'Authentication: a JWT in an `auth` frame, or at the upgrade in `Authorization: Bearer <JWT>` or',
    'the subprotocol list `rooms.v1, rooms.token.<JWT>` (the server answers `rooms.v1`, never the token;',
    'a bad token at the upgrade gets HTTP 401). Never in the query string. With AUTH_MODE=jwt every event',
    "but `auth` gets `unauthenticated` until a token verifies. A verified sender's messages carry `user`.",
    'Rooms whose name starts with PRIVATE_ROOM_PREFIX are joined only under a token whose `rooms` claim',
    'grants them (an exact name, or a prefix ending in `*`).',
  ];
  const closes = Object.entries(CLOSE_CODES).map(
    ([code, { when, retry }]) => `${code}: ${when} Retry: ${retry}`,
  );
  const backend = [
    "The app's backend, through its HTTP API under /api/v1 (when API_KEYS is set; see the OpenAPI document",
    'at /docs-json), may send room messages and broadcasts, which carry `"origin":"server"` (no client\'s',
    'frame ever does) and the `from` it chose; take a user out of a room, whose connections there get',
    '`left` with `"reason":"removed"`; and disconnect a user (close 4003 by default).',
  ];
  const recipes = [
    "A client message's `x-recipes` says what each of its examples does: `given` lists the frames",
    'the same connection sends first (each answered), `reply` is the reply (its `type`, and `code` for',
    'an error), or null when none comes. An entry of `given` with a `repeat` count and a `frame` stands',
    'for that many frames, numbered from 1: `{i}` in the strings of the frame is replaced by the number',
    '(`{"repeat":2,"frame":{"type":"join","room":"room-{i}"}}` joins room-1, then room-2).',
  ];
  return [
    protocol.join(' '),
    auth.join(' '),
    continuity(config.history).join(' '),
    presence(config.presence).join(' '),
    backend.join(' '),
    `Close codes. ${closes.join(' ')}`,
    recipes.join(' '),
  ].join('\n\n');
}

/** Positions, recovery, history and acks, with a client's recipe (the README's "Continuity" says more). */
function continuity(history: ProtocolConfig['history']): string[] {
  const kept =
    history.size === 0
      ? 'History is off (HISTORY_SIZE=0): messages still get offsets, but nothing is kept or recovered.'
      : `A room keeps its newest ${history.size} messages (HISTORY_SIZE); its log lasts at least ` +
        `${history.ttlMs} ms after its last message, and as long after its last member left ` +
        `(HISTORY_TTL_MS). A join recovers at most ${history.maxRecover} messages (MAX_RECOVER).`;
  return [
    "Continuity. Every room message has a position in its room: the room's `epoch` (the name of its log,",
    'new whenever the log is lost or started afresh) and an `offset` that goes up by exactly 1 per message,',
    "the same on every instance. `joined` gives the room's latest; each connection then gets the room's",
    'offsets in order, without gaps or repeats, except its own messages, which never come back to it: their',
    'offsets come in their `ack`, when sent with a `cid`. Broadcasts have no offset.',
    kept,
    `A \`cid\` is remembered for ${history.idempotencyTtlMs} ms (IDEMPOTENCY_TTL_MS).`,
    'A client that keeps its place: (1) keeps, per room, the epoch and the highest offset up to which it',
    'has had every one, from `joined`, `message`, `ack` and `reset`; (2) sends every message with a fresh',
    'random `cid` and keeps it until its `ack`; (3) on reconnect, joins with `since` set to that position:',
    '`recovered:true` and the `missed` messages follow, or `recovered:false`: it clears the room and loads',
    'it with `history`; (4) then sends the unacked messages again with the same `cid` (a `duplicate` ack',
    'means one had gone out); (5) on `reset`, does as for `recovered:false`; (6) to scroll back, sends',
    "`history` with `before` set to the oldest offset shown. Replays and history hold the room's messages",
    'as delivered, yours too: match yours by the `id` in their ack. The README\'s "Continuity" section',
    'says more.',
  ];
}

/** Who is in a room: members, the frames, the grace, revs and the client's rule (the README's "Presence" says more). */
function presence(config: ProtocolConfig['presence']): string[] {
  return [
    "Presence. A room's members: an authenticated connection counts as its user (its token's `sub`, as `user`),",
    'however many of its connections are in the room (`connections` counts them); an anonymous connection is',
    'a member of its own (its id, as `conn`). A `join` with `presence:true` gets, after `joined`, a `presence`',
    'snapshot, then `presence_diff` frames as members come and go, until it leaves the room (or joins again',
    'with `presence:false`); `{"type":"presence","room":...}` asks for a snapshot of a room you are in.',
    'Connections that never ask get no presence frame. A member joins when its first connection enters and',
    `leaves when its last one has been gone for ${config.graceMs} ms (PRESENCE_LEAVE_GRACE_MS): one back by`,
    'then makes neither a leave nor a join, and opening or closing an extra tab sends nothing. `rev` goes up',
    'by one with each join or leave. A client replaces its list on every snapshot and applies a diff only if',
    "its `rev` is above the last snapshot's; a diff never comes before the snapshot it follows. Changes within",
    `${config.windowMs} ms (PRESENCE_WINDOW_MS) go out as one diff, each changed member once (in \`joins\` if`,
    'it is there now, in `leaves` if not), and snapshots asked for within it as one frame. A snapshot lists at',
    `most ${config.maxMembers} members (PRESENCE_MAX_MEMBERS), ordered by key, with \`truncated:true\` past`,
    'that; `count` is always exact.',
  ];
}
