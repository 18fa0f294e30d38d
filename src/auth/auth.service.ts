import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { IncomingMessage } from 'node:http';
import type { AppConfigService } from '../config/config.module';
import type { AuthMode } from '../config/env.schema';
import {
  CLOSE_AUTH_TIMEOUT,
  CLOSE_FORBIDDEN,
  CLOSE_INVALID_TOKEN,
  CLOSE_TOKEN_EXPIRED,
} from '../gateway/close-codes';
import { authenticatedFrame, errorFrame, type ReplyFrame, revokedFrame } from '../gateway/frames';
import type { Refusal, UpgradeCheck } from '../gateway/upgrade-admission';
import { closeWithError } from '../gateway/ws-error.filter';
import { MetricsService } from '../metrics/metrics.service';
import type { Connection } from '../rooms/connection';
import type { MaybeAsync } from '../rooms/engine';
import { RoomsService } from '../rooms/rooms.service';
import { endAuth } from './auth-state';
import { grants, type Identity } from './identity';
import { TokenVerifier, type Verified } from './token-verifier';
import { upgradeToken } from './upgrade-token';

// setTimeout fires at once past 2^31-1 ms (about 24.8 days); a later expiry is reached in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Who each connection is, and what it may join. Tokens come at the upgrade (checked before a
 * WebSocket exists) or in `auth` frames (first, or later to refresh); either way a token that
 * fails closes the connection, so a client is never quietly taken for anonymous.
 */
@Injectable()
export class AuthService implements UpgradeCheck {
  private readonly verifier: TokenVerifier;
  private readonly mode: AuthMode;
  private readonly timeoutMs: number;
  private readonly toleranceMs: number;
  private readonly privatePrefix: string;
  // Identities verified at the upgrade, until the connection they belong to opens.
  private readonly fromUpgrade = new WeakMap<IncomingMessage, Identity>();

  constructor(
    @Inject(ConfigService) config: AppConfigService,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(RoomsService) private readonly rooms: RoomsService,
  ) {
    const jwt = config.get('jwt', { infer: true });
    this.verifier = new TokenVerifier(jwt);
    this.mode = config.get('authMode', { infer: true });
    this.timeoutMs = config.get('authTimeoutMs', { infer: true });
    this.toleranceMs = (jwt?.clockToleranceS ?? 0) * 1000;
    this.privatePrefix = config.get('privateRoomPrefix', { infer: true });
  }

  /** The upgrade's token, if it carries one: refused with 401 (503 if keys cannot be had) unless it verifies. */
  check(req: IncomingMessage): MaybeAsync<Refusal | undefined> {
    const found = upgradeToken(req);
    if (found === undefined) return undefined;
    if ('problem' in found) return unauthorized('invalid_request', found.problem);
    return this.verifier.verify(found.token).then((verified) => {
      this.metrics.auth[verified.ok ? 'authenticated' : verified.code].value++;
      if (verified.ok) {
        this.fromUpgrade.set(req, verified.identity);
        return undefined;
      }
      if (verified.code === 'unavailable')
        return { status: 503, reason: 'token', headers: { 'Retry-After': '5' } };
      return unauthorized('invalid_token', verified.message);
    });
  }

  /** A new connection: authenticated by its upgrade's token, or (AUTH_MODE=jwt) given AUTH_TIMEOUT_MS to send one. */
  opened(conn: Connection, req: IncomingMessage): void {
    const identity = this.fromUpgrade.get(req);
    if (identity) {
      this.fromUpgrade.delete(req);
      this.signIn(conn, identity);
      conn.sendJson(authenticatedFrame(identity.user, identity.name, identity.exp));
    } else if (this.mode === 'jwt') {
      conn.auth = { kind: 'awaiting', timer: unrefTimer(() => this.timedOut(conn), this.timeoutMs) };
    }
  }

  closed(conn: Connection): void {
    endAuth(conn);
  }

  /**
   * An `auth` frame: the first token, or a refresh. A refresh must name the same user, and
   * takes the connection out of the private rooms its new token no longer grants.
   */
  async authenticate(conn: Connection, token: string): Promise<ReplyFrame | undefined> {
    const verified = await this.verifier.verify(token);
    if (conn.auth.kind === 'ended') return undefined; // closed while the token was being verified
    if (!verified.ok) return this.refused(conn, verified);
    const { identity } = verified;
    const before = conn.auth.kind === 'authenticated' ? conn.auth.identity : undefined;
    if (before && before.user !== identity.user) {
      this.metrics.auth.forbidden.value++;
      const message = 'A refreshed token must be for the same user';
      closeWithError(
        conn,
        errorFrame('forbidden', { event: 'auth', message }),
        CLOSE_FORBIDDEN,
        'forbidden',
        this.metrics,
      );
      return undefined;
    }
    this.metrics.auth[before ? 'refreshed' : 'authenticated'].value++;
    this.signIn(conn, identity);
    if (before) await this.revokeRooms(conn);
    else this.rooms.reidentified(conn);
    return authenticatedFrame(identity.user, identity.name, identity.exp);
  }

  /** Public rooms to anyone the adapter lets through; a private room only under a matching `rooms` claim. */
  mayJoin(conn: Connection, room: string): boolean {
    if (!this.isPrivate(room)) return true;
    return conn.auth.kind === 'authenticated' && grants(conn.auth.identity.rooms, room);
  }

  isPrivate(room: string): boolean {
    return room.startsWith(this.privatePrefix);
  }

  private signIn(conn: Connection, identity: Identity): void {
    endAuth(conn);
    conn.auth = { kind: 'authenticated', identity, timer: this.expiryTimer(conn, identity.exp) };
  }

  // jose refuses a token once exp + tolerance has passed; a live connection ends then too.
  private expiryTimer(conn: Connection, exp: number): NodeJS.Timeout {
    const left = exp * 1000 + this.toleranceMs - Date.now();
    if (left > MAX_TIMER_MS) return unrefTimer(() => this.rearm(conn, exp), MAX_TIMER_MS);
    return unrefTimer(() => this.expired(conn), Math.max(0, left));
  }

  private rearm(conn: Connection, exp: number): void {
    const state = conn.auth;
    if (state.kind === 'authenticated') conn.auth = { ...state, timer: this.expiryTimer(conn, exp) };
  }

  private expired(conn: Connection): void {
    this.metrics.auth.token_expired.value++;
    closeWithError(conn, errorFrame('token_expired'), CLOSE_TOKEN_EXPIRED, 'token_expired', this.metrics);
  }

  private timedOut(conn: Connection): void {
    this.metrics.auth.timeout.value++;
    const message = `No token within ${this.timeoutMs} ms (AUTH_TIMEOUT_MS)`;
    closeWithError(
      conn,
      errorFrame('unauthenticated', { message }),
      CLOSE_AUTH_TIMEOUT,
      'auth_timeout',
      this.metrics,
    );
  }

  private refused(conn: Connection, verified: Extract<Verified, { ok: false }>): ReplyFrame | undefined {
    this.metrics.auth[verified.code].value++;
    const frame = errorFrame(verified.code, { event: 'auth', message: verified.message });
    // The key set is away: the token may be good, so the connection stays as it was.
    if (verified.code === 'unavailable') return frame;
    const expired = verified.code === 'token_expired';
    closeWithError(
      conn,
      frame,
      expired ? CLOSE_TOKEN_EXPIRED : CLOSE_INVALID_TOKEN,
      expired ? 'token_expired' : 'invalid_token',
      this.metrics,
    );
    return undefined;
  }

  // Out of every revoked room at once (leave takes the member out before it waits on the
  // cluster), then the replies: no revoked room delivers while another's leave is on its way.
  private async revokeRooms(conn: Connection): Promise<void> {
    const revoked = conn.rooms.filter((joined) => !this.mayJoin(conn, joined));
    const leaving = revoked.map((room) => [room, this.rooms.leave(conn, room)] as const);
    for (const [room, outcome] of leaving) {
      const left = await outcome;
      if (left.ok) conn.sendJson(revokedFrame(room, left.members));
    }
  }
}

function unauthorized(error: string, description: string): Refusal {
  // RFC 6750 section 3; the description is ours, never the token.
  const header = `Bearer error="${error}", error_description="${description.replace(/"/g, "'")}"`;
  return { status: 401, reason: 'token', headers: { 'WWW-Authenticate': header } };
}

function unrefTimer(callback: () => void, ms: number): NodeJS.Timeout {
  return setTimeout(callback, ms).unref();
}
