import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { V8_FLAGS } from '../src/runtime/v8-flags';
import { buildRecipe, type Image, workdirOf } from './support/dockerfile-recipe';
import { spawnServer } from './support/server-process';
import { TestClient } from './support/ws-client';
import { eventually } from './support/eventually';
import { freePort } from './support/free-port';

const ROOT = join(__dirname, '..');

/** No Docker engine runs here, so the image's recipe is carried out step by step instead. */
describe('the Dockerfile recipe (e2e)', () => {
  let out: string;
  let image: Image;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'rooms-image-'));
    image = await buildRecipe(ROOT, out);
  }, 300_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('ends in a non-root image that exposes 8080 and runs the compiled server', () => {
    expect(image.user).toBe('node');
    expect(image.expose).toEqual(['8080']);
    expect(image.env).toMatchObject({ NODE_ENV: 'production', PORT: '8080' });
    expect(image.cmd).toEqual(['node', ...V8_FLAGS, 'dist/main.js']);
    expect(image.stopSignal).toBe('SIGTERM');
  });

  it('ships production dependencies only, and no sources or tests', () => {
    const app = workdirOf(image);
    expect(existsSync(join(app, 'node_modules', '@nestjs', 'core'))).toBe(true);
    for (const dev of ['jest', 'typescript', 'ts-node', '@swc/core']) {
      expect(existsSync(join(app, 'node_modules', dev))).toBe(false);
    }
    expect(existsSync(join(app, 'src'))).toBe(false);
    expect(existsSync(join(app, 'test'))).toBe(false);
  });

  it('starts, passes its HEALTHCHECK, serves the chat page and /ws, and exits 0 on its STOPSIGNAL', async () => {
    const port = String(await freePort());
    const env = { ...image.env, PORT: port };
    const [command, ...args] = image.cmd!;
    expect(command).toBe('node');
    const server = spawnServer(env, { args, cwd: workdirOf(image) });
    await server.listening;

    const [check, ...checkArgs] = image.healthcheck!;
    expect(check).toBe('node');
    const healthcheck = () =>
      promisify(execFile)(process.execPath, checkArgs, {
        cwd: workdirOf(image),
        env: { ...process.env, ...env },
      });
    await healthcheck(); // rejects on a non-zero exit
    await request(server.httpUrl).get('/health').expect(200);
    await request(server.httpUrl)
      .get('/')
      .expect(200)
      .expect('Content-Type', /^text\/html/)
      .expect(/<meta name="ws-path" content="\/ws">/);
    const client = await TestClient.connect(server.wsUrl);
    expect(await client.request({ type: 'echo', message: 'from the image' })).toEqual({
      type: 'echo',
      message: 'from the image',
    });

    server.child.kill(image.stopSignal as NodeJS.Signals);
    expect((await client.closed).code).toBe(1001);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    await expect(healthcheck()).rejects.toThrow(); // and the check notices a dead service
  }, 30_000);

  describe('started as a process manager would, `node dist/main.js`', () => {
    const start = async () => {
      const env = { ...image.env, PORT: String(await freePort()) };
      const server = spawnServer(env, { args: ['dist/main.js'], cwd: workdirOf(image) });
      await server.listening;
      return server;
    };

    it.each(['SIGTERM', 'SIGINT'] as const)(
      'runs with the V8 flags all the same, and stops on %s as the image does',
      async (signal) => {
        const server = await start();
        expect(server.output()).toContain(`(Node ${process.version}, flags ${V8_FLAGS.join(' ')})`);
        expect(server.output()).not.toContain('Running without');
        const client = await TestClient.connect(server.wsUrl);
        await client.request({ type: 'echo', message: 'tuned' }, 'echo');

        server.child.kill(signal);
        expect((await client.closed).code).toBe(1001);
        expect(await server.exited).toEqual({ code: 0, signal: null });
        expect(server.output()).toContain(`${signal}: shutting down`);
      },
      30_000,
    );

    it('exits as the service does when it refuses to start', async () => {
      const server = spawnServer(
        { ...image.env, PORT: 'eighty' },
        { args: ['dist/main.js'], cwd: workdirOf(image) },
      );
      server.listening.catch(() => undefined);
      expect(await server.exited).toEqual({ code: 1, signal: null });
      expect(server.output()).toContain('PORT must be an integer number');
    }, 30_000);

    it('leaves nothing serving when the process it was started as is killed outright', async () => {
      const server = await start();
      const client = await TestClient.connect(server.wsUrl);
      server.child.kill('SIGKILL');
      await server.exited;
      // On Node 20 the server is a child of the process killed: it must not serve on, orphaned.
      await client.closed;
      await eventually(() => expect(TestClient.connect(server.wsUrl)).rejects.toThrow(/ECONNREFUSED/));
    }, 30_000);
  });
});
