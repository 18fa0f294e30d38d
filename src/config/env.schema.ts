import 'reflect-metadata'; // @Type() below reads design-time metadata, even outside a Nest app
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { proxyProblem } from '../limits/client-address';
import { originProblem } from '../limits/origin-policy';
import { apiKeysProblem } from '../api/api-keys';
import { HasNoProblem, IsEntryList } from './entry-list';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const AUTH_MODES = ['open', 'jwt'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
/** Every algorithm JWT_ALGORITHMS may name; `none` is not one of them. */
export const JWT_ALGORITHMS = [
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA', 'Ed25519',
] as const; // prettier-ignore
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

const toBoolean = ({ value }: { value: unknown }) =>
  value === 'true' ? true : value === 'false' ? false : value;

/**
 * Every environment variable the service reads, with its type, bounds and default.
 * Property names are the variable names, so a failed rule names the variable.
 */
export class EnvSchema {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 8080;

  @IsOptional()
  @IsString()
  @MinLength(1)
  HOST = '0.0.0.0';

  @IsOptional()
  @Matches(/^\/[A-Za-z0-9_.~\-/]*$/, { message: 'WS_PATH must be a URL path starting with /' })
  WS_PATH = '/ws';

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MAX_MESSAGE_LENGTH = 4096;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  MAX_ROOMS_PER_CONNECTION = 32;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(100 * 1024 * 1024)
  MAX_PAYLOAD_BYTES = 65536;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  SLOW_CONSUMER_BYTES = 1024 * 1024;

  // At most a day: timers past 2^31-1 ms fire at once, which would drop every client.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(86_400_000)
  HEARTBEAT_INTERVAL_MS = 30_000;

  // At least long enough for a close handshake on a healthy connection.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60_000)
  SHUTDOWN_TIMEOUT_MS = 3000;

  @IsOptional()
  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'log';

  @IsOptional()
  @IsIn(LOG_FORMATS)
  LOG_FORMAT: LogFormat = 'json';

  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  PER_MESSAGE_DEFLATE = false;

  // Unset: one instance, in memory. Set: cluster mode over this Redis.
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL: string | undefined = undefined;

  // A Redis Cluster instead (Redis 7, sharded pub/sub): seed nodes, comma-separated.
  @IsOptional()
  @Matches(/^(?:rediss?:\/\/[^\s,]+|[^\s,:/]+:\d+)(?:,(?:rediss?:\/\/[^\s,]+|[^\s,:/]+:\d+))*$/, {
    message: 'REDIS_CLUSTER_NODES must be comma-separated host:port or redis:// URLs',
  })
  REDIS_CLUSTER_NODES: string | undefined = undefined;

  // Braces would break the hash tags keys share (`{<prefix>}` for the registry's, `{<room>}`
  // for a room's log), and a colon would let one deployment's keys and channels
  // (`<prefix>:{<room>}:ch`) collide with another's.
  @IsOptional()
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, {
    message: 'REDIS_PREFIX must be 1 to 64 characters: ASCII letters, digits, _ - .',
  })
  REDIS_PREFIX = 'rooms';

  // open: anonymous clients may connect and join public rooms. jwt: every connection must
  // authenticate within AUTH_TIMEOUT_MS.
  @IsOptional()
  @IsIn(AUTH_MODES)
  AUTH_MODE: AuthMode = 'open';

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(600_000)
  AUTH_TIMEOUT_MS = 10_000;

  // One of the three keys below. Their cross-checks (one at a most, a secret's length, a PEM
  // that parses, algorithms that fit the key) are in load-config.ts's conflicts().
  @IsOptional()
  @IsString()
  JWT_SECRET: string | undefined = undefined;

  @IsOptional()
  @IsString()
  JWT_PUBLIC_KEY: string | undefined = undefined;

  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: 'JWT_JWKS_URL must be an http:// or https:// URL' })
  JWT_JWKS_URL: string | undefined = undefined;

  @IsOptional()
  @Matches(new RegExp(`^(?:${JWT_ALGORITHMS.join('|')})(?:,(?:${JWT_ALGORITHMS.join('|')}))*$`), {
    message: `JWT_ALGORITHMS must be a comma-separated list of ${JWT_ALGORITHMS.join(', ')}`,
  })
  JWT_ALGORITHMS: string | undefined = undefined;

  @IsOptional()
  @IsString()
  JWT_AUDIENCE: string | undefined = undefined;

  @IsOptional()
  @IsString()
  JWT_ISSUER: string | undefined = undefined;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3600)
  JWT_CLOCK_TOLERANCE_S = 30;

  // A token with a `kid` the cached key set lacks makes the set be fetched again, at most this often.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(86_400)
  JWT_JWKS_COOLDOWN_S = 30;

  // How long a fetched key set is used before it is fetched again.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(86_400)
  JWT_JWKS_MAX_AGE_S = 600;

  // A room whose name starts with this is private: joined only under a matching `rooms` claim.
  @IsOptional()
  @Matches(/^[A-Za-z0-9_.:-]{1,63}$/, {
    message:
      'PRIVATE_ROOM_PREFIX must be 1 to 63 characters a room name may hold: ASCII letters, digits, _ - . :',
  })
  PRIVATE_ROOM_PREFIX = 'private:';

  // Pages that may open a WebSocket: exact origins and https://*.example.com wildcards,
  // comma-separated (src/limits/origin-policy.ts). Unset: any page.
  @IsOptional()
  @IsEntryList(originProblem)
  ALLOWED_ORIGINS: string | undefined = undefined;

  // Frames a connection may send a second, on average; 0 turns the limit off.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  RATE_LIMIT_FRAMES_PER_S = 50;

  // Frames a connection may send at once, after a quiet spell.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  RATE_LIMIT_BURST = 100;

  // Upgrades a client address may make a second, on average; 0 turns the limit off.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(100_000)
  CONNECT_RATE_PER_IP = 0;

  // Upgrades a client address may make at once; unset: CONNECT_RATE_PER_IP (load-config.ts).
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  CONNECT_BURST_PER_IP: number | undefined = undefined;

  // Open connections per client address on this instance; 0: no cap.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  MAX_CONNECTIONS_PER_IP = 0;

  // Open connections on this instance; 0: no cap.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  MAX_CONNECTIONS = 0;

  // Proxies (addresses or CIDRs, comma-separated) whose X-Forwarded-For is believed.
  @IsOptional()
  @IsEntryList(proxyProblem)
  TRUSTED_PROXIES: string | undefined = undefined;

  // Messages kept per room for history and recovery; 0 turns both off (offsets are still given).
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_000)
  HISTORY_SIZE = 100;

  // How long a room's log outlives its last message, join or leave.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(30 * 86_400_000)
  HISTORY_TTL_MS = 300_000;

  // Bytes of history one instance keeps in memory (without REDIS_URL); past it, the oldest messages go first.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1024 * 1024)
  @Max(64 * 1024 * 1024 * 1024)
  HISTORY_MAX_BYTES = 64 * 1024 * 1024;

  // The most missed messages a join with `since` replays; more and it answers recovered:false.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  MAX_RECOVER = 100;

  // How long a message's `cid` is remembered, so a retry with it is not delivered twice.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(86_400_000)
  IDEMPOTENCY_TTL_MS = 300_000;

  // The most `cid`s one instance remembers in memory (without REDIS_URL); past it, the oldest are forgotten.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(100_000_000)
  IDEMPOTENCY_MAX_KEYS = 200_000;

  // How long a member whose last connection left stays listed, so a quick reconnect is neither a leave nor a join.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  PRESENCE_LEAVE_GRACE_MS = 5000;

  // The most members a presence snapshot lists (`truncated` past it; `count` stays exact).
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  PRESENCE_MAX_MEMBERS = 1000;

  // Presence changes within this window go to a follower as one diff frame.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_000)
  PRESENCE_WINDOW_MS = 100;

  // Keys of the HTTP API for the app's backend (/api/v1): `id:secret:scopes` entries separated
  // by `;`. Unset: no such API.
  @IsOptional()
  @HasNoProblem(apiKeysProblem)
  API_KEYS: string | undefined = undefined;

  // Requests each API key may make a second, across instances in cluster mode; 0: no limit.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  API_RATE_LIMIT_PER_S = 100;

  // Webhooks to the app's backend (src/webhooks/webhook-config.ts checks these together):
  // endpoints, signing secrets, events (one list, or one per endpoint separated by `;`), and
  // each endpoint's queue size, request timeout and how long a batch is retried.
  @IsOptional()
  @IsString()
  WEBHOOK_URL: string | undefined = undefined;

  @IsOptional()
  @IsString()
  WEBHOOK_SECRET: string | undefined = undefined;

  @IsOptional()
  @IsString()
  WEBHOOK_EVENTS: string | undefined = undefined;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  WEBHOOK_QUEUE_SIZE = 10_000;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60_000)
  WEBHOOK_TIMEOUT_MS = 10_000;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(86_400_000)
  WEBHOOK_RETRY_FOR_MS = 300_000;
}
