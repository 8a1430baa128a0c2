// The Motion Beat lobby flow over "/", exactly as a frontend runs it: emits with ack callbacks,
// listeners on `players<code>`, `allReady` and `message`.
// Usage: node compat_lobby.mjs flow <url>      -> one JSON line
//        node compat_lobby.mjs restart <url>   -> JSON lines {"phase": ...}; the test restarts the
//                                               server between "seated" and the final "done".
import { io } from "socket.io-client";

const [scenario, url] = process.argv.slice(2);
const WAIT_MS = 5000;
setTimeout(() => { console.error(`timeout in ${scenario}`); process.exit(2); }, 40000).unref();
const say = (obj) => console.log(JSON.stringify(obj));

const once = (emitter, event) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no ${event} within ${WAIT_MS} ms`)), WAIT_MS);
  emitter.once(event, (...args) => { clearTimeout(timer); resolve(args[0]); });
});

// What a frontend does: socket.emit(name, payload, (res) => ...), here wrapped in a promise.
const call = (socket, event, payload) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no ack for ${event}`)), WAIT_MS);
  socket.emit(event, payload, (res) => { clearTimeout(timer); resolve(res); });
});

function player(name, options = {}) {
  const socket = io(url, { forceNew: true, ...options });
  const seen = { players: [], allReady: [], message: [], gameStart: [] };
  socket.on("allReady", (value) => seen.allReady.push(value));
  socket.on("message", (value) => seen.message.push(value));
  socket.on("gameStart", (value) => seen.gameStart.push(value));
  const watch = (code) => socket.on(`players${code}`, (list) => seen.players.push(list));
  return { name, socket, seen, watch };
}

const until = async (check) => {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met: ${check}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

async function seat(host, guest, title) {
  const created = await call(host.socket, "createRoom",
    { nickname: host.name, title, maxPlayers: 4 });
  if (!created.ok) throw new Error(JSON.stringify(created));
  const code = created.room.code;
  host.watch(code);
  guest.watch(code);
  const listed = await call(guest.socket, "listRooms", {});
  const joined = await call(guest.socket, "joinRoom", { nickname: guest.name, code });
  await until(() => host.seen.players.some((list) => list.length === 2));
  return { code, created, listed, joined };
}

async function flow() {
  const host = player("Host");
  const guest = player("Guest");
  await Promise.all([once(host.socket, "connect"), once(guest.socket, "connect")]);
  const { code, listed, joined } = await seat(host, guest, "Motion Beat");
  const impostor = player("Impostor").socket;
  const taken = await call(impostor, "joinRoom", { nickname: "host", code });
  impostor.disconnect();
  const invalid = await call(guest.socket, "sendMessage", { message: "", extra: 1 });
  const ready = await call(guest.socket, "ready", { ready: true });
  await until(() => host.seen.allReady.includes(true));
  const sent = await call(guest.socket, "sendMessage", { message: "hello beat" });
  await until(() => host.seen.message.length > 0 && guest.seen.message.length > 0);
  const started = await call(host.socket, "startGame", {});
  await until(() => guest.seen.gameStart.length > 0);
  const left = await call(guest.socket, "leaveRoom", {});
  await until(() => host.seen.players.at(-1).length === 1);
  host.socket.disconnect();
  guest.socket.disconnect();
  return {
    code, listed, joined, taken, invalid, ready, sent, started, left,
    hostSaw: host.seen, guestSaw: guest.seen,
  };
}

async function restart() {
  const fast = { reconnectionDelay: 100, reconnectionDelayMax: 500 };
  const host = player("Host", fast);
  const guest = player("Guest", fast);
  await Promise.all([once(host.socket, "connect"), once(guest.socket, "connect")]);
  const before = await seat(host, guest, "Before restart");
  const reasons = Promise.all([once(host.socket, "disconnect"), once(guest.socket, "disconnect")]);
  say({ phase: "seated", code: before.code });
  const [hostReason, guestReason] = await reasons;
  say({ phase: "disconnected", reasons: [hostReason, guestReason] });
  // socket.io-client retries on its own; the frontend re-joins when "connect" fires again.
  await Promise.all([once(host.socket, "connect"), once(guest.socket, "connect")]);
  const rejoin = await call(host.socket, "joinRoom", { nickname: host.name, code: before.code });
  host.seen.players.length = 0;
  const after = await seat(host, guest, "After restart");
  const sent = await call(host.socket, "sendMessage", { message: "back again" });
  await until(() => guest.seen.message.some((m) => m.message === "back again"));
  const result = {
    phase: "done", recovered: host.socket.recovered === true, rejoin, before: before.code,
    after: after.code, joined: after.joined, sent, players: host.seen.players.at(-1),
  };
  host.socket.disconnect();
  guest.socket.disconnect();
  return result;
}

try {
  say(await { flow, restart }[scenario]());
  process.exit(0);
} catch (err) {
  say({ error: String(err && err.stack || err) });
  process.exit(1);
}
