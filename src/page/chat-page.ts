import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** public/ sits beside src/ and dist/, so one relative path serves from sources and from compiled code. */
const CHAT_PAGE_FILE = join(__dirname, '..', '..', 'public', 'index.html');

export interface ChatPage {
  html: string;
  /** Allows the page's own inline script and style, by hash, and connections to its own origin only. */
  contentSecurityPolicy: string;
}

const WS_PATH_META = /<meta name="ws-path" content="[^"]*">/;

/**
 * The chat page with the server's WebSocket path filled in. WS_PATH is validated to URL-path
 * characters (no quotes or angle brackets), so it goes into the attribute as it is.
 */
export function loadChatPage(wsPath: string, file = CHAT_PAGE_FILE): ChatPage {
  const source = readFileSync(file, 'utf8');
  if (!WS_PATH_META.test(source)) throw new Error(`${file} has no <meta name="ws-path">`);
  const html = source.replace(WS_PATH_META, `<meta name="ws-path" content="${wsPath}">`);
  return { html, contentSecurityPolicy: policyFor(html) };
}

// Hashes rather than 'unsafe-inline': were a message ever rendered as HTML, its inline
// handlers (onerror=...) still would not run.
function policyFor(html: string): string {
  return [
    "default-src 'none'",
    `script-src ${hashesOf(html, 'script')}`,
    `style-src ${hashesOf(html, 'style')}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function hashesOf(html: string, tag: 'script' | 'style'): string {
  const bodies = [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]);
  return bodies.map((body) => `'sha256-${createHash('sha256').update(body).digest('base64')}'`).join(' ');
}
