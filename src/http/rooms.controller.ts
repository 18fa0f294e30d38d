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
import type { RoomCount } from '../rooms/engine';
import { RoomsService } from '../rooms/rooms.service';
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

  /** Rooms with members on every instance, busiest first (ties by name). */
  @Get()
  async list(
    @Query(new ValidationPipe({ transform: true })) { limit, offset }: ListRoomsQuery,
  ): Promise<RoomsPage> {
    const { rooms, connections } = await this.rooms.census();
    return { rooms: rooms.slice(offset, offset + limit), total: rooms.length, limit, offset, connections };
  }

  @Get(':name')
  async get(@Param('name') name: string): Promise<RoomCount> {
    if (!isRoomName(name)) throw new BadRequestException(`room must be ${ROOM_NAME_RULE}`);
    const members = await this.rooms.membersOf(name);
    if (members === 0) throw new NotFoundException(`No room "${name}": it has no members`);
    return { name, members };
  }
}
