"""Regenerate the generated parts of the docs from the code that defines them.

- docs/protocol.md: the inbound event tables, from the namespaces' event tables and schemas;
- README.md: the configuration table, from server.config.OPTIONS.

Usage: .venv/bin/python scripts/gen_docs.py [--check]
tests/test_generated_docs.py fails when a committed document is stale. The same walk over the
schemas will feed the TypeScript/AsyncAPI generators.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from marshmallow import Schema, fields, validate

from namespaces import ChatNamespace, LobbyNamespace
from namespaces.admin import AdminNamespace
from namespaces.dispatch import EventNamespace
from schemas.fields import StrictBool, StrictInt
from server.config import OPTIONS

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTED: list[tuple[str, type[EventNamespace]]] = [
    ("/", LobbyNamespace),
    ("/chat", ChatNamespace),
    ("/admin", AdminNamespace),
]


def json_type(field: fields.Field) -> str:  # type: ignore[type-arg]
    if isinstance(field, StrictBool):
        return "boolean"
    if isinstance(field, StrictInt):
        return "integer"
    if isinstance(field, fields.String):
        return "string"
    if isinstance(field, fields.List):
        return f"array of {json_type(field.inner)}"
    if isinstance(field, fields.Nested):
        return "object"
    return type(field).__name__


def constraints(field: fields.Field) -> str:  # type: ignore[type-arg]
    notes = []
    for rule in field.validators:
        if isinstance(rule, validate.Length):
            notes.append(f"length {rule.min} to {rule.max}")
        elif isinstance(rule, validate.Range):
            notes.append(f"{rule.min} to {rule.max}")
        elif isinstance(rule, validate.Regexp):
            pattern = rule.regex.pattern
            pattern = pattern.decode() if isinstance(pattern, bytes) else pattern
            notes.append(f"matches `{pattern}`")
        elif isinstance(rule, validate.OneOf):
            notes.append("one of " + ", ".join(f"`{c}`" for c in rule.choices))
    default = field.load_default
    if not field.required and default is not None and not callable(default):
        notes.append(f"default `{default}`")
    return "; ".join(notes)


def schema_rows(schema: Schema) -> list[str]:
    rows = []
    for name, field in schema.fields.items():
        wire = field.data_key or name
        need = "required" if field.required else "optional"
        rows.append(f"| `{wire}` | {json_type(field)} | {need} | {constraints(field)} |")
    return rows


def render() -> str:
    out: list[str] = []
    for path, cls in DOCUMENTED:
        out.append(f"### Namespace `{path}`\n")
        for name, spec in cls.events.items():
            schema = spec.schema
            out.append(f"#### `{name}` (schema `{type(schema).__name__}`)\n")
            out.append(inspect.getdoc(type(schema)) or "")
            out.append("")
            out.append("Ack: " + (inspect.getdoc(getattr(cls, spec.handler)) or "").strip())
            out.append("")
            rows = schema_rows(schema)
            if rows:
                out += ["| field | type | | constraints |", "|---|---|---|---|", *rows]
            else:
                out.append("No payload (or `{}`). Any field is refused.")
            out.append("")
    # Docstrings use reST literals; the document is Markdown.
    return "\n".join(out).replace("``", "`").rstrip() + "\n"


def render_config() -> str:
    rows = ["| variable | flag | meaning |", "|---|---|---|"]
    rows += [f"| `{o.env}` | `{o.flag}` | {o.help} |" for o in OPTIONS]
    return "\n".join(rows) + "\n"


def splice(text: str, marker: str, body: str) -> str:
    begin, end = f"<!-- BEGIN GENERATED {marker} -->", f"<!-- END GENERATED {marker} -->"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}{end}{tail}"


TARGETS = [("docs/protocol.md", "EVENTS", render), ("README.md", "CONFIG", render_config)]


def main() -> int:
    stale = []
    for name, marker, make in TARGETS:
        path = ROOT / name
        text = path.read_text()
        fresh = splice(text, marker, make())
        if fresh != text:
            stale.append(name)
            if "--check" not in sys.argv:
                path.write_text(fresh)
    if stale and "--check" in sys.argv:
        print(f"stale: {', '.join(stale)}; run scripts/gen_docs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
