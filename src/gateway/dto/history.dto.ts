import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { IsRoomName } from './room-field';

export const HISTORY_MAX_LIMIT = 100;

export class HistoryDto {
  @IsRoomName()
  room!: string;

  /** Only messages with lower offsets; the newest when absent. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  before?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(HISTORY_MAX_LIMIT)
  limit?: number;
}
