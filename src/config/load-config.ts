import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { type ApiKey, parseApiKeys } from '../api/api-keys';
import { AuthMode, EnvSchema, LogFormat, LogLevel } from './env.schema';
import { splitList } from './entry-list';
import { jwtKeyProblems, type JwtKeyConfig, toJwtKeyConfig } from './jwt-key-config';
import { parseWebhookConfig, type WebhookConfig } from '../webhooks/webhook-config';

/** The validated, frozen settings the app runs with (camelCase names of EnvSchema's variables). */
export interface AppConfig {
  readonly port: number;
  readonly host: string;
  readonly wsPath: string;
  readonly maxMessageLength: number;
  readonly maxRoomsPerConnection: number;
  readonly maxPayloadBytes: number;
  readonly slowConsumerBytes: number;
  readonly heartbeatIntervalMs: number;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: LogLevel;
  /** JSON lines, or pino-pretty's for a person at a terminal. */
  readonly logFormat: LogFormat;
  readonly perMessageDeflate: boolean;
  /** Cluster mode on one Redis when set. */
  readonly redisUrl: string | undefined;
  /** Cluster mode on a Redis Cluster when set: its seed nodes. */
  readonly redisClusterNodes: string[] | undefined;
  readonly redisPrefix: string;
  readonly authMode: AuthMode;
  readonly authTimeoutMs: number;
  /** How tokens are verified; undefined when no key is set (every token is then refused). */
  readonly jwt: JwtKeyConfig | undefined;
  readonly privateRoomPrefix: string;
  /** Origins (and wildcards) whose pages may connect; undefined: any. */
  readonly allowedOrigins: readonly string[] | undefined;
  /** Frames a connection may send a second; 0: no limit. */
  readonly rateLimitFramesPerS: number;
  readonly rateLimitBurst: number;
  /** Upgrades a client address may make a second; 0: no limit. */
  readonly connectRatePerIp: number;
  readonly connectBurstPerIp: number;
  /** 0: no cap. */
  readonly maxConnectionsPerIp: number;
  /** 0: no cap. */
  readonly maxConnections: number;
  /** Addresses and CIDRs whose X-Forwarded-For is believed. */
  readonly trustedProxies: readonly string[];
  readonly history: HistoryConfig;
  readonly presence: PresenceConfig;
  /** The HTTP API for the app's backend; undefined when API_KEYS is unset. */
  readonly api: ApiConfig | undefined;
  /** Webhooks to the app's backend; undefined when WEBHOOK_URL is unset. */
  readonly webhooks: WebhookConfig | undefined;
}

export interface ApiConfig {
  readonly keys: readonly ApiKey[];
  /** Requests a key may make a second; 0: no limit. */
  readonly ratePerS: number;
}

/** Room logs: what is kept, for how long, and what a join may replay. */
export interface HistoryConfig {
  /** Messages kept per room; 0: no history and no recovery. */
  readonly size: number;
  readonly ttlMs: number;
  readonly maxBytes: number;
  readonly maxRecover: number;
  readonly idempotencyTtlMs: number;
  readonly idempotencyMaxKeys: number;
}

/** Who is in a room: how members leave, and how much a snapshot or a diff holds. */
export interface PresenceConfig {
  /** How long a member whose last connection left stays, in case one comes back. */
  readonly graceMs: number;
  /** Most members a snapshot lists. */
  readonly maxMembers: number;
  /** Changes within this window go out as one diff, and snapshots asked for within it as one read. */
  readonly windowMs: number;
}

export type Env = Record<string, string | undefined>;

/** Validates the environment once, at boot; throws one error naming every bad variable. */
export function loadConfig(env: Env): AppConfig {
  const schema = plainToInstance(EnvSchema, ownVariables(env));
  const failures = validateSync(schema).flatMap((e) => Object.values(e.constraints ?? {}));
  // The webhook lists are checked together (URLs, secrets, events per URL), once.
  const webhooks = failures.length === 0 ? parseWebhookConfig(schema) : undefined;
  if (failures.length === 0) failures.push(...conflicts(schema), ...webhooks!.problems);
  if (failures.length > 0) {
    throw new Error(`Refusing to start, bad configuration:\n  ${failures.join('\n  ')}`);
  }
  return Object.freeze(toAppConfig(schema, webhooks!.config));
}

/** Settings that are each valid but make no sense together. */
function conflicts(s: EnvSchema): string[] {
  // A message at the limit must fit in a frame: up to 4 bytes a character in UTF-8, plus the envelope.
  const needed = s.MAX_MESSAGE_LENGTH * 4 + 1024;
  const conflicts: string[] = [];
  if (s.MAX_PAYLOAD_BYTES < needed) {
    conflicts.push(
      `MAX_PAYLOAD_BYTES must be at least 4 x MAX_MESSAGE_LENGTH + 1024 (${needed}), so a message at the limit fits in a frame`,
    );
  }
  if (s.REDIS_URL && s.REDIS_CLUSTER_NODES) {
    conflicts.push('Set REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster), not both');
  }
  conflicts.push(...jwtKeyProblems(s));
  if (s.CONNECT_BURST_PER_IP !== undefined && s.CONNECT_BURST_PER_IP < s.CONNECT_RATE_PER_IP) {
    conflicts.push(
      "CONNECT_BURST_PER_IP must be at least CONNECT_RATE_PER_IP: a burst is at least a second's worth",
    );
  }
  return conflicts;
}

/** Only the variables the schema declares; an empty value counts as unset (`PORT=` in a compose file). */
function ownVariables(env: Env): Record<string, string> {
  const known = Object.keys(new EnvSchema());
  const picked: Record<string, string> = {};
  for (const name of known) {
    const value = env[name];
    if (value !== undefined && value !== '') picked[name] = value;
  }
  return picked;
}

function toAppConfig(s: EnvSchema, webhooks: WebhookConfig | undefined): AppConfig {
  return {
    port: s.PORT,
    host: s.HOST,
    wsPath: s.WS_PATH,
    maxMessageLength: s.MAX_MESSAGE_LENGTH,
    maxRoomsPerConnection: s.MAX_ROOMS_PER_CONNECTION,
    maxPayloadBytes: s.MAX_PAYLOAD_BYTES,
    slowConsumerBytes: s.SLOW_CONSUMER_BYTES,
    heartbeatIntervalMs: s.HEARTBEAT_INTERVAL_MS,
    shutdownTimeoutMs: s.SHUTDOWN_TIMEOUT_MS,
    logLevel: s.LOG_LEVEL,
    logFormat: s.LOG_FORMAT,
    perMessageDeflate: s.PER_MESSAGE_DEFLATE,
    redisUrl: s.REDIS_URL,
    redisClusterNodes: s.REDIS_CLUSTER_NODES?.split(','),
    redisPrefix: s.REDIS_PREFIX,
    authMode: s.AUTH_MODE,
    authTimeoutMs: s.AUTH_TIMEOUT_MS,
    jwt: toJwtKeyConfig(s),
    privateRoomPrefix: s.PRIVATE_ROOM_PREFIX,
    allowedOrigins: s.ALLOWED_ORIGINS === undefined ? undefined : splitList(s.ALLOWED_ORIGINS),
    rateLimitFramesPerS: s.RATE_LIMIT_FRAMES_PER_S,
    rateLimitBurst: s.RATE_LIMIT_BURST,
    connectRatePerIp: s.CONNECT_RATE_PER_IP,
    connectBurstPerIp: s.CONNECT_BURST_PER_IP ?? s.CONNECT_RATE_PER_IP,
    maxConnectionsPerIp: s.MAX_CONNECTIONS_PER_IP,
    maxConnections: s.MAX_CONNECTIONS,
    trustedProxies: s.TRUSTED_PROXIES === undefined ? [] : splitList(s.TRUSTED_PROXIES),
    history: {
      size: s.HISTORY_SIZE,
      ttlMs: s.HISTORY_TTL_MS,
      maxBytes: s.HISTORY_MAX_BYTES,
      maxRecover: s.MAX_RECOVER,
      idempotencyTtlMs: s.IDEMPOTENCY_TTL_MS,
      idempotencyMaxKeys: s.IDEMPOTENCY_MAX_KEYS,
    },
    presence: {
      graceMs: s.PRESENCE_LEAVE_GRACE_MS,
      maxMembers: s.PRESENCE_MAX_MEMBERS,
      windowMs: s.PRESENCE_WINDOW_MS,
    },
    api:
      s.API_KEYS === undefined
        ? undefined
        : { keys: parseApiKeys(s.API_KEYS), ratePerS: s.API_RATE_LIMIT_PER_S },
    webhooks,
  };
}
