import {
  BadRequestException,
  Controller,
  Get,
  NotFoundException,
  Param,
  Query,
  ValidationPipe,
} from '@nestjs/common';
import { isRoomName, ROOM_NAME_RULE } from '../rooms/room-name';
import { type RoomCount, RoomsService } from '../rooms/rooms.service';
import { ListRoomsQuery } from './list-rooms.query';

export interface RoomsPage {
  rooms: RoomCount[];
  /** Rooms with members in all, for paging. */
  total: number;
  limit: number;
  offset: number;
  /** Open WebSocket connections. */
  connections: number;
}

@Controller('rooms')
export class RoomsController {
  constructor(private readonly rooms: RoomsService) {}

  /** Rooms with members, busiest first (ties by name). */
  @Get()
  list(@Query(new ValidationPipe({ transform: true })) { limit, offset }: ListRoomsQuery): RoomsPage {
    return {
      rooms: this.rooms.list(limit, offset),
      total: this.rooms.roomCount,
      limit,
      offset,
      connections: this.rooms.connectionCount,
    };
  }

  @Get(':name')
  get(@Param('name') name: string): RoomCount {
    if (!isRoomName(name)) throw new BadRequestException(`room must be ${ROOM_NAME_RULE}`);
    const members = this.rooms.membersOf(name);
    if (members === 0) throw new NotFoundException(`No room "${name}": it has no members`);
    return { name, members };
  }
}
