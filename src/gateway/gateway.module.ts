import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module';
import { RoomsModule } from '../rooms/rooms.module';
import { ChatGateway } from './chat.gateway';

@Module({
  imports: [RoomsModule, MetricsModule], // MetricsModule for WsErrorFilter
  providers: [ChatGateway],
})
export class GatewayModule {}
