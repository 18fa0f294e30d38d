// A hand-tuned raw `ws` server of our protocol: the practical ceiling for Node here.
// Each room message is serialized once and framed once; the same frame bytes are written to
// every member's TCP socket, corked until the end of the event-loop turn so that messages
// landing in one turn leave in one write. bufferutil is installed, so ws masks and unmasks with
// it, and checks UTF-8 with Node's buffer.isUtf8. Minimal validation, no framework. For
// comparison only.
const { WebSocketServer, Sender } = require('ws');

const wss = new WebSocketServer({
  port: Number(process.env.PORT),
  host: '127.0.0.1',
  path: '/ws',
  perMessageDeflate: false,
});
const rooms = new Map();
const corked = new Set();
let lastId = 0;

function uncorkAll() {
  for (const socket of corked) socket.uncork();
  corked.clear();
}

function write(ws, frame) {
  const socket = ws._socket;
  if (!corked.has(socket)) {
    if (corked.size === 0) process.nextTick(uncorkAll);
    socket.cork();
    corked.add(socket);
  }
  socket.write(frame[0]);
  socket.write(frame[1]);
}

function textFrame(json) {
  const data = Buffer.from(json);
  return Sender.frame(data, { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false });
}

wss.on('connection', (ws) => {
  const joined = new Set();
  let current;
  const id = Math.random().toString(36).slice(2, 10);
  ws.on('message', (raw) => {
    let data;
    try {
      data = JSON.parse(raw);
    } catch {
      return;
    }
    if (data.type === 'join' && typeof data.room === 'string') {
      let members = rooms.get(data.room);
      if (!members) rooms.set(data.room, (members = new Set()));
      members.add(ws);
      joined.add(data.room);
      current = data.room;
      write(ws, textFrame(JSON.stringify({ type: 'joined', room: data.room, members: members.size })));
    } else if (data.type === 'message' && typeof data.message === 'string') {
      const room = data.room ?? current;
      const members = room && joined.has(room) && rooms.get(room);
      if (!members) return;
      const frame = textFrame(
        JSON.stringify({
          type: 'message',
          room,
          message: data.message,
          from: id,
          id: String(++lastId),
          ts: Date.now(),
        }),
      );
      for (const member of members) if (member !== ws && member.readyState === 1) write(member, frame);
    }
  });
  ws.on('close', () => {
    for (const room of joined) {
      const members = rooms.get(room);
      members.delete(ws);
      if (members.size === 0) rooms.delete(room);
    }
  });
});

wss.on('listening', () => console.log(`listening on ${wss.address().port}`));
