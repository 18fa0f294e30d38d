import { Logger } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { MetricsService } from '../metrics/metrics.service';
import type { Connection } from '../rooms/connection';
import { WsErrorFilter } from './ws-error.filter';
import { InvalidPayloadException } from './ws-validation.pipe';

describe(WsErrorFilter.name, () => {
  const metrics = new MetricsService();
  const sut = new WsErrorFilter(metrics);
  const conn = { id: 'c1', sendJson: jest.fn(() => true) } as unknown as Connection & { sendJson: jest.Mock };
  const host = (event: string) => {
    const h = new ExecutionContextHost([conn, {}, event]);
    h.setType('ws');
    return h;
  };
  const sent = () => conn.sendJson.mock.calls.at(-1)[0];

  it('answers a validation failure with invalid_payload and its details', () => {
    const details = [{ field: 'room', rule: 'isString', message: 'room must be a string' }];
    sut.catch(new InvalidPayloadException(details), host('join'));
    expect(sent()).toEqual({
      type: 'error',
      code: 'invalid_payload',
      message: expect.any(String),
      event: 'join',
      details,
    });
    expect(metrics.errors.invalid_payload.value).toBe(1);
  });

  it('counts no error frame that a closing connection did not take', () => {
    conn.sendJson.mockReturnValueOnce(false);
    const before = metrics.errors.invalid_payload.value;
    sut.catch(new InvalidPayloadException([]), host('join'));
    expect(metrics.errors.invalid_payload.value).toBe(before);
  });

  it('answers a bug with internal, without details, and logs it with the event and connection', () => {
    const log = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    sut.catch(new TypeError('secret internals'), host('message'));
    expect(sent()).toEqual({
      type: 'error',
      code: 'internal',
      message: expect.any(String),
      event: 'message',
    });
    expect(JSON.stringify(sent())).not.toContain('secret');
    expect(metrics.errors.internal.value).toBe(1);
    expect(log).toHaveBeenCalledWith(
      expect.stringMatching(/"message".*c1/),
      expect.stringContaining('secret internals'),
    );
    log.mockRestore();
  });
});
