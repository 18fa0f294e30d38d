import { createSecretKey, type KeyObject } from 'node:crypto';
import { splitList } from '../config/entry-list';
import { DEFAULT_WEBHOOK_EVENTS, WEBHOOK_EVENT_NAMES, type WebhookEventName } from './webhook-event';

/** The WEBHOOK_* variables: the lists as the environment gives them, the numbers as EnvSchema checked them. */
export interface WebhookEnv {
  WEBHOOK_URL?: string;
  WEBHOOK_SECRET?: string;
  WEBHOOK_EVENTS?: string;
  WEBHOOK_QUEUE_SIZE?: number;
  WEBHOOK_TIMEOUT_MS?: number;
  WEBHOOK_RETRY_FOR_MS?: number;
}

export interface WebhookEndpoint {
  readonly url: URL;
  readonly events: readonly WebhookEventName[];
}

export interface WebhookConfig {
  /** Each endpoint gets its own queue and deliverer. */
  readonly endpoints: readonly WebhookEndpoint[];
  /** Every request is signed with each: the old and the new one while a secret is rotated. */
  readonly secrets: readonly KeyObject[];
  /** Events held per endpoint; past it the oldest are dropped. */
  readonly queueSize: number;
  readonly timeoutMs: number;
  /** How long a batch is retried, from its first attempt. */
  readonly retryForMs: number;
}

const SECRET_PREFIX = 'whsec_';
/** Standard Webhooks asks for secrets of 24 to 64 bytes; a shorter key is guessable. */
const MIN_SECRET_BYTES = 24;
/** A plain secret is taken as typed, so it has to make up in length for its few symbols per byte. */
const MIN_PLAIN_SECRET_CHARS = 32;
/** EnvSchema's defaults, for a caller that gives no numbers (the specs). */
const DEFAULTS = { WEBHOOK_QUEUE_SIZE: 10_000, WEBHOOK_TIMEOUT_MS: 10_000, WEBHOOK_RETRY_FOR_MS: 300_000 };

/**
 * The webhook settings, or every reason they cannot work. Undefined without WEBHOOK_URL.
 * Problems name a variable and an entry's position, never its text: a URL can carry a token.
 */
export function parseWebhookConfig(env: WebhookEnv): {
  config: WebhookConfig | undefined;
  problems: string[];
} {
  const urlList = listOf(env.WEBHOOK_URL);
  const secretList = listOf(env.WEBHOOK_SECRET);
  if (urlList === undefined) {
    const problems = secretList === undefined ? [] : ['WEBHOOK_SECRET is set but WEBHOOK_URL is not'];
    return { config: undefined, problems };
  }
  const problems: string[] = [];
  const urls = parseEach('WEBHOOK_URL', urlList, urlProblem, (entry) => new URL(entry), problems);
  problems.push(...repeats('WEBHOOK_URL', urls));
  if (secretList === undefined) {
    problems.push('WEBHOOK_URL is set but WEBHOOK_SECRET is not: webhooks are always signed');
  }
  const secrets = parseEach('WEBHOOK_SECRET', secretList ?? [], secretProblem, secretKey, problems);
  const events = eventsPerEndpoint(env.WEBHOOK_EVENTS, urls.length, problems);
  const {
    WEBHOOK_QUEUE_SIZE: queueSize,
    WEBHOOK_TIMEOUT_MS: timeoutMs,
    WEBHOOK_RETRY_FOR_MS: retryForMs,
  } = {
    ...DEFAULTS,
    ...env,
  };
  if (problems.length > 0) return { config: undefined, problems };
  const endpoints = Object.freeze(urls.map((url, i) => Object.freeze({ url, events: events[i] })));
  const config = { endpoints, secrets, queueSize, timeoutMs, retryForMs };
  return { config: Object.freeze(config), problems };
}

/** Unset, or blank as `WEBHOOK_URL=` in an env file leaves it: undefined. */
function listOf(value: string | undefined): string[] | undefined {
  return value === undefined || value.trim() === '' ? undefined : splitList(value);
}

function parseEach<T>(
  name: string,
  entries: string[],
  problem: (entry: string) => string | undefined,
  parse: (entry: string) => T,
  problems: string[],
): readonly T[] {
  const found = entries.map((entry, i) => [i, problem(entry)] as const).filter(([, p]) => p !== undefined);
  problems.push(...found.map(([i, p]) => `${name} entry ${i + 1} ${p}`));
  return found.length > 0 ? [] : Object.freeze(entries.map(parse));
}

/** Two URLs that differ only in spelling (`HTTPS://Host`) are one endpoint. */
function repeats(name: string, urls: readonly URL[]): string[] {
  const entries = urls.map((url) => url.href);
  return entries.flatMap((entry, i) => {
    const first = entries.indexOf(entry);
    return first < i ? [`${name} entry ${i + 1} repeats entry ${first + 1}`] : [];
  });
}

function urlProblem(entry: string): string | undefined {
  if (!URL.canParse(entry)) return 'is not an absolute URL';
  const url = new URL(entry);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http or https URL';
  // Basic auth in a URL ends up in logs and errors; a query token is at least kept out of ours.
  if (url.username !== '' || url.password !== '') return 'must not hold credentials (user:password@)';
  return undefined;
}

function secretProblem(entry: string): string | undefined {
  if (entry.startsWith(SECRET_PREFIX)) {
    const base64 = entry.slice(SECRET_PREFIX.length);
    if (!isBase64(base64)) return `is not ${SECRET_PREFIX} followed by base64`;
    const bytes = Buffer.from(base64, 'base64').length;
    return bytes < MIN_SECRET_BYTES
      ? `decodes to ${bytes} bytes; it needs at least ${MIN_SECRET_BYTES}`
      : undefined;
  }
  return entry.length < MIN_PLAIN_SECRET_CHARS
    ? `is ${entry.length} characters; it needs at least ${MIN_PLAIN_SECRET_CHARS} (or ${SECRET_PREFIX}<base64>)`
    : undefined;
}

// Buffer.from skips what is not base64, so a typo would silently shorten the key.
function isBase64(text: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.replace(/=+$/, '').length % 4 !== 1;
}

// A KeyObject, not bytes: logging one by mistake shows its size, not the secret.
function secretKey(entry: string): KeyObject {
  const bytes = entry.startsWith(SECRET_PREFIX)
    ? Buffer.from(entry.slice(SECRET_PREFIX.length), 'base64')
    : Buffer.from(entry, 'utf8');
  return createSecretKey(bytes);
}

/**
 * WEBHOOK_EVENTS: one list for every endpoint, or one per endpoint, separated by `;`, in
 * WEBHOOK_URL's order.
 */
function eventsPerEndpoint(
  value: string | undefined,
  endpoints: number,
  problems: string[],
): (readonly WebhookEventName[])[] {
  const lists = value === undefined || !value.includes(';') ? [value] : value.split(';');
  if (lists.length > 1 && lists.length !== endpoints) {
    problems.push(
      `WEBHOOK_EVENTS has ${lists.length} lists separated by ";" for ${endpoints} WEBHOOK_URL entries: give one list, or one per URL`,
    );
    return [];
  }
  const parsed = lists.map((list) => eventsOf(list, problems));
  return Array.from({ length: endpoints }, (_, i) => parsed[lists.length === 1 ? 0 : i]);
}

function eventsOf(value: string | undefined, problems: string[]): readonly WebhookEventName[] {
  const entries = listOf(value);
  if (entries === undefined) return DEFAULT_WEBHOOK_EVENTS;
  const known = (entry: string): entry is WebhookEventName =>
    (WEBHOOK_EVENT_NAMES as readonly string[]).includes(entry);
  const unknown = entries.filter((entry) => !known(entry));
  if (unknown.length > 0) {
    // Event names are no secret, and naming the typo is what helps.
    const names = unknown.map((entry) => JSON.stringify(entry)).join(', ');
    problems.push(`WEBHOOK_EVENTS names unknown events ${names} (known: ${WEBHOOK_EVENT_NAMES.join(', ')})`);
    return [];
  }
  return Object.freeze([...new Set(entries.filter(known))]);
}
