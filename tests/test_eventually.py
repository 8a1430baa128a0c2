"""The tests' one polling helper is bounded in count and in time, and says what it waited for."""

from __future__ import annotations

import pytest

from tests.support import attempts, eventually

pytestmark = pytest.mark.unit


async def test_eventually_returns_the_first_truthy_answer_awaiting_awaitables() -> None:
    answers = iter([0, None, "", "done"])
    assert await eventually(lambda: next(answers), "an answer", every_s=0.001) == "done"

    async def ready() -> int:
        return 7

    assert await eventually(ready, "an awaited answer") == 7


async def test_eventually_gives_up_after_a_bounded_number_of_looks() -> None:
    looks = 0

    def never() -> None:
        nonlocal looks
        looks += 1
        raise AssertionError("still 3 sessions")

    with pytest.raises(AssertionError, match=r"not the server idle within 0.05 s.*3 sessions"):
        await eventually(never, "the server idle", within_s=0.05, every_s=0.01)
    assert 1 <= looks <= 0.05 / 0.01 + 2


def test_attempts_stop_at_the_deadline() -> None:
    left = list(attempts(0.0, 0.01))
    assert left == [0.0]  # one look at the deadline, then none
    assert len(list(attempts(0.05, 1.0))) <= 0.05 / 1.0 + 2
