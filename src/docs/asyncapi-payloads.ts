import type { AppConfig } from '../config/load-config';
import { NAME_MAX_LENGTH, NAME_PATTERN } from '../gateway/dto/join.dto';
import { DEFAULT_MESSAGES, ERROR_CODES } from '../gateway/frames';
import { SUB_MAX_LENGTH } from '../auth/identity';
import { ROOM_NAME_MAX_LENGTH, ROOM_NAME_PATTERN, ROOM_NAME_RULE } from '../rooms/room-name';

/** A JSON Schema (AsyncAPI's default schema format is a superset of draft 07). */
type Schema = Record<string, unknown>;

/** The JSON Schema of every frame, built from the rules the gateway enforces and the running limits. */
export function payloadSchemas(config: Pick<AppConfig, 'maxMessageLength'>) {
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
    const: 'permission_revoked',
    description: 'Present when the server took you out: a refreshed token no longer grants this private room.',
  };
  const delivery = {
    from: {
      type: 'string',
      minLength: 1,
      description: "The sender's display name: its token's name when verified, else the name it gave, else its connection id.",
    },
    user,
    id: { type: 'string', minLength: 1, description: 'Unique per message.' },
    ts: { type: 'integer', description: 'When the server accepted the message, in epoch milliseconds.' },
  };
  return {
    auth: clientFrame('auth', { token }, ['token']),
    join: clientFrame('join', { room, name }, ['room']),
    leave: clientFrame('leave', { room }, ['room']),
    message: clientFrame('message', { message, room }, ['message']),
    broadcast: clientFrame('broadcast', { message }, ['message']),
    echo: clientFrame('echo', { message }, ['message']),
    notJson: { type: 'string', description: 'Text that does not parse as JSON.' },
    refused: { description: 'Any JSON value the server refuses.' },
    binary: { type: 'string', contentEncoding: 'base64', description: 'The bytes of a binary frame.' },
    joined: serverFrame('joined', { room, members: { type: 'integer', minimum: 1 } }),
    left: serverFrame('left', { room, members: { type: 'integer', minimum: 0 }, reason }, ['reason']),
    authenticated: serverFrame('authenticated', {
      user,
      name: { ...name, description: "The token's `name`, else its `sub`: `from` on your messages." },
      exp: { type: 'integer', description: "The token's `exp`, in epoch seconds." },
      ttl: { type: 'integer', minimum: 0, description: 'Whole seconds left until `exp`: refresh before then.' },
    }),
    roomMessage: serverFrame('message', { room, message, ...delivery }, ['user']),
    broadcastMessage: serverFrame('broadcast', { message, ...delivery }, ['user']),
    echoReply: serverFrame('echo', { message }),
    error: errorFrameSchema(),
  };
}

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

function errorFrameSchema(): Schema {
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
