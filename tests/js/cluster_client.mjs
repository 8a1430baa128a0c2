// The real socket.io-client, driven line by line from pytest (tests/test_cluster_nginx.py).
//
//   node cluster_client.mjs <url> '<io() options as JSON>'
//
// stdin, one JSON object per line:
//   {"id": 1, "emit": "joinRoom", "data": {...}}   -> {"id": 1, "ack": <ack>}
//   {"id": 2, "transport": true}                   -> {"id": 2, "transport": "websocket",
//                                                      "engine": <Engine.IO sid>}
//   {"id": 3, "close": true}                       -> {"id": 3, "closed": true}, then exit
// stdout, unprompted: {"connect": sid, "engine": eio sid, "transport": name},
//   {"event": name, "data": payload},
//   {"disconnect": reason}, {"error": message}.
// The process exits on stdin EOF, so a dying test never leaves it behind.
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const [url, rawOptions] = process.argv.slice(2);
const options = { reconnection: false, timeout: 5000, ...JSON.parse(rawOptions || "{}") };
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const ACK_TIMEOUT_MS = 5000;

const socket = io(url, options);
socket.on("connect", () => out({ connect: socket.id, engine: socket.io.engine.id,
  transport: socket.io.engine.transport.name }));
socket.on("connect_error", (err) => out({ error: String(err && err.message) }));
socket.on("disconnect", (reason) => out({ disconnect: reason }));
socket.onAny((event, data) => out({ event, data }));

const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  if (cmd.emit) {
    try {
      const ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(cmd.emit, cmd.data);
      out({ id: cmd.id, ack });
    } catch (err) {
      out({ id: cmd.id, ackError: String(err && err.message) });
    }
  } else if (cmd.transport) {
    const engine = socket.io.engine;
    out({ id: cmd.id, transport: engine ? engine.transport.name : null, engine: engine && engine.id });
  } else if (cmd.close) {
    socket.close();
    out({ id: cmd.id, closed: true });
    process.exit(0);
  }
});
lines.on("close", () => {
  socket.close();
  process.exit(0);
});
