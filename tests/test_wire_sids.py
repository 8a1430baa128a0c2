"""Engine.IO session ids that name their owner node (server/wire/sids.py)."""

from __future__ import annotations

import re

import pytest

from server.wire.sids import MAC_LEN, SID_LEN, TAG_LEN, SessionIds, tag_of, verify

pytestmark = pytest.mark.unit


def test_a_sid_is_tag_random_and_mac_in_url_safe_characters() -> None:
    ids = SessionIds()
    sid = ids.new()
    assert len(sid) == SID_LEN == 36
    assert re.fullmatch(r"[A-Za-z0-9_-]{36}", sid)
    assert tag_of(sid) == sid[:TAG_LEN] == ids.tag
    assert ids.owns(sid) and verify(sid, ids.key)


def test_sids_are_unique_and_share_only_the_tag() -> None:
    ids = SessionIds()
    sids = {ids.new() for _ in range(2000)}
    assert len(sids) == 2000
    assert {tag_of(sid) for sid in sids} == {ids.tag}


def test_the_mac_binds_tag_and_random_part_to_the_owners_key() -> None:
    ids, other = SessionIds(), SessionIds()
    sid = ids.new()
    assert not verify(sid, other.key)
    for i in range(SID_LEN):  # any one character changed breaks it
        changed = sid[:i] + ("A" if sid[i] != "A" else "B") + sid[i + 1:]
        assert not verify(changed, ids.key), i
    assert not other.owns(sid)


@pytest.mark.parametrize("sid", ["", "short", "x" * 35, "x" * 37, "ab+/" * 9, "é" * 36,
                                 "A" * (SID_LEN - MAC_LEN) + "=" * MAC_LEN])
def test_malformed_sids_have_no_owner(sid: str) -> None:
    assert tag_of(sid) is None
    assert not verify(sid, b"k" * 32)
    assert not SessionIds().owns(sid)


def test_a_tag_must_be_eight_url_safe_characters() -> None:
    assert SessionIds(tag="AbC-_123").tag == "AbC-_123"
    for bad in ("short", "nine-char", "has/slash"):
        with pytest.raises(ValueError):
            SessionIds(tag=bad)
