import { Module } from '@nestjs/common';
import { RoomsModule } from '../rooms/rooms.module';
import { HealthController } from './health.controller';
import { LifecycleService } from './lifecycle.service';

@Module({
  imports: [RoomsModule],
  controllers: [HealthController],
  providers: [LifecycleService],
})
export class HealthModule {}
