import type { Connection } from '../rooms/connection';
import type { Identity } from './identity';

/**
 * Where a connection stands with authentication; the adapter reads it before any handler runs.
 * - anonymous: AUTH_MODE=open and no token yet; public rooms only.
 * - awaiting: AUTH_MODE=jwt and no token yet; only `auth` is handled, until the timer closes it.
 * - authenticated: a verified identity, until the timer finds it expired.
 * - ended: refused, expired or gone; frames still arriving are dropped unanswered.
 */
export type AuthState =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'awaiting'; readonly timer: NodeJS.Timeout }
  | { readonly kind: 'authenticated'; readonly identity: Identity; readonly timer: NodeJS.Timeout }
  | { readonly kind: 'ended' };

// Shared by every connection in those states: an idle anonymous connection allocates nothing for it.
export const ANONYMOUS: AuthState = Object.freeze({ kind: 'anonymous' });
const ENDED: AuthState = Object.freeze({ kind: 'ended' });

/** No more frames for this connection: its timer, if it has one, is stopped. Safe to repeat. */
export function endAuth(conn: Connection): void {
  const state = conn.auth;
  if (state.kind === 'awaiting' || state.kind === 'authenticated') clearTimeout(state.timer);
  conn.auth = ENDED;
}
