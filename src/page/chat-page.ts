import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from '../config/load-config';

/** public/ sits beside src/ and dist/, so one relative path serves from sources and from compiled code. */
const CHAT_PAGE_FILE = join(__dirname, '..', '..', 'public', 'index.html');

export interface ChatPage {
  html: string;
  /** Allows the page's own inline script and style, by hash, and connections to its own origin only. */
  contentSecurityPolicy: string;
}

/** What the page takes from the server's config rather than assume. */
export type PageSettings = Pick<AppConfig, 'wsPath' | 'maxMessageLength' | 'privateRoomPrefix'>;

/**
 * The chat page with the server's settings filled in. WS_PATH is validated to URL-path
 * characters (no quotes or angle brackets), PRIVATE_ROOM_PREFIX to room-name characters and
 * MAX_MESSAGE_LENGTH is an integer, so each goes into its attribute as it is.
 */
export function loadChatPage(settings: PageSettings, file = CHAT_PAGE_FILE): ChatPage {
  let html = readFileSync(file, 'utf8');
  html = fillMeta(html, 'ws-path', settings.wsPath, file);
  html = fillMeta(html, 'max-message-length', String(settings.maxMessageLength), file);
  html = fillMeta(html, 'private-room-prefix', settings.privateRoomPrefix, file);
  return { html, contentSecurityPolicy: policyFor(html) };
}

// Refuse a page without the tag rather than serve one that runs on guesses.
function fillMeta(html: string, name: string, value: string, file: string): string {
  const meta = new RegExp(`<meta name="${name}" content="[^"]*">`);
  if (!meta.test(html)) throw new Error(`${file} has no <meta name="${name}">`);
  // A function, so a `$` in the value is never read as a replacement pattern.
  return html.replace(meta, () => `<meta name="${name}" content="${value}">`);
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
