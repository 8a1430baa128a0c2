"""Regular expressions that say, on the raw wire string, what a trimming field accepts.

``Text`` fields strip surrounding whitespace (Python's ``str.strip()``) before their length
and pattern rules apply, and a room code is upper-cased too. JSON Schema has no "trim", so
each rule becomes one pattern over the raw string that accepts exactly what the field
accepts. The patterns are valid both for Python's ``re`` and for ECMAScript's ``RegExp`` with
the ``u`` flag (lookbehind: ES2018), and spell whitespace out instead of using ``\\s``, whose
meaning differs between the two.
"""

from __future__ import annotations

import re
import sys
from functools import cache


class Unexpressible(ValueError):
    """A rule the generators cannot state exactly; the generator refuses to guess."""


def _ranges(codepoints: list[int]) -> str:
    """A character-class body for ``codepoints`` (sorted), with ranges, as \\uXXXX escapes."""
    out, i = [], 0
    while i < len(codepoints):
        j = i
        while j + 1 < len(codepoints) and codepoints[j + 1] == codepoints[j] + 1:
            j += 1
        first, last = _escape(codepoints[i]), _escape(codepoints[j])
        out.append(first if i == j else f"{first}{'' if j == i + 1 else '-'}{last}")
        i = j + 1
    return "".join(out)


def _escape(codepoint: int) -> str:
    char = chr(codepoint)
    if char.isascii() and char.isalnum():
        return char
    if codepoint > 0xFFFF:
        raise Unexpressible(f"U+{codepoint:X} needs \\u{{...}}, which Python's re lacks")
    return f"\\u{codepoint:04X}"


WHITESPACE = _ranges([c for c in range(sys.maxunicode + 1) if chr(c).isspace()])
WS = f"[{WHITESPACE}]"  # what str.strip() removes
NON_WS = f"[^{WHITESPACE}]"
ANY = r"[\s\S]"


def trimmed_length(low: int | None, high: int | None) -> str:
    """The raw strings whose ``strip()`` is ``low`` to ``high`` characters long."""
    low = low or 0
    if high is not None and high < max(low, 1):
        return f"^{WS}*$" if high == 0 and low == 0 else "(?!)"
    upper = "" if high is None else str(high - 2)
    alternatives = []
    if low <= 1:
        alternatives.append(NON_WS)
    if high is None or high >= 2:
        alternatives.append(f"{NON_WS}{ANY}{{{max(low - 2, 0)},{upper}}}{NON_WS}")
    body = "|".join(alternatives)
    return f"^{WS}*(?:{body}){'?' if low == 0 else ''}{WS}*$"


def trimmed_match(pattern: str) -> str:
    """The raw strings whose ``strip()`` matches ``pattern`` (anchored with ``^`` and ``$``)."""
    if re.match(pattern, ""):
        raise Unexpressible(f"{pattern!r} accepts the empty string")
    return f"^{WS}*(?!{WS})(?:{_inner(pattern)})(?<!{WS}){WS}*$"


def _inner(pattern: str) -> str:
    if not (pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$")):
        raise Unexpressible(f"{pattern!r} is not anchored with ^ and $")
    return portable(pattern[1:-1])


def portable(pattern: str) -> str:
    r"""``pattern`` with ``\s`` spelled out (inside a class or not), as Python means it."""
    out, in_class, i = [], False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            pair = pattern[i:i + 2]
            out.append((WHITESPACE if in_class else WS) if pair == r"\s" else pair)
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


@cache
def upper_cased_code(pattern: str) -> str:
    """The raw strings whose ``strip().upper()`` matches ``^[CLASS]{n}$``.

    ``upper()`` maps some characters into the class (long s -> ``S``) and some to several
    characters (sharp s -> ``SS``, the ffl ligature -> ``FFL``), so the pattern counts what
    each input character becomes."""
    shape = re.fullmatch(r"\^(\[[^\]]+\])\{(\d+)\}\$", pattern)
    if shape is None:
        raise Unexpressible(f"{pattern!r} is not of the form ^[...]{{n}}$")
    alphabet, length = re.compile(shape.group(1)), int(shape.group(2))
    by_width: dict[int, list[int]] = {}
    for codepoint in range(sys.maxunicode + 1):
        upper = chr(codepoint).upper()
        if all(alphabet.fullmatch(c) for c in upper):
            by_width.setdefault(len(upper), []).append(codepoint)
    classes = {width: f"[{_ranges(points)}]" for width, points in by_width.items()}

    @cache
    def exactly(width: int) -> str:
        if width == 0:
            return ""
        parts = [f"{cls}{exactly(width - w)}"
                 for w, cls in sorted(classes.items()) if w <= width]
        return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"

    body = f"{classes[1]}{{{length}}}" if set(classes) == {1} else exactly(length)
    return f"^{WS}*{body}{WS}*$"
