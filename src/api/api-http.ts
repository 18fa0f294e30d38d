import type { INestApplication } from '@nestjs/common';
import { json, type NextFunction, type Request, type Response } from 'express';
import { MetricsService } from '../metrics/metrics.service';
import { toApiError } from './api-exception.filter';

/** The most a request body may hold. */
export const API_BODY_LIMIT = 64 * 1024;
const API_PATH = '/api/v1';

/**
 * What the API needs of the HTTP server before any route, under /api/v1 alone: each request
 * counted by route and status once answered (those refused before routing too), JSON bodies
 * up to API_BODY_LIMIT, and a body the parser refuses answered as an API error (413
 * payload_too_large, 400 invalid_payload). No other route reads a body.
 */
export function serveApiHttp(app: INestApplication): void {
  const metrics = app.get(MetricsService);
  app.use(API_PATH, (req: Request, res: Response, next: NextFunction) => {
    res.on('finish', () => {
      const route = req.route?.path;
      metrics.countApiRequest(
        req.method,
        typeof route === 'string' && !route.includes('*') ? route : 'unmatched',
        res.statusCode,
      );
    });
    next();
  });
  app.use(API_PATH, json({ limit: API_BODY_LIMIT }));
  app.use(API_PATH, (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const error = toApiError(err);
    res.status(error.getStatus()).set(error.headers).json(error.body());
  });
}
