import type { Page, WebSocketRoute } from 'playwright-core';

type Frame = { type: string };

/**
 * The test between a page's WebSocket and the real server (Playwright's WebSocket routing), to
 * play the network: hold the server's replies, slip in a frame of its own, cut the connection,
 * or go down so that not even a close gets through.
 */
export class WsRelay {
  /** While true, nothing passes either way, closes included, as when a network goes away. */
  down = false;
  private holding: ((frame: Frame) => boolean) | undefined;
  private readonly held: (() => void)[] = [];
  private page: WebSocketRoute | undefined;
  private server: WebSocketRoute | undefined;

  /** Routes every WebSocket the page opens from now on; call it before the page loads. */
  static async install(page: Page): Promise<WsRelay> {
    const relay = new WsRelay();
    await page.routeWebSocket(/./, (ws) => relay.connect(ws));
    return relay;
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** Keeps the server's frames that match from the page until release(). */
  hold(match: (frame: Frame) => boolean): void {
    this.holding = match;
  }

  release(): void {
    this.holding = undefined;
    this.held.splice(0).forEach((deliver) => deliver());
  }

  /** Sends the server a frame the page never sent. */
  toServer(frame: object): void {
    this.server!.send(JSON.stringify(frame));
  }

  /** Closes both sides, as a dropped connection does. */
  drop(): void {
    this.server!.close();
    this.page!.close();
  }

  private connect(page: WebSocketRoute): void {
    const server = page.connectToServer();
    [this.page, this.server] = [page, server];
    page.onMessage((message) => this.down || server.send(message));
    server.onMessage((message) => {
      if (this.down) return;
      const deliver = () => page.send(message);
      if (this.holding?.(JSON.parse(message as string))) this.held.push(deliver);
      else deliver();
    });
    // Handlers of its own turn off Playwright's forwarding of closes, so each side is closed here.
    const close = (code?: number, reason?: string) => {
      if (this.down) return;
      server.close({ code, reason });
      page.close({ code, reason });
    };
    page.onClose(close);
    server.onClose(close);
  }
}
