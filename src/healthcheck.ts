// The container's HEALTHCHECK: exit 0 when GET /health answers 2xx on the service's own port.
// A wildcard bind address is reached through loopback; a specific one is used as it is.
const host = process.env.HOST || '0.0.0.0';
const reachable =
  host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
const url = `http://${reachable}:${process.env.PORT || 8080}/health`;

fetch(url, { signal: AbortSignal.timeout(2500) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
