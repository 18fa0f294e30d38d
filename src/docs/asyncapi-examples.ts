import { signHs256 } from '../auth/hs256';
import type { AppConfig } from '../config/load-config';
import { HISTORY_MAX_LIMIT } from '../gateway/dto/history.dto';
import {
  ackFrame,
  broadcastJson,
  DEFAULT_MESSAGES,
  ERROR_CODES,
  type ErrorCode,
  type ErrorFrame,
  errorFrame,
  historyJson,
  joinedFrame,
  removedFrame,
  resetJson,
  roomMessageHead,
  senderJson,
  serverSenderJson,
  unpositionedJson,
} from '../gateway/frames';
import { presenceDiffJson, presenceJson } from '../presence/presence-frames';
import type { Member } from '../presence/presence-store';
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

/*
 * One story for the server's continuity examples: room1's log is in epoch EPOCH; a member saw
 * up to offset 41, then 42 (from alice) and 43 (from Alice, verified) went out, and the member's
 * own message with CID got 44.
 */
const EPOCH = 'Qm3xT0aZ';
const TS = 1795632147090;
const ALICE = senderJson('alice', undefined);
const ALICE_VERIFIED = senderJson('Alice', 'user-1');
/** A room message as the server builds it, and as the room's log ends it with its offset. */
const head = (sender: string, id: string, ts: number, text = 'Hello') =>
  roomMessageHead('room1', JSON.stringify(text), sender, id, ts);
const logged = (frameHead: string, offset: number) => `${frameHead}${offset}}`;
const MESSAGE_42 = logged(head(ALICE, 'kX2c9aQb-1f', TS), 42);
const MESSAGE_43 = logged(head(ALICE_VERIFIED, 'kX2c9aQb-21', TS + 7, 'Anyone there?'), 43);
const ACKED = { offset: 44, id: 'kX2c9aQb-22', ts: TS + 12 };
const CID = 'c-7f3a9e01';
const AT_41 = { epoch: EPOCH, offset: 41 };
const AT_43 = { epoch: EPOCH, offset: 43 };

/*
 * One story for the presence examples: in room1 at rev 7, bob (anonymous) and Alice (verified,
 * in two tabs); then carol comes and bob goes; then dave comes and goes within one window.
 */
const BOB: Member = { name: 'bob', conn: 'Qm7xZ2pL0aKd', connections: 1 };
const ALICE_TABS: Member = { name: 'Alice', user: 'user-1', connections: 2 };
const CAROL: Member = { name: 'carol', user: 'user-3', connections: 1 };
const snapshot = (rev: number, count: number, members: Member[]) =>
  JSON.parse(presenceJson('room1', rev, count, members));
const diff = (rev: number, count: number, joins: Member[], leaves: Member[]) =>
  JSON.parse(
    presenceDiffJson(
      'room1',
      rev,
      count,
      joins,
      leaves.map(({ connections: _, ...info }) => info),
    ),
  );

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
  const delivery = { from: 'alice', id: 'kX2c9aQb-20', ts: TS + 5 };
  return {
    auth: client(
      ['auth', 'Authenticate with a JWT', { type: 'auth', token: EXAMPLE_TOKEN }, { type: 'authenticated' }],
      [
        'auth-nest',
        "Authenticate in Nest's envelope",
        { event: 'auth', data: { token: EXAMPLE_TOKEN } },
        { type: 'authenticated' },
      ],
      [
        'auth-invalid',
        'A token that does not verify (then close 4001)',
        { type: 'auth', token: 'not.a.token' },
        error('invalid_token'),
      ],
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
      [
        'join-since',
        'Join after a reconnect with the last position seen in the room: `joined` says whether the messages ' +
          "missed since follow (here the epoch is not the room's, so `recovered:false` and none do)",
        { ...JOIN_ROOM1, since: { epoch: EPOCH, offset: 41 } },
        { type: 'joined' },
      ],
      [
        'join-presence',
        'Join and follow who is in the room: `joined`, then (within PRESENCE_WINDOW_MS) a `presence` snapshot, ' +
          'then a `presence_diff` as members come and go',
        { ...JOIN_ROOM1, name: 'alice', presence: true },
        { type: 'joined' },
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
        'message-cid',
        'With a `cid`: no message back, an `ack` with its offset',
        { type: 'message', room: 'room1', message: 'Hello', cid: CID },
        { type: 'ack' },
        [JOIN_ROOM1],
      ],
      [
        'message-cid-retry',
        'The same `cid` again (a retry after a reconnect, say): not delivered again; the first ack, `duplicate`',
        { type: 'message', room: 'room1', message: 'Hello', cid: 'c-5d2b8c47' },
        { type: 'ack' },
        [JOIN_ROOM1, { type: 'message', room: 'room1', message: 'Hello', cid: 'c-5d2b8c47' }],
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
      [
        'message-cid-not-member',
        'With a `cid`, to a room you are not in: the error carries the `cid`',
        { type: 'message', room: 'room2', message: 'Hello', cid: 'c-0b61f4d2' },
        error('not_in_room'),
      ],
    ),
    history: client(
      [
        'history',
        "The newest messages of a room you are in (up to `limit`'s default)",
        { type: 'history', room: 'room1' },
        { type: 'history' },
        [JOIN_ROOM1],
      ],
      [
        'history-before',
        'Page back: the 20 messages before offset 42, the oldest you have',
        { type: 'history', room: 'room1', before: 42, limit: 20 },
        { type: 'history' },
        [JOIN_ROOM1],
      ],
      [
        'history-not-member',
        'Of a room you are not in',
        { type: 'history', room: 'room2' },
        error('not_in_room'),
      ],
    ),
    presence: client(
      [
        'presence',
        'A snapshot of the members of a room you are in (within PRESENCE_WINDOW_MS)',
        { type: 'presence', room: 'room1' },
        { type: 'presence' },
        [JOIN_ROOM1],
      ],
      [
        'presence-not-member',
        'Of a room you are not in',
        { type: 'presence', room: 'room2' },
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
      [
        'bad-cid',
        'A `cid` that breaks the rule (nothing is delivered)',
        { type: 'message', message: 'Hello', cid: 'has space' },
        error('invalid_payload'),
      ],
      [
        'bad-since',
        'A `since` without its epoch (the join does not happen)',
        { type: 'join', room: 'room1', since: { offset: 41 } },
        error('invalid_payload'),
      ],
      [
        'bad-limit',
        `A history \`limit\` over ${HISTORY_MAX_LIMIT}`,
        { type: 'history', room: 'room1', limit: HISTORY_MAX_LIMIT + 1 },
        error('invalid_payload'),
      ],
      [
        'bad-presence',
        'A join whose `presence` is not a boolean (the join does not happen)',
        { type: 'join', room: 'room1', presence: 'yes' },
        error('invalid_payload'),
      ],
      ['not-an-object', 'JSON that is not an object', [], error('invalid_payload')],
      ['no-type', 'An object without a string type or event', {}, error('invalid_payload')],
      ['unknown-event', 'An event that does not exist', { type: 'nope' }, error('unknown_event')],
    ),
    binary: client(['binary', 'A binary frame (base64 here)', 'AQID', error('unsupported_frame')]),
    joined: server(
      [
        'joined',
        'Reply to join: the next message you get from room1 has offset 42',
        joinedFrame('room1', 2, AT_41),
      ],
      [
        'joined-recovered',
        'Reply to a join with `since` {"epoch":"Qm3xT0aZ","offset":41}: messages 42 and 43 follow at once',
        joinedFrame('room1', 2, AT_43, { recovered: true, missed: 2 }),
      ],
      [
        'joined-not-recovered',
        'Reply to a join with a `since` the server cannot serve whole: nothing follows; reload with `history`',
        joinedFrame('room1', 2, AT_43, { recovered: false, missed: 0 }),
      ],
    ),
    left: server(
      ['left', 'Reply to leave', { type: 'left', room: 'room1', members: 1 }],
      [
        'left-revoked',
        'A refreshed token no longer grants this private room',
        { type: 'left', room: 'private:team-7:a', members: 3, reason: 'permission_revoked' },
      ],
      [
        'left-removed',
        "The app's backend took your user out of the room, saying why (DELETE /api/v1/rooms/:name/members/:sub)",
        removedFrame('room1', 2, 'Spamming'),
      ],
    ),
    authenticated: server([
      'authenticated',
      'Reply to a token that verifies',
      { type: 'authenticated', user: 'user-1', name: 'Alice', exp: EXAMPLE_EXP, ttl: 3600 },
    ]),
    roomMessage: server(
      ['message', "Another member's message, at offset 42", JSON.parse(MESSAGE_42)],
      [
        'message-verified',
        "A verified member's message: `user` is its token's `sub`",
        JSON.parse(MESSAGE_43),
      ],
      [
        'message-server',
        "From the app's backend (POST /api/v1/rooms/:name/messages): `origin` and the `from` it gave, no `user`",
        JSON.parse(logged(head(serverSenderJson('Moderator'), 'kX2c9aQb-24', TS + 30, 'Be kind'), 45)),
      ],
      [
        'message-unpositioned',
        "Cluster mode while Redis is unreachable: it reached its sender's instance only, in no log: no offset",
        JSON.parse(unpositionedJson(head(ALICE, 'kX2c9aQb-23', TS + 20))),
      ],
    ),
    broadcastMessage: server(
      ['broadcast', 'A broadcast', { type: 'broadcast', message: 'Hello all', ...delivery }],
      [
        'broadcast-server',
        'From the app\'s backend (POST /api/v1/broadcast), without a `from` of its own: `from` is "server"',
        JSON.parse(
          broadcastJson(
            JSON.stringify('Maintenance at noon'),
            serverSenderJson('server'),
            'kX2c9aQb-25',
            TS + 40,
          ),
        ),
      ],
    ),
    echoReply: server(['echo', 'Reply to echo', { type: 'echo', message: 'hi' }]),
    historyReply: server([
      'history',
      'Reply to {"type":"history","room":"room1","before":44,"limit":2}: offsets 42 and 43; older ones are kept',
      JSON.parse(
        historyJson('room1', { epoch: EPOCH, offset: 44, frames: [MESSAGE_42, MESSAGE_43], more: true }),
      ),
    ]),
    ack: server(
      ['ack', 'Your message with this `cid` has offset 44', ackFrame(CID, 'room1', ACKED, false)],
      [
        'ack-duplicate',
        'The same `cid` again: not delivered again; the first ack',
        ackFrame(CID, 'room1', ACKED, true),
      ],
    ),
    reset: server(
      [
        'reset',
        "room1's log started afresh (it expired, or Redis lost it): go on from offset 0 of the new epoch",
        JSON.parse(resetJson('room1', 'b7Hq2LxN', 0)),
      ],
      [
        'reset-gap',
        'Messages this instance could not fetch again: go on from offset 57, and reload with `history`',
        JSON.parse(resetJson('room1', EPOCH, 57)),
      ],
    ),
    presenceSnapshot: server(
      [
        'presence',
        'room1 at rev 7: bob, anonymous, and Alice, verified, in two tabs (ordered by key: `c:` before `u:`)',
        snapshot(7, 2, [BOB, ALICE_TABS]),
      ],
      [
        'presence-grace',
        'Alice closed both tabs less than PRESENCE_LEAVE_GRACE_MS ago: still a member, with no connection',
        snapshot(7, 2, [BOB, { ...ALICE_TABS, connections: 0 }]),
      ],
      [
        'presence-truncated',
        'More members than PRESENCE_MAX_MEMBERS (here as if it were 2): the first ones by key, `truncated`; ' +
          '`count` is exact',
        snapshot(4021, 1500, [BOB, ALICE_TABS]),
      ],
    ),
    presenceDiff: server(
      [
        'presence_diff',
        'After the snapshot at rev 7: carol came (her first connection) and bob went (his last, gone for the grace)',
        diff(9, 2, [CAROL], [BOB]),
      ],
      [
        'presence_diff-coalesced',
        'dave came and went within one PRESENCE_WINDOW_MS: one frame, dave in `leaves` only, `rev` up by two',
        diff(11, 2, [], [{ name: 'dave', conn: 'Zt4wY9cQ1mRb', connections: 0 }]),
      ],
    ),
    error: server(
      ...ERROR_CODES.map((code): [string, string, object] => [
        code,
        DEFAULT_MESSAGES[code],
        errorExample(code),
      ]),
      [
        'not_in_room-cid',
        'A message with a `cid` to a room you are not in',
        errorFrame('not_in_room', { event: 'message', cid: 'c-0b61f4d2' }),
      ],
      [
        'unavailable-cid',
        'A message with a `cid` while Redis is unreachable (cluster mode): send it again later, same `cid`',
        errorFrame('unavailable', { event: 'message', cid: CID }),
      ],
      [
        'unavailable-history',
        'History while Redis is unreachable (cluster mode)',
        errorFrame('unavailable', { event: 'history' }),
      ],
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
      return errorFrame(code, { retryAfterMs: 20 }); // refused before it is read: no event
    case 'internal':
      return errorFrame(code, { event: 'message' }); // a server bug: no request provokes it
    default:
      return errorFrame(code);
  }
}
