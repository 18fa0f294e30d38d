import { createHash, timingSafeEqual } from 'node:crypto';

/** What a key may do: send (`publish`), look (`read`), act on users (`control`). */
export const API_SCOPES = ['publish', 'read', 'control'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** One entry of API_KEYS. The secret itself is not kept, only its digest. */
export interface ApiKey {
  /** Names the key in logs and metrics, where its secret never goes. */
  readonly id: string;
  readonly digest: Buffer;
  readonly scopes: ReadonlySet<ApiScope>;
}

const ID = /^[A-Za-z0-9_.-]{1,64}$/;
// No separator of the list and no whitespace, so an entry reads back unambiguously.
const SECRET = /^[^\s:;]{24,256}$/;

const digest = (secret: string) => createHash('sha256').update(secret).digest();

/**
 * API_KEYS: entries `id:secret:scope,scope` separated by `;`. What is wrong with it, or
 * undefined; a problem names the entry by its position alone: an entry written in the wrong
 * order could have its secret where the id goes.
 */
export function apiKeysProblem(value: string): string | undefined {
  const ids = new Set<string>();
  const secrets = new Set<string>();
  const entries = value.split(';').map((entry) => entry.trim());
  for (const [index, entry] of entries.entries()) {
    const at = `API_KEYS entry ${index + 1}`;
    const parts = entry.split(':');
    if (parts.length !== 3) return `${at} must be id:secret:scopes (scopes among ${API_SCOPES.join(', ')})`;
    const [id, secret, scopes] = parts;
    if (!ID.test(id)) return `${at}: the id must be 1-64 of A-Z a-z 0-9 _ . -`;
    if (ids.has(id)) return `${at}: its id is used by another entry`;
    if (!SECRET.test(secret))
      return `${at}: the secret must be 24-256 characters, without spaces, ":" or ";"`;
    if (secrets.has(secret)) return `${at}: its secret is used by another key`;
    const unknown = scopes.split(',').find((scope) => !(API_SCOPES as readonly string[]).includes(scope));
    if (unknown !== undefined) return `${at}: the scopes must be among ${API_SCOPES.join(', ')}`;
    ids.add(id);
    secrets.add(secret);
  }
  return undefined;
}

/** API_KEYS, already checked by apiKeysProblem. */
export function parseApiKeys(value: string): ApiKey[] {
  return value.split(';').map((entry) => {
    const [id, secret, scopes] = entry.trim().split(':');
    return { id, digest: digest(secret), scopes: new Set(scopes.split(',') as ApiScope[]) };
  });
}

/**
 * The key whose secret `presented` is, if any. Every key is compared, each in constant time
 * over digests of equal length, so the time taken tells nothing about any secret.
 */
export function findKey(keys: readonly ApiKey[], presented: string): ApiKey | undefined {
  const given = digest(presented);
  let found: ApiKey | undefined;
  for (const key of keys) if (timingSafeEqual(key.digest, given)) found = key;
  return found;
}
