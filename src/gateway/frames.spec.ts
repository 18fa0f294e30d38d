import { broadcastJson, decodeFrame, roomMessageHead, senderJson, unpositionedJson } from './frames';
import { FRAME_TEXT } from './message-json';

// Decoded fields carry the frame's text under a symbol, for message-json.ts.
const decodes = (text: string, event: string, data: object) =>
  expect(decodeFrame(text)).toEqual({ ok: true, frame: { event, data: { ...data, [FRAME_TEXT]: text } } });

describe(decodeFrame.name, () => {
  it('reads the tutorial envelope, fields flat beside type', () => {
    decodes('{"type":"join","room":"room1"}', 'join', { room: 'room1' });
  });

  it("reads Nest's envelope, fields under data", () => {
    decodes('{"event":"join","data":{"room":"room1"}}', 'join', { room: 'room1' });
  });

  it('gives an event without data empty data', () => {
    decodes('{"event":"echo"}', 'echo', {});
  });

  it('keeps only the fields events read, and stands a placeholder in for nested values', () => {
    const text = '{"type":"join","room":{"a":[1]},"name":"n","extra":[[[]]],"__proto__":{"room":"x"}}';
    decodes(text, 'join', { room: {}, name: 'n' });
  });

  it('reads a frame with both a string type and an event as the tutorial envelope', () => {
    decodes('{"type":"echo","message":"m","event":"x"}', 'echo', { message: 'm' });
  });

  it.each(['hello', '{"type":', '', '{type:"join"}'])('answers invalid_json for %j', (text) => {
    expect(decodeFrame(text)).toMatchObject({ ok: false, error: { type: 'error', code: 'invalid_json' } });
  });

  it.each([
    '[]',
    'null',
    '"join"',
    '42',
    'true',
    '{}',
    '{"type":7}',
    '{"event":null}',
    '{"event":"join","data":[1]}',
  ])('answers invalid_payload for %s, naming the field', (text) => {
    const decoded = decodeFrame(text);
    expect(decoded).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    expect(decoded.ok || decoded.error.details?.[0].field).toBeTruthy();
  });
});

describe('the relayed frames', () => {
  const messages = [
    'Hello',
    '',
    'say "hi"',
    'a\\b',
    'line\nbreak',
    '\u0000\u001f',
    'emoji 👍🏽',
    '\u2028',
    '\ud800',
  ];
  // Anonymous senders have no `user`; verified ones do.
  const senders: [string, string | undefined][] = [
    ['alice', undefined],
    ['kX2c9aQbT1fz', undefined],
    ['o"hara', undefined],
    ['Alice', 'user-1'],
    ['o"hara', 'a\\"\u2028'],
  ];

  it.each(messages)('are what JSON.stringify makes of the same object (%j)', (message) => {
    for (const [from, user] of senders) {
      const json = JSON.stringify(message);
      const sender = senderJson(from, user);
      const head = roomMessageHead('room-1:a.b', json, sender, 'kX2c-1f', 1795632147090);
      const fields = {
        type: 'message',
        room: 'room-1:a.b',
        message,
        from,
        user,
        id: 'kX2c-1f',
        ts: 1795632147090,
      };
      expect(`${head}7}`).toBe(JSON.stringify({ ...fields, offset: 7 }));
      expect(unpositionedJson(head)).toBe(JSON.stringify(fields));
      expect(broadcastJson(json, sender, 'kX2c-20', 1795632147095)).toBe(
        JSON.stringify({ type: 'broadcast', message, from, user, id: 'kX2c-20', ts: 1795632147095 }),
      );
    }
  });
});
