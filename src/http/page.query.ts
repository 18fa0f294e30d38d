import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** The paging limits of GET /rooms and GET /rooms/:name/members, for the validators and the OpenAPI document alike. */
export const PAGE_LIMIT = { min: 1, max: 1000, default: 100 } as const;
export const PAGE_OFFSET = { min: 0, default: 0 } as const;

/** `limit` and `offset` of a paged list. */
export class PageQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: PAGE_LIMIT.min,
    maximum: PAGE_LIMIT.max,
    default: PAGE_LIMIT.default,
    description: 'Page size.',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(PAGE_LIMIT.min)
  @Max(PAGE_LIMIT.max)
  limit: number = PAGE_LIMIT.default;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: PAGE_OFFSET.min,
    default: PAGE_OFFSET.default,
    description: 'Entries to skip, in the order listed.',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(PAGE_OFFSET.min)
  offset: number = PAGE_OFFSET.default;
}
