import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import request from 'supertest';
import { WebSocketServer } from 'ws';
import { loadChatPage } from '../src/page/chat-page';
import { type RunningApp, startApp } from './support/app';
import { eventually } from './support/eventually';
import { freePort } from './support/free-port';
import { findProgram, describeWith } from './support/programs';
import { type ServerProcess, spawnServer } from './support/server-process';
import { TestClient } from './support/ws-client';
import { WsRelay } from './support/ws-relay';

const SCREENSHOT = join(__dirname, '..', 'test-artifacts', 'chat-page.png');
const WAIT_MS = 15_000;

describeWith('chromium', 'chromium', 'the chat page in Chromium (e2e)', () => {
  let browser: Browser;
  /** Dialogs opened and uncaught errors on any page: there should be none. */
  const unexpected: string[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: findProgram('chromium'),
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 30_000);
  afterAll(() => browser?.close());
  afterEach(() => expect(unexpected.splice(0)).toEqual([]));

  /** One person: a browser context of its own, on the page (connected unless told not to wait). */
  async function open(httpUrl: string, { online = true } = {}): Promise<Page> {
    const page = await blank();
    await page.goto(httpUrl);
    if (online) await page.locator('#status[data-state="online"]').waitFor();
    return page;
  }

  async function blank(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 820, height: 620 } });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    page.on('dialog', (dialog) => {
      unexpected.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (err) => unexpected.push(`page error: ${err.message}`));
    return page;
  }

  async function join(page: Page, name: string, room: string): Promise<void> {
    await page.fill('#name', name);
    await page.fill('#room', room);
    await page.press('#room', 'Enter');
    await page.locator(`#rooms button[data-room="${room}"][aria-current="true"]`).waitFor();
  }

  async function say(page: Page, text: string): Promise<void> {
    await page.fill('#message', text);
    await page.press('#message', 'Enter');
  }

  /** Waits for a message to show, then returns every message on the page as [from, text] pairs. */
  async function seen(page: Page, text: string): Promise<[string, string][]> {
    await page.locator('#log li .text', { hasText: text }).first().waitFor();
    return page.$$eval('#log li', (items) =>
      items.map((li) => [
        li.querySelector('.meta')!.textContent!.split(' · ')[0],
        li.querySelector('.text')!.textContent!,
      ]),
    ) as Promise<[string, string][]>;
  }

  describe('on one server', () => {
    let server: RunningApp;
    const pages: Page[] = [];
    const person = async () => {
      const page = await open(server.httpUrl);
      pages.push(page);
      return page;
    };
    /** A person whose connection runs through a relay the test controls. */
    const relayed = async (): Promise<[Page, WsRelay]> => {
      const page = await blank();
      pages.push(page);
      const relay = await WsRelay.install(page);
      await page.goto(server.httpUrl);
      await page.locator('#status[data-state="online"]').waitFor();
      return [page, relay];
    };

    // Other settings than the defaults: the page must take them from the server.
    beforeAll(async () => {
      server = await startApp({ WS_PATH: '/chat-socket', MAX_MESSAGE_LENGTH: '40' });
    });
    afterEach(() => Promise.all(pages.splice(0).map((page) => page.context().close())));
    afterAll(() => server.close());

    it('lets two people in one room chat both ways, and shows none of it in another room', async () => {
      const [alice, bob, carol] = [await person(), await person(), await person()];
      await join(alice, 'alice', 'lobby');
      await join(bob, 'bob', 'lobby');
      await join(carol, 'carol', 'elsewhere');
      expect(await bob.textContent('#members')).toBe('2 members');

      await say(alice, 'Hi Bob');
      expect(await seen(bob, 'Hi Bob')).toEqual([['alice', 'Hi Bob']]);
      await say(bob, 'Hello Alice');
      expect(await seen(alice, 'Hello Alice')).toEqual([
        ['alice', 'Hi Bob'],
        ['bob', 'Hello Alice'],
      ]);

      // Frames to carol arrive in order, so anything of the lobby's would show before this.
      const dave = await TestClient.connect(server.wsUrl);
      await dave.request({ type: 'join', room: 'elsewhere', name: 'dave' }, 'joined');
      dave.send({ type: 'message', message: 'only here' });
      expect(await seen(carol, 'only here')).toEqual([['dave', 'only here']]);
      dave.close();

      // Alice joined before bob; the page refreshes her count from GET /rooms/lobby.
      await eventually(async () => expect(await alice.textContent('#members')).toBe('2 members'), WAIT_MS);
      await alice.screenshot({ path: SCREENSHOT });
    }, 60_000);

    it("keeps each room's messages apart when switching rooms, and leaves", async () => {
      const [alice, bob] = [await person(), await person()];
      await join(bob, 'bob', 'red');
      await join(alice, 'alice', 'red');
      await join(alice, 'alice', 'blue');
      expect(await alice.$$eval('#log li', (items) => items.length)).toBe(0);

      await say(bob, 'red news');
      await alice.locator('#rooms button[data-room="red"]', { hasText: 'red (1)' }).waitFor();
      await alice.click('#rooms button[data-room="red"]');
      expect(await seen(alice, 'red news')).toEqual([['bob', 'red news']]);

      await alice.click('#leave');
      await alice.locator('#rooms button[data-room="red"]').waitFor({ state: 'detached' });
      expect(await alice.textContent('#room-title')).toMatch(/blue/);
      await eventually(() =>
        request(server.httpUrl).get('/rooms/red').expect(200, { name: 'red', members: 1 }),
      );
    }, 60_000);

    it('shows HTML in a message as text, creating no element and running nothing', async () => {
      const [alice, bob] = [await person(), await person()];
      await join(alice, 'alice', 'xss');
      await join(bob, 'bob', 'xss');
      const attack = '<img src=x onerror=alert(1)><b>bold</b>';

      await say(alice, attack);
      expect(await seen(bob, 'onerror')).toEqual([['alice', attack]]);
      for (const page of [alice, bob]) {
        expect(await page.$$eval('#log img, #log b', (found) => found.length)).toBe(0);
      }
      // afterEach checks no dialog opened
    }, 60_000);

    it("shows the server's error for a bad room name and joins nothing", async () => {
      const alice = await person();
      await alice.fill('#name', 'alice');
      await alice.fill('#room', 'no spaces!');
      await alice.press('#room', 'Enter');

      const error = alice.locator('#error[role="alert"]');
      await error.filter({ hasText: 'room must be 1 to 64 characters' }).waitFor();
      expect(await error.textContent()).toMatch(/^Could not join: room must be/);
      expect(await alice.$$eval('#rooms li', (items) => items.length)).toBe(0);
      expect(await alice.evaluate(() => document.activeElement?.id)).toBe('room');
      await request(server.httpUrl)
        .get('/rooms')
        .expect(200)
        .expect((r) => expect(r.body.total).toBe(0));
    }, 60_000);

    it('keeps an overlong message in the box, and marks one the server refuses as not delivered', async () => {
      const [[alice, relay], bob] = [await relayed(), await person()];
      await join(alice, 'alice', 'limits');
      await join(bob, 'bob', 'limits');
      // 40 characters, as the server counts them, though 80 UTF-16 units.
      const atLimit = '😀'.repeat(40);
      await say(alice, atLimit);
      expect(await seen(bob, atLimit)).toEqual([['alice', atLimit]]);

      await say(alice, 'x'.repeat(41));
      await alice
        .locator('#error', { hasText: 'Could not send: a message is at most 40 characters' })
        .waitFor();
      expect(await alice.inputValue('#message')).toBe('x'.repeat(41));

      // The server lets go of alice behind her page's back, so her next message is refused.
      relay.toServer({ type: 'leave', room: 'limits' });
      await say(alice, 'lost');
      await alice.locator('#error', { hasText: 'Could not send: You are not in that room' }).waitFor();
      const shown = await alice.$$eval('#log li', (items) =>
        items.map((li) => [
          li.querySelector('.text')!.textContent,
          li.querySelector('.undelivered')?.textContent,
        ]),
      );
      expect(shown).toEqual([
        [atLimit, undefined],
        ['lost', 'Not delivered'],
      ]);
    }, 60_000);

    it('keeps a room left while its rejoin after a reconnect was on the way gone', async () => {
      const [alice, relay] = await relayed();
      await join(alice, 'alice', 'stay');
      await join(alice, 'alice', 'gone');
      relay.hold((frame) => frame.type === 'joined');
      relay.drop();
      await eventually(() => expect(relay.heldCount).toBe(2), WAIT_MS);
      await alice.locator('#status[data-state="online"]').waitFor();

      await alice.click('#leave');
      await alice.locator('#rooms button[data-room="gone"]').waitFor({ state: 'detached' });
      relay.release();
      // The broadcast follows the held replies, so once it shows they have been read.
      const dave = await TestClient.connect(server.wsUrl);
      dave.send({ type: 'broadcast', message: 'after the replies' });
      await seen(alice, 'after the replies');
      dave.close();

      expect(await alice.$$eval('#rooms button', (tabs) => tabs.map((tab) => tab.dataset.room))).toEqual([
        'stay',
      ]);
      expect(await alice.textContent('#error')).toBe('');
      await request(server.httpUrl).get('/rooms/gone').expect(404);
      await request(server.httpUrl).get('/rooms/stay').expect(200, { name: 'stay', members: 1 });
    }, 60_000);

    it('shows offline as soon as the network goes, and reconnects when it is back', async () => {
      const [alice, relay] = await relayed();
      await join(alice, 'alice', 'net');
      // No network: the page's close gets no answer.
      relay.down = true;
      await alice.context().setOffline(true);
      await alice.locator('#status[data-state="offline"]', { hasText: 'Offline' }).waitFor();
      expect(await alice.isDisabled('#send')).toBe(true);

      relay.down = false;
      await alice.context().setOffline(false);
      await alice.locator('#status[data-state="online"]').waitFor();
      await alice.locator('#send:enabled').waitFor();
    }, 60_000);

    it('shows a broadcast that arrives with no room open as a notice, not as an error', async () => {
      const alice = await person();
      const dave = await TestClient.connect(server.wsUrl);
      await dave.request({ type: 'join', room: 'loud', name: 'dave' }, 'joined');
      dave.send({ type: 'broadcast', message: 'hello all' });

      await alice.locator('#notice', { hasText: 'Broadcast from dave: hello all' }).waitFor();
      expect(await alice.textContent('#error')).toBe('');
      dave.close();
    }, 60_000);
  });

  describe('against a server that accepts the WebSocket and closes it at once', () => {
    let server: Server;
    let accepted = 0;
    beforeAll(async () => {
      const { html } = loadChatPage({ wsPath: '/ws', maxMessageLength: 4096 });
      server = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end(html));
      new WebSocketServer({ server, path: '/ws' }).on('connection', (ws) => {
        accepted++;
        ws.close(1011, 'not now');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise((resolve) => server.close(resolve)));

    it('waits longer after each try, rather than retrying every half second', async () => {
      const page = await open(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
        online: false,
      });
      // A wait of 2 s or more comes after the third or fourth refusal; reset on open, each stays under 1 s.
      await page.locator('#status', { hasText: /Reconnecting in ([2-9]|\d\d)s/ }).waitFor();
      expect(accepted).toBeGreaterThanOrEqual(3);
      await page.context().close();
    }, 60_000);
  });

  describe('across a server restart', () => {
    let server: ServerProcess | undefined;
    afterEach(async () => {
      server?.child.kill('SIGKILL');
      await server?.exited;
    });

    it('shows reconnecting, then online, rejoins its room by itself and chats again', async () => {
      const port = String(await freePort());
      const start = async () => {
        const started = spawnServer({ PORT: port });
        await started.listening;
        return (server = started);
      };
      const { httpUrl } = await start();
      const [alice, bob] = [await open(httpUrl), await open(httpUrl)];
      await join(alice, 'alice', 'phoenix');
      await join(bob, 'bob', 'phoenix');
      await say(alice, 'before');
      await seen(bob, 'before');

      server!.child.kill('SIGKILL');
      await server!.exited;
      for (const page of [alice, bob]) {
        await page.locator('#status[data-state="reconnecting"]', { hasText: /Reconnecting/ }).waitFor();
      }
      await start();
      for (const page of [alice, bob]) {
        await page.locator('#status[data-state="online"]').waitFor({ timeout: 45_000 });
      }
      await eventually(() =>
        request(httpUrl).get('/rooms/phoenix').expect(200, { name: 'phoenix', members: 2 }),
      );

      await say(alice, 'after');
      expect(await seen(bob, 'after')).toEqual([
        ['alice', 'before'],
        ['alice', 'after'],
      ]);
      await say(bob, 'welcome back');
      expect((await seen(alice, 'welcome back')).pop()).toEqual(['bob', 'welcome back']);
      await Promise.all([alice, bob].map((page) => page.context().close()));
    }, 90_000);
  });
});
