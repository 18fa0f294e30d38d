import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { HISTORY_MAX_LIMIT } from '../../gateway/dto/history.dto';
import { PageQuery } from '../../http/page.query';
import { ROOM_NAME_MAX_LENGTH } from '../../rooms/room-name';

export const HISTORY_PAGE_DEFAULT = 50;

/** GET /api/v1/rooms/:name/messages: as the WebSocket's `history`. */
export class HistoryQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    description: 'Only messages with lower offsets; the newest when absent.',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  before?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: HISTORY_MAX_LIMIT,
    default: HISTORY_PAGE_DEFAULT,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(HISTORY_MAX_LIMIT)
  limit: number = HISTORY_PAGE_DEFAULT;
}

/** GET /api/v1/rooms: paging, and a name prefix. */
export class RoomsQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Only rooms whose names start with it.', example: 'team-' })
  @IsOptional()
  @Matches(new RegExp(`^[A-Za-z0-9_.:-]{1,${ROOM_NAME_MAX_LENGTH}}$`), {
    message: 'prefix must be the start of a room name',
  })
  prefix?: string;
}
