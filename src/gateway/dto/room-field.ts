import { applyDecorators } from '@nestjs/common';
import { IsString, Matches } from 'class-validator';
import { ROOM_NAME_PATTERN, ROOM_NAME_RULE } from '../../rooms/room-name';

/** The room-name rule as DTO decorators, so every event checks rooms the same way. */
export const IsRoomName = () =>
  applyDecorators(IsString(), Matches(ROOM_NAME_PATTERN, { message: `room must be ${ROOM_NAME_RULE}` }));
