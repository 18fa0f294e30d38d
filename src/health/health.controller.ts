import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ROOMS_ENGINE, type RoomsEngine } from '../rooms/engine';
import { LifecycleService } from './lifecycle.service';

@Controller('health')
export class HealthController {
  constructor(
    private readonly lifecycle: LifecycleService,
    @Inject(ROOMS_ENGINE) private readonly engine: RoomsEngine,
  ) {}

  /** Liveness: the process is up and serving HTTP. */
  @Get()
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Readiness: 503 from the moment shutdown begins, so a load balancer stops sending
   * clients, and in cluster mode while Redis is unreachable (members here are cut off from
   * the other instances' members).
   */
  @Get('ready')
  ready(): { status: 'ready' } {
    if (this.lifecycle.isShuttingDown) throw new ServiceUnavailableException({ status: 'shutting_down' });
    if (!this.engine.ready) throw new ServiceUnavailableException({ status: 'cluster_unreachable' });
    return { status: 'ready' };
  }
}
