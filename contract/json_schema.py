"""JSON Schemas (draft-07, the AsyncAPI schema dialect) of the server's own declarations.

- an inbound event's marshmallow schema -> what the server accepts as its payload, exactly
  (``Text`` trims before its rules apply: see ``contract/strings.py``);
- a TypedDict (acks, documents, server events' payloads) -> an object with exactly its keys;
- the error-code registry -> the failed ack, one branch per group of codes with the same
  extra fields.

Named shapes become components referenced as ``#/components/schemas/<name>``. Known field and
validator classes are matched by exact type; anything else raises ``Unexpressible`` instead of
producing a contract that is wrong.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Union, get_args, get_origin

from marshmallow import RAISE, Schema, fields, missing, validate
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA

from contract.strings import Unexpressible, trimmed_length, trimmed_match, upper_cased_code
from schemas.fields import AcceptsBareString, StrictBool, StrictInt, Text
from schemas.lobby import RoomCode
from server.errors import ErrorCode, Failure
from server.shapes import Format

JsonSchema = dict[str, Any]
REF = "#/components/schemas/"


class Components:
    """The named schemas of one contract; one Python declaration per name."""

    def __init__(self) -> None:
        self.schemas: dict[str, JsonSchema] = {}
        self._owners: dict[str, object] = {}

    def ref(self, name: str, owner: object, build: Callable[[], JsonSchema]) -> JsonSchema:
        if name not in self.schemas:
            self._owners[name] = owner
            self.schemas[name] = {}  # reserved first: a shape may refer to itself
            self.schemas[name] = build()
        elif self._owners[name] is not owner:
            raise Unexpressible(f"two different shapes are both called {name}")
        return {"$ref": REF + name}


# -- inbound payloads: marshmallow ---------------------------------------------------------
def payload_schema(schema: Schema, components: Components) -> JsonSchema:
    """A reference to the payload ``schema`` accepts (the component is its class name)."""
    kind = type(schema)
    return components.ref(kind.__name__, kind, lambda: _payload(schema))


def _payload(schema: Schema) -> JsonSchema:
    _check_schema(schema)
    properties, required = {}, []
    for name, field in schema.load_fields.items():
        wire = field.data_key or name
        properties[wire] = field_schema(field, f"{type(schema).__name__}.{wire}")
        if field.required:
            required.append(wire)
    shape: JsonSchema = {"type": "object", "properties": properties,
                         "additionalProperties": False}
    if required:
        shape["required"] = required
    doc = inspect.getdoc(type(schema))
    if isinstance(schema, AcceptsBareString):
        bare = field_schema(schema.load_fields[schema.bare_field], schema.bare_field)
        shape = {"oneOf": [shape, {**bare, "description": f"the same as "
                                   f"{{{schema.bare_field}: <this string>}}"}]}
    return {"description": _markdown(doc), **shape} if doc else shape


def _check_schema(schema: Schema) -> None:
    hooks = {hook: [h[0] for h in schema._hooks[hook]]
             for hook in (PRE_LOAD, POST_LOAD, VALIDATES, VALIDATES_SCHEMA) if schema._hooks[hook]}
    if isinstance(schema, AcceptsBareString) and hooks.get(PRE_LOAD) == ["_accept_bare_string"]:
        del hooks[PRE_LOAD]  # declared: the payload may be a bare string
    if hooks:
        raise Unexpressible(f"{type(schema).__name__}: hooks {hooks}")
    if schema.unknown != RAISE or schema.many or schema.partial or schema.only:
        raise Unexpressible(f"{type(schema).__name__}: unknown/many/partial/only")


def field_schema(field: fields.Field[Any], where: str) -> JsonSchema:
    """What one marshmallow field accepts, as a JSON Schema."""
    kind = type(field)
    if field.pre_load or field.post_load:
        raise Unexpressible(f"{where}: field pre_load/post_load")
    builder = _FIELDS.get(kind)
    if builder is None:
        raise Unexpressible(f"{where}: field class {kind.__name__}")
    shape = builder(field, where)
    notes = _notes(field)
    if field.allow_none:
        shape = {"oneOf": [shape, {"type": "null"}]}
    if not field.required and field.load_default is not missing \
            and not callable(field.load_default):
        shape["default"] = field.load_default
    if notes:
        shape["description"] = notes
    return shape


def _string(field: fields.Field[Any], where: str) -> JsonSchema:
    shape: JsonSchema = {"type": "string"}
    for rule in field.validators:
        if type(rule) is validate.Length and rule.equal is None:
            if rule.min is not None:
                shape["minLength"] = rule.min
            if rule.max is not None:
                shape["maxLength"] = rule.max
        else:
            raise Unexpressible(f"{where}: {type(rule).__name__} on an untrimmed string")
    return shape


def _trimmed(field: fields.Field[Any], where: str) -> JsonSchema:
    patterns = []
    for rule in field.validators:
        if type(rule) is validate.Length and rule.equal is None:
            patterns.append(trimmed_length(rule.min, rule.max))
        elif type(rule) is validate.Regexp and isinstance(rule.regex.pattern, str) \
                and not rule.regex.flags & ~32:  # re.UNICODE only
            patterns.append(trimmed_match(rule.regex.pattern))
        else:
            raise Unexpressible(f"{where}: {type(rule).__name__} on a trimmed string")
    return _with_patterns(patterns)


def _room_code(field: fields.Field[Any], where: str) -> JsonSchema:
    rules = field.validators
    if len(rules) != 1 or type(rules[0]) is not validate.Regexp:
        raise Unexpressible(f"{where}: a room code takes exactly one Regexp")
    pattern = rules[0].regex.pattern
    if not isinstance(pattern, str):
        raise Unexpressible(f"{where}: a bytes pattern")
    return _with_patterns([upper_cased_code(pattern)])


def _with_patterns(patterns: list[str]) -> JsonSchema:
    if len(patterns) <= 1:
        return {"type": "string", **({"pattern": patterns[0]} if patterns else {})}
    return {"type": "string", "allOf": [{"pattern": p} for p in patterns]}


def _integer(field: fields.Field[Any], where: str) -> JsonSchema:
    shape: JsonSchema = {"type": "integer"}
    for rule in field.validators:
        if type(rule) is not validate.Range:
            raise Unexpressible(f"{where}: {type(rule).__name__} on an integer")
        if rule.min is not None:
            shape["minimum" if rule.min_inclusive else "exclusiveMinimum"] = rule.min
        if rule.max is not None:
            shape["maximum" if rule.max_inclusive else "exclusiveMaximum"] = rule.max
    return shape


def _list(field: fields.Field[Any], where: str) -> JsonSchema:
    assert isinstance(field, fields.List)
    shape: JsonSchema = {"type": "array", "items": field_schema(field.inner, where + "[]")}
    for rule in field.validators:
        if type(rule) is not validate.Length or rule.equal is not None:
            raise Unexpressible(f"{where}: {type(rule).__name__} on a list")
        if rule.min is not None:
            shape["minItems"] = rule.min
        if rule.max is not None:
            shape["maxItems"] = rule.max
    return shape


def _boolean(field: fields.Field[Any], where: str) -> JsonSchema:
    if field.validators:
        raise Unexpressible(f"{where}: validators on a boolean")
    return {"type": "boolean"}


_FIELDS: dict[type, Callable[[fields.Field[Any], str], JsonSchema]] = {
    fields.String: _string,
    Text: _trimmed,
    RoomCode: _room_code,
    StrictInt: _integer,
    StrictBool: _boolean,
    fields.List: _list,
}


def _notes(field: fields.Field[Any]) -> str:
    """The field's rules in words, for people (doc comments, the AsyncAPI description)."""
    notes = []
    trims = isinstance(field, Text)
    for rule in field.validators:
        if isinstance(rule, validate.Length):
            unit = "items" if isinstance(field, fields.List) else "characters"
            after = " after trimming" if trims else ""
            notes.append(f"{_span(rule.min, rule.max)} {unit}{after}")
        elif isinstance(rule, validate.Range):
            notes.append(_span(rule.min, rule.max))
        elif isinstance(rule, validate.Regexp):
            pattern = rule.regex.pattern
            any_case = " in any case" if isinstance(field, RoomCode) else ""
            notes.append(f"matches {pattern!s}{any_case}")
    return "; ".join(notes)


def _span(low: Any, high: Any) -> str:
    if high is None:
        return f"at least {low}"
    return f"at most {high}" if low is None else f"{low} to {high}"


def _markdown(doc: str) -> str:
    return doc.replace("``", "`")


# -- documents: TypedDicts -----------------------------------------------------------------
def type_schema(tp: Any, components: Components) -> JsonSchema:
    """A Python type (TypedDict, list, dict, Literal, Annotated, union with None) as a schema."""
    if typing.is_typeddict(tp):
        return components.ref(tp.__name__, tp, lambda: _typed_dict(tp, components))
    if tp in _SIMPLE:
        return {"type": _SIMPLE[tp]} if tp is not Any else {}
    build = _GENERIC.get(get_origin(tp))
    if build is None:
        raise Unexpressible(f"type {tp!r}")
    return build(get_args(tp), components)


def _annotated(args: tuple[Any, ...], components: Components) -> JsonSchema:
    shape = type_schema(args[0], components)
    notes = [a for a in args[1:] if isinstance(a, str)]
    formats = [a.name for a in args[1:] if isinstance(a, Format)]
    if formats:
        shape["format"] = formats[0]
    if notes and "$ref" in shape:  # draft-07 ignores a $ref's siblings
        return {"allOf": [shape], **_described(notes)}
    return {**shape, **_described(notes)} if notes else shape


def _union(args: tuple[Any, ...], components: Components) -> JsonSchema:
    return {"oneOf": [type_schema(a, components) for a in args]}


def _literal(args: tuple[Any, ...], components: Components) -> JsonSchema:
    return {"const": args[0]} if len(args) == 1 else {"enum": list(args)}


def _list_of(args: tuple[Any, ...], components: Components) -> JsonSchema:
    return {"type": "array", "items": type_schema(args[0], components)}


def _dict_of(args: tuple[Any, ...], components: Components) -> JsonSchema:
    if args[0] is not str:
        raise Unexpressible(f"dict keyed by {args[0]!r}: JSON keys are strings")
    values = type_schema(args[1], components)
    return {"type": "object", **({"additionalProperties": values} if values else {})}


_SIMPLE: dict[Any, str] = {bool: "boolean", int: "integer", float: "number", str: "string",
                           type(None): "null", Any: ""}
_GENERIC: dict[Any, Callable[[tuple[Any, ...], Components], JsonSchema]] = {
    typing.Annotated: _annotated, Union: _union, types.UnionType: _union, Literal: _literal,
    list: _list_of, dict: _dict_of,
}


def _described(notes: list[str]) -> JsonSchema:
    return {"description": "; ".join(notes)}


def _typed_dict(tp: Any, components: Components) -> JsonSchema:
    hints = typing.get_type_hints(tp, include_extras=True)
    shape: JsonSchema = {"type": "object"}
    doc = tp.__dict__.get("__doc__")
    if doc:
        shape["description"] = _markdown(inspect.cleandoc(doc))
    shape["properties"] = {key: type_schema(hint, components) for key, hint in hints.items()}
    required = [key for key in hints if key in tp.__required_keys__]
    if required:
        shape["required"] = required
    shape["additionalProperties"] = False
    return shape


# -- failed acks: the error-code registry --------------------------------------------------
def failure_schema(components: Components) -> JsonSchema:
    """``{ok: false, error, code, ...extra}``: one branch per set of extra fields."""
    return components.ref("Failure", ErrorCode, lambda: _failure(components))


def _failure(components: Components) -> JsonSchema:
    hints = typing.get_type_hints(Failure)
    groups: dict[tuple[tuple[str, bool], ...], list[ErrorCode]] = {}
    for code in ErrorCode:
        groups.setdefault(tuple((e.name, e.always) for e in code.extra), []).append(code)
    branches = []
    for extras, codes in groups.items():
        names = [c.value for c in codes]
        properties: JsonSchema = {
            "ok": {"const": False},
            "error": {"type": "string", "description": "human text, fit to show to a person"},
            "code": {"const": names[0]} if len(names) == 1 else {"enum": names},
        }
        for name, _ in extras:
            extra = next(e for c in codes for e in c.extra if e.name == name)
            properties[name] = {**type_schema(hints[name], components),
                                "description": _markdown(extra.meaning)}
        required = ["ok", "error", "code", *(name for name, always in extras if always)]
        meaning = "; ".join(f"`{c.value}`: {c.meaning}" for c in codes)
        branches.append({"type": "object", "description": _markdown(meaning),
                         "properties": properties, "required": required,
                         "additionalProperties": False})
    return {"description": "A failed ack: `code` is one of the registry's (server/errors.py).",
            "oneOf": branches}
