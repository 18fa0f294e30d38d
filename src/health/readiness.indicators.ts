import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { ROOMS_ENGINE, type RoomsEngine } from '../rooms/engine';
import { LifecycleService } from './lifecycle.service';

/** Why readiness is down, as each indicator's `reason`. */
export type NotReadyReason = 'shutting_down' | 'cluster_unreachable';

/** The checks behind GET /health/ready, one indicator each, so a 503 says which is down and why. */
@Injectable()
export class ReadinessIndicators {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly lifecycle: LifecycleService,
    @Inject(ROOMS_ENGINE) private readonly engine: RoomsEngine,
  ) {}

  /** Every check that applies: the cluster one only in cluster mode, where there is a Redis to lose. */
  all(): Array<() => HealthIndicatorResult> {
    return this.engine.spansInstances
      ? [() => this.lifecycleCheck(), () => this.clusterCheck()]
      : [() => this.lifecycleCheck()];
  }

  /** Down from the moment shutdown begins, so a load balancer stops sending clients. */
  private lifecycleCheck(): HealthIndicatorResult {
    const check = this.indicators.check('lifecycle');
    return this.lifecycle.isShuttingDown ? check.down({ reason: 'shutting_down' }) : check.up();
  }

  /** Down while Redis is unreachable: members here are cut off from the other instances' members. */
  private clusterCheck(): HealthIndicatorResult {
    const check = this.indicators.check('cluster');
    return this.engine.ready ? check.up() : check.down({ reason: 'cluster_unreachable' });
  }
}
