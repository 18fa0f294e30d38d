import { Module } from '@nestjs/common';
import { RoomsModule } from '../rooms/rooms.module';
import { RoomsController } from './rooms.controller';

@Module({
  imports: [RoomsModule],
  controllers: [RoomsController],
})
export class HttpApiModule {}
