// Deliberate mistakes: each line marked `expect` must fail to compile with that diagnostic
// (tests/test_contract_ts.py checks codes, lines and words, and that nothing else fails).
import { io, type Socket } from "socket.io-client";
import type { Chat, Lobby } from "@huddle/types";

const socket: Socket<Lobby.ServerToClientEvents, Lobby.ClientToServerEvents> = io("x");
const chat: Socket<Chat.ServerToClientEvents, Chat.ClientToServerEvents> = io("x/chat");

socket.emit("joinRoom", { nickName: "bob", code: "ABC234" }, () => {}); // expect TS2561 'nickName' does not exist in type 'JoinRoom'
socket.emit("createRoom", { nickname: "ann", maxPlayers: "8" }, () => {}); // expect TS2322 'string' is not assignable to type 'number'
chat.emit("sendChat", { chatId: "c1", text: "hi" }, () => {}); // expect TS2345 'clientMsgId' is missing
socket.emit("ready", { ready: true }); // expect TS2554 Expected 3 arguments, but got 2
socket.emit("listRooms"); // expect TS2345 not assignable
socket.emit("joinRom", { nickname: "bob", code: "ABC234" }, () => {}); // expect TS2345 "joinRom"
socket.emit("ready", { ready: true }, (res) => { if (!res.ok && res.code === "room_ful") return; }); // expect TS2367 "room_ful"
socket.emit("joinRoom", { nickname: "b", code: "ABC234" }, (res) => res.ok && res.room.hostname); // expect TS2551 'hostname'
socket.on("allReady", (ready: string) => console.log(ready)); // expect TS2345 'boolean' is not assignable to type 'string'
socket.on("playersAB12CD", (players) => players.nickname); // expect TS2339 'nickname' does not exist on type 'PlayerView[]'
chat.on("chatMessage", (message) => message.body); // expect TS2339 'body'
