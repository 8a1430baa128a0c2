// A messenger frontend typed with @huddle/types: compiles with `tsc --noEmit --strict`.
import { io, type Socket } from "socket.io-client";
import type { Chat, ChatMessage, ChatSummary } from "@huddle/types";

const chat: Socket<Chat.ServerToClientEvents, Chat.ClientToServerEvents> =
  io("http://localhost:5000/chat", { auth: { userId: "ann", nickname: "Ann" } });

const chats = new Map<string, ChatSummary>();
chat.on("session", (session) => {
  for (const c of session.chats) chats.set(c.chatId, c);
  console.log(session.userId, session.totalUnread, session.online);
});
chat.on("chatListUpdate", (summary) => chats.set(summary.chatId, summary));
chat.on("chatMessage", (message: ChatMessage) => console.log(message.senderName, message.text));
chat.on("unreadBadge", ({ totalUnread, chats: perChat }) => console.log(totalUnread, perChat["c1"]));
chat.on("messageRead", (receipt) => console.log(receipt.userId, receipt.seq));
chat.on("typing", (notice) => console.log(notice.userId, notice.typing));
chat.on("presence", ({ userId, online }) => console.log(userId, online));

chat.emit("directMessage", { toUserId: "bob", text: "hi", clientMsgId: "m1" }, (res) => {
  if (!res.ok) {
    if (res.code === "forbidden") console.log(res.limit ?? "not a member");
    return;
  }
  const kind: "direct" | "group" = res.chat.kind;
  chat.emit("subscribe", { chatId: res.chat.chatId }, (sub) => {
    if (sub.ok) console.log(kind, sub.messages.length, sub.readCursors["bob"]);
  });
  chat.emit("markRead", { chatId: res.chat.chatId, seq: res.message.seq }, (read) => {
    if (read.ok) console.log(read.unread, read.totalUnread);
  });
  chat.emit("typing", { chatId: res.chat.chatId, typing: true }, () => {});
});
chat.emit("history", { chatId: "c1", limit: 20, beforeSeq: null }, (res) => {
  if (res.ok && res.hasMore) console.log(res.messages[0]?.seq);
});
chat.emit("listChats", (res) => console.log(res.ok ? res.chats.length : res.code));
chat.emit("createGroup", { title: "team", members: ["bob", "cat"] }, (res) => {
  if (res.ok) console.log(res.chat.lastMessage?.text ?? "no messages yet");
});
