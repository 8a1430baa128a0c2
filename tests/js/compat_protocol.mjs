// Drives the real socket.io-client 4.8 against a Huddle server in the conformance profile.
// Usage: node compat_protocol.mjs <scenario> <url>; prints one JSON object on stdout.
// Every wait is bounded; the whole script exits with code 2 after 20 s.
import { io } from "socket.io-client";
import * as msgpackParser from "socket.io-msgpack-parser";

const [scenario, url] = process.argv.slice(2);
const WAIT_MS = 5000;
setTimeout(() => { console.error(`timeout in ${scenario}`); process.exit(2); }, 20000).unref();

const once = (emitter, event) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no ${event} within ${WAIT_MS} ms`)), WAIT_MS);
  emitter.once(event, (...args) => { clearTimeout(timer); resolve(args); });
});

const bytes = (value) => Array.from(new Uint8Array(value));

async function open(options = {}, path = "/") {
  const socket = io(url + path, { reconnection: false, forceNew: true, ...options });
  const [auth] = await Promise.race([
    once(socket, "auth"),
    once(socket, "connect_error").then(([err]) => { throw err; }),
  ]);
  return { socket, auth };
}

async function echo(socket, ...args) {
  socket.emit("message", ...args);
  return (await once(socket, "message-back"));
}

async function transport(options) {
  const { socket } = await open(options);
  if (options.upgradeWait && socket.io.engine.transport.name !== "websocket") {
    await once(socket.io.engine, "upgrade");
  }
  const back = await echo(socket, 1, "2", { 3: [true] });
  const result = { transport: socket.io.engine.transport.name, back };
  socket.disconnect();
  return result;
}

const scenarios = {
  async transports() {
    return {
      polling: await transport({ transports: ["polling"] }),
      websocket: await transport({ transports: ["websocket"] }),
      upgrade: await transport({ transports: ["polling", "websocket"], upgradeWait: true }),
    };
  },

  async auth() {
    const { socket, auth } = await open({ auth: { token: "abc" } });
    socket.disconnect();
    const refused = io(url + "/random", { reconnection: false, forceNew: true });
    const [err] = await once(refused, "connect_error");
    refused.close();
    return { auth, refused: { message: err.message, data: err.data ?? null } };
  },

  // Against the default profile: /chat refuses a connection without identity with data.
  async refusedWithData() {
    const socket = io(url + "/chat", { reconnection: false, forceNew: true, auth: {} });
    const [err] = await once(socket, "connect_error");
    socket.close();
    return { message: err.message, data: err.data ?? null, active: socket.active };
  },

  async acks() {
    const { socket } = await open();
    const answered = await socket.timeout(2000).emitWithAck("message-with-ack", { n: 42 });
    let timedOut = null;
    try {
      await socket.timeout(300).emitWithAck("nobody-answers-this", 1);
    } catch (err) {
      timedOut = err.message;
    }
    socket.disconnect();
    return { answered, timedOut };
  },

  async binary() {
    const { socket } = await open();
    const buffer = Buffer.from([1, 2, 3]);
    const arrayBuffer = new Uint8Array([4, 5, 6]).buffer;
    const back = await echo(socket, "bin", buffer, { nested: arrayBuffer });
    const acked = await socket.timeout(2000).emitWithAck("message-with-ack", arrayBuffer);
    socket.disconnect();
    return {
      echoed: [back[0], bytes(back[1]), bytes(back[2].nested)],
      echoedIsBuffer: Buffer.isBuffer(back[1]),
      acked: bytes(acked),
    };
  },

  async volatile() {
    const socket = io(url, { reconnection: false, forceNew: true, autoConnect: false });
    const received = [];
    socket.on("message-back", (value) => received.push(value));
    socket.volatile.emit("message", "sent-before-connect"); // dropped: not connected yet
    socket.emit("message", "buffered-before-connect"); // buffered, sent on connect
    socket.connect();
    await once(socket, "auth");
    socket.volatile.emit("message", "volatile-while-connected");
    socket.emit("message", "last");
    while (!received.includes("last")) await once(socket, "message-back");
    socket.disconnect();
    return { received };
  },

  async msgpack() {
    const { socket, auth } = await open({ parser: msgpackParser, auth: { token: "mp" } });
    const back = await echo(socket, 1, "two", { three: [true] }, Buffer.from([7, 8]));
    const acked = await socket.timeout(2000).emitWithAck("message-with-ack", { n: 1.5 });
    socket.disconnect();
    return { auth, back: [back[0], back[1], back[2], bytes(back[3])], acked };
  },
};

try {
  console.log(JSON.stringify(await scenarios[scenario]()));
  process.exit(0);
} catch (err) {
  console.log(JSON.stringify({ error: String(err && err.stack || err) }));
  process.exit(1);
}
