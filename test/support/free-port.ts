import { createServer } from 'node:net';

/**
 * A loopback port that was free a moment ago, for a process that must be told its port up
 * front (the benchmark's servers, the image's HEALTHCHECK). Prefer listening on port 0.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}
