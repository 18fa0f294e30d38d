import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { LifecycleService } from './lifecycle.service';

@Controller('health')
export class HealthController {
  constructor(private readonly lifecycle: LifecycleService) {}

  /** Liveness: the process is up and serving HTTP. */
  @Get()
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: 503 from the moment shutdown begins, so a load balancer stops sending clients. */
  @Get('ready')
  ready(): { status: 'ready' } {
    if (this.lifecycle.isShuttingDown) throw new ServiceUnavailableException({ status: 'shutting_down' });
    return { status: 'ready' };
  }
}
