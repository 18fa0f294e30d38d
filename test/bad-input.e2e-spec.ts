import request from 'supertest';
import { CLOSE_TOO_BIG } from '../src/gateway/close-codes';
import { type RunningApp, startApp } from './support/app';
import { eventually } from './support/eventually';
import { joinAll, TestClient } from './support/ws-client';

/**
 * Every bad input gets a clear error frame and changes nothing else: the sender's
 * connection keeps working and a conversation between two other clients goes on.
 */
describe('bad input (e2e)', () => {
  let server: RunningApp;
  let sender: TestClient;
  let alice: TestClient;
  let bob: TestClient;
  let round = 0;

  beforeAll(async () => {
    // One sender sends every bad frame of the suite, faster than the default frame limit
    // allows; the limit has a suite of its own (frame-limit.e2e-spec.ts).
    server = await startApp({ MAX_ROOMS_PER_CONNECTION: '3', RATE_LIMIT_FRAMES_PER_S: '0' });
    [sender, alice, bob] = await Promise.all([1, 2, 3].map(() => TestClient.connect(server.wsUrl)));
    await joinAll([alice, bob], 'bystanders');
    await joinAll([sender], 'home');
  });
  afterAll(async () => {
    [sender, alice, bob].forEach((c) => c.close());
    await server.close();
  });

  afterEach(async () => {
    // The sender still works, and the bystanders still talk.
    expect(await sender.request({ type: 'echo', message: 'still here' })).toEqual({
      type: 'echo',
      message: 'still here',
    });
    alice.send({ type: 'message', message: `round ${++round}` });
    expect(await bob.next('message')).toMatchObject({ room: 'bystanders', message: `round ${round}` });
    const { body } = await request(server.httpUrl).get('/rooms').expect(200);
    expect(body.rooms).toEqual([
      { name: 'bystanders', members: 2 },
      { name: 'home', members: 1 },
    ]);
    expect(body.connections).toBe(3);
  });

  const errorFor = (frame: object | string | Buffer) => sender.request(frame, 'error');

  it.each([
    ['plain text', 'hello there', 'invalid_json'],
    ['truncated JSON', '{"type":"join","room":', 'invalid_json'],
    ['an empty frame', '', 'invalid_json'],
    ['[]', '[]', 'invalid_payload'],
    ['null', 'null', 'invalid_payload'],
    ['a bare string', '"join"', 'invalid_payload'],
    ['a number', '42', 'invalid_payload'],
    ['{}', '{}', 'invalid_payload'],
    ['a non-string type', '{"type":["join"]}', 'invalid_payload'],
    ['non-object data', '{"event":"echo","data":"hi"}', 'invalid_payload'],
  ])('%s gets %s', async (_, text, code) => {
    expect(await errorFor(text)).toMatchObject({ type: 'error', code, message: expect.any(String) });
  });

  it.each(['nope', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'JOIN'])(
    'the unknown event %j gets unknown_event',
    async (event) => {
      expect(await errorFor({ type: event })).toMatchObject({ code: 'unknown_event', event });
      expect(await errorFor({ event, data: {} })).toMatchObject({ code: 'unknown_event', event });
    },
  );

  const long = (n: number) => 'x'.repeat(n);
  it.each([
    ['join without room', { type: 'join' }, 'room'],
    ['join with a numeric room', { type: 'join', room: 5 }, 'room'],
    ['join with an empty room', { type: 'join', room: '' }, 'room'],
    ['join with a 65-character room', { type: 'join', room: long(65) }, 'room'],
    ['join with a space in the room', { type: 'join', room: 'two words' }, 'room'],
    ['join with a slash in the room', { type: 'join', room: 'a/b' }, 'room'],
    ['join with a non-ASCII room', { type: 'join', room: 'café' }, 'room'],
    ['join with a numeric name', { type: 'join', room: 'r', name: 7 }, 'name'],
    ['join with an empty name', { type: 'join', room: 'r', name: '' }, 'name'],
    ['join with a 33-character name', { type: 'join', room: 'r', name: long(33) }, 'name'],
    ['join with a control character in the name', { type: 'join', room: 'r', name: 'a\nb' }, 'name'],
    ['join with a zero-width space in the name', { type: 'join', room: 'r', name: 'a\u200bb' }, 'name'],
    ['join with a bidi override in the name', { type: 'join', room: 'r', name: 'evil\u202eoc.exe' }, 'name'],
    [
      'join with 32 variation-selected letters as a name',
      { type: 'join', room: 'r', name: 'a\ufe0f'.repeat(32) },
      'name',
    ],
    ['join with a nested room', { type: 'join', room: { room: 'r' } }, 'room'],
    [
      'join with a deeply nested room',
      `{"type":"join","room":${'['.repeat(30000)}${']'.repeat(30000)}}`,
      'room',
    ],
    ['leave without room', { type: 'leave' }, 'room'],
    ['message without message', { type: 'message' }, 'message'],
    ['message with a number', { type: 'message', message: 12 }, 'message'],
    ['message with an empty string', { type: 'message', message: '' }, 'message'],
    ['message of 4097 characters', { type: 'message', message: long(4097) }, 'message'],
    ['message of 4097 emoji', { type: 'message', message: '😀'.repeat(4097) }, 'message'],
    [
      'message of 4096 letters with variation selectors',
      { type: 'message', message: 'x\ufe0f'.repeat(4096) },
      'message',
    ],
    ['message to a bad room name', { type: 'message', message: 'x', room: 'bad name' }, 'room'],
    ['broadcast without message', { type: 'broadcast' }, 'message'],
    ['echo with an object', { event: 'echo', data: { message: { a: 1 } } }, 'message'],
    [
      'a __proto__ key posing as fields',
      JSON.parse('{"event":"join","data":{"__proto__":{"room":"x"}}}'),
      'room',
    ],
  ])('%s gets invalid_payload naming the field', async (_, frame, field) => {
    const error = await errorFor(frame);
    expect(error).toMatchObject({ code: 'invalid_payload', event: expect.any(String) });
    expect(error.details).toContainEqual({
      field,
      rule: expect.any(String),
      message: expect.stringContaining(field),
    });
  });

  it('counts characters, not bytes or UTF-16 units: 4096 emoji make a valid message', async () => {
    expect(await sender.request({ type: 'echo', message: '😀'.repeat(4096) })).toMatchObject({
      type: 'echo',
    });
  });

  it('ignores unknown fields, however big or deep, without walking them', async () => {
    const deep = `{"type":"echo","message":"deep","junk":${'['.repeat(30000)}${']'.repeat(30000)}}`;
    expect(await sender.request(deep)).toEqual({ type: 'echo', message: 'deep' });
    const wide = {
      type: 'echo',
      message: 'wide',
      ...Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])),
    };
    expect(await sender.request(wide)).toEqual({ type: 'echo', message: 'wide' });
  });

  it('relays a message as valid JSON when a decoy field imitates it', async () => {
    // The nested value's text starts like the real message, up to an escaped quote; a relay
    // that took the message's JSON from the first "message" in the frame would send broken JSON.
    alice.send('{"x":{"message":"a\\"b"},"type":"message","message":"a\\\\"}');
    expect(await bob.next('message')).toMatchObject({ room: 'bystanders', message: 'a\\' });
  });

  it('accepts emoji sequences (zero-width joiners) in display names', async () => {
    expect(await sender.request({ type: 'join', room: 'home', name: '👨‍👩‍👧 family' })).toMatchObject({
      type: 'joined',
    });
  });

  it('a binary frame gets unsupported_frame', async () => {
    expect(await errorFor(Buffer.from('{"type":"echo","message":"x"}'))).toMatchObject({
      code: 'unsupported_frame',
    });
  });

  it('not_in_room for leaving or writing to a room not joined, membership untouched', async () => {
    expect(await errorFor({ type: 'leave', room: 'bystanders' })).toMatchObject({
      code: 'not_in_room',
      event: 'leave',
    });
    expect(await errorFor({ type: 'message', room: 'bystanders', message: 'sneak' })).toMatchObject({
      code: 'not_in_room',
    });
    expect(await alice.nothingWithin(50)).toBe(true);
  });

  it('too_many_rooms past MAX_ROOMS_PER_CONNECTION, joining nothing', async () => {
    await sender.request({ type: 'join', room: 'extra-1' }, 'joined');
    await sender.request({ type: 'join', room: 'extra-2' }, 'joined');
    expect(await errorFor({ type: 'join', room: 'extra-3' })).toMatchObject({
      code: 'too_many_rooms',
      event: 'join',
    });
    await request(server.httpUrl).get('/rooms/extra-3').expect(404);
    for (const room of ['extra-1', 'extra-2']) await sender.request({ type: 'leave', room }, 'left');
  });

  it.each(['__proto__', 'constructor', 'toString'])('%s is an ordinary room', async (room) => {
    const other = await TestClient.connect(server.wsUrl);
    const first = await sender.request({ type: 'join', room });
    expect(first).toEqual({ type: 'joined', room, members: 1, epoch: expect.any(String), offset: 0 });
    const second = await other.request({ type: 'join', room });
    expect(second).toEqual({ type: 'joined', room, members: 2, epoch: first.epoch, offset: 0 });
    await request(server.httpUrl).get(`/rooms/${room}`).expect(200, { name: room, members: 2 });
    sender.send({ type: 'message', message: 'proto?', room });
    expect(await other.next('message')).toMatchObject({ room, message: 'proto?' });
    await sender.request({ type: 'leave', room }, 'left');
    other.close();
    await eventually(() => request(server.httpUrl).get(`/rooms/${room}`).expect(404));
    await sender.request({ type: 'join', room: 'home' }, 'joined');
  });

  it('a burst of garbage followed by a normal join: every frame answered, in order', async () => {
    const garbage = ['x', '[]', '{}', 'null', '{"type":"nope"}', '{"type":"join"}', Buffer.from([0, 1, 2])];
    for (let i = 0; i < 30; i++) sender.send(garbage[i % garbage.length]);
    sender.send({ type: 'join', room: 'home' });
    for (let i = 0; i < 30; i++) await sender.next('error');
    expect(await sender.next()).toEqual({
      type: 'joined',
      room: 'home',
      members: 1,
      epoch: expect.any(String),
      offset: 0,
    });
  });

  it('accepts a 60 KB frame', async () => {
    const frame = { type: 'echo', message: 'big', padding: long(60 * 1024) };
    expect(await sender.request(frame)).toEqual({ type: 'echo', message: 'big' });
  });

  it('closes a connection whose frame passes MAX_PAYLOAD_BYTES with 1009, touching nothing else', async () => {
    const victim = await TestClient.connect(server.wsUrl);
    await victim.request({ type: 'join', room: 'home' }, 'joined');
    victim.send({ type: 'echo', message: 'x', padding: long(65 * 1024) });
    expect((await victim.closed).code).toBe(CLOSE_TOO_BIG);
    await eventually(() =>
      request(server.httpUrl).get('/rooms/home').expect(200, { name: 'home', members: 1 }),
    );
  });
});
