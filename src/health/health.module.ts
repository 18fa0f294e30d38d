import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { RoomsModule } from '../rooms/rooms.module';
import { HealthController } from './health.controller';
import { LifecycleService } from './lifecycle.service';
import { ProbeLogger } from './probe-logger';
import { ReadinessIndicators } from './readiness.indicators';

@Module({
  // One JSON line per failing probe (json is terminus's default style; pretty spans lines
  // with colour codes), at debug: see ProbeLogger.
  imports: [RoomsModule, TerminusModule.forRoot({ errorLogStyle: 'json', logger: ProbeLogger })],
  controllers: [HealthController],
  providers: [LifecycleService, ReadinessIndicators],
})
export class HealthModule {}
