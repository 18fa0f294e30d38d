/** Where a decoded frame keeps its text, so a message can be relayed as the client encoded it. */
export const FRAME_TEXT = Symbol('frame text');

const KEY = '"message":"';
const QUOTE = 0x22;

/**
 * `JSON.stringify(message)`, taken from the frame it arrived in when that frame holds it
 * unescaped. Escaping costs V8 some 25 instructions a character (callgrind), a third of all a
 * relayed 1 KB message costs in S3 (docs/benchmarks.md); finding the client's own copy is a
 * search and a comparison.
 *
 * Why the copy found is always right. In valid JSON (the frame parsed), the quote after
 * `message` is not escaped, so it ends a string, the colon makes that string a key, and the
 * last quote opens the key's value: `"message":"` always ends where a string value starts (of
 * a nested or repeated key, perhaps). The text that follows is used only if it is exactly
 * `message` with no backslash in it, followed by a quote: with no escape sequence before it,
 * that quote closes the value, so the text between is a complete JSON string equal to
 * `message`. Anything else (quotes or line breaks in the message, a space after the colon)
 * takes JSON.stringify.
 */
export function messageJson(message: string, frameText: string | undefined): string {
  const at = frameText === undefined ? -1 : frameText.indexOf(KEY);
  if (at === -1) return JSON.stringify(message);
  const open = at + KEY.length - 1;
  const close = open + 1 + message.length;
  const found =
    frameText!.charCodeAt(close) === QUOTE &&
    frameText!.slice(open + 1, close) === message &&
    !message.includes('\\');
  return found ? frameText!.slice(open, close + 1) : JSON.stringify(message);
}
