import { IsRoomName } from './room-field';

export class LeaveDto {
  @IsRoomName()
  room!: string;
}
