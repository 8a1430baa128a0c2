"""Socket.IO namespaces: validate with a schema, make one service call, emit, answer the ack."""

from namespaces.chat import ChatNamespace
from namespaces.lobby import LobbyNamespace

__all__ = ["ChatNamespace", "LobbyNamespace"]
