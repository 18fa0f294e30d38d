import { Controller, Get } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { HealthBody, IndicatorState, SHUTTING_DOWN, UNREACHABLE, UP } from './health.responses';
import { ReadinessIndicators } from './readiness.indicators';

// Terminus's body for a check with no indicators.
const LIVE: HealthCheckResult = { status: 'ok', info: {}, error: {}, details: {} };

const NOT_READY_EXAMPLES = {
  shutting_down: {
    summary: 'Shutdown has begun',
    value: {
      status: 'shutting_down',
      info: { cluster: UP },
      error: { lifecycle: SHUTTING_DOWN },
      details: { lifecycle: SHUTTING_DOWN, cluster: UP },
    },
  },
  cluster_unreachable: {
    summary: 'Cluster mode, Redis unreachable',
    value: {
      status: 'error',
      info: { lifecycle: UP },
      error: { cluster: UNREACHABLE },
      details: { lifecycle: UP, cluster: UNREACHABLE },
    },
  },
};

@ApiTags('health')
@ApiExtraModels(IndicatorState)
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly readiness: ReadinessIndicators,
  ) {}

  /**
   * Liveness: the process is up and serving HTTP. Not through HealthCheckService, which
   * answers every check with 503 once shutdown begins, while the process is alive and draining.
   */
  @Get()
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({ summary: 'Liveness: 200 while the process serves HTTP, shutdown included' })
  @ApiOkResponse({ type: HealthBody, description: 'The process serves HTTP.', example: LIVE })
  live(): HealthCheckResult {
    return LIVE;
  }

  /** Readiness: 503 from the moment shutdown begins and, in cluster mode, while Redis is unreachable. */
  @Get('ready')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({ summary: 'Readiness: whether to send this instance new clients' })
  @ApiOkResponse({
    type: HealthBody,
    description: 'Every indicator is up (`cluster` is there in cluster mode only).',
    example: {
      status: 'ok',
      info: { lifecycle: UP, cluster: UP },
      error: {},
      details: { lifecycle: UP, cluster: UP },
    },
  })
  @ApiServiceUnavailableResponse({
    type: HealthBody,
    description: 'An indicator is down; `error` names it and its `reason`.',
    examples: NOT_READY_EXAMPLES,
  })
  ready(): Promise<HealthCheckResult> {
    return this.health.check(this.readiness.all());
  }
}
