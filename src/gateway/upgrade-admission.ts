import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { MaybeAsync } from '../rooms/engine';

/** Why an upgrade was refused (chat_upgrades_refused_total's `reason`). */
export const REFUSAL_REASONS = ['origin', 'capacity', 'rate', 'token'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** An HTTP answer to an upgrade, sent instead of a WebSocket. */
export interface Refusal {
  readonly status: number;
  readonly reason: RefusalReason;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * One question asked of every upgrade before a WebSocket exists. Synchronous where it can be,
 * so an upgrade that nothing needs to wait for is accepted in the same turn. A check that
 * counts what it admits (connections per address, say) releases it when `req.socket` closes,
 * which happens whether or not the upgrade completes.
 */
export interface UpgradeCheck {
  check(req: IncomingMessage): MaybeAsync<Refusal | undefined>;
}

/** Runs the checks in order; the first refusal wins and the later checks are not asked. */
export function admit(checks: readonly UpgradeCheck[], req: IncomingMessage, from = 0): MaybeAsync<Refusal | undefined> {
  for (let i = from; i < checks.length; i++) {
    const outcome = checks[i].check(req);
    if (outcome instanceof Promise) {
      return outcome.then((refusal) => refusal ?? admit(checks, req, i + 1));
    }
    if (outcome) return outcome;
  }
  return undefined;
}

/**
 * Answers an upgrade with an HTTP status and no WebSocket, and lets go of the socket once the
 * answer is written: a peer that never closes its side must not hold it open, nor the
 * connection slots (MAX_CONNECTIONS, MAX_CONNECTIONS_PER_IP) an earlier check took for it.
 */
export function refuse(socket: Duplex, status: number, headers: Readonly<Record<string, string>> = {}): void {
  socket.on('error', () => undefined); // the peer may already be gone; nothing to do about it
  socket.once('finish', () => socket.destroy());
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n${lines.join('')}Content-Length: 0\r\n\r\n`,
  );
}
