import { signHs256 } from '../auth/hs256';
import type { AppConfig } from '../config/load-config';
import {
  DEFAULT_MESSAGES,
  ERROR_CODES,
  type ErrorCode,
  type ErrorFrame,
  errorFrame,
} from '../gateway/frames';
import { ROOM_NAME_RULE } from '../rooms/room-name';
import type { PayloadSchemas } from './asyncapi-payloads';

/** A message example, as AsyncAPI has them. */
interface Example {
  name: string;
  summary: string;
  payload: unknown;
}

/**
 * What a client example does, by example name (AsyncAPI examples take no extensions, so this
 * goes beside them, as the message's `x-recipes`): `given` lists the frames the same connection
 * sends first, each answered; `reply` is what comes back, its `type` (and `code`), or null
 * when nothing does.
 */
interface Recipe {
  given?: Given[];
  reply: { type: string; code?: ErrorCode } | null;
}

/**
 * A frame, or `repeat` frames made from `frame` with `{i}` in its strings replaced by 1 to
 * `repeat`: filling MAX_ROOMS_PER_CONNECTION rooms takes one entry, not thousands of frames.
 */
type Given = object | { repeat: number; frame: object };

interface MessageExamples {
  examples: Example[];
  recipes?: Record<string, Recipe>;
}

const JOIN_ROOM1 = { type: 'join', room: 'room1' };

/**
 * The secret the example token is signed with: a server started with JWT_SECRET set to it
 * accepts the `auth` example (until the year 2100), as the document's own test does.
 */
export const EXAMPLE_JWT_SECRET = 'example-secret-of-at-least-32-bytes';
const EXAMPLE_EXP = 4102444800; // 2100-01-01
const EXAMPLE_TOKEN = signHs256(
  { sub: 'user-1', name: 'Alice', rooms: ['private:team-7:*'], exp: EXAMPLE_EXP },
  EXAMPLE_JWT_SECRET,
);
const error = (code: ErrorCode) => ({ type: 'error', code });

type ClientExample = [
  name: string,
  summary: string,
  payload: unknown,
  reply: Recipe['reply'],
  given?: Given[],
];

/** Examples of every message, keyed as the payload schemas are. */
export function examples(
  config: Pick<AppConfig, 'maxRoomsPerConnection'>,
): Record<keyof PayloadSchemas, MessageExamples> {
  const fullHouse = { repeat: config.maxRoomsPerConnection, frame: { type: 'join', room: 'room-{i}' } };
  const delivery = { from: 'alice', id: 'kX2c9aQb-1f', ts: 1795632147090 };
  return {
    auth: client(
      ['auth', 'Authenticate with a JWT', { type: 'auth', token: EXAMPLE_TOKEN }, { type: 'authenticated' }],
      ['auth-nest', "Authenticate in Nest's envelope", { event: 'auth', data: { token: EXAMPLE_TOKEN } }, { type: 'authenticated' }],
      ['auth-invalid', 'A token that does not verify (then close 4001)', { type: 'auth', token: 'not.a.token' }, error('invalid_token')],
    ),
    join: client(
      ['join', 'Join a room with a display name', { ...JOIN_ROOM1, name: 'alice' }, { type: 'joined' }],
      [
        'join-nest',
        "Join in Nest's envelope",
        { event: 'join', data: { room: 'room1' } },
        { type: 'joined' },
      ],
      [
        'join-too-many',
        'Join one room more than MAX_ROOMS_PER_CONNECTION',
        { type: 'join', room: 'one-more' },
        error('too_many_rooms'),
        [fullHouse],
      ],
      [
        'join-private',
        'Join a private room (PRIVATE_ROOM_PREFIX) without a token that grants it',
        { type: 'join', room: 'private:team-7:a' },
        error('forbidden'),
      ],
      [
        'join-private-granted',
        "Join a private room your token's `rooms` claim grants",
        { type: 'join', room: 'private:team-7:a' },
        { type: 'joined' },
        [{ type: 'auth', token: EXAMPLE_TOKEN }],
      ],
    ),
    leave: client(
      ['leave', 'Leave a room you are in', { type: 'leave', room: 'room1' }, { type: 'left' }, [JOIN_ROOM1]],
      [
        'leave-not-in-room',
        'Leave a room you are not in',
        { type: 'leave', room: 'room1' },
        error('not_in_room'),
      ],
    ),
    message: client(
      [
        'message',
        'To your current room (no reply)',
        { type: 'message', message: 'Hello' },
        null,
        [JOIN_ROOM1],
      ],
      [
        'message-to-room',
        'To a room you are in (no reply)',
        { type: 'message', room: 'room1', message: 'Hello' },
        null,
        [JOIN_ROOM1],
      ],
      [
        'message-no-room',
        'With no current room',
        { type: 'message', message: 'Hello' },
        error('not_in_room'),
      ],
      [
        'message-not-member',
        'To a room you are not in',
        { type: 'message', room: 'room2', message: 'Hello' },
        error('not_in_room'),
      ],
    ),
    broadcast: client([
      'broadcast',
      'To every connection',
      { type: 'broadcast', message: 'Hello all' },
      { type: 'broadcast' },
    ]),
    echo: client(
      ['echo', 'Echo', { type: 'echo', message: 'hi' }, { type: 'echo' }],
      ['echo-nest', "Echo in Nest's envelope", { event: 'echo', data: { message: 'hi' } }, { type: 'echo' }],
    ),
    notJson: client(['not-json', 'Text that is not JSON', 'hello', error('invalid_json')]),
    refused: client(
      [
        'bad-room',
        'A room name that breaks the rule',
        { type: 'join', room: 'no spaces' },
        error('invalid_payload'),
      ],
      ['empty-message', 'An empty message', { type: 'echo', message: '' }, error('invalid_payload')],
      ['not-an-object', 'JSON that is not an object', [], error('invalid_payload')],
      ['no-type', 'An object without a string type or event', {}, error('invalid_payload')],
      ['unknown-event', 'An event that does not exist', { type: 'nope' }, error('unknown_event')],
    ),
    binary: client(['binary', 'A binary frame (base64 here)', 'AQID', error('unsupported_frame')]),
    joined: server(['joined', 'Reply to join', { type: 'joined', room: 'room1', members: 2 }]),
    left: server(
      ['left', 'Reply to leave', { type: 'left', room: 'room1', members: 1 }],
      [
        'left-revoked',
        'A refreshed token no longer grants this private room',
        { type: 'left', room: 'private:team-7:a', members: 3, reason: 'permission_revoked' },
      ],
    ),
    authenticated: server([
      'authenticated',
      'Reply to a token that verifies',
      { type: 'authenticated', user: 'user-1', name: 'Alice', exp: EXAMPLE_EXP, ttl: 3600 },
    ]),
    roomMessage: server(
      ['message', "Another member's message", { type: 'message', room: 'room1', message: 'Hello', ...delivery }],
      [
        'message-verified',
        "A verified member's message: `user` is its token's `sub`",
        { type: 'message', room: 'room1', message: 'Hello', ...delivery, from: 'Alice', user: 'user-1' },
      ],
    ),
    broadcastMessage: server([
      'broadcast',
      'A broadcast',
      { type: 'broadcast', message: 'Hello all', ...delivery },
    ]),
    echoReply: server(['echo', 'Reply to echo', { type: 'echo', message: 'hi' }]),
    error: server(
      ...ERROR_CODES.map((code): [string, string, object] => [
        code,
        DEFAULT_MESSAGES[code],
        errorExample(code),
      ]),
    ),
  };
}

function client(...entries: ClientExample[]): MessageExamples {
  return {
    examples: entries.map(([name, summary, payload]) => ({ name, summary, payload })),
    recipes: Object.fromEntries(
      entries.map(([name, , , reply, given]) => [name, given ? { given, reply } : { reply }]),
    ),
  };
}

function server(...entries: Array<[name: string, summary: string, payload: object]>): MessageExamples {
  return { examples: entries.map(([name, summary, payload]) => ({ name, summary, payload })) };
}

/** The frame the server sends for each code, as the client examples above provoke it. */
function errorExample(code: ErrorCode): ErrorFrame {
  switch (code) {
    case 'invalid_payload':
      return errorFrame(code, {
        event: 'join',
        details: [{ field: 'room', rule: 'matches', message: `room must be ${ROOM_NAME_RULE}` }],
      });
    case 'unknown_event':
      return errorFrame(code, { event: 'nope' });
    case 'not_in_room':
      return errorFrame(code, { event: 'leave' });
    case 'too_many_rooms':
    case 'forbidden':
      return errorFrame(code, { event: 'join' });
    case 'invalid_token':
    case 'token_expired':
    case 'unavailable':
      return errorFrame(code, { event: 'auth' });
    case 'rate_limited':
      return errorFrame(code, { event: 'message', retryAfterMs: 20 });
    case 'internal':
      return errorFrame(code, { event: 'message' }); // a server bug: no request provokes it
    default:
      return errorFrame(code);
  }
}
