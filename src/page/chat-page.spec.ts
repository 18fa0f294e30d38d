import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadChatPage } from './chat-page';

describe(loadChatPage.name, () => {
  const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

  it('fills in the WebSocket path, message limit and private-room prefix, and allows exactly its inline script and style', () => {
    const sut = loadChatPage({ wsPath: '/chat-socket', maxMessageLength: 77, privateRoomPrefix: 'team.' });

    expect(sut.html).toContain('<meta name="ws-path" content="/chat-socket">');
    expect(sut.html).not.toContain('content="/ws"');
    expect(sut.html).toContain('<meta name="max-message-length" content="77">');
    expect(sut.html).not.toContain('content="4096"');
    expect(sut.html).toContain('<meta name="private-room-prefix" content="team.">');
    const script = /<script>([\s\S]*?)<\/script>/.exec(sut.html)![1];
    const style = /<style>([\s\S]*?)<\/style>/.exec(sut.html)![1];
    expect(sut.contentSecurityPolicy).toContain(`script-src ${sha256(script)};`);
    expect(sut.contentSecurityPolicy).toContain(`style-src ${sha256(style)};`);
    expect(sut.contentSecurityPolicy).toContain("connect-src 'self'");
    expect(sut.contentSecurityPolicy).not.toContain('unsafe-inline');
  });

  it('has a member list beside the messages, and a script that sets text only, never HTML', () => {
    const { html } = loadChatPage({ wsPath: '/ws', maxMessageLength: 10, privateRoomPrefix: 'p:' });

    expect(html).toMatch(/<ol id="log"[^>]*><\/ol>\s*<aside id="people"[^>]*>/);
    expect(html).toContain('<ul id="people-list"');
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1];
    // Names and messages are other people's text: markup in them must never become elements.
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|DOMParser/);
  });

  it('takes a value with replacement patterns literally', () => {
    const sut = loadChatPage({ wsPath: "/a$&b$'c$1", maxMessageLength: 10, privateRoomPrefix: 'private:' });

    expect(sut.html).toContain(`<meta name="ws-path" content="/a$&b$'c$1">`);
  });

  it.each([
    ['ws-path', '<meta name="max-message-length" content="1"><meta name="private-room-prefix" content="p:">'],
    [
      'max-message-length',
      '<meta name="ws-path" content="/ws"><meta name="private-room-prefix" content="p:">',
    ],
    [
      'private-room-prefix',
      '<meta name="ws-path" content="/ws"><meta name="max-message-length" content="1">',
    ],
  ])('refuses a page with no %s meta, rather than serve one that runs on guesses', (missing, other) => {
    const dir = mkdtempSync(join(tmpdir(), 'chat-page-'));
    try {
      const file = join(dir, 'index.html');
      writeFileSync(file, `<!doctype html>${other}<title>no meta</title>`);
      expect(() =>
        loadChatPage({ wsPath: '/ws', maxMessageLength: 10, privateRoomPrefix: 'p:' }, file),
      ).toThrow(missing);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
