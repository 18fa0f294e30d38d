import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { firstValueFrom, from } from 'rxjs';
import { ApiError } from '../api-error';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { MemoryIdempotency } from './memory-idempotency';

/** A POST as the interceptor sees it, and what it set on the response. */
function post(body: object, key = 'k1', apiKey = 'backend') {
  const headers: Record<string, string> = {};
  const req = {
    method: 'POST',
    path: '/api/v1/broadcast',
    body,
    headers: { 'idempotency-key': key },
    apiKey: { id: apiKey },
  };
  const res = { setHeader: (name: string, value: string) => (headers[name] = value) };
  const context = {
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
  } as unknown as ExecutionContext;
  return { context, headers };
}

/** A handler that answers when told to, counting its runs. */
function handler() {
  let release!: (value: unknown) => void;
  const answered = new Promise((resolve) => (release = resolve));
  const runs = { count: 0 };
  const next: CallHandler = {
    handle: () => {
      runs.count++;
      return from(answered);
    },
  };
  return { next, release, runs };
}

const run = (interceptor: IdempotencyInterceptor, context: ExecutionContext, next: CallHandler) =>
  firstValueFrom(interceptor.intercept(context, next));

describe('IdempotencyInterceptor', () => {
  it('answers 409 to a repeat while the first is in flight, then replays its answer once it is done', async () => {
    const interceptor = new IdempotencyInterceptor(new MemoryIdempotency(60_000, 100));
    const slow = handler();
    const first = run(interceptor, post({ message: 'a' }).context, slow.next);
    await new Promise((resolve) => setImmediate(resolve));

    const during = handler();
    const refused = await run(interceptor, post({ message: 'a' }).context, during.next).catch(
      (e: ApiError) => e,
    );
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).body()).toMatchObject({ statusCode: 409, code: 'idempotency_conflict' });
    expect(during.runs.count).toBe(0);

    slow.release({ id: 'm1' });
    expect(await first).toEqual({ id: 'm1' });
    const repeat = post({ message: 'a' });
    const after = handler();
    expect(await run(interceptor, repeat.context, after.next)).toEqual({ id: 'm1' });
    expect(repeat.headers['Idempotent-Replayed']).toBe('true');
    expect(after.runs.count).toBe(0);
  });

  it('frees the key when the request fails, so a retry acts', async () => {
    const interceptor = new IdempotencyInterceptor(new MemoryIdempotency(60_000, 100));
    const failing: CallHandler = { handle: () => from(Promise.reject(new Error('boom'))) };
    await expect(run(interceptor, post({ message: 'b' }).context, failing)).rejects.toThrow('boom');
    const retry = handler();
    retry.release({ id: 'm2' });
    expect(await run(interceptor, post({ message: 'b' }).context, retry.next)).toEqual({ id: 'm2' });
    expect(retry.runs.count).toBe(1);
  });

  it('keeps keys apart per API key, and refuses the key with another body', async () => {
    const interceptor = new IdempotencyInterceptor(new MemoryIdempotency(60_000, 100));
    const done = handler();
    done.release({ id: 'm3' });
    await run(interceptor, post({ message: 'c' }, 'same', 'one').context, done.next);
    const mismatch = await run(
      interceptor,
      post({ message: 'other' }, 'same', 'one').context,
      handler().next,
    ).catch((e: ApiError) => e.body());
    expect(mismatch).toMatchObject({ statusCode: 422, code: 'idempotency_conflict' });
    const elsewhere = handler();
    elsewhere.release({ id: 'm4' });
    expect(await run(interceptor, post({ message: 'other' }, 'same', 'two').context, elsewhere.next)).toEqual(
      {
        id: 'm4',
      },
    );
  });
});

describe('MemoryIdempotency', () => {
  it('forgets the oldest keys past its bound, and each key after its TTL', async () => {
    const store = new MemoryIdempotency(50, 2);
    for (const key of ['a', 'b', 'c']) {
      await store.claim('s', key, 'f');
      await store.complete('s', key, 'f', key);
    }
    expect(await store.claim('s', 'a', 'f')).toEqual({ kind: 'new' }); // pushed out by c
    expect(await store.claim('s', 'c', 'f')).toEqual({ kind: 'replay', body: 'c' });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await store.claim('s', 'c', 'f')).toEqual({ kind: 'new' });
  });
});
