// Peer for the Beckon bench: socket.io + @socket.io/redis-adapter, the common Node way.
// Same workload as every peer: a socket joins the room named in its query (?room=),
// a `message` event is emitted to the whole room (sender included: its echo is the
// ack) on every node through Redis. Nothing is stored.
// Usage: node server.js PORT REDIS_URL KEY_PREFIX
const http = require("http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

async function main() {
  const [port, redisUrl, prefix] = process.argv.slice(2);
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === "/readyz" ? 200 : 404);
    res.end();
  });
  // Defaults of socket.io 4 (perMessageDeflate off), websocket transport only.
  const io = new Server(server, { transports: ["websocket"], serveClient: false });
  io.adapter(createAdapter(pub, sub, { key: prefix }));
  io.on("connection", (socket) => {
    const room = socket.handshake.query.room;
    if (room) socket.join(room);
    socket.on("message", (data) => {
      if (room) io.to(room).emit("message", data);
    });
  });
  server.listen(Number(port), "127.0.0.1");
  const stop = () => { io.close(); pub.quit().catch(() => {}); sub.quit().catch(() => {}); process.exit(0); };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => { console.error(err); process.exit(1); });
