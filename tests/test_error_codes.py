"""The error-code registry is closed: every code on the wire is an ``ErrorCode`` member, carries
exactly its registered extra fields, and is written nowhere as a bare string."""

from __future__ import annotations

import ast
import inspect
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from namespaces import ChatNamespace, LobbyNamespace
from namespaces.bench import BenchNamespace
from namespaces.dispatch import EventNamespace
from server.errors import DomainError, ErrorCode, Failure, failure
from tests.support import ROOT, registered

pytestmark = pytest.mark.unit

OURS = ("server", "namespaces", "schemas")
REGISTRY = ROOT / "server" / "errors.py"
NAMESPACES: tuple[type[EventNamespace], ...] = (LobbyNamespace, ChatNamespace, BenchNamespace)
# The same words used for something else than an error code.
NOT_CODES = {("server/health.py", "unavailable")}  # /readyz's status, next to "ready"


def sources() -> Iterator[tuple[Path, ast.Module]]:
    for package in OURS:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(), str(path))


def domain_errors() -> list[type[DomainError]]:
    found, todo = [], list(DomainError.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return found


# -- the registry --------------------------------------------------------------------------
def test_every_code_has_a_meaning_and_is_snake_case() -> None:
    for code in ErrorCode:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", code.value), code
        assert code.meaning, code
        assert len({e.name for e in code.extra}) == len(code.extra), code


def test_failure_is_built_from_registered_codes_and_fields_only() -> None:
    assert failure(ErrorCode.RATE_LIMITED, "slow down", retryAfterMs=5) == {
        "ok": False, "error": "slow down", "code": "rate_limited", "retryAfterMs": 5}
    assert failure(ErrorCode.FORBIDDEN, "no")["code"] is ErrorCode.FORBIDDEN  # limit: optional
    with pytest.raises(ValueError, match="not a valid ErrorCode"):
        failure("no_such_code", "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="retryAfterMs"):
        failure(ErrorCode.RATE_LIMITED, "no retryAfterMs")
    with pytest.raises(TypeError, match="hint"):
        failure(ErrorCode.UNKNOWN_EVENT, "an unregistered field", hint="x")


def test_the_failure_type_has_exactly_the_registered_extra_fields() -> None:
    extras = {extra.name for code in ErrorCode for extra in code.extra}
    assert Failure.__required_keys__ == {"ok", "error", "code"}
    assert Failure.__optional_keys__ == extras


def test_domain_errors_name_a_code_and_carry_its_fields() -> None:
    errors = domain_errors()
    assert len(errors) >= 10
    for cls in errors:
        assert isinstance(cls.code, ErrorCode), cls
    with pytest.raises(TypeError, match="subclass"):
        DomainError("which code?")
    with pytest.raises(TypeError, match="ErrorCode"):
        type("NoCode", (DomainError,), {})
    with pytest.raises(TypeError, match="ErrorCode"):
        type("BareCode", (DomainError,), {"code": "room_full"})
    rate_limited = next(cls for cls in errors if cls.code is ErrorCode.RATE_LIMITED)
    with pytest.raises(TypeError, match="retryAfterMs"):
        rate_limited("over quota, but when may I retry?")
    assert rate_limited("over", retryAfterMs=10).data == {"retryAfterMs": 10}


def test_every_ack_a_test_client_receives_is_checked_against_the_registry() -> None:
    assert registered({"ok": True, "room": {}}) == {"ok": True, "room": {}}
    good = {"ok": False, "error": "slow", "code": "rate_limited", "retryAfterMs": 3}
    assert registered(good) is good
    with pytest.raises(ValueError, match="not a valid ErrorCode"):
        registered({"ok": False, "error": "?", "code": "made_up"})
    with pytest.raises(TypeError, match="retryAfterMs"):
        registered({"ok": False, "error": "slow", "code": "rate_limited"})
    with pytest.raises(TypeError, match="extra"):
        registered({"ok": False, "error": "?", "code": "not_host", "extra": 1})


# -- the code: no code outside the registry ------------------------------------------------
def test_no_code_is_written_as_a_bare_string() -> None:
    """A registered code's text anywhere but in the registry, or a str constant given as a
    ``code`` (dict key, keyword or class attribute), is a code that bypasses the registry."""
    codes = {code.value for code in ErrorCode}
    found = []
    for path, tree in sources():
        if path == REGISTRY:
            continue
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in codes \
                    and (str(where), node.value) not in NOT_CODES:
                found.append(f"{where}:{node.lineno} {node.value!r}")
            for value in _given_as_code(node):
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.append(f"{where}:{value.lineno} code={value.value!r}")
    assert found == []


def _given_as_code(node: ast.AST) -> Iterator[ast.expr]:
    if isinstance(node, ast.Dict):
        yield from (v for k, v in zip(node.keys, node.values, strict=True)
                    if isinstance(k, ast.Constant) and k.value == "code")
    elif isinstance(node, ast.Call):
        yield from (kw.value for kw in node.keywords if kw.arg == "code")
    elif isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if any(isinstance(t, ast.Name) and t.id == "code" for t in targets) and node.value:
            yield node.value


def test_the_scan_catches_a_bare_code() -> None:
    tree = ast.parse('x = {"code": "made_up"}\nfailure(code="made_up")\ncode = "made_up"')
    assert len([v for node in ast.walk(tree) for v in _given_as_code(node)]) == 3


def test_every_code_is_used() -> None:
    """No dead entries: each code is named somewhere (``ErrorCode.X``, or a DomainError
    subclass of that code) outside the registry."""
    named: set[str] = set()
    for path, tree in sources():
        if path == REGISTRY:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id == "ErrorCode":
                named.add(node.attr)
            elif isinstance(node, ast.Name):
                named.add(node.id)
    used = {code for code in ErrorCode if code.name in named}
    used |= {cls.code for cls in domain_errors() if cls.__name__ in named}
    assert set(ErrorCode) - used == set()


# -- the ack shapes ------------------------------------------------------------------------
def _doc_keys(doc: str) -> set[str] | None:
    """The top-level keys of the first ``{...}`` after '->' in a handler docstring."""
    match = re.search(r"->\s*``\{", doc)
    if match is None:
        return None
    depth, start, parts = 0, match.end(), []
    for i, char in enumerate(doc[start:], start):
        if char in "{[(":
            depth += 1
        elif char in "}])":
            if depth == 0:
                parts.append(doc[start:i])
                break
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(doc[start:i])
            start = i + 1
    return {m.group(1) for part in parts if (m := re.match(r"\s*(\w+)", part))}


def _handlers() -> Iterator[tuple[str, str, Any]]:
    for cls in NAMESPACES:
        for name, spec in cls.events.items():
            yield cls.__name__, name, getattr(cls, spec.handler)


@pytest.mark.parametrize(("namespace", "event", "handler"), list(_handlers()),
                         ids=[f"{ns}.{ev}" for ns, ev, _ in _handlers()])
def test_handler_docstrings_name_the_keys_of_their_typed_ack(
    namespace: str, event: str, handler: Any
) -> None:
    returns = typing.get_type_hints(handler)["return"]
    keys = getattr(returns, "__required_keys__", None)
    documented = _doc_keys(inspect.getdoc(handler) or "")
    if keys is None:  # not an envelope (the benchmark's echo answers the payload itself)
        assert documented is None
        return
    assert keys == returns.__required_keys__ | returns.__optional_keys__
    assert typing.get_type_hints(returns)["ok"] == typing.Literal[True]
    assert documented == set(keys)
