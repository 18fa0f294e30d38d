import { type RunningApp, startApp } from './support/app';
import { RoomLoad } from './support/room-load';

const { CLIENTS, ROOMS, MESSAGES } = RoomLoad;

describe(`${CLIENTS} clients in ${ROOMS} rooms, each sending ${MESSAGES} messages at once (e2e)`, () => {
  let server: RunningApp;
  let load: RoomLoad;

  beforeAll(async () => {
    server = await startApp();
    load = new RoomLoad([server.wsUrl]);
    await load.connectAndJoin();
  }, 30_000);
  afterAll(async () => {
    load.close();
    await server.close();
  });

  it('counts exactly', () => load.expectCounts(server.httpUrl));

  it(
    'delivers every message of a room to each other member exactly once, in per-sender order',
    () => load.sendAndCheck(),
    30_000,
  );
});
