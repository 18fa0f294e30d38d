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
import { SECRET, sign } from './support/tokens';
import { TestClient } from './support/ws-client';
import { WsRelay } from './support/ws-relay';

const SCREENSHOT = join(__dirname, '..', 'test-artifacts', 'chat-page.png');
const SCREENSHOT_SIGNED_IN = join(__dirname, '..', 'test-artifacts', 'chat-page-private-room.png');
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

  describe('with tokens', () => {
    // Tolerance 0, so a token's expiry is on time; a short AUTH_TIMEOUT_MS, so a page without one is closed soon.
    const auth = { JWT_SECRET: SECRET, JWT_CLOCK_TOLERANCE_S: '0' };
    let openMode: RunningApp;
    let jwt: RunningApp;
    const pages: Page[] = [];
    const grant = ['private:team-7:*'];

    beforeAll(async () => {
      [openMode, jwt] = await Promise.all([
        startApp(auth),
        startApp({ ...auth, AUTH_MODE: 'jwt', AUTH_TIMEOUT_MS: '1000' }),
      ]);
    });
    afterEach(() => Promise.all(pages.splice(0).map((page) => page.context().close())));
    afterAll(() => Promise.all([openMode?.close(), jwt?.close()]));

    /** What a page lets out (its WebSockets' URLs, the frames it sent on each, its console lines) and gets. */
    interface Traffic {
      sockets: string[];
      sent: string[][];
      received: string[][];
      console: string[];
    }

    /** A page opened at `path` (with a `#token=`, say), watched from before it loads. */
    async function visit(server: RunningApp, path = '/', { online = true } = {}): Promise<[Page, Traffic]> {
      const page = await blank();
      pages.push(page);
      const traffic: Traffic = { sockets: [], sent: [], received: [], console: [] };
      page.on('console', (line) => traffic.console.push(line.text()));
      page.on('websocket', (ws) => {
        const [sent, received]: string[][] = [[], []];
        traffic.sockets.push(ws.url());
        traffic.sent.push(sent);
        traffic.received.push(received);
        ws.on('framesent', (frame) => sent.push(String(frame.payload)));
        ws.on('framereceived', (frame) => received.push(String(frame.payload)));
      });
      await page.goto(`${server.httpUrl}${path}`);
      if (online) await page.locator('#status[data-state="online"]').waitFor();
      return [page, traffic];
    }

    const signedIn = async (server: RunningApp, token: string) => visit(server, `/#token=${token}`);

    async function enter(page: Page, room: string): Promise<void> {
      await page.fill('#room', room);
      await page.press('#room', 'Enter');
      await page.locator(`#rooms button[data-room="${room}"][aria-current="true"]`).waitFor();
    }

    async function giveToken(page: Page, token: string): Promise<void> {
      await page.fill('#token', token);
      await page.press('#token', 'Enter');
    }

    /** Longer than the first retry takes (a quarter to half a second), were the page to make one. */
    const noRetryWithin = (page: Page) => page.waitForTimeout(600);

    it('signs in from #token= and takes it off the address; two chat in a private room, an outsider is told why not', async () => {
      const token = await sign({ sub: 'alice', name: 'Alice', rooms: grant, ttl: 600 });
      const [[alice, traffic], [bob], [carol]] = await Promise.all([
        signedIn(jwt, token),
        signedIn(jwt, await sign({ sub: 'bob', name: 'Bob', rooms: grant })),
        signedIn(jwt, await sign({ sub: 'carol', name: 'Carol', rooms: ['private:team-8:*'] })),
      ]);
      expect(alice.url()).toBe(`${jwt.httpUrl}/`);
      expect(await alice.innerText('#identity')).toMatch(/^Signed in as Alice\ntoken valid until /);
      expect(await alice.isHidden('#name')).toBe(true);

      await enter(alice, 'private:team-7:a');
      await enter(bob, 'private:team-7:a');
      // GET /rooms/:name does not show a private room, so the count stays the one from joining.
      await bob.locator('#members', { hasText: '2 members when you joined' }).waitFor();
      await say(alice, 'Hi Bob');
      expect(await seen(bob, 'Hi Bob')).toEqual([['Alice ✓ alice', 'Hi Bob']]);
      await say(bob, 'Hello Alice');
      expect(await seen(alice, 'Hello Alice')).toEqual([
        ['Alice ✓ alice', 'Hi Bob'],
        ['Bob ✓ bob', 'Hello Alice'],
      ]);

      await carol.fill('#room', 'private:team-7:a');
      await carol.press('#room', 'Enter');
      await carol
        .locator('#error', {
          hasText: 'Could not join: private:team-7:a is a private room; your token does not grant it.',
        })
        .waitFor();
      expect(await carol.$$eval('#rooms li', (items) => items.length)).toBe(0);

      // The token went in the first frame, and nowhere else the page could leave it.
      expect(traffic.sockets).toEqual([expect.not.stringContaining(token)]);
      expect(JSON.parse(traffic.sent[0][0])).toEqual({ type: 'auth', token });
      expect(traffic.console.filter((line) => line.includes(token))).toEqual([]);
      expect(await alice.evaluate(() => localStorage.length + sessionStorage.length)).toBe(0);
      await alice.screenshot({ path: SCREENSHOT_SIGNED_IN });
    }, 60_000);

    it('takes a token from the field, renews it (leaving a room it no longer grants), and switches user', async () => {
      const [[alice, traffic], [bob]] = await Promise.all([visit(openMode), visit(openMode)]);
      await giveToken(alice, await sign({ sub: 'alice', name: 'Alice', rooms: grant }));
      await alice.locator('#identity', { hasText: 'Signed in as Alice' }).waitFor();
      expect(await alice.inputValue('#token')).toBe('');
      await enter(alice, 'private:team-7:a');
      await enter(alice, 'lobby');
      await join(bob, 'bob', 'lobby');
      await say(alice, 'verified');
      expect(await seen(bob, 'verified')).toEqual([['Alice ✓ alice', 'verified']]);

      // A refresh: same user, no grant for the private room any more.
      await giveToken(alice, await sign({ sub: 'alice', name: 'Alice' }));
      await alice.locator('#rooms button[data-room="private:team-7:a"]').waitFor({ state: 'detached' });
      expect(await alice.textContent('#notice')).toBe(
        'You left private:team-7:a: your new token does not grant it.',
      );

      // Another user's token: the server refuses it as a refresh (4003), so the page signs in anew.
      await giveToken(alice, await sign({ sub: 'mallory', name: 'Mallory' }));
      await alice.locator('#identity', { hasText: 'Signed in as Mallory' }).waitFor();
      await alice.locator('#status[data-state="online"]').waitFor();
      await say(alice, 'new me');
      expect((await seen(bob, 'new me')).pop()).toEqual(['Mallory ✓ mallory', 'new me']);
      expect(traffic.sockets).toHaveLength(2);
    }, 60_000);

    it('says the token has expired, stops, and rejoins with a fresh one', async () => {
      const room = 'private:team-7:b';
      const bob = await TestClient.connect(jwt.wsUrl);
      await bob.request({ type: 'auth', token: await sign({ sub: 'bob', rooms: grant }) }, 'authenticated');
      await bob.request({ type: 'join', room }, 'joined');
      const [alice, traffic] = await signedIn(
        jwt,
        await sign({ sub: 'alice', name: 'Alice', rooms: grant, ttl: 3 }),
      );
      await enter(alice, room);

      await alice
        .locator('#error', { hasText: 'Your token has expired. Paste a fresh token above to connect again.' })
        .waitFor();
      expect(await alice.textContent('#status')).toBe('Signed out');
      expect(await alice.isHidden('#identity')).toBe(true);
      await noRetryWithin(alice);
      expect(traffic.sockets).toHaveLength(1);

      await giveToken(alice, await sign({ sub: 'alice', name: 'Alice', rooms: grant }));
      await eventually(() =>
        expect(traffic.received[1]?.map((frame) => JSON.parse(frame))).toContainEqual({
          type: 'joined',
          room,
          members: 2,
        }),
      );
      bob.send({ type: 'message', room, message: 'welcome back' });
      expect(await seen(alice, 'welcome back')).toEqual([['bob ✓ bob', 'welcome back']]);
      bob.close();
    }, 60_000);

    it('stops, rather than reconnect in a loop, after a refused token and after no token in jwt mode', async () => {
      const [[refused, refusedTraffic], [tokenless, tokenlessTraffic]] = await Promise.all([
        visit(jwt, '/#token=not-a-token', { online: false }),
        visit(jwt),
      ]);
      await refused
        .locator('#error', {
          hasText:
            'The server refused the token: the token is malformed. Paste a token above to connect again.',
        })
        .waitFor();
      expect(await refused.textContent('#status')).toBe('Signed out');
      expect(await refused.isVisible('#anonymous')).toBe(true);

      await tokenless.fill('#name', 'dave');
      await tokenless.fill('#room', 'lobby');
      await tokenless.press('#room', 'Enter');
      await tokenless
        .locator('#error', { hasText: 'This server needs a token: paste one above, then join.' })
        .waitFor();
      // Then AUTH_TIMEOUT_MS runs out (4008).
      await tokenless.locator('#error', { hasText: 'This server needs a token to chat.' }).waitFor();
      expect(await tokenless.textContent('#status')).toBe('Token needed');
      expect(await tokenless.isHidden('#anonymous')).toBe(true);

      await noRetryWithin(tokenless);
      expect([refusedTraffic.sockets.length, tokenlessTraffic.sockets.length]).toEqual([1, 1]);
      await giveToken(tokenless, await sign({ sub: 'dave', name: 'Dave' }));
      await enter(tokenless, 'lobby');
    }, 60_000);
  });

  describe('against a server that accepts the WebSocket and closes it at once', () => {
    let server: Server;
    let accepted = 0;
    beforeAll(async () => {
      const { html } = loadChatPage({ wsPath: '/ws', maxMessageLength: 4096, privateRoomPrefix: 'private:' });
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

    // With ALLOWED_ORIGINS naming the page's own origin, as a deployment that sets it would.
    it('shows reconnecting, then online, rejoins its room by itself and chats again (ALLOWED_ORIGINS set)', async () => {
      const port = String(await freePort());
      const start = async () => {
        const started = spawnServer({ PORT: port, ALLOWED_ORIGINS: `http://127.0.0.1:${port}` });
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
