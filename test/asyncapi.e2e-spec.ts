import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
// ajv checks frames against the document's schemas (the parser does not check examples against them).
import Ajv from 'ajv';
import request from 'supertest';
import { EXAMPLE_JWT_SECRET } from '../src/docs/asyncapi-examples';
import { HISTORY_MAX_LIMIT } from '../src/gateway/dto/history.dto';
import { EPOCH_PATTERN } from '../src/gateway/dto/position-field';
import { CID_PATTERN } from '../src/gateway/dto/text.dto';
import { ERROR_CODES } from '../src/gateway/frames';
import { ROOM_NAME_PATTERN } from '../src/rooms/room-name';
import { type RunningApp, startApp } from './support/app';
import { type Frame, TestClient } from './support/ws-client';

interface Message {
  name: string;
  contentType?: string;
  payload: object;
  examples: Array<{ name: string; payload: unknown }>;
  'x-recipes'?: Record<string, { given?: Given[]; reply: { type: string; code?: string } | null }>;
}
type Given = object | { repeat: number; frame: object };
interface Operation {
  action: 'send' | 'receive';
  messages: Array<{ $ref: string }>;
  reply?: { messages: Array<{ $ref: string }> };
}
interface Document {
  servers: { service: { host: string; protocol: string } };
  channels: { chat: { address: string; messages: Record<string, Message> } };
  operations: Record<string, Operation>;
}

const MAX_ROOMS = 3;
const MAX_LENGTH = 100;
const MAX_RECOVER = 7;
const MAX_MEMBERS = 50;
/** The secret of the API key the app's backend uses here (API_KEYS). */
const API_SECRET = 'asyncapi-spec-key-0123456789abcdef';

describe('the AsyncAPI document at /asyncapi.json (e2e)', () => {
  let server: RunningApp;
  let doc: Document;
  let text: string;
  const ajv = new Ajv({ allErrors: true });
  const deref = (ref: { $ref: string }): Message =>
    ref.$ref
      .slice(2)
      .split('/')
      .reduce((node: any, key) => node[key], doc);
  const clients: TestClient[] = [];
  const connect = async () => {
    const client = await TestClient.connect(server.wsUrl);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await startApp({
      WS_PATH: '/chat',
      MAX_ROOMS_PER_CONNECTION: String(MAX_ROOMS),
      MAX_MESSAGE_LENGTH: String(MAX_LENGTH),
      MAX_RECOVER: String(MAX_RECOVER),
      JWT_SECRET: EXAMPLE_JWT_SECRET,
      // A member leaves as its last connection goes, so a test sees the leave's diff at once.
      PRESENCE_LEAVE_GRACE_MS: '0',
      PRESENCE_MAX_MEMBERS: String(MAX_MEMBERS),
      // The backend's HTTP API, to see the frames it makes the server send.
      API_KEYS: `backend:${API_SECRET}:publish,control`,
    });
    ({ text, body: doc } = await request(server.httpUrl).get('/asyncapi.json').expect(200));
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(() => server.close());

  it('is a valid AsyncAPI 3.0.0 document', async () => {
    const { document, diagnostics } = await new Parser().parse(text);
    expect(diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
  }, 20_000);

  it('points its server at the host the client asked for, and says the answer varies with Host', async () => {
    expect(doc.servers.service).toEqual({
      host: new URL(server.httpUrl).host,
      protocol: 'ws',
      description: expect.any(String),
    });
    const named = await request(server.httpUrl)
      .get('/asyncapi.json')
      .set('Host', 'chat.example.com:8443')
      .expect(200);
    expect(named.body.servers.service.host).toBe('chat.example.com:8443');
    expect(named.headers.vary).toBe('Host');
    expect({ ...named.body, servers: null }).toEqual({ ...doc, servers: null });
  });

  it.each([
    'evil.example/<script>alert(1)</script>',
    'user@evil.example',
    'a b',
    'evil.example:99999',
    '[evil]:80',
  ])('ignores the hostile Host %j, pointing at the configured HOST:PORT instead', async (host) => {
    const { body } = await request(server.httpUrl).get('/asyncapi.json').set('Host', host).expect(200);
    // startApp configures HOST=127.0.0.1 and PORT=0 (then listens on a free port).
    expect(body.servers.service.host).toBe('127.0.0.1:0');
  });

  it('fills MAX_ROOMS_PER_CONNECTION rooms in one recipe entry, so its size does not grow with the limit', async () => {
    const big = await startApp({
      WS_PATH: '/chat',
      MAX_ROOMS_PER_CONNECTION: '10000',
      MAX_MESSAGE_LENGTH: String(MAX_LENGTH),
    });
    try {
      const bigText = (await request(big.httpUrl).get('/asyncapi.json').expect(200)).text;
      expect(bigText.length - text.length).toBeLessThan(100);
    } finally {
      await big.close();
    }
  });

  it('takes its limits from the running configuration and the rules the gateway enforces', () => {
    const { address, messages } = doc.channels.chat;
    expect(address).toBe('/chat');
    const [flat] = (messages.echo.payload as { anyOf: Array<{ properties: Record<string, any> }> }).anyOf;
    expect(flat.properties.message).toMatchObject({ minLength: 1, maxLength: MAX_LENGTH });
    const [join] = (messages.join.payload as { anyOf: Array<{ properties: Record<string, any> }> }).anyOf;
    expect(join.properties.room.pattern).toBe(ROOM_NAME_PATTERN.source);
    const error = messages.error.payload as { properties: { code: { enum: string[] } } };
    expect(error.properties.code.enum).toEqual([...ERROR_CODES]);
    expect(JSON.stringify(doc)).toContain(`in ${MAX_ROOMS} rooms at once`);
  });

  it("has examples on every message, each valid against the message's payload schema", () => {
    for (const [key, message] of Object.entries(doc.channels.chat.messages)) {
      expect(message.examples.length).toBeGreaterThan(0);
      const validate = ajv.compile(message.payload);
      for (const { name, payload } of message.examples) {
        expect({ key, name, valid: validate(payload), errors: validate.errors }).toMatchObject({
          valid: true,
        });
      }
    }
  });

  it('documents an example of every error code a client can provoke', () => {
    const provoked = new Set(recipes().flatMap(({ recipe }) => recipe.reply?.code ?? []));
    // Not provoked by a frame on this server: internal is a bug; unauthenticated needs
    // AUTH_MODE=jwt, token_expired a token that has expired, unavailable a key set that cannot be
    // fetched, rate_limited a flood (each has an e2e spec of its own).
    const elsewhere = ['internal', 'unauthenticated', 'token_expired', 'unavailable', 'rate_limited'];
    expect([...provoked].sort()).toEqual(ERROR_CODES.filter((code) => !elsewhere.includes(code)).sort());
    // One example per code, in ERROR_CODES's order, then more for the codes that have several uses.
    const errorExamples = doc.channels.chat.messages.error.examples.map((e) => (e.payload as Frame).code);
    expect(errorExamples.slice(0, ERROR_CODES.length)).toEqual([...ERROR_CODES]);
    expect(errorExamples.slice(ERROR_CODES.length)).toEqual(['not_in_room', 'unavailable', 'unavailable']);
  });

  it('documents positions, recovery, history, acks and reset', () => {
    const { operations, channels } = doc;
    const refs = (...keys: string[]) => keys.map((key) => ({ $ref: `#/channels/chat/messages/${key}` }));
    expect(operations.history).toMatchObject({
      action: 'receive',
      messages: refs('history'),
      reply: { messages: refs('historyReply', 'error') },
    });
    expect(operations.join.reply!.messages).toEqual(
      refs('joined', 'roomMessage', 'presenceSnapshot', 'error'),
    );
    expect(operations.message.reply!.messages).toEqual(refs('ack', 'error'));
    expect(operations.replyHistory).toMatchObject({ action: 'send', messages: refs('historyReply') });
    expect(operations.replyAck).toMatchObject({ action: 'send', messages: refs('ack') });
    expect(operations.deliverReset).toMatchObject({ action: 'send', messages: refs('reset') });

    const { messages } = channels.chat;
    const flat = (key: string) =>
      (messages[key].payload as { anyOf: Array<{ properties: Record<string, any> }> }).anyOf[0].properties;
    const server = (key: string) =>
      messages[key].payload as { required: string[]; properties: Record<string, any> };
    expect(flat('join').since).toMatchObject({ required: ['epoch', 'offset'] });
    expect(flat('join').since.properties.epoch.pattern).toBe(EPOCH_PATTERN.source);
    expect(flat('message').cid.pattern).toBe(CID_PATTERN.source);
    expect(flat('history').limit).toMatchObject({ minimum: 1, maximum: HISTORY_MAX_LIMIT });
    expect(server('joined').required).toEqual(['type', 'room', 'members', 'epoch', 'offset']);
    expect(Object.keys(server('joined').properties)).toEqual(expect.arrayContaining(['recovered', 'missed']));
    expect(server('roomMessage').required).not.toContain('offset'); // absent while Redis is unreachable
    expect(server('historyReply').properties.messages.items.required).toContain('offset');
    expect(server('ack').required).toEqual(['type', 'cid', 'room', 'offset', 'id', 'ts']);
    expect(server('reset').required).toEqual(['type', 'room', 'epoch', 'offset']);
    expect(server('error').properties.cid.pattern).toBe(CID_PATTERN.source);
    expect(JSON.stringify(doc)).toContain(`at most ${MAX_RECOVER} messages (MAX_RECOVER)`);
  });

  it('requires missed with recovered:true, and allows it only then', () => {
    const validate = ajv.compile(doc.channels.chat.messages.joined.payload);
    const joined = { type: 'joined', room: 'room1', members: 2, epoch: 'Qm3xT0aZ', offset: 43 };
    expect(validate({ ...joined, recovered: true, missed: 2 })).toBe(true);
    expect(validate({ ...joined, recovered: false })).toBe(true);
    expect(validate({ ...joined, recovered: true })).toBe(false);
    expect(validate({ ...joined, recovered: false, missed: 0 })).toBe(false);
    expect(validate({ ...joined, missed: 0 })).toBe(false);
  });

  it('documents what a reconnect with since gets: joined, the missed messages, and acks on the way', async () => {
    const room = 'doc-recovery';
    const [sender, reader] = [await connect(), await connect()];
    await sender.request({ type: 'join', room }, 'joined');
    const at = await reader.request({ type: 'join', room }, 'joined');
    reader.close();
    const acks: Frame[] = [];
    for (const cid of ['doc-1', 'doc-2']) {
      acks.push(await sender.request({ type: 'message', room, message: cid, cid }, 'ack'));
    }
    acks.push(await sender.request({ type: 'message', room, message: 'again', cid: 'doc-2' }, 'ack'));
    for (const ack of acks) expectDocumented('ack', ack, operation('message').reply!.messages.map(deref));
    expect(acks[2]).toEqual({ ...acks[1], duplicate: true });

    const back = await connect();
    const since = { epoch: at.epoch, offset: at.offset };
    const replies = [await back.request({ type: 'join', room, since }, 'joined')];
    expect(replies[0]).toMatchObject({ recovered: true, missed: 2, offset: at.offset + 2 });
    replies.push(await back.next('message'), await back.next('message'));
    expect(replies.slice(1).map((m) => [m.offset, m.id])).toEqual(
      acks.slice(0, 2).map((a) => [a.offset, a.id]),
    );
    for (const reply of replies)
      expectDocumented('join-since', reply, operation('join').reply!.messages.map(deref));

    const page = await back.request({ type: 'history', room, before: at.offset + 2, limit: 1 }, 'history');
    expect(page).toMatchObject({ messages: [replies[1]], more: false });
    expectDocumented('history', page, operation('history').reply!.messages.map(deref));
  });

  it('documents presence: join with presence, the snapshot, its diffs and a snapshot asked for', () => {
    const { operations, channels } = doc;
    const refs = (...keys: string[]) => keys.map((key) => ({ $ref: `#/channels/chat/messages/${key}` }));
    expect(operations.presence).toMatchObject({
      action: 'receive',
      messages: refs('presence'),
      reply: { messages: refs('presenceSnapshot', 'error') },
    });
    expect(operations.replyPresence).toMatchObject({ action: 'send', messages: refs('presenceSnapshot') });
    expect(operations.deliverPresenceDiff).toMatchObject({ action: 'send', messages: refs('presenceDiff') });
    const { messages } = channels.chat;
    const [join] = (messages.join.payload as { anyOf: Array<{ properties: Record<string, any> }> }).anyOf;
    expect(join.properties.presence).toMatchObject({ type: 'boolean' });
    const snapshot = messages.presenceSnapshot.payload as {
      required: string[];
      properties: Record<string, any>;
    };
    expect(snapshot.required).toEqual(['type', 'room', 'rev', 'count', 'members', 'truncated']);
    expect(snapshot.properties.members.maxItems).toBe(MAX_MEMBERS);
    const diff = messages.presenceDiff.payload as { required: string[] };
    expect(diff.required).toEqual(['type', 'room', 'rev', 'count', 'joins', 'leaves']);
    const member = ajv.compile(snapshot.properties.members.items);
    expect(member({ name: 'a', user: 'u', connections: 1 })).toBe(true);
    expect(member({ name: 'a', conn: 'c', connections: 1 })).toBe(true);
    expect(member({ name: 'a', user: 'u', conn: 'c', connections: 1 })).toBe(false);
    expect(member({ name: 'a', connections: 1 })).toBe(false);
    expect(JSON.stringify(doc)).toContain(`at most ${MAX_MEMBERS} members (PRESENCE_MAX_MEMBERS)`);
  });

  it('documents what a follower gets: the snapshot, a diff per change, and a snapshot asked for', async () => {
    const room = 'doc-presence';
    const [follower, user, tab, guest] = [await connect(), await connect(), await connect(), await connect()];
    const token = doc.channels.chat.messages.auth.examples[0].payload as { token: string };
    for (const client of [user, tab])
      await client.request({ type: 'auth', token: token.token }, 'authenticated');
    const joinReplies = operation('join').reply!.messages.map(deref);

    const first = [
      await follower.request({ type: 'join', room, name: 'follower', presence: true }, 'joined'),
    ];
    first.push(await follower.next('presence'));
    for (const frame of first) expectDocumented('join-presence', frame, joinReplies);
    expect(first[1]).toMatchObject({ rev: 1, count: 1, truncated: false });

    await user.request({ type: 'join', room }, 'joined');
    await tab.request({ type: 'join', room }, 'joined'); // a second tab of the same user: no diff
    await guest.request({ type: 'join', room, name: 'guest' }, 'joined');
    guest.close();
    // Alice joined (rev 2), the guest joined (3) and left (4): one diff, or more if a window ended between.
    const diffs = [await follower.next('presence_diff')];
    while (diffs.at(-1)!.rev < 4) diffs.push(await follower.next('presence_diff'));
    for (const frame of diffs) expectDocumented('presence_diff', frame, sentMessages());
    expect(diffs.at(-1)).toMatchObject({ rev: 4, count: 2 });

    const asked = await follower.request({ type: 'presence', room }, 'presence');
    expectDocumented('presence', asked, operation('presence').reply!.messages.map(deref));
    expect(asked).toMatchObject({ rev: 4, count: 2, truncated: false });
    expect(asked.members).toEqual([
      expect.objectContaining({ name: 'follower', connections: 1 }),
      { name: 'Alice', user: 'user-1', connections: 2 },
    ]);
  });

  it("documents what the app's backend makes the server send: its message and broadcast, a removal, a disconnect", async () => {
    const room = 'doc-backend';
    const api = (method: 'post' | 'delete', path: string, body: object = {}) =>
      request(server.httpUrl)
        [method](`/api/v1${path}`)
        .set('Authorization', `Bearer ${API_SECRET}`)
        .send(body);
    const member = await connect();
    const token = doc.channels.chat.messages.auth.examples[0].payload as { token: string };
    await member.request({ type: 'auth', token: token.token }, 'authenticated');
    await member.request({ type: 'join', room }, 'joined');

    await api('post', `/rooms/${room}/messages`, { message: 'Be kind', from: 'Moderator' }).expect(202);
    const message = await member.next('message');
    expect(message).toMatchObject({ origin: 'server', from: 'Moderator', offset: 1 });
    expectDocumented('backend message', message, sentMessages());
    const page = await member.request({ type: 'history', room }, 'history');
    expectDocumented('history with a backend message', page, operation('history').reply!.messages.map(deref));

    await api('post', '/broadcast', { message: 'Maintenance at noon' }).expect(202);
    const broadcast = await member.next('broadcast');
    expect(broadcast).toMatchObject({ origin: 'server', from: 'server' });
    expectDocumented('backend broadcast', broadcast, sentMessages());

    await api('delete', `/rooms/${room}/members/user-1`, { reason: 'Spamming' }).expect(202);
    const left = await member.next('left');
    expect(left).toEqual({ type: 'left', room, members: 0, reason: 'removed', detail: 'Spamming' });
    expectDocumented('removed', left, sentMessages());
    expect(doc.operations.deliverRemoved).toMatchObject({
      action: 'send',
      messages: [{ $ref: '#/channels/chat/messages/left' }],
    });

    await api('post', '/users/user-1/disconnect').expect(202);
    expect(await member.closed).toEqual({ code: 4003, reason: 'disconnected' });
    expect(doc).toMatchObject({
      info: { description: expect.stringContaining('POST /api/v1/users/:sub/disconnect') },
    });
  });

  /** Every example of every message a client sends, with its operation and recipe. */
  function recipes() {
    return Object.entries(doc.operations)
      .filter(([, op]) => op.action === 'receive')
      .flatMap(([id, op]) =>
        op.messages.map(deref).flatMap((message) =>
          message.examples.map((example) => ({
            id,
            op,
            message,
            example,
            recipe: message['x-recipes']![example.name],
          })),
        ),
      );
  }

  it('answers every client example as its operation and recipe say', async () => {
    const cases = recipes();
    expect(cases.length).toBeGreaterThanOrEqual(15);
    for (const { id, op, message, example, recipe } of cases) {
      const label = `${id}/${example.name}`;
      const client = await connect();
      const given = expand(recipe.given ?? []);
      for (const frame of given) expect((await client.request(frame)).type).not.toBe('error');
      const witness = recipe.reply === null ? await witnessOf(given) : undefined;

      client.send(encode(message, example.payload));
      if (recipe.reply === null) {
        // Frames are answered in order: if the example got a reply, it would come before the echo.
        expect({ label, next: await client.request({ type: 'echo', message: 'marker' }) }).toEqual({
          label,
          next: { type: 'echo', message: 'marker' },
        });
        expectDocumented(label, await witness!.next(), sentMessages());
        continue;
      }
      const reply = await client.next();
      expect({ label, type: reply.type, code: reply.code }).toEqual({
        label,
        ...recipe.reply,
        code: recipe.reply.code,
      });
      expectDocumented(label, reply, op.reply!.messages.map(deref));
    }
  }, 30_000);

  /** A second connection in the rooms `given` joins, to see what the example delivers. */
  async function witnessOf(given: object[]): Promise<TestClient> {
    const witness = await connect();
    for (const frame of given) await witness.request(frame, 'joined');
    return witness;
  }

  function operation(id: string): Operation {
    return doc.operations[id];
  }

  function sentMessages(): Message[] {
    return Object.values(doc.operations)
      .filter((op) => op.action === 'send')
      .flatMap((op) => op.messages.map(deref));
  }

  /** The frame is one of `candidates` (by name) and valid against its payload schema. */
  function expectDocumented(label: string, frame: Frame, candidates: Message[]): void {
    const message = candidates.find((m) => m.name === frame.type);
    expect({ label, type: frame.type, declared: message !== undefined }).toMatchObject({ declared: true });
    const validate = ajv.compile(message!.payload);
    expect({ label, frame, valid: validate(frame), errors: validate.errors }).toMatchObject({ valid: true });
  }
});

/** The frames `given` stands for: a `{ repeat, frame }` entry is `repeat` frames, `{i}` numbering them from 1. */
function expand(given: Given[]): object[] {
  return given.flatMap((entry) => {
    if (!('repeat' in entry && 'frame' in entry)) return [entry];
    const template = JSON.stringify(entry.frame);
    return Array.from({ length: entry.repeat }, (_, i) =>
      JSON.parse(template.replaceAll('{i}', String(i + 1))),
    );
  });
}

/** A frame as the message's content type says: JSON text, plain text, or binary (base64 in the document). */
function encode(message: Message, payload: unknown): string | Buffer {
  if (message.contentType === 'text/plain') return payload as string;
  if (message.contentType === 'application/octet-stream') return Buffer.from(payload as string, 'base64');
  return JSON.stringify(payload);
}
