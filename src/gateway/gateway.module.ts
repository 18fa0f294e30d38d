import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { LimitsModule } from '../limits/limits.module';
import { MetricsModule } from '../metrics/metrics.module';
import { RoomsModule } from '../rooms/rooms.module';
import { ChatGateway } from './chat.gateway';

@Module({
  imports: [RoomsModule, AuthModule, LimitsModule, MetricsModule], // MetricsModule for WsErrorFilter and late acks
  providers: [ChatGateway],
})
export class GatewayModule {}
