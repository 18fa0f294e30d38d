import { decodeFrame } from './frames';

describe(decodeFrame.name, () => {
  it('reads the tutorial envelope, fields flat beside type', () => {
    expect(decodeFrame('{"type":"join","room":"room1"}')).toEqual({
      ok: true,
      frame: { event: 'join', data: { room: 'room1' } },
    });
  });

  it("reads Nest's envelope, fields under data", () => {
    expect(decodeFrame('{"event":"join","data":{"room":"room1"}}')).toEqual({
      ok: true,
      frame: { event: 'join', data: { room: 'room1' } },
    });
  });

  it('gives an event without data empty data', () => {
    expect(decodeFrame('{"event":"echo"}')).toEqual({ ok: true, frame: { event: 'echo', data: {} } });
  });

  it('keeps only the fields events read, and stands a placeholder in for nested values', () => {
    const decoded = decodeFrame(
      '{"type":"join","room":{"a":[1]},"name":"n","extra":[[[]]],"__proto__":{"room":"x"}}',
    );
    expect(decoded).toEqual({ ok: true, frame: { event: 'join', data: { room: {}, name: 'n' } } });
  });

  it('reads a frame with both a string type and an event as the tutorial envelope', () => {
    expect(decodeFrame('{"type":"echo","message":"m","event":"x"}')).toEqual({
      ok: true,
      frame: { event: 'echo', data: { message: 'm' } },
    });
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
