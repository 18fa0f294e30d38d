import { messageJson } from './message-json';

/** The message the server reads from a frame: the last `message` of the top-level object (or of `data`). */
const messageIn = (text: string): string => {
  const frame = JSON.parse(text) as { message?: string; data?: { message: string } };
  return frame.message ?? frame.data!.message;
};

describe(messageJson.name, () => {
  afterEach(() => jest.restoreAllMocks());

  it.each([
    ['the tutorial envelope', '{"type":"message","message":"Hello there"}'],
    ["Nest's envelope", '{"event":"message","data":{"message":"Hello there"}}'],
    ['a room named after the key', '{"type":"message","room":"message","message":"Hello there"}'],
  ])('takes an unescaped message straight from the frame: %s', (_, text) => {
    const stringify = jest.spyOn(JSON, 'stringify');
    expect(messageJson('Hello there', text)).toBe('"Hello there"');
    expect(stringify).not.toHaveBeenCalled();
  });

  it.each([
    ['no frame', undefined, 'hi'],
    ['quotes', '{"type":"message","message":"say \\"hi\\""}', 'say "hi"'],
    ['a backslash', '{"type":"message","message":"a\\\\b"}', 'a\\b'],
    ['a line break', '{"type":"message","message":"a\\nb"}', 'a\nb'],
    ['an escaped letter', '{"type":"message","message":"\\u0041"}', 'A'],
    ['a space after the colon', '{"type":"message", "message" : "hi"}', 'hi'],
    ['emoji', '{"type":"message","message":"👍🏽 ok"}', '👍🏽 ok'],
    [
      'a different value at the first key',
      '{"x":{"message":"decoy"},"type":"message","message":"real"}',
      'real',
    ],
    // The decoy's text starts with the real message but is longer: a backslash before the
    // quote that follows it means that quote does not close the string.
    ['an escaped quote where the message would end', '{"x":{"message":"a\\"b"},"message":"a\\\\"}', 'a\\'],
    ['a key holding an escaped quote', '{"a\\"message":"b\\"c","message":"b\\\\"}', 'b\\'],
    ['a repeated key', '{"type":"message","message":"first","message":"second"}', 'second'],
  ])('is what JSON.stringify gives with %s', (_, text, message) => {
    if (text !== undefined) expect(messageIn(text)).toBe(message); // the cases say what they mean
    expect(messageJson(message, text)).toBe(JSON.stringify(message));
  });

  it('always decodes to the message, over frames built from tricky pieces', () => {
    const values = ['', 'a', '"', '\\', 'a\\', '\\"', 'message', '"message":"', 'x"y', '\n', '👍', '\u2028'];
    for (const decoy of values) {
      for (const message of values) {
        for (const text of [
          JSON.stringify({ x: { message: decoy }, type: 'message', message }),
          JSON.stringify({ [`${decoy}message`]: decoy, message }),
          JSON.stringify({ event: 'message', data: { note: decoy, message } }),
        ]) {
          expect(messageIn(text)).toBe(message);
          expect(JSON.parse(messageJson(message, text))).toBe(message);
        }
      }
    }
  });
});
