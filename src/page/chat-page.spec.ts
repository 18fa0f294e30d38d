import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadChatPage } from './chat-page';

describe(loadChatPage.name, () => {
  const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

  it('fills in the WebSocket path and allows exactly its inline script and style', () => {
    const sut = loadChatPage('/chat-socket');

    expect(sut.html).toContain('<meta name="ws-path" content="/chat-socket">');
    expect(sut.html).not.toContain('content="/ws"');
    const script = /<script>([\s\S]*?)<\/script>/.exec(sut.html)![1];
    const style = /<style>([\s\S]*?)<\/style>/.exec(sut.html)![1];
    expect(sut.contentSecurityPolicy).toContain(`script-src ${sha256(script)};`);
    expect(sut.contentSecurityPolicy).toContain(`style-src ${sha256(style)};`);
    expect(sut.contentSecurityPolicy).toContain("connect-src 'self'");
    expect(sut.contentSecurityPolicy).not.toContain('unsafe-inline');
  });

  it('refuses a page with no ws-path meta, rather than serve one that connects nowhere', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chat-page-'));
    try {
      const file = join(dir, 'index.html');
      writeFileSync(file, '<!doctype html><title>no meta</title>');
      expect(() => loadChatPage('/ws', file)).toThrow(/ws-path/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
