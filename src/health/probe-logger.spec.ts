import { type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import { ProbeLogger } from './probe-logger';

describe(ProbeLogger.name, () => {
  const lines: Array<{ level: string; message: unknown; params: unknown[] }> = [];
  const record =
    (level: string) =>
    (message: unknown, ...params: unknown[]) =>
      lines.push({ level, message, params });
  const recorder: LoggerService = {
    log: record('log'),
    error: record('error'),
    warn: record('warn'),
    debug: record('debug'),
  };
  let health: HealthCheckService;
  let indicators: HealthIndicatorService;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [TerminusModule.forRoot({ errorLogStyle: 'json', logger: ProbeLogger })],
    })
      .setLogger(recorder)
      .compile();
    health = moduleRef.get(HealthCheckService);
    indicators = moduleRef.get(HealthIndicatorService);
  });
  beforeEach(() => lines.splice(0));

  it("logs terminus's line for a failing check at debug, not error", async () => {
    await expect(health.check([() => indicators.check('cluster').down({ reason: 'x' })])).rejects.toThrow();
    expect(lines).toEqual([
      {
        level: 'debug',
        message: expect.stringMatching(/^Health Check has failed! .*"cluster"/),
        params: ['HealthCheck'],
      },
    ]);
  });

  it('logs any other error at error, with its stack', () => {
    new ProbeLogger().error('Indicator threw', 'TypeError: boom\n    at check');
    expect(lines).toEqual([
      {
        level: 'error',
        message: 'Indicator threw',
        params: ['TypeError: boom\n    at check', 'HealthCheck'],
      },
    ]);
  });
});
