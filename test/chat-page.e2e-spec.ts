import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page, type WebSocketRoute } from 'playwright-core';
import request from 'supertest';
import { WebSocketServer } from 'ws';
import { loadChatPage } from '../src/page/chat-page';
import { type RunningApp, startApp } from './support/app';
import { eventually } from './support/eventually';
import { freePort } from './support/free-port';
import { findProgram, describeWith } from './support/programs';
import { type ServerProcess, spawnServer } from './support/server-process';
import { SECRET, sign } from './support/tokens';
import { type Frame, TestClient } from './support/ws-client';
import { WsRelay } from './support/ws-relay';

const SCREENSHOT = join(__dirname, '..', 'test-artifacts', 'chat-page.png');
const SCREENSHOT_SIGNED_IN = join(__dirname, '..', 'test-artifacts', 'chat-page-private-room.png');
const WAIT_MS = 15_000;
/** PRESENCE_LEAVE_GRACE_MS of the member list's server: a member that closed is gone soon after. */
const GRACE_MS = 300;
const LOST_LINE = 'Some messages could not be recovered; showing the latest.';
/** 's001', 's002', ...: no text is a part of another, so each can be waited for on its own. */
const numbered = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${String(from + i).padStart(3, '0')}`);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A page's WebSocket as the test sees it: every frame the page sent, the server's frames passed
 * on as they come, and a frame of the test's own to the page (as if the server had sent it).
 * `answer` may reply to a frame of the page in the server's place; it then never reaches the server.
 */
class Tap {
  readonly sent: Frame[] = [];
  private page: WebSocketRoute | undefined;

  static async install(page: Page, answer: (frame: Frame) => object | undefined = () => undefined) {
    const tap = new Tap();
    await page.routeWebSocket(/./, (ws) => {
      tap.page = ws;
      const server = ws.connectToServer();
      ws.onMessage((message) => {
        const frame = JSON.parse(String(message)) as Frame;
        tap.sent.push(frame);
        const reply = answer(frame);
        if (reply) ws.send(JSON.stringify(reply));
        else server.send(message);
      });
    });
    return tap;
  }

  sentOf(type: string): Frame[] {
    return this.sent.filter((frame) => frame.type === type);
  }

  toPage(frame: object): void {
    this.page!.send(JSON.stringify(frame));
  }
}

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

  /** A page in a browser context of its own, or another tab in `context`. */
  async function blank(context?: BrowserContext): Promise<Page> {
    context ??= await browser.newContext({ viewport: { width: 820, height: 620 } });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    page.on('dialog', (dialog) => {
      unexpected.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (err) => unexpected.push(`page error: ${err.message}`));
    return page;
  }

  async function relayedTo(httpUrl: string, pages: Page[]): Promise<[Page, WsRelay]> {
    const page = await blank();
    pages.push(page);
    const relay = await WsRelay.install(page);
    await page.goto(httpUrl);
    await page.locator('#status[data-state="online"]').waitFor();
    return [page, relay];
  }

  async function join(page: Page, name: string, room: string): Promise<void> {
    await page.fill('#name', name);
    await page.fill('#room', room);
    await page.press('#room', 'Enter');
    await page.locator(`#rooms button[data-room="${room}"][aria-current="true"]`).waitFor();
  }

  /** Joins `room` signed in: the token names the person, so there is no name to fill in. */
  async function enter(page: Page, room: string): Promise<void> {
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
    return page.$$eval('#log li:not(.gap)', (items) =>
      items.map((li) => [
        li.querySelector('.meta')!.textContent!.split(' · ')[0],
        li.querySelector('.text')!.textContent!,
      ]),
    ) as Promise<[string, string][]>;
  }

  /** Waits until the own message `text` shows `status` ("Sending…", "Delivered", ...). */
  async function marked(page: Page, text: string, status: string): Promise<void> {
    const item = page.locator('#log li.own', { has: page.locator('.text', { hasText: text }) });
    await item.locator('.status', { hasText: status }).waitFor();
  }

  /** Whether the message `text` is within the visible part of the message list. */
  const inView = (page: Page, text: string) =>
    page.locator('#log li', { has: page.locator('.text', { hasText: text }) }).evaluate((item) => {
      const [shown, list] = [item.getBoundingClientRect(), item.parentElement!.getBoundingClientRect()];
      return shown.top >= list.top && shown.bottom <= list.bottom;
    });

  /** The texts of the messages shown, in order. */
  const texts = (page: Page) =>
    page.$$eval('#log li:not(.gap) .text', (items) => items.map((p) => p.textContent));

  /** The members the page lists beside the messages, as shown: name, ✓ user if signed in, connections if not 1. */
  const listed = (page: Page) =>
    page.$$eval('#people-list li', (items) => items.map((item) => item.textContent));

  /** Waits until the page lists exactly `members`, in its order (by name). */
  async function lists(page: Page, members: string[]): Promise<void> {
    await eventually(async () => expect(await listed(page)).toEqual(members), WAIT_MS);
  }

  /** The names the page lists, alphabetically. */
  const names = async (page: Page) =>
    (await page.$$eval('#people-list li .name', (items) => items.map((item) => item.textContent!))).sort();

  /** Sends `messages` to `room` from a test client, each once, and waits until the server has handled them. */
  async function sendAll(client: TestClient, room: string, messages: string[]): Promise<void> {
    for (const message of messages) client.send({ type: 'message', room, message });
    // Answered in order: once this is, every message before it has its offset. Frames before the
    // answer (others' messages) are not this helper's business.
    client.send({ type: 'history', room, limit: 1 });
    while ((await client.next()).type !== 'history');
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
    const relayed = (): Promise<[Page, WsRelay]> => relayedTo(server.httpUrl, pages);
    /** A person whose frames the test sees, and may answer or add to. */
    const tapped = async (answer?: (frame: Frame) => object | undefined): Promise<[Page, Tap]> => {
      const page = await blank();
      pages.push(page);
      const tap = await Tap.install(page, answer);
      await page.goto(server.httpUrl);
      await page.locator('#status[data-state="online"]').waitFor();
      return [page, tap];
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

      // Alice joined before bob: her count follows the member list, which bob's coming changed.
      await eventually(async () => expect(await alice.textContent('#members')).toBe('2 members'), WAIT_MS);
      await lists(alice, ['alice', 'bob']);
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

    it('recovers, after its connection is cut, every message it missed in each of its rooms, once and in order', async () => {
      const [alice, relay] = await relayed();
      await join(alice, 'alice', 'side');
      await join(alice, 'alice', 'seam');
      const dave = await TestClient.connect(server.wsUrl);
      await dave.request({ type: 'join', room: 'side', name: 'dave' }, 'joined');
      await dave.request({ type: 'join', room: 'seam' }, 'joined');
      let sent = 0;
      const more = (count: number) => {
        for (const message of numbered('s', sent + 1, (sent += count))) {
          dave.send({ type: 'message', room: 'seam', message });
        }
      };
      more(10);
      await seen(alice, 's010');

      relay.drop();
      await alice.locator('#status[data-state="reconnecting"]').waitFor();
      // While the page is away, in both rooms...
      more(20);
      dave.send({ type: 'message', room: 'side', message: 'side news' });
      // ...and on while it comes back and after (paced, not an assertion), so that live messages
      // meet the replayed ones at the seam.
      const online = async () => (await alice.getAttribute('#status', 'data-state')) === 'online';
      while (!(await online()) && sent < 500) {
        more(1);
        await pause(5);
      }
      for (let i = 0; i < 40; i++) {
        more(1);
        await pause(5);
      }

      const last = numbered('s', sent, sent)[0];
      expect(await seen(alice, last)).toEqual(numbered('s', 1, sent).map((text) => ['dave', text]));
      expect(await alice.locator('#log li.gap').count()).toBe(0);
      // The other room's missed message came too, counted as unread.
      await alice.locator('#rooms button[data-room="side"]', { hasText: 'side (1)' }).waitFor();
      await alice.click('#rooms button[data-room="side"]');
      expect(await seen(alice, 'side news')).toEqual([['dave', 'side news']]);
      dave.close();
    }, 60_000);

    it('loads older messages when scrolled to the top: exactly those before the oldest shown, in order, once', async () => {
      const dave = await TestClient.connect(server.wsUrl);
      await dave.request({ type: 'join', room: 'scroll', name: 'dave' }, 'joined');
      await sendAll(dave, 'scroll', numbered('h', 1, 60));
      const [alice, tap] = await tapped();
      await join(alice, 'alice', 'scroll');
      // One at a time, so that the page follows each down the list (and, at some point, the list
      // only just overflows: following it down ends near its top, which is not scrolling up).
      for (const text of numbered('h', 61, 80)) {
        await sendAll(dave, 'scroll', [text]);
        await alice.locator('#log li .text', { hasText: text }).waitFor();
      }
      // Joining shows nothing said before: history comes only when the person scrolls up.
      expect(await seen(alice, 'h080')).toEqual(numbered('h', 61, 80).map((text) => ['dave', text]));
      expect(tap.sentOf('history')).toEqual([]);

      await alice.hover('#log');
      await eventually(
        async () => {
          await alice.mouse.wheel(0, -20_000);
          expect(await alice.locator('#log li .text', { hasText: 'h001' }).count()).toBe(1);
        },
        WAIT_MS,
        200,
      );
      expect(await texts(alice)).toEqual(numbered('h', 1, 80));
      // Each page asked for what came before the oldest message shown; the second was the last there is.
      expect(tap.sentOf('history')).toEqual([
        { type: 'history', room: 'scroll', before: 61, limit: 50 },
        { type: 'history', room: 'scroll', before: 11, limit: 50 },
      ]);
      dave.close();
    }, 60_000);

    it('sends each message with a cid, shows it as sending, then as delivered on its ack', async () => {
      const [[alice, tap], bob] = [await tapped(), await person()];
      await join(alice, 'alice', 'acks');
      await join(bob, 'bob', 'acks');
      await say(alice, 'hello');
      await marked(alice, 'hello', 'Delivered');
      await say(alice, 'again');
      await marked(alice, 'again', 'Delivered');
      expect(await seen(bob, 'again')).toEqual([
        ['alice', 'hello'],
        ['alice', 'again'],
      ]);
      const cids = tap.sentOf('message').map((frame) => frame.cid);
      expect(cids).toEqual([expect.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/), expect.any(String)]);
      expect(new Set(cids).size).toBe(2);
    }, 60_000);

    it('sends again, after a reconnect, a message whose ack was lost and one sent while cut off: each arrives once', async () => {
      const [[alice, relay], bob] = [await relayed(), await person()];
      await join(alice, 'alice', 'retry');
      await join(bob, 'bob', 'retry');
      await say(alice, 'first');
      await marked(alice, 'first', 'Delivered');

      // The server has it, but its ack does not get through before the connection drops.
      let holdAcks = true;
      relay.hold((frame) => holdAcks && frame.type === 'ack');
      await say(alice, 'unacked');
      await seen(bob, 'unacked');
      await eventually(() => expect(relay.heldCount).toBe(1), WAIT_MS);
      await marked(alice, 'unacked', 'Sending…');
      // Then the network goes without the page noticing: this one never reaches the server.
      relay.down = true;
      await say(alice, 'while cut');
      await marked(alice, 'while cut', 'Sending…');

      // The recovery replays 'unacked' (it was sent after the last position the page had) before
      // its ack comes again: the page must never show it twice, not even for a moment.
      await alice.evaluate(() => {
        const copies = () =>
          [...document.querySelectorAll('#log li .text')].filter((p) => p.textContent === 'unacked').length;
        (window as any).mostCopies = copies();
        new MutationObserver(() => {
          (window as any).mostCopies = Math.max((window as any).mostCopies, copies());
        }).observe(document.getElementById('log')!, { childList: true, subtree: true });
      });
      holdAcks = false;
      relay.down = false;
      relay.drop();
      await marked(alice, 'unacked', 'Delivered');
      await marked(alice, 'while cut', 'Delivered');
      // Sent after the re-sent ones, so a second copy of either would reach bob before it.
      await say(alice, 'marker');
      expect(await seen(bob, 'marker')).toEqual(
        ['first', 'unacked', 'while cut', 'marker'].map((text) => ['alice', text]),
      );
      // On alice's page too, each once (the one replayed by the recovery is hers, not a copy).
      await marked(alice, 'marker', 'Delivered');
      expect(await seen(alice, 'marker')).toEqual(
        ['first', 'unacked', 'while cut', 'marker'].map((text) => ['alice', text]),
      );
      expect(await alice.locator('#log li.own .status').allTextContents()).toEqual(
        Array(4).fill(' · Delivered'),
      );
      expect(await alice.evaluate(() => (window as any).mostCopies)).toBe(1);
    }, 60_000);

    it('keeps a message the server could not take (unavailable) pending, and sends it again with the same cid', async () => {
      const unavailable = (cid: string) => ({
        type: 'error',
        code: 'unavailable',
        message: 'The server cannot do this right now; try again shortly',
        event: 'message',
        cid,
      });
      // The first try is answered as a cluster instance that cannot reach Redis answers it.
      let refused = 0;
      const [[alice, tap], bob] = [
        await tapped((frame) =>
          frame.type === 'message' && refused++ === 0 ? unavailable(frame.cid) : undefined,
        ),
        await person(),
      ];
      await join(alice, 'alice', 'later');
      await join(bob, 'bob', 'later');
      await say(alice, 'patience');
      await marked(alice, 'patience', 'Not sent yet, trying again');
      await marked(alice, 'patience', 'Delivered');
      expect(await alice.textContent('#error')).toBe('');
      const [first, second] = tap.sentOf('message');
      expect(second).toEqual(first);
      await say(alice, 'marker');
      expect(await seen(bob, 'marker')).toEqual([
        ['alice', 'patience'],
        ['alice', 'marker'],
      ]);
    }, 60_000);

    it('on a reset, says so in the room and shows the latest messages in place of what it had', async () => {
      const dave = await TestClient.connect(server.wsUrl);
      const { epoch } = await dave.request({ type: 'join', room: 'reset', name: 'dave' }, 'joined');
      await sendAll(dave, 'reset', ['before you came', 'and this']);
      const [alice, tap] = await tapped();
      await join(alice, 'alice', 'reset');
      await sendAll(dave, 'reset', ['live']);
      expect(await seen(alice, 'live')).toEqual([['dave', 'live']]);

      // As an instance that lost track of the room says it.
      tap.toPage({ type: 'reset', room: 'reset', epoch, offset: 3 });
      await alice.locator('#log li.gap', { hasText: LOST_LINE }).waitFor();
      expect(await seen(alice, 'before you came')).toEqual(
        ['before you came', 'and this', 'live'].map((text) => ['dave', text]),
      );
      expect(await alice.$eval('#log li', (first) => first.className)).toBe('gap');
      expect(tap.sentOf('history')).toEqual([{ type: 'history', room: 'reset', before: 4, limit: 50 }]);
      // It goes on from the reset's position.
      await sendAll(dave, 'reset', ['next']);
      expect(await seen(alice, 'next')).toEqual(
        ['before you came', 'and this', 'live', 'next'].map((text) => ['dave', text]),
      );
      dave.close();
    }, 60_000);
  });

  describe('on a server that keeps 5 messages a room', () => {
    let server: RunningApp;
    const pages: Page[] = [];
    beforeAll(async () => {
      server = await startApp({ HISTORY_SIZE: '5' });
    });
    afterEach(() => Promise.all(pages.splice(0).map((page) => page.context().close())));
    afterAll(() => server.close());

    it('says when a room could not be recovered after a reconnect, and shows the latest messages', async () => {
      const [alice, relay] = await relayedTo(server.httpUrl, pages);
      await join(alice, 'alice', 'short');
      const dave = await TestClient.connect(server.wsUrl);
      await dave.request({ type: 'join', room: 'short', name: 'dave' }, 'joined');
      await sendAll(dave, 'short', numbered('k', 1, 3));
      await seen(alice, 'k003');

      // Cut off without noticing while more is said than the server keeps, and alice says something.
      relay.down = true;
      await sendAll(dave, 'short', numbered('k', 4, 12));
      await say(alice, 'are you there?');
      relay.down = false;
      relay.drop();

      await alice.locator('#log li.gap', { hasText: LOST_LINE }).waitFor();
      await marked(alice, 'are you there?', 'Delivered');
      const latest = [...numbered('k', 8, 12).map((text) => ['dave', text]), ['alice', 'are you there?']];
      expect(await seen(alice, 'k012')).toEqual(latest);
      expect(await alice.$eval('#log li', (first) => first.textContent)).toBe(LOST_LINE);
      // Shown from the end, as a room is: the newest message in view.
      await eventually(async () => expect(await inView(alice, 'are you there?')).toBe(true), WAIT_MS);
      await sendAll(dave, 'short', ['k014']);
      expect(await seen(alice, 'k014')).toEqual([...latest, ['dave', 'k014']]);
      dave.close();
    }, 60_000);
  });

  describe('with the member list (presence)', () => {
    // A short grace, so that a member that closed is gone soon; few members listed, so that a room can
    // have more than its list shows. JWT_SECRET: a page may sign in, in the open mode's default.
    const settings = {
      JWT_SECRET: SECRET,
      PRESENCE_LEAVE_GRACE_MS: String(GRACE_MS),
      PRESENCE_MAX_MEMBERS: '5',
    };
    let server: RunningApp;
    const pages: Page[] = [];
    const clients: TestClient[] = [];
    const person = async (path = '/') => {
      const page = await open(`${server.httpUrl}${path}`);
      pages.push(page);
      return page;
    };
    /** A client of the test's in `room`, under `name`, following the room's presence or not. */
    const client = async (room: string, name: string, presence = false) => {
      const joiner = await TestClient.connect(server.wsUrl);
      clients.push(joiner);
      await joiner.request({ type: 'join', room, name, ...(presence && { presence }) }, 'joined');
      return joiner;
    };

    beforeAll(async () => {
      server = await startApp(settings);
    });
    afterEach(async () => {
      clients.splice(0).forEach((joiner) => joiner.close());
      await Promise.all(pages.splice(0).map((page) => page.context().close()));
    });
    afterAll(() => server.close());

    it('shows on each of two pages in a room both members, and the count from the list', async () => {
      const [alice, bob] = [await person(), await person()];
      await join(alice, 'alice', 'roster');
      await join(bob, 'bob', 'roster');

      for (const page of [alice, bob]) {
        await lists(page, ['alice', 'bob']);
        expect(await page.textContent('#members')).toBe('2 members');
        expect(await page.textContent('#people-more')).toBe('');
      }
    }, 60_000);

    it('lists a client that joins, and takes it off once it has closed and the grace has passed', async () => {
      const alice = await person();
      await join(alice, 'alice', 'comings');
      const dave = await client('comings', 'dave');
      const erin = await client('comings', 'erin', true);
      await lists(alice, ['alice', 'dave', 'erin']);
      expect(await alice.textContent('#members')).toBe('3 members');

      const closedAt = Date.now();
      dave.close();
      await lists(alice, ['alice', 'erin']);
      // Not before the grace: a member back within it would have been neither gone nor come again.
      expect(Date.now() - closedAt).toBeGreaterThanOrEqual(GRACE_MS);
      expect(await alice.textContent('#members')).toBe('2 members');
      erin.close();
      await lists(alice, ['alice']);
      expect(await alice.textContent('#members')).toBe('1 member');
    }, 60_000);

    it('joins again with presence after a reconnect, and lists the room as it is then, whatever it missed', async () => {
      const [[alice, relay], bob] = [await relayedTo(server.httpUrl, pages), await person()];
      await join(alice, 'alice', 'again');
      await join(bob, 'bob', 'again');
      await lists(alice, ['alice', 'bob']);

      // The network goes without alice's page noticing: it misses carol coming and bob going.
      relay.down = true;
      const carol = await client('again', 'carol', true);
      await bob.context().close();
      await eventually(
        async () => {
          const frame = await carol.next();
          expect(frame.type === 'presence_diff' && frame.leaves.map((left: Frame) => left.name)).toEqual([
            'bob',
          ]);
        },
        WAIT_MS,
        0,
      );
      expect(await listed(alice)).toEqual(['alice', 'bob']);

      relay.down = false;
      relay.drop();
      await alice.locator('#status[data-state="online"]').waitFor();
      // Its old connection is a member of its own until the grace has passed, then leaves.
      await lists(alice, ['alice', 'carol']);
      expect(await alice.textContent('#members')).toBe('2 members');
    }, 60_000);

    it('lists two tabs of one signed-in user once, with its connections counted, and keeps it while one tab is open', async () => {
      const token = await sign({ sub: 'alice', name: 'Alice' });
      const first = await person(`/#token=${token}`);
      const second = await blank(first.context());
      await second.goto(`${server.httpUrl}/#token=${token}`);
      await second.locator('#status[data-state="online"]').waitFor();
      await enter(first, 'tabs');
      await lists(first, ['Alice ✓ alice']);
      await enter(second, 'tabs');
      const bob = await person();
      await join(bob, 'bob', 'tabs');

      await lists(second, ['Alice ✓ alice · 2 connections', 'bob']);
      await lists(bob, ['Alice ✓ alice · 2 connections', 'bob']);
      // A second tab sends those already there nothing: the first lists Alice once, as its list came.
      await eventually(async () => expect(await names(first)).toEqual(['Alice', 'bob']), WAIT_MS);
      for (const page of [first, second, bob]) expect(await page.textContent('#members')).toBe('2 members');

      // One tab closes: Alice is still there, well past the grace.
      await second.close();
      await pause(3 * GRACE_MS);
      for (const page of [first, bob]) {
        expect(await names(page)).toEqual(['Alice', 'bob']);
        expect(await page.textContent('#members')).toBe('2 members');
      }
    }, 60_000);

    it("shows a member's name as text: markup in it is listed as typed, creating no element and running nothing", async () => {
      const [alice, bob] = [await person(), await person()];
      await join(alice, '<b>x</b>', 'marks');
      await client('marks', '<img src=x onerror=alert(1)>');
      await join(bob, 'bob', 'marks');

      for (const page of [alice, bob]) {
        await eventually(
          async () =>
            expect(await names(page)).toEqual(['<b>x</b>', '<img src=x onerror=alert(1)>', 'bob'].sort()),
          WAIT_MS,
        );
        expect(await page.$$eval('#people b, #people img', (found) => found.length)).toBe(0);
      }
      // afterEach checks no dialog opened
    }, 60_000);

    it('says how many more members there are than it lists, and counts them all', async () => {
      for (const name of numbered('m', 1, 6)) await client('crowd', name);
      const alice = await person();
      await join(alice, 'alice', 'crowd');

      await alice.locator('#people-more', { hasText: 'and 2 more' }).waitFor();
      expect(await listed(alice)).toHaveLength(5);
      expect(await alice.textContent('#members')).toBe('7 members');
      await client('crowd', 'm007');
      await alice.locator('#members', { hasText: '8 members' }).waitFor();
      // The newcomer's diff adds it to the list: still two not listed.
      expect(await listed(alice)).toHaveLength(6);
      expect(await alice.textContent('#people-more')).toBe('and 2 more');
    }, 60_000);

    it('replaces its list with each snapshot, and applies only the diffs past the last one', async () => {
      const page = await blank();
      pages.push(page);
      const tap = await Tap.install(page);
      await page.goto(server.httpUrl);
      await page.locator('#status[data-state="online"]').waitFor();
      await join(page, 'alice', 'revs');
      await lists(page, ['alice']);
      expect(tap.sentOf('join')).toEqual([{ type: 'join', room: 'revs', name: 'alice', presence: true }]);

      // From here the test plays the server: nobody else comes to this room, so it sends nothing more.
      const member = (name: string, connections = 1) => ({ name, conn: `c-${name}`, connections });
      tap.toPage({
        type: 'presence',
        room: 'revs',
        rev: 10,
        count: 2,
        members: [member('ann'), member('ben')],
        truncated: false,
      });
      await lists(page, ['ann', 'ben']);
      // Not past the snapshot: already in it, and not applied.
      tap.toPage({
        type: 'presence_diff',
        room: 'revs',
        rev: 10,
        count: 3,
        joins: [member('old')],
        leaves: [],
      });
      tap.toPage({
        type: 'presence_diff',
        room: 'revs',
        rev: 11,
        count: 2,
        joins: [member('cat')],
        leaves: [{ name: 'ben', conn: 'c-ben' }],
      });
      // Frames are read in order: once cat shows, the diff before it was read too.
      await lists(page, ['ann', 'cat']);
      expect(await page.textContent('#members')).toBe('2 members');

      // A snapshot with a lower rev (revs start over, as after Redis came back) replaces the list all the same.
      tap.toPage({
        type: 'presence',
        room: 'revs',
        rev: 2,
        count: 1200,
        members: [member('dan'), { name: 'Eve', user: 'eve', connections: 3 }, member('gil', 0)],
        truncated: true,
      });
      tap.toPage({
        type: 'presence_diff',
        room: 'revs',
        rev: 3,
        count: 1201,
        joins: [member('fay')],
        leaves: [],
      });
      await lists(page, ['dan', 'Eve ✓ eve · 3 connections', 'fay', 'gil · away']);
      expect(await page.textContent('#members')).toBe('1201 members');
      expect(await page.textContent('#people-more')).toBe('and 1197 more');
    }, 60_000);
  });

  describe('with tokens', () => {
    // Tolerance 0, so a token's expiry is on time; a short AUTH_TIMEOUT_MS, so a page without one is closed
    // soon (though not before a test has loaded the page, filled in a form and had its refusal: 1 s was too tight).
    const auth = { JWT_SECRET: SECRET, JWT_CLOCK_TOLERANCE_S: '0' };
    let openMode: RunningApp;
    let jwt: RunningApp;
    const pages: Page[] = [];
    const grant = ['private:team-7:*'];

    beforeAll(async () => {
      [openMode, jwt] = await Promise.all([
        startApp(auth),
        startApp({ ...auth, AUTH_MODE: 'jwt', AUTH_TIMEOUT_MS: '2000' }),
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
      // The member list comes for a private room too (GET /rooms/:name never shows one).
      await lists(bob, ['Alice ✓ alice', 'Bob ✓ bob']);
      expect(await bob.textContent('#members')).toBe('2 members');
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
          epoch: expect.any(String),
          offset: 0,
          // The page rejoined from where it was: nothing was missed.
          recovered: true,
          missed: 0,
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
      // The tokenless page first: its AUTH_TIMEOUT_MS runs from its connection on, and the
      // join must be refused before that closes it.
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

      await refused
        .locator('#error', {
          hasText:
            'The server refused the token: the token is malformed. Paste a token above to connect again.',
        })
        .waitFor();
      expect(await refused.textContent('#status')).toBe('Signed out');
      expect(await refused.isVisible('#anonymous')).toBe(true);

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

      // The new process keeps nothing of the old one's: both pages say so, and show what is said now.
      for (const page of [alice, bob]) await page.locator('#log li.gap', { hasText: LOST_LINE }).waitFor();
      await say(alice, 'after');
      expect(await seen(bob, 'after')).toEqual([['alice', 'after']]);
      await say(bob, 'welcome back');
      expect((await seen(alice, 'welcome back')).pop()).toEqual(['bob', 'welcome back']);
      await Promise.all([alice, bob].map((page) => page.context().close()));
    }, 90_000);
  });
});
