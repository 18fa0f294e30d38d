import { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { Connection } from './connection';
import { WriteBatch } from './outbound';

/** Connection writes to ws's private TCP socket; this fails if a ws upgrade moves it. */
describe(Connection.name, () => {
  it.each([
    ['without compression, frames go straight to the TCP socket', false, true],
    ['with permessage-deflate, frames go through ws', true, false],
  ])('%s', async (_, perMessageDeflate, direct) => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate });
    await new Promise((resolve) => server.once('listening', resolve));
    const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, {
      perMessageDeflate,
    });
    const received = new Promise<string>((resolve) =>
      client.once('message', (data) => resolve(String(data))),
    );
    const socket = await accepted;
    const sut = new Connection('c1', socket, 1024, new WriteBatch());

    expect((sut as unknown as { tcp?: unknown }).tcp instanceof Socket).toBe(direct);
    expect(sut.sendJson({ type: 'echo', message: 'é ok' })).toBe(true);
    expect(JSON.parse(await received)).toEqual({ type: 'echo', message: 'é ok' });
    client.close();
    server.close();
  });
});
