import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import type { NotReadyReason } from './readiness.indicators';

/** One indicator's state in a terminus health body. */
export class IndicatorState {
  @ApiProperty({ enum: ['up', 'down'] })
  status: 'up' | 'down';

  @ApiPropertyOptional({
    enum: ['shutting_down', 'cluster_unreachable'],
    description: 'Why a down indicator is down.',
  })
  reason?: NotReadyReason;
}

const indicators = (description: string, example: Record<string, IndicatorState>) =>
  ApiProperty({
    description,
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(IndicatorState) },
    example,
  });
/** Indicator states, for the examples here and in the controller. */
export const UP: IndicatorState = { status: 'up' };
export const SHUTTING_DOWN: IndicatorState = { status: 'down', reason: 'shutting_down' };
export const UNREACHABLE: IndicatorState = { status: 'down', reason: 'cluster_unreachable' };

/** The body @nestjs/terminus answers a health check with. */
export class HealthBody {
  @ApiProperty({
    enum: ['ok', 'error', 'shutting_down'],
    description: '`ok` with 200; `error` or, once shutdown has begun, `shutting_down` with 503.',
  })
  status: 'ok' | 'error' | 'shutting_down';

  @indicators('Indicators that are up, by name.', { lifecycle: UP })
  info: Record<string, IndicatorState>;

  @indicators('Indicators that are down, by name.', { cluster: UNREACHABLE })
  error: Record<string, IndicatorState>;

  @indicators('Every indicator, by name: `lifecycle` always, `cluster` in cluster mode.', {
    lifecycle: UP,
    cluster: UNREACHABLE,
  })
  details: Record<string, IndicatorState>;
}
