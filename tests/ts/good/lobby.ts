// A lobby frontend typed with @huddle/types: compiles with `tsc --noEmit --strict`.
import { io, type Socket } from "socket.io-client";
import type { Ack, ErrorCode, Lobby, PlayerView, RoomView, RoomsAck } from "@huddle/types";

const socket: Socket<Lobby.ServerToClientEvents, Lobby.ClientToServerEvents> =
  io("http://localhost:5000", { transports: ["websocket"] });

function showError(code: ErrorCode, text: string): void {
  console.log(`${code}: ${text}`);
}

socket.emit("createRoom", { nickname: "ann", maxPlayers: 4 }, (res) => {
  if (!res.ok) {
    if (res.code === "validation_error") console.log(res.fields["nickname"]);
    if (res.code === "rate_limited") console.log(res.retryAfterMs);
    return showError(res.code, res.error);
  }
  const room: RoomView = res.room;
  socket.on(`players${room.code}`, (players: PlayerView[]) => {
    console.log(players.map((p) => `${p.nickname}${p.isHost ? " (host)" : ""}`));
  });
  socket.emit("sendMessage", "hello", (sent) => {
    if (sent.ok) console.log(sent.message.seq, sent.message.timestamp);
  });
  socket.emit("sendMessage", { message: "hello again" }, () => {});
});

socket.emit("joinRoom", { nickname: "bob", code: "abc234" }, (res) => {
  if (res.ok) console.log(res.room.players.length, res.room.messages[0]?.nickname);
  else if (res.code === "room_full" || res.code === "nickname_taken") showError(res.code, res.error);
});
socket.emit("ready", { ready: true }, (res) => console.log(res.ok));
socket.emit("startGame", (res) => console.log(res.ok));
socket.emit("startGame", {}, (res) => console.log(res.ok));
socket.emit("leaveRoom", (res) => console.log(res.ok));
socket.on("allReady", (ready: boolean) => console.log(ready));
socket.on("message", (message) => console.log(message.nickname, message.message));
socket.on("gameStart", ({ code, startedAt }) => console.log(code, startedAt));

export async function rooms(): Promise<string[]> {
  // socket.io-client types emitWithAck after timeout() as any: name the ack type yourself.
  const res: Ack<RoomsAck> = await socket.timeout(5000).emitWithAck("listRooms");
  return res.ok ? res.rooms.map((r) => `${r.title} ${r.players}/${r.maxPlayers}`) : [];
}

export async function join(code: string): Promise<RoomView | undefined> {
  const res = await socket.emitWithAck("joinRoom", { nickname: "cat", code });
  return res.ok ? res.room : undefined;
}

export async function roomCount(): Promise<number> {
  const res = await socket.emitWithAck("listRooms");
  return res.ok ? res.rooms.length : 0;
}
