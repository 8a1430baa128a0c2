"""Server events are declared once and emitted only through their declaration, so the
generated contract lists every event the server can send (namespaces/outbound.py)."""

from __future__ import annotations

import ast
from typing import Any, ClassVar

import pytest

from namespaces.dispatch import EventNamespace
from namespaces.outbound import ServerEvent
from tests.support import ROOT

pytestmark = pytest.mark.unit

DECLARED = ServerEvent("news", dict[str, Any], "everyone")
PATTERN = ServerEvent("scores{game}", list[int], "a game's players")
STRAY = ServerEvent("stray", bool, "nobody: no namespace declares it")


class Recording(EventNamespace):
    server_events: ClassVar[tuple[ServerEvent[Any], ...]] = (DECLARED, PATTERN)

    def __init__(self) -> None:
        super().__init__("/test")
        self.sent: list[tuple[str, Any, dict[str, Any]]] = []

    async def emit(self, event: str, data: Any = None, **target: Any) -> None:
        self.sent.append((event, data, target))


async def test_declared_events_are_emitted_under_their_wire_name() -> None:
    ns = Recording()
    await DECLARED.emit(ns, {"a": 1}, room="r")
    await PATTERN.named(game="G7").emit(ns, [3, 4], to="sid")
    assert ns.sent == [("news", {"a": 1}, {"room": "r"}), ("scoresG7", [3, 4], {"to": "sid"})]
    assert PATTERN.params == ("game",) and PATTERN.named(game="x").origin is PATTERN


async def test_an_undeclared_or_unnamed_event_is_refused() -> None:
    ns = Recording()
    with pytest.raises(LookupError, match="stray"):
        await STRAY.emit(ns, True)
    with pytest.raises(TypeError, match="named"):
        await PATTERN.emit(ns, [1])
    with pytest.raises(TypeError, match="game"):
        PATTERN.named(player="x")
    assert ns.sent == []


def test_namespaces_emit_only_through_declarations() -> None:
    """No ``.emit(`` call in namespaces/ but a ServerEvent's (``NAME.emit(self, ...)``, with
    the namespace first) and the one inside ServerEvent.emit itself."""
    found = []
    for path in sorted((ROOT / "namespaces").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "emit"):
                continue
            target = node.func.value
            through_declaration = node.args and isinstance(node.args[0], ast.Name) \
                and node.args[0].id == "self" and not (isinstance(target, ast.Name)
                                                        and target.id == "self")
            inside_declaration = path.name == "outbound.py" and isinstance(target, ast.Name) \
                and target.id == "namespace"
            if not (through_declaration or inside_declaration):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []
