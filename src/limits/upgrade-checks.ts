import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { AppConfigService } from '../config/config.module';
import type { Refusal, UpgradeCheck } from '../gateway/upgrade-admission';
import type { MaybeAsync } from '../rooms/engine';
import { ClientAddress } from './client-address';
import { CONNECT_RATE, ConnectRate } from './connect-rate';
import { OriginPolicy } from './origin-policy';

// The caps free a slot when some connection closes, which may take a while: come back later.
const CAP_RETRY_AFTER_S = '10';
const FOREIGN_ORIGIN: Refusal = { status: 403, reason: 'origin' };
const INSTANCE_FULL: Refusal = {
  status: 503,
  reason: 'capacity',
  headers: { 'Retry-After': CAP_RETRY_AFTER_S },
};
const ADDRESS_FULL: Refusal = { status: 429, reason: 'rate', headers: { 'Retry-After': CAP_RETRY_AFTER_S } };

/** ALLOWED_ORIGINS: a browser page from elsewhere gets 403. Clients that send no Origin (not browsers) pass. */
@Injectable()
export class OriginCheck implements UpgradeCheck {
  private readonly policy: OriginPolicy | undefined;

  constructor(@Inject(ConfigService) config: AppConfigService) {
    const origins = config.get('allowedOrigins', { infer: true });
    this.policy = origins && new OriginPolicy(origins);
  }

  check(req: IncomingMessage): Refusal | undefined {
    if (!this.policy) return undefined;
    // Sec-WebSocket-Origin: where version 8 of the protocol, which ws still serves, puts it.
    const origin = req.headers.origin ?? req.headers['sec-websocket-origin'];
    if (origin === undefined) return undefined;
    return this.policy.allows(String(origin)) ? undefined : FOREIGN_ORIGIN;
  }
}

/**
 * MAX_CONNECTIONS on this instance: 503 when full. A slot is taken in check() itself, so two
 * upgrades racing for the last one cannot both have it, and given back when the socket closes,
 * whether the upgrade completed or a later check refused it.
 */
@Injectable()
export class CapacityCheck implements UpgradeCheck {
  private readonly max: number;
  private taken = 0;
  // One listener for every socket: ws emits 'close' once, so `on` needs no `once` wrapper.
  private readonly release = () => void this.taken--;

  constructor(@Inject(ConfigService) config: AppConfigService) {
    this.max = config.get('maxConnections', { infer: true });
  }

  check(req: IncomingMessage): Refusal | undefined {
    if (this.max === 0 || req.socket.destroyed) return undefined;
    if (this.taken >= this.max) return INSTANCE_FULL;
    this.taken++;
    req.socket.on('close', this.release);
    return undefined;
  }
}

/**
 * Per client address (see ClientAddress): MAX_CONNECTIONS_PER_IP open on this instance, and
 * CONNECT_RATE_PER_IP upgrades, shared through Redis in cluster mode. Over either, 429.
 * Synchronous unless the rate is on.
 */
@Injectable()
export class AddressCheck implements UpgradeCheck {
  private readonly addresses: ClientAddress;
  private readonly maxPerAddress: number;
  private readonly open = new Map<string, number>();

  constructor(
    @Inject(ConfigService) config: AppConfigService,
    @Inject(CONNECT_RATE) private readonly rate: ConnectRate | null,
  ) {
    this.addresses = new ClientAddress(config.get('trustedProxies', { infer: true }));
    this.maxPerAddress = config.get('maxConnectionsPerIp', { infer: true });
  }

  check(req: IncomingMessage): MaybeAsync<Refusal | undefined> {
    if ((this.maxPerAddress === 0 && !this.rate) || req.socket.destroyed) return undefined;
    const address = this.addresses.of(req);
    // The cap first: a client held at its cap does not use up its rate as well.
    if (this.maxPerAddress > 0 && !this.reserve(address, req.socket)) return ADDRESS_FULL;
    return this.rate?.consume(address).then(tooSoon);
  }

  /** Open connections of each address that has some (for tests). */
  get openByAddress(): ReadonlyMap<string, number> {
    return this.open;
  }

  private reserve(address: string, socket: Socket): boolean {
    const open = this.open.get(address) ?? 0;
    if (open >= this.maxPerAddress) return false;
    this.open.set(address, open + 1);
    socket.on('close', () => this.release(address));
    return true;
  }

  private release(address: string): void {
    const left = this.open.get(address)! - 1;
    if (left === 0) this.open.delete(address);
    else this.open.set(address, left);
  }
}

function tooSoon(waitMs: number): Refusal | undefined {
  if (waitMs === 0) return undefined;
  return { status: 429, reason: 'rate', headers: { 'Retry-After': String(Math.ceil(waitMs / 1000)) } };
}
