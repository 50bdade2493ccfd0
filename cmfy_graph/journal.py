"""A crash-safe, append-only journal of a sweep's submissions (``DIR/journal.jsonl``).

One JSON record per line, each written with ``write`` + ``flush`` + ``fsync`` before the step it
records is taken, so that replaying the file after a crash at any moment (SIGKILL included) tells,
for every variant, what is known:

========  =====================================================================================
``ev``    meaning
========  =====================================================================================
run       a run started (``sweep``: the base digest, ``n``: the number of variants)
submit    a submission is about to be sent (``v`` variant id, ``i`` index, ``p`` parameters,
          ``key``: its idempotency key, for a backend that takes one; sent again after a crash)
accepted  the server accepted it (``job``: the job id; ``server``: the base URL of the server
          that holds it, for backends of several servers such as a ComfyUI pool)
cancelled the run was interrupted and the variant's job cancelled on the server (``job``);
          the next run submits the variant again
rejected  the server refused it, no job was created (``code``, ``msg``); safe to submit again.
          With ``dup: true``, a job of this variant may still exist (its server could not be
          reached from this run), so submitting again may duplicate it
uncertain the request may have reached the server but no job id came back (``code``, ``msg``)
done      the job ended (``status`` completed|failed, ``job``, ``outputs``, ``files``, errors)
========  =====================================================================================

A ``submit`` with nothing after it means the process died while the request was in flight: the
server may have created a job whose id was never recorded. Such a variant, like one with an
``uncertain`` record, is *possibly duplicated* once submitted again (the API has no idempotency
key). A line torn by a crash (no newline, or not JSON) is skipped on reading, and the file is
re-terminated before the next append so no later record is glued onto it.

:class:`AsyncJournal` batches records written concurrently by many tasks into one write and one
``fsync`` (group commit), each caller resuming only once its record is on disk.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "Journal",
    "AsyncJournal",
    "VariantState",
    "JournalState",
    "read_journal",
    "JOURNAL_NAME",
]

JOURNAL_NAME = "journal.jsonl"


def _encode(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


class Journal:
    """An append-only JSON-lines file, fsynced on every append.

    Open with :meth:`open`; the directory is created if needed and a torn last line is
    terminated. Not thread-safe by itself (use :class:`AsyncJournal` from asyncio code).
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Journal:
        """Open (or create) the journal at ``path`` for appending."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size:
                os.lseek(fd, size - 1, os.SEEK_SET)
                if os.read(fd, 1) != b"\n":
                    os.write(fd, b"\n")  # terminate a line torn by a crash
                    os.fsync(fd)
            else:
                _fsync_dir(p.parent)  # make the new file's directory entry durable
        except BaseException:
            os.close(fd)
            raise
        return cls(p, fd)

    def write_bytes(self, data: bytes) -> None:
        """Append raw, newline-terminated lines and fsync them."""
        if self._fd is None:
            raise ValueError(f"journal {self.path} is closed")
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        os.fsync(self._fd)

    def append(self, record: Mapping[str, Any]) -> None:
        """Append one record and fsync it."""
        self.write_bytes(_encode(record))

    def append_many(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Append several records with a single fsync."""
        data = b"".join(_encode(r) for r in records)
        if data:
            self.write_bytes(data)

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fsync_dir(path: Path) -> None:
    try:
        dfd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


class AsyncJournal:
    """Group commit over a :class:`Journal` for asyncio code.

    ``await journal.write(record)`` returns once the record is on disk. Records written while a
    flush is under way are gathered into the next flush (one ``write`` and one ``fsync``), so
    many concurrent tasks cost few fsyncs. The blocking I/O runs in a worker thread.
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.flushes = 0

    async def write(self, record: Mapping[str, Any]) -> None:
        """Append ``record``; return when it is durable."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._pending.append((_encode(record), fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush_loop())
        await asyncio.shield(fut)

    async def _flush_loop(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            data = b"".join(line for line, _ in batch)
            try:
                await asyncio.to_thread(self.journal.write_bytes, data)
            except BaseException as exc:
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                self.flushes += 1
                for _, fut in batch:
                    if not fut.done():
                        fut.set_result(None)

    async def drain(self) -> None:
        """Wait until every record written so far is durable."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)

    def close(self) -> None:
        """Close the underlying journal."""
        self.journal.close()


def read_journal(path: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], int]:
    """All well-formed records of the journal at ``path`` and the number of lines skipped
    (torn by a crash or not JSON objects). A missing file reads as no records."""
    records: list[dict[str, Any]] = []
    skipped = 0
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return records, 0
    with fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                if raw.strip():
                    skipped += 1  # a torn last line
                continue
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                skipped += 1
                continue
            if isinstance(rec, dict) and isinstance(rec.get("ev"), str):
                records.append(rec)
            else:
                skipped += 1
    return records, skipped


class VariantState:
    """What the journal says of one variant.

    ``status`` is one of ``new`` (never submitted), ``submitting`` (a submission in flight; after
    a replay it becomes ``uncertain``), ``accepted`` (a job id is known, its end is not; ``server``
    is the server that holds it when the backend said so),
    ``rejected`` (refused, no job: submit again), ``uncertain`` (may have created a job whose id
    is unknown), ``completed`` or ``failed`` (the job ended).
    """

    __slots__ = (
        "id",
        "index",
        "params",
        "status",
        "job_id",
        "server",
        "jobs",
        "attempts",
        "possibly_duplicated",
        "submitted_at",
        "accepted_at",
        "finished_at",
        "error_code",
        "error_message",
        "outputs",
        "files",
        "started_at",
        "completed_at",
        "execution_ms",
        "key",
    )

    def __init__(self, vid: str) -> None:
        self.id = vid
        self.index: int | None = None
        self.params: dict[str, Any] | None = None
        self.status = "new"
        self.job_id: str | None = None
        self.server: str | None = None
        self.jobs: list[str] = []
        self.attempts = 0
        self.possibly_duplicated = False
        self.submitted_at: float | None = None
        self.accepted_at: float | None = None
        self.finished_at: float | None = None
        self.error_code: str | None = None
        self.error_message: str | None = None
        self.outputs: list[str] = []
        self.files: list[str] = []
        self.started_at: str | None = None
        self.completed_at: str | None = None
        self.execution_ms: float | None = None
        #: the idempotency key of the last submission whose outcome is unknown (sent again)
        self.key: str | None = None

    def apply(self, rec: Mapping[str, Any]) -> None:
        """Advance the state by one journal record of this variant."""
        ev = rec.get("ev")
        t = rec.get("t")
        if ev == "submit":
            if self.status == "submitting":
                self.possibly_duplicated = True  # a previous attempt was in flight at a crash
            self.status = "submitting"
            self.attempts += 1
            self.job_id = None
            self.server = None
            self.submitted_at = t
            self.accepted_at = self.finished_at = None
            self.error_code = self.error_message = None
            self.outputs, self.files = [], []
            if isinstance(rec.get("i"), int):
                self.index = rec["i"]
            if isinstance(rec.get("p"), dict):
                self.params = rec["p"]
            key = rec.get("key")
            self.key = key if isinstance(key, str) else None
        elif ev == "cancelled":
            # the run was stopped and the job cancelled on the server: it never ran to its
            # end, so the next run submits the variant again
            self.status = "new"
            self.job_id = None
            self.server = None
            self.key = None
            self.error_code = "cancelled"
            self.error_message = "cancelled when an earlier run was interrupted"
        elif ev == "accepted":
            self.status = "accepted"
            self.key = None  # used: a later submission (--retry-failed) takes a new one
            self.job_id = str(rec.get("job"))
            if self.job_id not in self.jobs:
                self.jobs.append(self.job_id)
            server = rec.get("server")
            self.server = server if isinstance(server, str) and server else None
            self.accepted_at = t
        elif ev in ("rejected", "uncertain"):
            self.status = ev
            if ev == "rejected":
                self.key = None
            if ev == "uncertain" or rec.get("dup") is True:
                self.possibly_duplicated = True
            self.error_code = rec.get("code")
            self.error_message = rec.get("msg")
            self.finished_at = t
        elif ev == "done":
            self.key = None
            status = rec.get("status")
            self.status = status if status in ("completed", "failed") else "failed"
            if rec.get("job") is not None:
                self.job_id = str(rec["job"])
                if self.job_id not in self.jobs:
                    self.jobs.append(self.job_id)
            self.error_code = rec.get("code")
            self.error_message = rec.get("msg")
            self.outputs = list(rec.get("outputs") or [])
            self.files = list(rec.get("files") or [])
            self.finished_at = t
            self.started_at = rec.get("started_at")
            self.completed_at = rec.get("completed_at")
            self.execution_ms = rec.get("execution_ms")

    def end_of_replay(self) -> None:
        """A submission still in flight when the journal ends was cut by a crash."""
        if self.status == "submitting":
            self.status = "uncertain"
            self.possibly_duplicated = True
            self.error_code = self.error_code or "interrupted"
            self.error_message = (
                "the process stopped while this submission was in flight; the server may have "
                "created a job whose id was not recorded"
            )

    def __repr__(self) -> str:
        return f"VariantState({self.id!r}, status={self.status!r}, job_id={self.job_id!r})"


class JournalState:
    """The replayed journal: one :class:`VariantState` per variant id, plus the run records."""

    def __init__(self) -> None:
        self.variants: dict[str, VariantState] = {}
        self.runs: list[dict[str, Any]] = []
        self.skipped_lines = 0

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> JournalState:
        """Replay the journal at ``path`` (missing: empty state)."""
        records, skipped = read_journal(path)
        state = cls.replay(records)
        state.skipped_lines = skipped
        return state

    @classmethod
    def replay(cls, records: Iterable[Mapping[str, Any]]) -> JournalState:
        """Build the state from records, in order."""
        state = cls()
        variants = state.variants
        for rec in records:
            if rec.get("ev") == "run":
                state.runs.append(dict(rec))
                continue
            vid = rec.get("v")
            if not isinstance(vid, str):
                continue
            vs = variants.get(vid)
            if vs is None:
                vs = variants[vid] = VariantState(vid)
            vs.apply(rec)
        for vs in variants.values():
            vs.end_of_replay()
        return state

    def get(self, vid: str) -> VariantState | None:
        """The state of variant ``vid``, or None if the journal never mentions it."""
        return self.variants.get(vid)

    def __iter__(self) -> Iterator[VariantState]:
        return iter(self.variants.values())

    def __len__(self) -> int:
        return len(self.variants)


def now() -> float:
    """The wall-clock time recorded in journal records (seconds since the epoch, ms precision)."""
    return round(time.time(), 3)
