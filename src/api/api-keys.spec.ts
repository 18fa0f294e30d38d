import { apiKeysProblem, findKey, parseApiKeys } from './api-keys';

const A = 'a-secret-of-twenty-four-chars-at-least';
const B = 'b-secret-of-twenty-four-chars-at-least';

describe('API_KEYS', () => {
  it('parses entries into ids and scopes, keeping no secret', () => {
    const keys = parseApiKeys(`backend:${A}:publish,read ; ops:${B}:control`);
    expect(keys.map((k) => [k.id, [...k.scopes]])).toEqual([
      ['backend', ['publish', 'read']],
      ['ops', ['control']],
    ]);
    expect(JSON.stringify(keys)).not.toContain(A);
  });

  it('finds the key a secret belongs to, and none for any other', () => {
    const keys = parseApiKeys(`one:${A}:read;two:${B}:read`);
    expect(findKey(keys, B)?.id).toBe('two');
    expect(findKey(keys, A)?.id).toBe('one');
    for (const wrong of ['', A.slice(1), `${A}x`, A.toUpperCase()])
      expect(findKey(keys, wrong)).toBeUndefined();
  });

  it.each([
    [`backend:${A}`, /entry 1 must be id:secret:scopes/],
    [`back end:${A}:read`, /entry 1: the id/],
    [`x:${A}:read;x:${B}:read`, /entry 2: its id is used by another entry/],
    ['x:short:read', /entry 1: the secret must be 24-256/],
    [`x:${A}:read;y:${A}:read`, /entry 2: its secret is used by another key/],
    [`x:${A}:write`, /entry 1: the scopes must be among publish, read, control/],
    [`${A}:x:read`, /entry 1: the secret must be 24-256/], // written in the wrong order
    [`x:${A}:`, /scopes must be among/],
    [`x:${A}:read;`, /entry 2 must be/],
  ])('refuses %j, naming the entry by position and never its secret', (value, problem) => {
    const found = apiKeysProblem(value);
    expect(found).toMatch(problem);
    expect(found).not.toContain(A);
  });
});
