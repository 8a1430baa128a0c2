"""The fast inbound decoder agrees with the full one, frame by frame; the event FIFO's rules.

``parse_event`` may only ever return what python-socketio's decoder plus Huddle's packet checks
would have produced, and must say None whenever they would refuse the frame (or produce anything
other than a plain text EVENT): the full path then decides. ``ack_frame`` must write exactly what
``Packet.encode`` writes.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from socketio import packet as sio_packet

from server.wire.inbox import Inbox
from server.wire.sio_fast import ack_frame, parse_event
from server.wire.sio_packets import HuddlePacket, validate
from tests.support import WAIT_S, eventually

pytestmark = pytest.mark.unit

HEADS = ["42", "42/chat,", "42/,", "42/a?x=1,", "421", "4212", "42007", "42/chat,5", "421-",
         "4211-", "42/chat", "43", "41", "40", "45", "451-", "4", "", "42\u00b2", "42\u0661",
         "42" + "9" * 15, "42" + "9" * 16, "42/a[b,", "42/a,b,", " 42", "42 "]
BODIES = ['["echo",{"t":1.5,"pad":"xx"}]', '["x"]', "[]", "[1]", "[true]", '["connect"]',
          '["disconnect",1]', '["newListener"]', '{"a":1}', '"s"', "[NaN]", '["a",NaN]',
          '["a",1e999]', '["a",-Infinity]', '["a",123456789012345678901234]', '["a"] x',
          '["a\\ud800"]', "", '["a",{"_placeholder":true,"num":0}]', '["a",1,2,3]',
          '["\u00e9t\u00e9",{"k":[1,2,{"z":null}]}]', '["a",', "[", '[null]', '["a",1.0]',
          '["a",9007199254740993]', '  ["a"]', '["a"]\n']


def full_decode(frame: str) -> tuple[str, int | None, list[Any]] | None:
    """What the full path makes of an Engine.IO text frame: a plain text EVENT, or None."""
    if not frame.startswith("4"):
        return None
    try:
        pkt = HuddlePacket(encoded_packet=frame[1:])
        validate(pkt, max_attachments=10)
    except Exception:
        return None
    if pkt.packet_type != sio_packet.EVENT or not isinstance(pkt.data[0], str):
        return None
    return pkt.namespace or "/", pkt.id, pkt.data


def corpus() -> list[str]:
    frames = [head + body for head in HEADS for body in BODIES]
    rng = random.Random(6)
    alphabet = '42/,?[]{}"0123456789-abc:.eE+ \\\u00b2'
    for _ in range(5000):
        frames.append("42" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))))
    return frames


def test_fast_decoder_never_disagrees_with_the_full_one() -> None:
    taken = 0
    for frame in corpus():
        fast = parse_event(frame)
        if fast is None:
            continue
        taken += 1
        assert full_decode(frame) == fast, frame
    assert taken >= 60  # it does engage on ordinary frames


@pytest.mark.parametrize("frame", ['42["echo",{"t":1.5,"pad":"xx"}]', '42/chat,17["send",{}]',
                                   '4212["a",1,2,3]', '42/,["x"]'])
def test_fast_decoder_takes_ordinary_events(frame: str) -> None:
    assert parse_event(frame) == full_decode(frame) is not None or False
    assert parse_event(frame) is not None


@pytest.mark.parametrize("args", [[], [{"ok": True}], [1, "two", None, [3.5]],
                                  [{"\u00e9": "\u2603"}], [2**70]])
@pytest.mark.parametrize(("namespace", "ack_id"), [("/", 0), ("/", 12), ("/chat", 7)])
def test_ack_frame_is_what_the_packet_class_writes(namespace: str, ack_id: int,
                                                   args: list[Any]) -> None:
    pkt = HuddlePacket(sio_packet.ACK, namespace=namespace, id=ack_id, data=args)
    assert ack_frame(namespace, ack_id, args) == pkt.encode()


def test_ack_frame_leaves_binary_to_the_packet_class() -> None:
    assert ack_frame("/", 1, [{"blob": b"\x00"}]) is None


async def test_inbox_starts_calls_in_order_and_a_suspended_call_blocks_nobody() -> None:
    inbox = Inbox("test")
    started: list[int] = []
    finished: list[int] = []
    release = asyncio.Event()

    async def call(i: int) -> None:
        started.append(i)
        if i == 0:
            await release.wait()  # suspends: the calls after it must still run
        finished.append(i)

    for i in range(5):
        inbox.put(call, i)
    await eventually(lambda: finished == [1, 2, 3, 4], "the calls after the suspended one")
    assert started == [0, 1, 2, 3, 4]
    release.set()
    await eventually(lambda: finished == [1, 2, 3, 4, 0], "the suspended call finished")
    await inbox.close()


async def test_inbox_calls_run_in_a_task_of_their_own_while_suspended() -> None:
    """asyncio.timeout (and redis-py, which uses it) needs the call's own current task."""
    inbox = Inbox("test")
    seen: list[Any] = []
    release = asyncio.Event()

    async def call(i: int) -> None:
        async with asyncio.timeout(WAIT_S):
            task = asyncio.current_task()
            await release.wait()  # every call suspends
            seen.append((i, task is asyncio.current_task() and task is not None))

    for i in range(3):
        inbox.put(call, i)
    await eventually(lambda: inbox.workers_started == 3, "three calls suspended")
    release.set()
    await eventually(lambda: len(seen) == 3, "the three calls resumed")
    assert sorted(seen) == [(0, True), (1, True), (2, True)]
    assert inbox.workers_started == 3  # each suspended call kept its worker
    await inbox.close()


async def test_inbox_needs_one_worker_for_calls_that_do_not_suspend_and_keeps_none_idle(
) -> None:
    inbox = Inbox("test")
    done: list[int] = []

    async def call(i: int) -> None:
        done.append(i)

    for i in range(100):
        inbox.put(call, i)
    await eventually(lambda: done == list(range(100)), "the hundred calls")
    # ... and then the worker is gone: an idle server keeps no worker task.
    await eventually(lambda: not inbox._workers, "no worker left")
    assert inbox.workers_started == 1
    await inbox.close()


async def test_inbox_failures_are_logged_and_later_calls_still_run(
        caplog: pytest.LogCaptureFixture) -> None:
    inbox = Inbox("test")
    done: list[int] = []

    async def call(i: int) -> None:
        if i == 1:
            raise RuntimeError("boom")
        done.append(i)

    for i in range(3):
        inbox.put(call, i)
    await eventually(lambda: done == [0, 2], "the calls around the failing one")
    assert "boom" in caplog.text
    await inbox.close()


async def test_closed_inbox_cancels_a_running_call_and_takes_no_more() -> None:
    inbox = Inbox("test")
    running, cancelled = asyncio.Event(), asyncio.Event()

    async def forever() -> None:
        running.set()
        try:
            await asyncio.Event().wait()  # never set
        except asyncio.CancelledError:
            cancelled.set()
            raise

    inbox.put(forever)
    await asyncio.wait_for(running.wait(), WAIT_S)
    await inbox.close()
    assert cancelled.is_set()
    inbox.put(forever)
    assert not inbox._workers
