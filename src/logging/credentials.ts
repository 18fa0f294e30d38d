/** Query parameters a credential would go by: never believed, never logged. */
export const CREDENTIAL_PARAMS = /^(api[_-]?key|key|token|access[_-]?token|secret|auth(orization)?)$/i;

const REDACTED = '[redacted]';

/** `url` with the value of every credential-named query parameter replaced. */
export function redactUrl(url: string): string {
  const at = url.indexOf('?');
  if (at === -1) return url;
  const params = url
    .slice(at + 1)
    .split('&')
    .map((param) => {
      const name = decodeURIComponent(param.split('=')[0].replace(/\+/g, ' '));
      return CREDENTIAL_PARAMS.test(name) ? `${param.split('=')[0]}=${REDACTED}` : param;
    });
  return `${url.slice(0, at)}?${params.join('&')}`;
}

/** A request as pino-http logs it, with credentials in its URL and query redacted. */
export function redactRequest<T extends { url?: string; query?: Record<string, unknown> }>(req: T): T {
  if (req.url) req.url = redactUrl(req.url);
  if (req.query)
    for (const name of Object.keys(req.query)) if (CREDENTIAL_PARAMS.test(name)) req.query[name] = REDACTED;
  return req;
}
