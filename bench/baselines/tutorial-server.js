// The tutorial's room server as the tutorial writes it (its part 4): rooms in a plain object,
// JSON.stringify once per recipient. For comparison only: it crashes on non-JSON input, among
// other things. It does not answer a join, so the benchmark lets joins settle before measuring.
const WebSocket = require('ws');

const wss = new WebSocket.Server({ port: Number(process.env.PORT), host: '127.0.0.1' });
const rooms = {};

wss.on('connection', (ws) => {
  let currentRoom = null;

  ws.on('message', (message) => {
    let data = JSON.parse(message);

    if (data.type === 'join') {
      currentRoom = data.room;
      if (!rooms[currentRoom]) rooms[currentRoom] = new Set();
      rooms[currentRoom].add(ws);
    } else if (data.type === 'message') {
      if (currentRoom) {
        rooms[currentRoom].forEach((client) => {
          if (client !== ws && client.readyState === WebSocket.OPEN) {
            client.send(JSON.stringify({ room: currentRoom, message: data.message }));
          }
        });
      }
    }
  });

  ws.on('close', () => {
    if (currentRoom) rooms[currentRoom].delete(ws);
  });
});

wss.on('listening', () => console.log(`listening on ${wss.address().port}`));
