import { DETAIL_MAX_LENGTH } from '../api/dto/control.dto';
import type { AppConfig } from '../config/load-config';
import { HISTORY_MAX_LIMIT } from '../gateway/dto/history.dto';
import { NAME_MAX_LENGTH, NAME_PATTERN } from '../gateway/dto/join.dto';
import { EPOCH_PATTERN } from '../gateway/dto/position-field';
import { CID_PATTERN } from '../gateway/dto/text.dto';
import { DEFAULT_MESSAGES, ERROR_CODES } from '../gateway/frames';
import { SUB_MAX_LENGTH } from '../auth/identity';
import { ROOM_NAME_MAX_LENGTH, ROOM_NAME_PATTERN, ROOM_NAME_RULE } from '../rooms/room-name';

/** A JSON Schema (AsyncAPI's default schema format is a superset of draft 07). */
type Schema = Record<string, unknown>;

/** The JSON Schema of every frame, built from the rules the gateway enforces and the running limits. */
export function payloadSchemas(config: Pick<AppConfig, 'maxMessageLength' | 'presence'>) {
  const room: Schema = {
    type: 'string',
    minLength: 1,
    maxLength: ROOM_NAME_MAX_LENGTH,
    pattern: ROOM_NAME_PATTERN.source,
    description: `${ROOM_NAME_RULE}; used exactly as given.`,
  };
  const name: Schema = {
    type: 'string',
    minLength: 1,
    maxLength: NAME_MAX_LENGTH,
    pattern: NAME_PATTERN.source,
    description:
      'Display name, kept until a later join changes it. Characters are Unicode code points; none may be ' +
      'in the general categories Cc (control characters), Cf (invisible format characters such as the ' +
      'zero-width space and bidi overrides), Zl or Zp (line and paragraph separators), except U+200D, ' +
      'the zero-width joiner of emoji sequences. `pattern` says the same as an ECMAScript regular ' +
      'expression for the `u` (Unicode) flag, which its `\\p{…}` property escapes need.',
  };
  const message: Schema = {
    type: 'string',
    minLength: 1,
    maxLength: config.maxMessageLength,
    description: `1 to ${config.maxMessageLength} characters (MAX_MESSAGE_LENGTH), counted in Unicode code points.`,
  };
  const token: Schema = {
    type: 'string',
    description:
      'A JWT (compact serialization). Any string is verified; a bad one gets `invalid_token` or `token_expired` and the close that goes with it.',
  };
  const user: Schema = {
    type: 'string',
    minLength: 1,
    maxLength: SUB_MAX_LENGTH,
    description: "The sender's verified identity: its token's `sub`. Absent when the sender is anonymous.",
  };
  const reason: Schema = {
    enum: ['permission_revoked', 'removed'],
    description:
      'Present when you did not ask to leave. `permission_revoked`: a refreshed token no longer grants this ' +
      "private room. `removed`: the app's backend took your user out of the room (DELETE " +
      '/api/v1/rooms/:name/members/:sub); not a ban: you may join again if your token allows the room.',
  };
  const detail: Schema = {
    type: 'string',
    minLength: 1,
    maxLength: DETAIL_MAX_LENGTH,
    pattern: NAME_PATTERN.source,
    description: "With `removed`, when the app's backend gave a reason: its words for you.",
  };
  const delivery = {
    origin: {
      type: 'string',
      enum: ['server'],
      description:
        "Present only on a frame the app's backend sent through its HTTP API (/api/v1), never on one a " +
        "client sent: no client can pass for the backend. `from` is then the backend's choice (default " +
        '"server"), and there is no `user`.',
    },
    from: {
      type: 'string',
      minLength: 1,
      description:
        "The sender's display name: its token's name when verified, else the name it gave, else its connection " +
        "id; with `origin`, the name the app's backend gave.",
    },
    user,
    id: { type: 'string', minLength: 1, description: 'Unique per message.' },
    ts: { type: 'integer', description: 'When the server accepted the message, in epoch milliseconds.' },
  };
  const epoch: Schema = {
    type: 'string',
    minLength: 1,
    maxLength: 64,
    pattern: EPOCH_PATTERN.source,
    description:
      "The name of the room's log (8 characters today; compare it, do not parse it). It changes whenever " +
      'the log is lost or started afresh: an offset means something only with its epoch.',
  };
  const latest = (what: string): Schema => ({
    type: 'integer',
    minimum: 0,
    description: `${what} 0 when the room has had no message in this epoch.`,
  });
  const positioned = (description: string): Schema => ({ type: 'integer', minimum: 1, description });
  const offset = positioned(
    "The message's place in the room's log: one more than the room's previous message, the same on every " +
      'instance. Absent only in cluster mode while Redis is unreachable: the message reached the members on ' +
      "its sender's instance alone and is in no log.",
  );
  const cid: Schema = {
    type: 'string',
    minLength: 1,
    maxLength: 64,
    pattern: CID_PATTERN.source,
    description:
      "The client's id for the message, 1 to 64 characters: ASCII letters, digits, _ . : -. The sender gets an " +
      "`ack` once the message has its offset; the same `cid` again from the same sender (its token's `sub`; " +
      'anonymous senders share one space, so make it random) in the same room within IDEMPOTENCY_TTL_MS is not ' +
      'delivered again and gets the first ack again, marked `duplicate`.',
  };
  const since: Schema = {
    type: 'object',
    required: ['epoch', 'offset'],
    properties: {
      epoch: { ...epoch, description: 'The epoch of the last position seen in this room.' },
      offset: { type: 'integer', minimum: 0, description: 'The last offset seen in this room.' },
    },
    description:
      'The last position this client saw in the room (from `joined`, a message, an `ack` or a `reset`). ' +
      '`joined` then says `recovered:true` and the `missed` messages after it follow, or `recovered:false` ' +
      'and none do: never a part. Ignored when the connection is in the room already.',
  };
  const presence = presenceSchemas(config.presence, room, user);
  const roomMessage = (offsetRule: string[]) =>
    serverFrame('message', { room, message, ...delivery, offset }, ['origin', 'user', ...offsetRule]);
  return {
    auth: clientFrame('auth', { token }, ['token']),
    join: clientFrame('join', { room, name, since, presence: presence.follow }, ['room']),
    leave: clientFrame('leave', { room }, ['room']),
    message: clientFrame('message', { message, room, cid }, ['message']),
    history: clientFrame(
      'history',
      {
        room: { ...room, description: 'A room you are in.' },
        before: {
          type: 'integer',
          minimum: 1,
          description:
            'Only messages with lower offsets (the oldest offset you have, to page back); absent: the newest.',
        },
        limit: {
          type: 'integer',
          minimum: 1,
          maximum: HISTORY_MAX_LIMIT,
          default: HISTORY_DEFAULT_LIMIT,
          description: 'The most messages in the reply.',
        },
      },
      ['room'],
    ),
    presence: clientFrame(
      'presence',
      { room: { ...room, description: 'A room you are in (your join of it complete).' } },
      ['room'],
    ),
    broadcast: clientFrame('broadcast', { message }, ['message']),
    echo: clientFrame('echo', { message }, ['message']),
    notJson: { type: 'string', description: 'Text that does not parse as JSON.' },
    refused: { description: 'Any JSON value the server refuses.' },
    binary: { type: 'string', contentEncoding: 'base64', description: 'The bytes of a binary frame.' },
    joined: {
      ...serverFrame(
        'joined',
        {
          room,
          members: { type: 'integer', minimum: 1 },
          epoch,
          offset: latest(
            "The room's latest offset when the join took effect: the next message you get from the room has " +
              'this offset plus 1 (after the `missed` ones, when recovered).',
          ),
          recovered: {
            type: 'boolean',
            description:
              'Only in reply to a join with `since`. true: the `missed` messages after `since` follow this frame ' +
              'at once, in order, up to `offset`. false: nothing is replayed (another epoch, `since` beyond the ' +
              'room, more than MAX_RECOVER missed, messages no longer kept, history off, or Redis unreachable): ' +
              'reload with `history`.',
          },
          missed: {
            type: 'integer',
            minimum: 0,
            description: 'With `recovered:true`: how many messages follow.',
          },
        },
        ['recovered', 'missed'],
      ),
      // `missed` comes with recovered:true, and only then.
      if: { required: ['recovered'], properties: { recovered: { const: true } } },
      then: { required: ['missed'] },
      else: { not: { required: ['missed'] } },
    },
    left: {
      ...serverFrame('left', { room, members: { type: 'integer', minimum: 0 }, reason, detail }, [
        'reason',
        'detail',
      ]),
      // `detail` comes with `removed` alone.
      dependencies: { detail: { required: ['reason'], properties: { reason: { const: 'removed' } } } },
    },
    authenticated: serverFrame('authenticated', {
      user,
      name: { ...name, description: "The token's `name`, else its `sub`: `from` on your messages." },
      exp: { type: 'integer', description: "The token's `exp`, in epoch seconds." },
      ttl: {
        type: 'integer',
        minimum: 0,
        description: 'Whole seconds left until `exp`: refresh before then.',
      },
    }),
    roomMessage: roomMessage(['offset']),
    broadcastMessage: serverFrame('broadcast', { message, ...delivery }, ['origin', 'user']),
    echoReply: serverFrame('echo', { message }),
    historyReply: serverFrame('history', {
      room,
      epoch,
      offset: latest("The room's latest offset now."),
      messages: {
        type: 'array',
        maxItems: HISTORY_MAX_LIMIT,
        items: roomMessage([]),
        description:
          'Oldest first: the newest `limit` messages with offsets below `before` (or the newest), each exactly ' +
          'the `message` frame its receivers got (yours included).',
      },
      more: { type: 'boolean', description: 'Older messages are still kept: ask again with `before`.' },
    }),
    ack: serverFrame(
      'ack',
      {
        cid: { ...cid, description: 'The `cid` of your message.' },
        room,
        offset: positioned("Your message's offset in the room's log."),
        id: { type: 'string', minLength: 1, description: "Your message's `id`, as its receivers got it." },
        ts: { type: 'integer', description: "Your message's `ts`, as its receivers got it." },
        duplicate: {
          const: true,
          description:
            'The `cid` was seen already: this message was not delivered again, and `offset`, `id` and `ts` are ' +
            'those of the first.',
        },
      },
      ['duplicate'],
    ),
    reset: serverFrame('reset', {
      room,
      epoch,
      offset: {
        type: 'integer',
        minimum: 0,
        description:
          'Where you go on from: the next message you get from the room has this offset plus 1. Messages you ' +
          'may have missed are not replayed: reload with `history`.',
      },
    }),
    presenceSnapshot: presence.snapshot,
    presenceDiff: presence.diff,
    error: errorFrameSchema(cid),
  };
}

/** `join`'s `presence`, and the two frames a room's presence comes in. */
function presenceSchemas(config: AppConfig['presence'], room: Schema, user: Schema) {
  const follow: Schema = {
    type: 'boolean',
    description:
      "true: after `joined` (and any `missed` messages), within PRESENCE_WINDOW_MS, a `presence` snapshot of the room's " +
      'members, then a `presence_diff` as members come and go, for as long as this connection stays in the ' +
      'room; a repeat join with true sends a fresh snapshot. false, on a repeat join: no more `presence_diff`. ' +
      'Absent: none of these frames (a repeat join without it changes nothing).',
  };
  const rev: Schema = {
    type: 'integer',
    minimum: 0,
    description:
      "The room's presence revision: it goes up by one with each join or leave of a member. Apply a " +
      '`presence_diff` only if its `rev` is above that of your last snapshot.',
  };
  const count: Schema = { type: 'integer', minimum: 0, description: 'The number of members, exact.' };
  const identity = {
    name: {
      type: 'string',
      minLength: 1,
      description:
        "A user's token `name` (else its `sub`); an anonymous connection's name from `join` (else its id). The " +
        'name the member had when it joined the room.',
    },
    user: {
      ...user,
      description:
        "A verified user: its token's `sub`. All its connections are this one member. Key members by `user` " +
        'when present, else by `conn`.',
    },
    conn: {
      type: 'string',
      minLength: 1,
      description:
        'An anonymous connection, a member of its own: its connection id. Present only without `user`.',
    },
  };
  // A member has `user` or `conn`, never both.
  const oneKey = { oneOf: [{ required: ['user'] }, { required: ['conn'] }] };
  const member: Schema = {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'connections'],
    properties: {
      ...identity,
      connections: {
        type: 'integer',
        minimum: 0,
        description:
          "The member's connections in the room, on every instance. 0 while its last one is away, for up to " +
          `${config.graceMs} ms (PRESENCE_LEAVE_GRACE_MS): one back by then makes no leave and no join.`,
      },
    },
    ...oneKey,
  };
  const gone: Schema = {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: identity,
    ...oneKey,
  };
  const snapshot = serverFrame('presence', {
    room,
    rev,
    count,
    members: {
      type: 'array',
      maxItems: config.maxMembers,
      items: member,
      description:
        `Ordered by member key (\`u:<user>\`, \`c:<conn>\`, in code-unit order), at most ${config.maxMembers} ` +
        '(PRESENCE_MAX_MEMBERS). Replace your list with it.',
    },
    truncated: { type: 'boolean', description: 'true when `count` is more than `members` lists.' },
  });
  const diff = serverFrame('presence_diff', {
    room,
    rev: { ...rev, description: "The room's presence revision after the last change this frame carries." },
    count: { ...count, description: 'The number of members at `rev`, exact.' },
    joins: {
      type: 'array',
      items: member,
      description: 'Members that are in the room now and were not before: add or replace them.',
    },
    leaves: {
      type: 'array',
      items: gone,
      description:
        'Members gone from the room (one that joined and left within one window is here only): remove them.',
    },
  });
  return { follow, snapshot, diff };
}

// The gateway's default for `limit` (src/gateway/chat.gateway.ts).
const HISTORY_DEFAULT_LIMIT = 50;

export type PayloadSchemas = ReturnType<typeof payloadSchemas>;

/** Both envelopes a client may use; only the fields listed are read, others are ignored. */
function clientFrame(event: string, properties: Schema, required: string[]): Schema {
  return {
    anyOf: [
      {
        title: `${event} (tutorial envelope)`,
        type: 'object',
        required: ['type', ...required],
        properties: { type: { const: event }, ...properties },
      },
      {
        title: `${event} (Nest envelope)`,
        type: 'object',
        required: ['event', 'data'],
        // A string `type` wins: such a frame is read in the tutorial's envelope.
        properties: {
          type: { not: { type: 'string' } },
          event: { const: event },
          data: { type: 'object', required, properties },
        },
      },
    ],
  };
}

/** The server sends exactly these fields, each of them but the `optional` ones. */
function serverFrame(type: string, properties: Schema, optional: string[] = []): Schema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['type', ...Object.keys(properties).filter((key) => !optional.includes(key))],
    properties: { type: { const: type }, ...properties },
  };
}

function errorFrameSchema(cid: Schema): Schema {
  const codes = ERROR_CODES.map((code) => `\`${code}\`: ${DEFAULT_MESSAGES[code]}.`).join(' ');
  return {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'code', 'message'],
    properties: {
      type: { const: 'error' },
      code: { type: 'string', enum: [...ERROR_CODES], description: codes },
      message: { type: 'string', description: 'For people; may change. Read `code`.' },
      event: { type: 'string', description: 'The event of the frame refused, when it had one.' },
      retryAfterMs: {
        type: 'integer',
        minimum: 0,
        description: 'For `rate_limited`: how long until a frame would be accepted again.',
      },
      cid: {
        ...cid,
        description:
          'The `cid` of the message refused, when it had a valid one and was refused for `not_in_room` or ' +
          '`unavailable`. Other refusals (`invalid_payload`, `rate_limited`, ...) carry none: replies leave in ' +
          'the order frames came, so match those by order.',
      },
      details: {
        type: 'array',
        description: 'For `invalid_payload`: one entry per broken rule.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['field', 'rule', 'message'],
          properties: { field: { type: 'string' }, rule: { type: 'string' }, message: { type: 'string' } },
        },
      },
    },
  };
}
