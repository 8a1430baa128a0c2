// The reference: Node socket.io 4.8 with default options, speaking the benchmark protocol.
//   join {room} -> ack {ok}        broadcast {room, payload} -> emit "msg" payload to room, ack {ok}
//   echo payload -> ack payload
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.env.PORT || 5100);
const httpServer = createServer();
const io = new Server(httpServer, { cors: { origin: "*" } });

io.on("connection", (socket) => {
  socket.on("join", (data, ack) => {
    socket.join(data.room);
    ack({ ok: true });
  });
  socket.on("broadcast", (data, ack) => {
    io.to(data.room).emit("msg", data.payload);
    ack({ ok: true });
  });
  socket.on("echo", (payload, ack) => ack(payload));
});

httpServer.listen(port, "127.0.0.1", () => console.log(`node socket.io listening on ${port}`));
process.on("SIGTERM", () => process.exit(0));
