import { Injectable, type OnModuleInit } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { ERROR_CODES } from '../gateway/frames';
import { REFUSAL_REASONS } from '../gateway/upgrade-admission';
import { FastHistogram } from './fast-histogram';
import { Tally, tallies } from './tally';

const EVENTS = ['auth', 'join', 'leave', 'message', 'broadcast', 'echo', 'history', 'presence'] as const;
/**
 * chat_frames_total's labels: the protocol's events, `unknown` for any other event name and
 * `invalid` for a frame that did not decode (or was binary), so clients cannot add series.
 */
const FRAME_LABELS = [...EVENTS, 'unknown', 'invalid'] as const;
/** `reset`: a room's members told that continuity was lost; `presence`: snapshots and diffs. */
const DELIVERY_TYPES = ['message', 'broadcast', 'reset', 'presence'] as const;
/** How joins with `since` fared. */
const RECOVERY_OUTCOMES = ['recovered', 'not_recovered'] as const;
/** Why the server cut a connection off (a client's own close is not counted). */
const DISCONNECT_REASONS = [
  'slow_consumer',
  'heartbeat',
  'too_big',
  'invalid_utf8',
  'invalid_token',
  'token_expired',
  'forbidden',
  'auth_timeout',
  'rate_limited',
  'disconnected',
] as const;
export type DisconnectReason = (typeof DISCONNECT_REASONS)[number];
/** How each token presented (at the upgrade or in an `auth` frame) fared, and auth timeouts. */
const AUTH_OUTCOMES = [
  'authenticated',
  'refreshed',
  'invalid_token',
  'token_expired',
  'forbidden',
  'unavailable',
  'timeout',
] as const;
export type AuthOutcome = (typeof AUTH_OUTCOMES)[number];

// From a few microseconds (a small room) to tens of milliseconds (a broadcast to many thousands).
const FANOUT_BUCKETS = [5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1];

/** This instance's sizes, which the gauges read when scraped rather than being kept up to date. */
interface LocalSizes {
  rooms(): number;
  connections(): number;
}

/**
 * Every metric GET /metrics serves, in a registry of this app's own: prom-client's global one
 * would mix (and refuse) the metrics of two apps in one process, as in the tests. The hot path
 * adds to Tallies, plain numbers that each metric reads when scraped, because prom-client's
 * labelled inc() builds a key string on every call.
 */
@Injectable()
export class MetricsService implements OnModuleInit {
  readonly registry = new Registry();
  readonly joins = new Tally();
  readonly leaves = new Tally();
  readonly frames = tallies(FRAME_LABELS);
  readonly deliveries = tallies(DELIVERY_TYPES);
  readonly errors = tallies(ERROR_CODES);
  readonly disconnects = tallies(DISCONNECT_REASONS);
  readonly auth = tallies(AUTH_OUTCOMES);
  readonly upgradesRefused = tallies(REFUSAL_REASONS);
  readonly rateLimitedFrames = new Tally();
  readonly recoveries = tallies(RECOVERY_OUTCOMES);
  /** Messages sent again with a cid already seen: acked, not delivered again. */
  readonly duplicates = new Tally();
  readonly fanout: FastHistogram;
  private readonly framesByEvent = new Map<string, Tally>(EVENTS.map((event) => [event, this.frames[event]]));
  private sizes: LocalSizes = { rooms: () => 0, connections: () => 0 };
  private readonly apiRequests: Counter<'method' | 'route' | 'status'>;

  constructor() {
    const registers = [this.registry];
    const sizes = () => this.sizes;
    new Gauge({
      name: 'chat_connections',
      help: 'Open WebSocket connections on this instance',
      registers,
      collect() {
        this.set(sizes().connections());
      },
    });
    new Gauge({
      name: 'chat_rooms',
      help: 'Rooms with members on this instance',
      registers,
      collect() {
        this.set(sizes().rooms());
      },
    });
    counter(registers, 'chat_joins_total', 'Memberships added (a repeat join adds none)', this.joins);
    counter(
      registers,
      'chat_leaves_total',
      'Memberships ended, by leave or by the connection closing',
      this.leaves,
    );
    labelled(registers, 'chat_frames_total', 'Frames received, by event', 'event', this.frames);
    labelled(
      registers,
      'chat_deliveries_total',
      'Messages delivered, one per recipient',
      'type',
      this.deliveries,
    );
    labelled(registers, 'chat_errors_total', 'Error frames sent, by code', 'code', this.errors);
    labelled(
      registers,
      'chat_disconnects_total',
      'Connections the server cut off',
      'reason',
      this.disconnects,
    );
    labelled(
      registers,
      'chat_auth_total',
      'Tokens presented, and auth timeouts, by outcome',
      'outcome',
      this.auth,
    );
    labelled(
      registers,
      'chat_upgrades_refused_total',
      'WebSocket upgrades answered with an HTTP error instead, by reason',
      'reason',
      this.upgradesRefused,
    );
    counter(
      registers,
      'chat_rate_limited_frames_total',
      "Frames refused, unhandled, for coming faster than their connection's frame rate limit",
      this.rateLimitedFrames,
    );
    labelled(registers, 'chat_recoveries_total', 'Joins with since, by outcome', 'outcome', this.recoveries);
    counter(
      registers,
      'chat_duplicates_total',
      'Messages sent again with a cid already seen: acked again, not delivered again',
      this.duplicates,
    );
    this.apiRequests = new Counter({
      name: 'chat_api_requests_total',
      help: "Requests to the backend's HTTP API (/api/v1), by method, route and status",
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.fanout = new FastHistogram(
      'chat_fanout_seconds',
      "Time to hand one message to this instance's recipients",
      FANOUT_BUCKETS,
      this.registry,
    );
  }

  /** Event-loop lag, CPU, memory, GC: started with the app, not by a unit spec that only constructs this. */
  onModuleInit(): void {
    collectDefaultMetrics({ register: this.registry });
  }

  countFrame(event: string): void {
    (this.framesByEvent.get(event) ?? this.frames.unknown).value++;
  }

  /** `route` is the route's pattern (`unmatched` for none), so paths cannot add series. */
  countApiRequest(method: string, route: string, status: number): void {
    this.apiRequests.inc({ method, route, status: String(status) });
  }

  readSizesFrom(sizes: LocalSizes): void {
    this.sizes = sizes;
  }
}

function counter(registers: Registry[], name: string, help: string, tally: Tally): void {
  new Counter({
    name,
    help,
    registers,
    collect() {
      this.reset();
      this.inc(tally.value);
    },
  });
}

function labelled(
  registers: Registry[],
  name: string,
  help: string,
  labelName: string,
  byLabel: Record<string, Tally>,
): void {
  new Counter({
    name,
    help,
    labelNames: [labelName],
    registers,
    collect() {
      this.reset();
      for (const [label, tally] of Object.entries(byLabel)) this.inc({ [labelName]: label }, tally.value);
    },
  });
}
