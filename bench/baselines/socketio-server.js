// Socket.IO 4 with the same room semantics: join a room, and a message goes to the room's
// other members (socket.to(room).emit) with the same fields as ours. For comparison only.
const { createServer } = require('node:http');
const { Server } = require('socket.io');

const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
let lastId = 0;

io.on('connection', (socket) => {
  let current;
  socket.on('join', (room, ack) => {
    socket.join(room);
    current = room;
    if (typeof ack === 'function') ack({ room, members: io.sockets.adapter.rooms.get(room)?.size ?? 0 });
  });
  socket.on('message', (data) => {
    const room = data.room ?? current;
    if (!room || !socket.rooms.has(room)) return;
    socket.to(room).emit('message', {
      room,
      message: data.message,
      from: socket.id,
      id: String(++lastId),
      ts: Date.now(),
    });
  });
});

http.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`listening on ${http.address().port}`));
