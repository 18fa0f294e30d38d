import { IsRoomName } from './room-field';

/** Asks for a snapshot of a room's members; only a member of the room may. */
export class PresenceDto {
  @IsRoomName()
  room!: string;
}
