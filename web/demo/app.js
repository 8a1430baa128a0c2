// The Huddle demo client: plain JavaScript over socket.io-client, no build step.
// It doubles as the example of the protocol (docs/protocol.md): every call is
// socket.emit(event, payload, ack), and every ack is {ok: true, ...} or
// {ok: false, error, code}.
"use strict";

const $ = (id) => document.getElementById(id);
const show = (el, visible) => { el.hidden = !visible; };
const item = (text, bold) => {
  const li = document.createElement("li");
  if (bold) { const b = document.createElement("b"); b.textContent = bold; li.append(b); }
  li.append(text);
  return li;
};

// ---- the game lobby on "/" --------------------------------------------------------------
const lobby = io("/");
const game = { code: null, nickname: null, host: false, allReady: false };

lobby.on("connect", () => { $("conn").textContent = "connected"; $("conn").className = "on"; });
lobby.on("disconnect", () => { $("conn").textContent = "disconnected"; $("conn").className = "off"; });

function lobbyCall(event, payload, onOk) {
  lobby.emit(event, payload, (ack) => {
    $("lobby-error").textContent = ack.ok ? "" : ack.error;
    if (ack.ok) onOk(ack);
  });
}

function enterRoom(room) {
  game.code = room.code;
  $("room-code").textContent = room.code;
  $("messages").replaceChildren(...room.messages.map((m) => item(m.message, m.nickname)));
  $("ready").checked = false;
  show($("game"), room.started);
  renderPlayers(room.players);
  show($("room"), true);
}

function renderPlayers(players) {
  game.host = players.some((p) => p.nickname === game.nickname && p.isHost);
  $("players").replaceChildren(...players.map((p) => {
    const li = item(p.nickname);
    li.className = [p.isHost ? "host" : "", p.ready ? "ready" : ""].join(" ");
    return li;
  }));
  $("start").disabled = !(game.host && game.allReady);
}

$("create").onclick = () => {
  game.nickname = $("nickname").value.trim();
  lobbyCall("createRoom", { nickname: game.nickname }, (ack) => enterRoom(ack.room));
};
$("join").onclick = () => {
  game.nickname = $("nickname").value.trim();
  lobbyCall("joinRoom", { nickname: game.nickname, code: $("code").value.trim() },
            (ack) => enterRoom(ack.room));
};
$("ready").onchange = () => lobbyCall("ready", { ready: $("ready").checked }, () => {});
$("start").onclick = () => lobbyCall("startGame", {}, () => {});
$("leave").onclick = () => lobbyCall("leaveRoom", {}, () => {
  game.code = null;
  show($("room"), false);
});
$("say").onsubmit = (e) => {
  e.preventDefault();
  lobbyCall("sendMessage", { message: $("say-text").value }, () => { $("say-text").value = ""; });
};

// Room events are named after the room: players<code>. onAny sees every event.
lobby.onAny((event, data) => {
  if (game.code && event === `players${game.code}`) renderPlayers(data);
});
lobby.on("allReady", (ready) => {
  game.allReady = ready;
  $("start").disabled = !(game.host && ready);
});
lobby.on("message", (m) => {
  $("messages").append(item(m.message, m.nickname));
  $("messages").scrollTop = $("messages").scrollHeight;
});
lobby.on("gameStart", ({ startedAt }) => {
  $("game").textContent = `Game started at ${new Date(startedAt).toLocaleTimeString()}!`;
  show($("game"), true);
  game.allReady = false;  // a started game cannot start again
  $("start").disabled = true;
});

// ---- the messenger on "/chat" ----------------------------------------------------------
// Development identity mode: the server believes auth {userId, nickname}. With
// HUDDLE_AUTH_SECRET set, send auth {token} (a JWT) instead.
let chat = null;
const inbox = { me: null, chats: new Map(), open: null, typingTimer: null, online: new Set() };

function chatCall(event, payload, onOk) {
  chat.emit(event, payload, (ack) => {
    $("chat-error").textContent = ack.ok ? "" : ack.error;
    if (ack.ok && onOk) onOk(ack);
  });
}

$("login").onsubmit = (e) => {
  e.preventDefault();
  const userId = $("user-id").value.trim();
  if (chat) chat.disconnect();
  chat = io("/chat", { auth: { userId, nickname: userId } });
  chat.on("connect_error", (err) => { $("chat-error").textContent = err.message; });
  chat.on("session", (s) => {
    inbox.me = s.userId;
    inbox.chats = new Map(s.chats.map((c) => [c.chatId, c]));
    inbox.online = new Set(s.online);
    $("me").textContent = `${s.nickname} (${s.userId})`;
    setTotal(s.totalUnread);
    renderChats();
    show($("login"), false);
    show($("inbox"), true);
  });
  chat.on("chatListUpdate", (summary) => { inbox.chats.set(summary.chatId, summary); renderChats(); });
  chat.on("unreadBadge", ({ totalUnread, chats }) => {
    setTotal(totalUnread);
    for (const [chatId, unread] of Object.entries(chats)) {
      const summary = inbox.chats.get(chatId);
      if (summary) summary.unread = unread;
    }
    renderChats();
  });
  chat.on("chatMessage", (m) => {
    if (m.chatId !== inbox.open) return;
    addMessage(m);
    chatCall("markRead", { chatId: m.chatId, seq: m.seq });
  });
  chat.on("typing", ({ chatId, userId, typing }) => {
    if (chatId === inbox.open) $("typing").textContent = typing ? `${userId} is typing…` : "";
  });
  chat.on("presence", ({ userId, online }) => {
    if (online) inbox.online.add(userId); else inbox.online.delete(userId);
    renderChats();
  });
};

function setTotal(total) {
  $("total-unread").textContent = total;
  $("total-unread").className = total ? "badge" : "badge zero";
}

function renderChats() {
  // Presence: who shares a chat with you and is online (from session, then presence events).
  $("online").textContent = [...inbox.online].join(", ");
  show($("online-line"), inbox.online.size > 0);
  $("chats").replaceChildren(...[...inbox.chats.values()].map((c) => {
    const li = item(c.title);
    li.dataset.chatId = c.chatId;
    li.className = c.chatId === inbox.open ? "open" : "";
    const badge = document.createElement("span");
    badge.className = c.unread ? "badge" : "badge zero";
    badge.textContent = c.unread;
    li.append(badge);
    li.onclick = () => openChat(c);
    return li;
  }));
}

function addMessage(m) {
  $("chat-messages").append(item(m.text, m.senderName));
  $("chat-messages").scrollTop = $("chat-messages").scrollHeight;
}

function openChat(summary) {
  if (inbox.open) chatCall("unsubscribe", { chatId: inbox.open });
  inbox.open = summary.chatId;
  $("chat-title").textContent = summary.title;
  $("typing").textContent = "";
  chatCall("subscribe", { chatId: summary.chatId }, (ack) => {
    $("chat-messages").replaceChildren();
    ack.messages.forEach(addMessage);
    const last = ack.messages[ack.messages.length - 1];
    if (last) chatCall("markRead", { chatId: summary.chatId, seq: last.seq });
    show($("chat"), true);
    renderChats();
  });
}

const newId = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`);

$("dm").onsubmit = (e) => {
  e.preventDefault();
  const payload = { toUserId: $("dm-to").value.trim(), text: $("dm-text").value, clientMsgId: newId() };
  chatCall("directMessage", payload, () => { $("dm-text").value = ""; });
};
$("chat-send").onsubmit = (e) => {
  e.preventDefault();
  const payload = { chatId: inbox.open, text: $("chat-text").value, clientMsgId: newId() };
  chatCall("sendChat", payload, () => { $("chat-text").value = ""; });
  stopTyping();
};
// Typing: say "typing" on the first key, "stopped" after 2 s without one.
$("chat-text").oninput = () => {
  if (!inbox.typingTimer) chatCall("typing", { chatId: inbox.open, typing: true });
  clearTimeout(inbox.typingTimer);
  inbox.typingTimer = setTimeout(stopTyping, 2000);
};
function stopTyping() {
  if (!inbox.typingTimer) return;
  clearTimeout(inbox.typingTimer);
  inbox.typingTimer = null;
  chatCall("typing", { chatId: inbox.open, typing: false });
}
