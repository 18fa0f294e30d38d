import { Module } from '@nestjs/common';
import { ChatGateway } from '../gateway/chat.gateway';
import { RoomsController } from '../http/rooms.controller';
import { RoomsService } from './rooms.service';

@Module({
  controllers: [RoomsController],
  providers: [RoomsService, ChatGateway],
})
export class RoomsModule {}
