import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/config/load-config';
import { type RunningApp, startApp } from './support/app';
import { freePort } from './support/free-port';
import { Scrape } from './support/metrics';
import { TestClient, upgradeAnswer } from './support/ws-client';

describe('ALLOWED_ORIGINS (e2e)', () => {
  let server: RunningApp;

  beforeAll(async () => {
    server = await startApp({ ALLOWED_ORIGINS: 'https://chat.example.com, https://*.example.org' });
  });
  afterAll(() => server.close());

  it.each([
    ['a listed origin', 'https://chat.example.com'],
    ['a listed origin with its default port spelled out', 'https://chat.example.com:443'],
    ['a subdomain under a wildcard', 'https://app.example.org'],
    ['a deeper subdomain under a wildcard', 'https://eu.app.example.org'],
  ])('lets %s connect (%s)', async (_, origin) => {
    expect((await upgradeAnswer(server.wsUrl, { origin })).status).toBe(101);
  });

  it.each([
    ['a foreign origin', 'https://evil.example.net'],
    ['a listed host on another scheme', 'http://chat.example.com'],
    ['a listed host on another port', 'https://chat.example.com:8443'],
    ['null (a sandboxed frame, a file)', 'null'],
    ['a look-alike of a listed origin', 'https://chat.example.com.evil.net'],
    ['a look-alike of a wildcard', 'https://app.example.org.evil.net'],
    ['the wildcard’s own domain', 'https://example.org'],
    ['garbage', 'chat.example.com'],
  ])('refuses %s with 403 before any WebSocket exists (%s)', async (_, origin) => {
    expect((await upgradeAnswer(server.wsUrl, { origin })).status).toBe(403);
  });

  it('lets a client that sends no Origin connect (not a browser)', async () => {
    const client = await TestClient.connect(server.wsUrl);
    expect(await client.request({ type: 'echo', message: 'hi' })).toEqual({ type: 'echo', message: 'hi' });
    client.close();
  });

  it('counts refusals as chat_upgrades_refused_total{reason="origin"}', async () => {
    const before = (await Scrape.of(server.httpUrl)).get('chat_upgrades_refused_total', { reason: 'origin' });
    await upgradeAnswer(server.wsUrl, { origin: 'https://evil.example.net' });
    const after = (await Scrape.of(server.httpUrl)).get('chat_upgrades_refused_total', { reason: 'origin' });
    expect(after - before).toBe(1);
  });

  it('lets every origin connect when unset', async () => {
    const open = await startApp();
    for (const origin of ['https://evil.example.net', 'null']) {
      expect((await upgradeAnswer(open.wsUrl, { origin })).status).toBe(101);
    }
    await open.close();
  });

  it('refuses to start with a malformed list, naming the variable and the entry', async () => {
    await expect(startApp({ ALLOWED_ORIGINS: 'https://chat.example.com,chat.example.org' })).rejects.toThrow(
      /Refusing to start[^]*ALLOWED_ORIGINS: "chat.example.org"/,
    );
  });

  it('serves the chat page to, and takes the upgrade of, its own origin when the list names it', async () => {
    // The list must name the origin before the app listens: a port chosen up front.
    const port = await freePort();
    const own = `http://127.0.0.1:${port}`;
    const app = await createApp(loadConfig({ LOG_LEVEL: 'error', ALLOWED_ORIGINS: own }));
    await app.listen(port, '127.0.0.1');
    try {
      expect((app.getHttpServer().address() as AddressInfo).port).toBe(port);
      await request(own).get('/').expect(200).expect('Content-Type', /html/);
      const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`, { origin: own });
      expect(await client.request({ type: 'join', room: 'lobby' })).toMatchObject({
        type: 'joined',
        room: 'lobby',
      });
      client.close();
      // The same page under another name is another origin, and must be listed too.
      expect(
        (await upgradeAnswer(`ws://127.0.0.1:${port}/ws`, { origin: `http://localhost:${port}` })).status,
      ).toBe(403);
    } finally {
      await app.close();
    }
  });
});
