import { All, Controller, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { ApiError } from './api-error';
import { ApiExceptionFilter } from './api-exception.filter';

/** Any other path or method under /api/v1: a JSON 404, like every other API error. Registered last. */
@ApiExcludeController()
@UseFilters(ApiExceptionFilter)
@Controller('api/v1')
export class ApiFallbackController {
  @All('*path')
  notFound(): never {
    throw new ApiError(404, 'not_found', 'No such route in the API; see /docs');
  }
}
