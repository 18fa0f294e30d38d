import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { RoomsModule } from '../rooms/rooms.module';
import { RoomsController } from './rooms.controller';

@Module({
  imports: [RoomsModule, AuthModule],
  controllers: [RoomsController],
})
export class HttpApiModule {}
