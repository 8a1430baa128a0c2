"""Server events: every event a namespace emits is declared once, with its payload's type.

``ServerEvent("message", LobbyMessage, "...")`` is the one declaration of an outbound event:
its wire name (``{param}`` marks a dynamic part, as in ``players{code}``), its payload type
(a TypedDict, ``list[...]``, ``bool``), and who receives it. Namespaces emit only through
``event.emit(namespace, data, ...)``, so mypy checks each payload against the declaration and
an undeclared event fails at once; each namespace lists its declarations in ``server_events``,
which the contract generators walk (scripts/gen_docs.py) and the tests' clients check every
received event against (tests/support.py).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    import socketio

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class ServerEvent(Generic[T]):
    template: str  # the wire name, or a pattern such as "players{code}"
    payload: type[T]
    audience: str  # who receives it, and when
    name: str = field(default="")  # the concrete wire name (a pattern's is filled by named())
    declared: ServerEvent[T] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.name and not self.params:
            object.__setattr__(self, "name", self.template)

    @property
    def params(self) -> tuple[str, ...]:
        """The dynamic parts of the name, e.g. ``("code",)`` for ``players{code}``."""
        return tuple(p for _, p, _, _ in string.Formatter().parse(self.template) if p)

    @property
    def origin(self) -> ServerEvent[T]:
        """The declaration this event was made from (itself unless made by ``named``)."""
        return self.declared or self

    def named(self, **params: str) -> ServerEvent[T]:
        """This event under its concrete name: ``PLAYERS.named(code="AB12CD")``."""
        if set(params) != set(self.params):
            raise TypeError(f"{self.template} needs {self.params}, got {sorted(params)}")
        return replace(self, name=self.template.format(**params), declared=self.origin)

    async def emit(self, namespace: socketio.AsyncNamespace, data: T, **target: Any) -> None:
        """``namespace.emit(name, data, **target)``, once the namespace declared this event."""
        if not self.name:
            raise TypeError(f"{self.template}: emit .named(...) with its parameters")
        if self.origin not in getattr(namespace, "server_events", ()):
            raise LookupError(f"{type(namespace).__name__} does not declare {self.template}")
        await namespace.emit(self.name, data, **target)
