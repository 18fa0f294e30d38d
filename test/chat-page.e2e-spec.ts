import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import request from 'supertest';
import { type RunningApp, startApp } from './support/app';
import { eventually } from './support/eventually';
import { freePort } from './support/free-port';
import { findProgram, describeWith } from './support/programs';
import { type ServerProcess, spawnServer } from './support/server-process';
import { TestClient } from './support/ws-client';

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

  /** One person: a browser context of its own, on the page, connected. */
  async function open(httpUrl: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 820, height: 620 } });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    page.on('dialog', (dialog) => {
      unexpected.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (err) => unexpected.push(`page error: ${err.message}`));
    await page.goto(httpUrl);
    await page.locator('#status[data-state="online"]').waitFor();
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

    // Another WebSocket path than the default: the page must take it from the server.
    beforeAll(async () => {
      server = await startApp({ WS_PATH: '/chat-socket' });
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
