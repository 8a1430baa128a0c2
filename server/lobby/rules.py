"""The rules of a game lobby as pure functions over a Room value. No I/O here."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from server.errors import (
    GameStarted,
    NicknameTaken,
    NotAllReady,
    NotHost,
    NotInRoom,
    RoomFull,
)
from server.lobby.views import GameStart, LobbyMessage, PlayerView, RoomSummary, RoomView

# No I, O, 0 or 1: codes are read aloud and typed from screens.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
MIN_PLAYERS, MAX_PLAYERS, DEFAULT_MAX_PLAYERS = 2, 16, 8


@dataclass
class Player:
    member: str  # opaque connection id (the Socket.IO sid); never sent to clients
    nickname: str
    ready: bool = False
    joined_at: str = ""
    node: str = ""  # the node that holds the connection, for crash cleanup

    def view(self, host: str) -> PlayerView:
        return {"nickname": self.nickname, "isHost": self.member == host, "ready": self.ready}


@dataclass
class Room:
    code: str
    title: str
    max_players: int
    host: str
    created_at: str
    players: list[Player] = field(default_factory=list)
    started: bool = False
    started_at: str | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Room:
        players = [Player(**p) for p in doc["players"]]
        return cls(**{**doc, "players": players})

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    # -- queries -------------------------------------------------------------------------
    def player(self, member: str) -> Player | None:
        return next((p for p in self.players if p.member == member), None)

    @property
    def host_name(self) -> str:
        host = self.player(self.host)
        return host.nickname if host else ""

    def all_ready(self) -> bool:
        """At least two players, and every player but the host is ready."""
        others = [p for p in self.players if p.member != self.host]
        return len(self.players) >= MIN_PLAYERS and all(p.ready for p in others)

    def player_views(self) -> list[PlayerView]:
        return [p.view(self.host) for p in self.players]

    def summary(self) -> RoomSummary:
        return {
            "code": self.code,
            "title": self.title,
            "players": len(self.players),
            "maxPlayers": self.max_players,
            "started": self.started,
        }

    def view(self, messages: list[LobbyMessage]) -> RoomView:
        return {
            "code": self.code,
            "title": self.title,
            "hostName": self.host_name,
            "maxPlayers": self.max_players,
            "started": self.started,
            "players": self.player_views(),
            "messages": messages,
        }

    def game_start(self) -> GameStart:
        """The ``gameStart`` broadcast of a started room."""
        if self.started_at is None:
            raise ValueError(f"room {self.code} has not started")
        return {"code": self.code, "startedAt": self.started_at}

    # -- rules ---------------------------------------------------------------------------
    def admit(self, player: Player) -> None:
        """Seat a new player, or refuse with the reason a client can show."""
        if self.started:
            raise GameStarted("The game in this room has already started.")
        wanted = player.nickname.casefold()
        if any(p.nickname.casefold() == wanted for p in self.players):
            raise NicknameTaken(f"The nickname {player.nickname!r} is already taken in this room.")
        if len(self.players) >= self.max_players:
            raise RoomFull(f"Room {self.code} is full ({self.max_players} players).")
        self.players.append(player)

    def remove(self, member: str) -> Player:
        """Unseat a player; the earliest-joined remaining player inherits the host role."""
        player = self.require(member)
        self.players.remove(player)
        if member == self.host and self.players:
            self.host = self.players[0].member
        return player

    def set_ready(self, member: str, ready: bool) -> None:
        if self.started:
            raise GameStarted("The game has already started.")
        self.require(member).ready = ready

    def start(self, member: str, now: str) -> None:
        self.require(member)
        if member != self.host:
            raise NotHost("Only the host can start the game.")
        if self.started:
            raise GameStarted("The game has already started.")
        if not self.all_ready():
            raise NotAllReady("Everyone but the host must be ready, with at least 2 players.")
        self.started, self.started_at = True, now

    def require(self, member: str) -> Player:
        player = self.player(member)
        if player is None:
            raise NotInRoom(f"You are not in room {self.code}.")
        return player
