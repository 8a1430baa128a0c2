"""Every private name of aiohttp, python-engineio, python-socketio and marshmallow Huddle uses.

This is the one list. Each entry belongs to a *feature*; the features with a public fallback
are checked at start-up (``check_at_startup``), and a feature whose surface is not what we
expect is switched off with one warning instead of failing the server:

- ``inbound fast path`` (aiohttp): WebSocket messages are offered to the session as aiohttp
  parses them (server/wire/ws_inbound.py). Fallback: aiohttp's public ``receive()``.
- ``direct frame writes`` (aiohttp): frames are written straight to the transport
  (HuddleSocket.go_direct). Fallback: a writer task using ``send_str``/``send_bytes``.
- ``compiled loaders`` (marshmallow): payloads are validated by loaders compiled from the
  schemas (schemas/compiled.py). Fallback: ``schema.load``.

The protocol layer (``protocol``: server/wire/'s subclasses of python-engineio and
python-socketio) and the custom marshmallow fields (``custom fields``: ``_deserialize``, the
documented way to write a field) have no public path to fall back to; pyproject pins those
libraries and a start-up mismatch is logged as a warning that the server may misbehave.

tests/test_private_api.py checks every entry against the installed libraries, that nothing
outside this list is touched, and that both paths of each degradable feature work.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import logging
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import PackageNotFoundError, version
from typing import Any


class Feature(StrEnum):
    PROTOCOL = "protocol layer"
    CUSTOM_FIELDS = "custom fields"
    INBOUND_FAST_PATH = "inbound fast path"
    DIRECT_WRITES = "direct frame writes"
    COMPILED_LOADERS = "compiled loaders"


# What each degradable feature falls back to; the others have no fallback.
FALLBACKS: dict[Feature, str] = {
    Feature.INBOUND_FAST_PATH: "WebSocket messages are read through aiohttp's receive()",
    Feature.DIRECT_WRITES: "frames are written by a writer task through ws.send_str()",
    Feature.COMPILED_LOADERS: "payloads are loaded by marshmallow's schema.load()",
}
# The versions this list was written against (pyproject pins the same).
SUPPORTED = {"python-engineio": "4.15.", "python-socketio": "5.18.", "aiohttp": "3.14.",
             "marshmallow": "4."}
LIBRARY_OF = {"engineio": "python-engineio", "socketio": "python-socketio",
              "aiohttp": "aiohttp", "marshmallow": "marshmallow"}


@dataclass(frozen=True)
class Name:
    """``owner.name`` must exist; ``params``, when given, are the leading parameters (after
    self) we call or override it with. ``on_instance``: set in the owner's ``__init__``, so it
    is looked for on an instance (made with no arguments at start-up; by the tests otherwise).
    """

    feature: Feature
    owner: str  # import path of a module or class
    name: str
    params: tuple[str, ...] | None = None
    on_instance: bool = False


@dataclass(frozen=True)
class Copied:
    """A library method copied into a Huddle subclass, with the sha256 of the source copied."""

    feature: Feature
    owner: str
    name: str
    sha256: str


@dataclass(frozen=True)
class CallPath:
    """Library behaviour we rely on: ``function``'s source must contain ``needle``."""

    feature: Feature
    module: str
    function: str
    needle: str


P, F, IN, DW, CL = (Feature.PROTOCOL, Feature.CUSTOM_FIELDS, Feature.INBOUND_FAST_PATH,
                    Feature.DIRECT_WRITES, Feature.COMPILED_LOADERS)
EIO, ESOCK = "engineio.AsyncServer", "engineio.async_socket.AsyncSocket"
SIO, MGR = "socketio.AsyncServer", "socketio.base_manager.BaseManager"
PUBSUB = "socketio.async_pubsub_manager.AsyncPubSubManager"
READER, WSR = "aiohttp._websocket.reader", "aiohttp.web_ws.WebSocketResponse"
QUEUE = f"{READER}.WebSocketDataQueue"
SCHEMA, FIELD = "marshmallow.Schema", "marshmallow.fields.Field"

NAMES: tuple[Name, ...] = (
    # -- python-engineio: HuddleEngineServer (server/wire/eio_server.py) ----------------------
    Name(P, EIO, "_make_response", ("response_dict", "environ")),
    Name(P, EIO, "_trigger_event", ("event",)),
    Name(P, EIO, "_cors_allowed_origins", ("environ",)),
    Name(P, EIO, "_upgrades", ("sid", "transport")),
    Name(P, EIO, "_unauthorized", ("message",)),
    Name(P, EIO, "_gzip", ("response",)),  # called as getattr(self, "_" + encoding)
    Name(P, EIO, "_deflate", ("response",)),
    Name(P, EIO, "_handle_connect", ("environ", "transport", "jsonp_index")),  # overridden
    Name(P, EIO, "_ok", ("packets", "headers", "jsonp_index")),  # overridden
    Name(P, EIO, "compression_methods"),
    Name(P, EIO, "_async", on_instance=True),  # ["translate_request"]
    *(Name(P, EIO, state, on_instance=True) for state in (
        "sockets", "reason", "ping_interval_grace_period", "transports",
        "cors_allowed_origins", "http_compression", "compression_threshold",
        "max_http_buffer_size", "handlers")),
    # -- python-engineio: HuddleSocket (server/wire/eio_socket.py) ----------------------------
    Name(P, ESOCK, "__init__", ("server", "sid")),
    *(Name(P, ESOCK, state, on_instance=True) for state in (
        "queue", "connected", "upgrading", "upgraded", "closing", "closed")),
    # -- python-socketio: HuddleSocketServer (server/wire/sio_server.py), overridden ----------
    Name(P, SIO, "_engineio_server_class", ()),
    Name(P, SIO, "_send_packet", ("eio_sid", "pkt")),
    Name(P, SIO, "_send_eio_packet", ("eio_sid", "eio_pkt")),
    Name(P, SIO, "_handle_connect", ("eio_sid", "namespace", "data")),
    Name(P, SIO, "_handle_event", ("eio_sid", "namespace", "id", "data")),
    Name(P, SIO, "_handle_eio_connect", ("eio_sid", "environ")),
    Name(P, SIO, "_handle_eio_message", ("eio_sid", "data")),
    Name(P, SIO, "_handle_eio_disconnect", ("eio_sid", "reason")),
    # Every namespace disconnect (client, transport, kick) runs its handler through this; the
    # connection lifecycle (server/wire/lifecycle.py) closes the Connection there.
    Name(P, SIO, "_trigger_event", ("event", "namespace")),
    # ... and called or read
    Name(P, SIO, "_handle_disconnect", ("eio_sid", "namespace", "reason")),
    Name(P, SIO, "_handle_ack", ("eio_sid", "namespace", "id", "data")),
    Name(P, SIO, "_binary_packet", on_instance=True),
    Name(P, SIO, "manager_initialized", on_instance=True),  # server/engine.py start_fanout
    *(Name(P, SIO, state, on_instance=True)
      for state in ("environ", "packet_class", "manager")),
    Name(P, "socketio.packet.Packet", "add_attachment", ("attachment",)),
    Name(P, "socketio.packet.Packet", "json"),
    Name(P, "socketio.msgpack_packet.MsgPackPacket", "uses_binary_events"),
    Name(P, MGR, "eio_sid_from_sid", ("sid", "namespace")),
    Name(P, MGR, "sid_from_eio_sid", ("eio_sid", "namespace")),
    Name(P, MGR, "get_participants", ("namespace", "room")),
    *(Name(P, MGR, state, on_instance=True) for state in ("rooms", "server")),
    # FastEmit (server/wire/broadcast.py) overrides emit with the same parameters.
    Name(P, "socketio.async_manager.AsyncManager", "emit",
         ("event", "data", "namespace", "room", "skip_sid", "callback", "to")),
    # RedisFanout (server/cluster/fanout.py): the pub/sub managers' hooks for overriding.
    Name(P, PUBSUB, "_publish", ("data",)),
    Name(P, PUBSUB, "_listen", ()),
    # -- marshmallow: custom fields (schemas/fields.py, schemas/lobby.py) ---------------------
    Name(F, FIELD, "_deserialize", ("value", "attr", "data")),
    # -- aiohttp: the inbound fast path (server/wire/ws_inbound.py) ---------------------------
    Name(IN, READER, "WebSocketDataQueue"),  # subclassed (InboundQueue)
    Name(IN, READER, "WebSocketReader"),
    Name(IN, QUEUE, "feed_data", ("data", "size")),  # overridden; called for every message
    Name(IN, QUEUE, "_buffer"),
    Name(IN, WSR, "_post_start", ("request", "protocol", "writer")),  # copied, see COPIED
    Name(IN, WSR, "_reset_heartbeat", ()),
    Name(IN, WSR, "_on_data_received", ()),
    # Instance state the copied _post_start reads and writes.
    *(Name(IN, WSR, state, on_instance=True) for state in (
        "_ws_protocol", "_writer", "_reader", "_parser", "_max_msg_size", "_compress",
        "_decode_text", "_loop", "_heartbeat")),
    # -- marshmallow: the compiled loaders (schemas/compiled.py) ------------------------------
    # The hook table, read to refuse schemas with hooks.
    Name(CL, SCHEMA, "_hooks"),
    # Schema and Field methods the compiled loaders re-implement: a schema or field class that
    # overrides one of them behaves otherwise, and is left to marshmallow.
    *(Name(CL, SCHEMA, method) for method in (
        "load", "_do_load", "_deserialize", "_call_and_store", "_invoke_field_validators",
        "_invoke_schema_validators")),
    *(Name(CL, FIELD, method) for method in (
        "deserialize", "_deserialize", "_validate", "_validate_missing", "_validate_all")),
)

COPIED: tuple[Copied, ...] = (
    # HuddleWebSocketResponse._post_start swaps in InboundQueue (server/wire/ws_inbound.py).
    Copied(IN, WSR, "_post_start",
           "5537cb3f2ecae6ed9f4d27d6d9255adb414e81efcc4d23ede6bacd762d56ed93"),
)

CALL_PATHS: tuple[CallPath, ...] = (
    # Room emits reach clients through _send_eio_packet (held while a client connects).
    CallPath(P, "socketio.async_manager", "AsyncManager.emit", "self.server._send_eio_packet("),
    # The constructor builds the engine through our _engineio_server_class override.
    CallPath(P, "socketio.base_server", "BaseServer.__init__",
             "self._engineio_server_class()("),
    # Client DISCONNECTs and server kicks run the disconnect handler via _trigger_event.
    CallPath(P, "socketio.async_server", "AsyncServer._handle_disconnect",
             "await self._trigger_event('disconnect', namespace, sid,"),
    CallPath(P, "socketio.async_server", "AsyncServer.disconnect",
             "await self._trigger_event('disconnect', namespace, sid,"),
    # The CONNECT ack and refusals go through _send_packet (never held).
    CallPath(P, "socketio.async_server", "AsyncServer._handle_connect",
             "await self._send_packet("),
    # A pub/sub emit is delivered locally (and on every other node) by _handle_emit through
    # super().emit, which is FastEmit.emit in RedisFanout's MRO.
    CallPath(P, "socketio.async_pubsub_manager", "AsyncPubSubManager.emit",
             "await self._handle_emit(message)"),
    CallPath(P, "socketio.async_pubsub_manager", "AsyncPubSubManager._handle_emit",
             "await super().emit("),
    # Direct frame writes (HuddleSocket.offer) are ordered with aiohttp's own writes only
    # because aiohttp writes an uncompressed frame synchronously, without its send lock.
    CallPath(DW, "aiohttp._websocket.writer", "WebSocketWriter.send_frame",
             "self._write_websocket_frame(message, opcode, 0)"),
)


# -- checking the installed libraries --------------------------------------------------------
def resolve(path: str) -> Any:
    """The module or class at ``path`` (a module path, then attributes)."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(path)


def source_digest(owner: str, name: str) -> str:
    return hashlib.sha256(inspect.getsource(getattr(resolve(owner), name)).encode()).hexdigest()


def names_of(feature: Feature, owner: str) -> tuple[str, ...]:
    """The listed names of ``owner`` that belong to ``feature``."""
    return tuple(n.name for n in NAMES if n.feature is feature and n.owner == owner)


def problems(feature: Feature, instances: dict[str, Any] | None = None) -> list[str]:
    """How the installed libraries differ from what ``feature`` expects; [] when they match.

    Names set on instances are checked on ``instances[owner]``, else on ``owner()`` where the
    class can be built without arguments, else not at all (the tests check them)."""
    found = []
    made: dict[str, Any] = dict(instances or {})
    for entry in (n for n in NAMES if n.feature is feature):
        try:
            _check_name(entry, made)
        except Exception as exc:  # whatever the library changed, it is a difference
            found.append(f"{entry.owner}.{entry.name}: {type(exc).__name__}: {exc}")
    for copy in (c for c in COPIED if c.feature is feature):
        try:
            if source_digest(copy.owner, copy.name) != copy.sha256:
                found.append(f"{copy.owner}.{copy.name}: its source changed since it was copied")
        except Exception as exc:
            found.append(f"{copy.owner}.{copy.name}: {type(exc).__name__}: {exc}")
    for path in (c for c in CALL_PATHS if c.feature is feature):
        try:
            target = resolve(f"{path.module}.{path.function}")
            if path.needle not in inspect.getsource(target):
                found.append(f"{path.module}.{path.function} no longer does {path.needle!r}")
        except Exception as exc:
            found.append(f"{path.module}.{path.function}: {type(exc).__name__}: {exc}")
    return found


def _check_name(entry: Name, made: dict[str, Any]) -> None:
    owner = resolve(entry.owner)
    if entry.on_instance:
        if entry.owner not in made:
            try:
                made[entry.owner] = owner()
            except TypeError:
                made[entry.owner] = None  # needs arguments: left to the tests
        instance = made[entry.owner]
        if instance is not None and not hasattr(instance, entry.name):
            raise AttributeError(f"instances have no {entry.name!r}")
        return
    attr = getattr(owner, entry.name)
    if entry.params is not None:
        parameters = list(inspect.signature(attr).parameters)
        if parameters[1:1 + len(entry.params)] != list(entry.params):
            raise TypeError(f"parameters are {parameters}, expected {list(entry.params)}")


def version_problems() -> list[str]:
    found = []
    for dist, prefix in SUPPORTED.items():
        try:
            installed = version(dist)
        except PackageNotFoundError:
            installed = "not installed"
        if not installed.startswith(prefix):
            found.append(f"{dist} {installed} (written against {prefix}x)")
    return found


@dataclass(frozen=True)
class Surfaces:
    """The start-up verdict: which features may use the private surface."""

    usable: frozenset[Feature]

    def allows(self, feature: Feature) -> bool:
        return feature in self.usable


def check_at_startup(logger: logging.Logger, instances: dict[str, Any] | None = None
                     ) -> Surfaces:
    """Check every feature once; log one warning per feature whose surface differs.
    ``instances``: the live objects to look for instance state on, by owner."""
    usable = set(Feature)
    versions = version_problems()
    for feature in Feature:
        found = problems(feature, instances)
        if not found:
            continue
        usable.discard(feature)
        fallback = FALLBACKS.get(feature)
        logger.warning(
            "private API of the %s differs from what Huddle expects (%s; installed: %s); %s",
            feature, "; ".join(found), ", ".join(versions) or "the supported versions",
            f"using the public path: {fallback}" if fallback
            else "there is no public path: the server may misbehave")
    return Surfaces(frozenset(usable))
