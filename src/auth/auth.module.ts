import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module';
import { RoomsModule } from '../rooms/rooms.module';
import { AuthService } from './auth.service';

@Module({
  imports: [RoomsModule, MetricsModule],
  providers: [AuthService],
  exports: [AuthService],
})
export class AuthModule {}
