"""jsonpolicy reads and writes with orjson where it can; what it accepts, and as what, is the
standard library's answer under the finite-numbers policy, whichever parser ran."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
from typing import Any

import pytest

from server.wire import jsonpolicy

pytestmark = pytest.mark.unit


def stdlib_loads(text: str) -> Any:
    return json.loads(text, parse_constant=jsonpolicy._reject_constant,
                      parse_float=jsonpolicy._finite_float)


ACCEPTED = [
    '["echo",{"t":1.5,"pad":"xx"}]', "[12345678901234567890123]", '["\\ud800"]', '{"a":1e308}',
    '["é","\\u00e9"]', '{"a":1,"a":2}', " [ 1 , 2 ] ", "[-0.0, 1E3, 0]", '"x"', "null",
]
REFUSED = ["[NaN]", "[Infinity]", "[-Infinity]", "[1e999]", "[-1e400]", "[1,]", "{'a':1}", ""]


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted_text_reads_as_the_standard_library_reads_it(text: str) -> None:
    got, want = jsonpolicy.loads(text), stdlib_loads(text)
    assert got == want and json.dumps(got) == json.dumps(want)  # same types too (int stays int)


@pytest.mark.parametrize("text", REFUSED)
def test_refused_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        jsonpolicy.loads(text)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -math.inf,
                                   {"deep": [1, {"x": float("nan")}]}])
def test_non_finite_numbers_are_never_written(value: Any) -> None:
    with pytest.raises(jsonpolicy.NonFiniteNumber, match="JSON"):
        jsonpolicy.dumps([value])


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize("value", [
    ["é", None, True, 1.5, -0.0, 10**30], {"1": 2}, {1: 2}, ["\ud800"], [(1, 2)], [None, 0],
])
def test_written_text_means_what_the_standard_library_wrote(value: Any) -> None:
    written = jsonpolicy.dumps(value)
    assert json.loads(written) == json.loads(json.dumps(value, separators=(",", ":")))
    assert " " not in written


@pytest.mark.parametrize("value", [datetime.date(2024, 1, 1), Point(1), {1, 2}])
def test_values_json_cannot_write_are_still_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        jsonpolicy.dumps([value])
