// Drives /chat with the real socket.io-client, as a browser frontend would.
// Usage: node chat_walkthrough.mjs <base url>. Prints one JSON line with what it observed.
import { io } from "socket.io-client";

const url = process.argv[2];
const WAIT_MS = 5000;

function tab(auth) {
  const socket = io(`${url}/chat`, { auth, transports: ["websocket"], reconnection: false });
  socket.seen = [];
  socket.onAny((event, data) => socket.seen.push([event, data]));
  return socket;
}

function once(socket, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), WAIT_MS);
    socket.once(event, (data) => { clearTimeout(timer); resolve(data); });
  });
}

const call = (socket, event, data) => socket.timeout(WAIT_MS).emitWithAck(event, data);

const out = {};
try {
  const stranger = tab({});
  const err = await once(stranger, "connect_error");
  out.refused = { message: err.message, data: err.data };
  stranger.close();

  const bob = tab({ userId: "bob", nickname: "Bob" });
  out.bobSession = await once(bob, "session");
  const alice1 = tab({ userId: "alice", nickname: "Alice" });
  const alice2 = tab({ userId: "alice", nickname: "Alice" });
  await Promise.all([once(alice1, "session"), once(alice2, "session")]);

  const badges = [once(alice1, "unreadBadge"), once(alice2, "unreadBadge")];
  const sent = await call(bob, "directMessage", { toUserId: "alice", text: "hi", clientMsgId: "j1" });
  out.sent = sent;
  out.badges = await Promise.all(badges);

  const chatId = sent.chat.chatId;
  await call(bob, "subscribe", { chatId });
  const receipt = once(bob, "messageRead");
  const cleared = [once(alice1, "unreadBadge"), once(alice2, "unreadBadge")];
  out.read = await call(alice2, "markRead", { chatId, seq: sent.message.seq });
  out.receipt = await receipt;
  out.cleared = await Promise.all(cleared);
  out.forged = await call(bob, "sendChat", { chatId, text: "x", clientMsgId: "j2", senderId: "alice" });
  for (const s of [bob, alice1, alice2]) s.close();
} catch (e) {
  out.error = String(e);
}
console.log(JSON.stringify(out));
process.exit(0);
