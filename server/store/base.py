"""The storage interface that every twin implements and the contract tests check."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from server.timing import NETWORK_BOUNDS, Timings

Doc = dict[str, Any]
T = TypeVar("T")

# A mutator sees the current document (or None) and returns (new document or None to delete,
# result). It must be pure: the Redis twin may call it again when another writer got there first.
Mutator = Callable[[Doc | None], tuple[Doc | None, T]]


class StoreStats:
    """Per-operation call latency and faults (the Redis twin keeps them; for /metrics)."""

    def __init__(self) -> None:
        self.seconds: dict[str, Timings] = {}
        self.errors: dict[str, int] = {}

    def timed(self, op: str, seconds: float) -> None:
        timings = self.seconds.get(op)
        if timings is None:
            self.seconds[op] = timings = Timings(NETWORK_BOUNDS)
        timings.observe(seconds)

    def failed(self, op: str) -> None:
        self.errors[op] = self.errors.get(op, 0) + 1


class Store(ABC):
    """JSON documents with atomic read-modify-write, sets, and capped sequenced logs."""

    kind: str
    stats: StoreStats  # set by every twin's constructor

    @abstractmethod
    async def ping(self) -> None:
        """Raise server.errors.Unavailable when the backend cannot be reached."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def get(self, key: str) -> Doc | None: ...

    @abstractmethod
    async def get_many(self, keys: Sequence[str]) -> list[Doc | None]: ...

    @abstractmethod
    async def put(self, key: str, doc: Doc, *, ttl_ms: int | None = None) -> None: ...

    @abstractmethod
    async def delete(self, *keys: str) -> None: ...

    @abstractmethod
    async def mutate(
        self, key: str, fn: Mutator[T], *, index: tuple[str, str] | None = None
    ) -> T:
        """Apply ``fn`` atomically to ``key``; concurrent writers on any process serialize.

        With ``index=(set_key, member)`` the member is added to the set when the document is
        written and removed when it is deleted, in the same atomic step.
        """

    @abstractmethod
    async def index_members(self, index: str) -> list[str]: ...

    @abstractmethod
    async def claim(self, key: str, owner: str, *, ttl_ms: int) -> bool:
        """Take ``key`` for ``owner`` unless someone else holds it; it expires after ``ttl_ms``.

        True when ``owner`` holds the claim afterwards (a holder may renew its own claim).
        Used so that exactly one survivor cleans up after a dead node.
        """

    @abstractmethod
    async def log_append(self, key: str, doc: Doc, *, cap: int) -> Doc:
        """Append ``{"seq": next, **doc}`` (seq 1, 2, ...); keep only the last ``cap``.

        Taking the seq and storing the entry are one atomic step on every twin: no gaps and no
        reordering, even when processes crash or append concurrently. ``doc`` is a non-empty
        object without a ``seq`` of its own. Returns the stored entry.
        """

    @abstractmethod
    async def log_range(
        self, key: str, *, limit: int, before: int | None = None, after: int | None = None
    ) -> list[Doc]:
        """Ascending by seq: the last ``limit`` (below ``before``), or those after ``after``."""

    @abstractmethod
    async def log_delete(self, key: str) -> None:
        """Drop a log and its sequence counter."""

    # -- chat primitives: sets with sizes, once-only appends, unread counts, quotas --------
    @abstractmethod
    async def index_add(self, index: str, *members: str) -> int:
        """Add members to a set; return its size afterwards, in the same atomic step."""

    @abstractmethod
    async def index_remove(self, index: str, *members: str) -> int:
        """Remove members from a set; return its size afterwards, in the same atomic step."""

    @abstractmethod
    async def index_sizes(self, indexes: Sequence[str]) -> list[int]: ...

    @abstractmethod
    async def log_append_once(
        self, key: str, doc: Doc, *, cap: int, token: str, mark: str
    ) -> tuple[Doc, bool]:
        """Append ``{"seq": next, **doc}`` unless ``token`` was appended before.

        Returns (entry, created). With a repeated token the original entry comes back with
        created=False, as long as it is still within the last ``cap`` entries. The seq is taken,
        the entry stored and ``seq`` recorded under ``mark`` in one atomic step on every twin,
        so seqs have no gaps even when processes crash or append concurrently.
        """

    @abstractmethod
    async def log_find(self, key: str, token: str) -> Doc | None:
        """The retained entry appended with ``token``, if any."""

    @abstractmethod
    async def log_last(self, keys: Sequence[str]) -> list[Doc | None]:
        """The newest entry of each log, or None for an empty log."""

    @abstractmethod
    async def log_count_after(self, queries: Sequence[tuple[str, int, str]]) -> list[int]:
        """For each (log key, after, mark): how many seqs above ``after`` were not marked.

        Counts by seq, so entries already trimmed by the cap still count.
        """

    @abstractmethod
    async def log_unmark(self, key: str, mark: str, upto: int) -> None:
        """Forget ``mark``'s seqs at or below ``upto`` (they no longer affect counts)."""

    @abstractmethod
    async def rate_hit(self, key: str, *, limit: int, window_ms: int) -> int:
        """Count one hit in a sliding window; 0 if allowed, else ms until one would be.

        A refused hit is not counted.
        """
