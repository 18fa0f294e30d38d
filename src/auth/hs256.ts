import { createHmac } from 'node:crypto';

/**
 * A compact HS256 JWT, made synchronously: for the AsyncAPI document's example token and the
 * benchmark's clients, which need one before anything async can run. The service itself only
 * verifies tokens, with jose.
 */
export function signHs256(payload: object, secret: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
}
