"""Running a sweep against a backend: bounded concurrency, a crash-safe journal, results files.

:func:`run_sweep` (or :class:`SweepRunner`) submits every variant of a :class:`~cmfy_graph.sweep.Sweep`
to a :class:`Backend`, waits for each job, downloads its outputs into ``DIR/outputs/`` and
writes ``DIR/results.jsonl`` and ``DIR/results.csv`` (one row per variant). Every step is
journaled first (``DIR/journal.jsonl``, see :mod:`cmfy_graph.journal`), so running the same
sweep into the same directory again resumes it:

- completed variants are not submitted again (their outputs are fetched again only if the files
  are gone); failed ones are reported, or submitted again with ``retry_failed=True``;
- a job whose id was journaled is waited for again, never resubmitted (on a backend of several
  servers, only if the server the journal names for it is still one of them: else it is
  submitted again and reported as *possibly duplicated*);
- a variant whose submission was in flight when the process died (or whose POST ended in a way
  that may have created a job) is submitted again and reported as *possibly duplicated*.

Concurrency: at most ``concurrency`` jobs in flight (submitted and not ended). Without it, the
limit follows the backend (the ``X-Concurrent-Limit`` header of cmfy.cloud, the pool size of
self-hosted servers). The three 429s: ``rate_limit_exceeded`` pauses all submissions for
``retry_after`` (and submissions wait for ``X-RateLimit-Reset`` when the window's budget is
spent); ``concurrent_limit_reached`` and ``queue_full`` lower the limit to what is in flight and
retry when a job ends.

A backend is anything with the :class:`Backend` methods; :class:`CloudBackend` and
:class:`ComfyUIBackend` adapt the clients of :mod:`cmfy_graph.client`.
"""

from __future__ import annotations

import asyncio
import csv
import importlib
import json
import os
import random
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from .errors import CmfyGraphError
from .journal import JOURNAL_NAME, AsyncJournal, Journal, JournalState, VariantState, now
from .sweep import Sweep, Variant

__all__ = [
    "Backend",
    "BackendError",
    "JobOutcome",
    "Limits",
    "Submission",
    "SweepRunner",
    "SweepReport",
    "run_sweep",
    "write_results",
    "results_rows",
    "CloudBackend",
    "ComfyUIBackend",
    "RESULTS_JSONL",
    "RESULTS_CSV",
    "OUTPUTS_DIR",
]

RESULTS_JSONL = "results.jsonl"
RESULTS_CSV = "results.csv"
OUTPUTS_DIR = "outputs"

_CAPACITY_CODES = ("concurrent_limit_reached", "queue_full")


class BackendError(CmfyGraphError):
    """A backend call failed.

    ``uncertain``: a submission that may have created a job anyway (no job id came back).
    ``transient``: the same call may succeed later (network, 5xx on a read, a 429).
    ``fatal``: nothing will work (authentication, permissions, configuration): stop the sweep.
    Otherwise the failure is the variant's own (e.g. the workflow was refused).
    """

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        code: str = "backend_error",
        retry_after: float | None = None,
        transient: bool = False,
        uncertain: bool = False,
        fatal: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retry_after = retry_after
        self.transient = transient
        self.uncertain = uncertain
        self.fatal = fatal


class JobOutcome:
    """How a job ended: ``status`` (``completed`` or ``failed``), output URLs, error, timings."""

    __slots__ = (
        "status",
        "outputs",
        "error_code",
        "error_message",
        "started_at",
        "completed_at",
        "execution_ms",
        "job",
    )

    def __init__(
        self,
        status: str,
        outputs: Sequence[str] = (),
        *,
        error_code: str | None = None,
        error_message: str | None = None,
        started_at: str | None = None,
        completed_at: str | None = None,
        execution_ms: float | None = None,
        job: Any = None,
    ) -> None:
        self.status = status
        self.outputs = list(outputs)
        self.error_code = error_code
        self.error_message = error_message
        self.started_at = started_at
        self.completed_at = completed_at
        self.execution_ms = execution_ms
        self.job = job  # the backend's own job object, when it has one

    def __repr__(self) -> str:
        return f"JobOutcome({self.status!r}, outputs={len(self.outputs)}, code={self.error_code!r})"


class Limits:
    """What the backend knows of its limits (``None``: unknown).

    ``concurrent``: jobs in flight allowed; ``remaining`` requests in the current rate window,
    which ends at ``reset`` (unix time).
    """

    __slots__ = ("concurrent", "per_minute", "remaining", "reset")

    def __init__(
        self,
        concurrent: int | None = None,
        per_minute: int | None = None,
        remaining: int | None = None,
        reset: float | None = None,
    ) -> None:
        self.concurrent = concurrent
        self.per_minute = per_minute
        self.remaining = remaining
        self.reset = reset


class Submission:
    """What a backend of several servers returns from ``submit``: the job id and the base URL
    of the ``server`` that holds it (journaled, so that a resumed run can find the job)."""

    __slots__ = ("job_id", "server")

    def __init__(self, job_id: str, server: str | None = None) -> None:
        self.job_id = job_id
        self.server = server

    def __repr__(self) -> str:
        return f"Submission({self.job_id!r}, server={self.server!r})"


class Backend(Protocol):
    """What the runner needs from a place that runs jobs (all methods async but ``limits``).

    A backend may also have ``async def adopt(job_id, server) -> bool``: called on resume,
    before waiting for a job of an earlier run, with the server the journal recorded for it
    (None if none was). It makes the job known to the backend and returns True, or returns
    False when the backend cannot reach that job (its server is not one of the backend's): the
    runner then submits the variant again and reports it as possibly duplicated.
    """

    async def submit(self, prompt: dict[str, Any]) -> str | Submission:
        """Submit an API prompt; return the job id (or a :class:`Submission` naming the server
        that holds the job). Raise :class:`BackendError`."""
        ...

    async def wait(self, job_id: str) -> JobOutcome:
        """Wait until the job ends. Raise :class:`BackendError` (``code="not_found"`` when the
        job is unknown)."""
        ...

    async def download(self, job_id: str, outcome: JobOutcome, dest: Path, stem: str) -> list[Path]:
        """Save the job's outputs in ``dest`` as ``stem-<k><ext>``; return the files."""
        ...

    def limits(self) -> Limits:
        """The limits learnt so far (from response headers)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


# ---------------------------------------------------------------------------------------------
# report and results


class SweepReport:
    """The outcome of a run: counts, ids of possibly duplicated variants, result file paths."""

    def __init__(self, out_dir: Path, total: int) -> None:
        self.out_dir = out_dir
        self.total = total
        self.completed = 0
        self.failed = 0
        self.pending = 0
        self.skipped = 0  # already completed before this run
        self.submitted = 0  # submissions sent in this run
        self.resumed = 0  # jobs of an earlier run waited for again
        self.possibly_duplicated: list[str] = []
        self.failures: dict[str, int] = {}
        self.elapsed = 0.0
        self.journal_skipped_lines = 0
        self.results_jsonl = out_dir / RESULTS_JSONL
        self.results_csv = out_dir / RESULTS_CSV

    @property
    def ok(self) -> bool:
        """True when every variant completed."""
        return self.completed == self.total

    def summary(self) -> str:
        """One line for humans."""
        parts = [f"{self.completed}/{self.total} completed"]
        if self.failed:
            codes = ", ".join(f"{c}: {n}" for c, n in sorted(self.failures.items()))
            parts.append(f"{self.failed} failed ({codes})")
        if self.pending:
            parts.append(f"{self.pending} not run")
        if self.skipped:
            parts.append(f"{self.skipped} already done")
        if self.possibly_duplicated:
            parts.append(f"{len(self.possibly_duplicated)} possibly duplicated")
        return ", ".join(parts) + f" in {self.elapsed:.1f}s; results in {self.results_jsonl}"

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "total": self.total,
            "completed": self.completed,
            "failed": self.failed,
            "pending": self.pending,
            "skipped": self.skipped,
            "submitted": self.submitted,
            "resumed": self.resumed,
            "possibly_duplicated": list(self.possibly_duplicated),
            "failures": dict(self.failures),
            "elapsed_s": round(self.elapsed, 3),
            "results_jsonl": str(self.results_jsonl),
            "results_csv": str(self.results_csv),
        }


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat(timespec="milliseconds")


def _row(v: Variant, vs: VariantState | None) -> dict[str, Any]:
    status = "pending"
    if vs is not None:
        if vs.status in ("completed", "failed"):
            status = vs.status
        elif vs.status in ("rejected", "uncertain"):
            status = "failed"
        elif vs.status in ("accepted", "submitting"):
            status = "running"
    duration = None
    if vs is not None and vs.submitted_at is not None and vs.finished_at is not None:
        duration = round(vs.finished_at - vs.submitted_at, 3)
    return {
        "index": v.index,
        "id": v.id,
        "params": v.params,
        "status": status,
        "job_id": vs.job_id if vs else None,
        "server": vs.server if vs else None,
        "attempts": vs.attempts if vs else 0,
        "possibly_duplicated": bool(vs and vs.possibly_duplicated),
        "submitted_at": _iso(vs.submitted_at) if vs else None,
        "accepted_at": _iso(vs.accepted_at) if vs else None,
        "finished_at": _iso(vs.finished_at) if vs else None,
        "duration_s": duration,
        "started_at": vs.started_at if vs else None,
        "completed_at": vs.completed_at if vs else None,
        "execution_ms": vs.execution_ms if vs else None,
        "error_code": vs.error_code if vs and status != "completed" else None,
        "error_message": vs.error_message if vs and status != "completed" else None,
        "outputs": list(vs.outputs) if vs else [],
        "files": list(vs.files) if vs else [],
        "jobs": list(vs.jobs) if vs else [],
    }


def results_rows(sweep: Sweep, state: JournalState) -> Iterator[dict[str, Any]]:
    """One result row per variant of ``sweep``, from the journal ``state``."""
    variants = state.variants
    for v in sweep:
        yield _row(v, variants.get(v.id))


_CSV_FIELDS = (
    "index",
    "id",
    "status",
    "job_id",
    "server",
    "attempts",
    "possibly_duplicated",
    "submitted_at",
    "finished_at",
    "duration_s",
    "started_at",
    "completed_at",
    "execution_ms",
    "error_code",
    "error_message",
    "outputs",
    "files",
)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(str(x) for x in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def write_results(out_dir: Path, sweep: Sweep, state: JournalState) -> tuple[Path, Path]:
    """Write ``results.jsonl`` and ``results.csv`` into ``out_dir`` (atomically: a temporary
    file renamed over the old one). CSV columns: index, id, one per parameter, then the rest;
    lists are space-separated."""
    jpath, cpath = out_dir / RESULTS_JSONL, out_dir / RESULTS_CSV
    jtmp, ctmp = jpath.with_suffix(".jsonl.tmp"), cpath.with_suffix(".csv.tmp")
    labels = list(sweep.labels)
    header = ["index", "id", *labels, *_CSV_FIELDS[2:]]
    with (
        open(jtmp, "w", encoding="utf-8") as jf,
        open(ctmp, "w", encoding="utf-8", newline="") as cf,
    ):
        writer = csv.writer(cf)
        writer.writerow(header)
        for row in results_rows(sweep, state):
            jf.write(json.dumps(row, ensure_ascii=False) + "\n")
            params = row["params"]
            writer.writerow(
                [row["index"], row["id"]]
                + [_csv_cell(params.get(lb)) for lb in labels]
                + [_csv_cell(row[f]) for f in _CSV_FIELDS[2:]]
            )
        jf.flush()
        os.fsync(jf.fileno())
        cf.flush()
        os.fsync(cf.fileno())
    os.replace(jtmp, jpath)
    os.replace(ctmp, cpath)
    return jpath, cpath


# ---------------------------------------------------------------------------------------------
# the runner


class _Gate:
    """A semaphore whose limit can change while tasks hold it."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.active = 0
        self._cond = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.active < self.limit)
            self.active += 1

    async def release(self) -> None:
        async with self._cond:
            self.active -= 1
            self._cond.notify_all()

    async def set_limit(self, limit: int) -> None:
        async with self._cond:
            self.limit = max(1, limit)
            self._cond.notify_all()


class _Fatal(Exception):
    def __init__(self, error: BackendError) -> None:
        super().__init__(str(error))
        self.error = error


class SweepRunner:
    """Runs one sweep into one directory (see the module docstring).

    ``concurrency``: jobs in flight at most (default: from the backend's limits, else 4).
    ``retry_failed``: submit again the variants whose job failed in an earlier run.
    ``max_attempts``: submissions per variant and run before giving up on transient errors.
    ``progress``: show a tqdm bar on stderr (done / running / queued / failed, rate, ETA).
    """

    def __init__(
        self,
        sweep: Sweep,
        out_dir: str | os.PathLike[str],
        backend: Backend,
        *,
        concurrency: int | None = None,
        retry_failed: bool = False,
        max_attempts: int = 5,
        progress: bool = True,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        download: bool = True,
    ) -> None:
        if concurrency is not None and concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.sweep = sweep
        self.out_dir = Path(out_dir)
        self.backend = backend
        self.concurrency = concurrency
        self.retry_failed = retry_failed
        self.max_attempts = max(1, max_attempts)
        self.progress = progress
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.download = download
        self._pause_until = 0.0
        self._paused_to = 0.0
        self._stopping = False
        self.stop_grace = 5.0
        self._ceiling = concurrency if concurrency is not None else 4
        self._counts = {"done": 0, "failed": 0}
        self._bar: Any = None
        self._job_ended: asyncio.Event | None = None

    # -- helpers ------------------------------------------------------------------------------

    def _sleep_for(self, attempt: int) -> float:
        delay: float = min(self.max_backoff, self.backoff * 2.0 ** max(0, attempt - 1))
        return delay * random.uniform(0.5, 1.0)

    async def _pace(self) -> None:
        """Honour a rate-limit pause and a spent request window before submitting."""
        while True:
            wait = self._pause_until - time.monotonic()
            lim = self.backend.limits()
            if lim.remaining is not None and lim.remaining <= 0 and lim.reset is not None:
                wait = max(wait, min(60.0, lim.reset - time.time()))
            if wait <= 0:
                return
            self._paused_to = max(self._paused_to, time.monotonic() + wait)
            self._postfix(self._gate)
            await asyncio.sleep(wait)

    async def _learn_limit(self, gate: _Gate) -> None:
        """After an accepted submission: follow the server's concurrency header (never above
        it, even with an explicit ``concurrency``), and win back one slot lost to a capacity
        429 (additive increase)."""
        lim = self.backend.limits()
        ceiling = self._ceiling
        if lim.concurrent is not None and lim.concurrent > 0:
            ceiling = (
                lim.concurrent
                if self.concurrency is None
                else min(self.concurrency, lim.concurrent)
            )
            self._ceiling = ceiling
        if gate.limit > ceiling:
            await gate.set_limit(ceiling)
        elif gate.limit < ceiling:
            await gate.set_limit(gate.limit + 1)

    def _postfix(self, gate: _Gate) -> None:
        bar = self._bar
        if bar is None:
            return
        running = gate.active
        done, failed = self._counts["done"], self._counts["failed"]
        queued = max(0, self._total - done - failed - running)
        text = f"done={done} running={running} queued={queued} failed={failed}"
        paused = self._paused_to - time.monotonic()
        if paused > 0.5:
            text += f" rate-limited={paused:.0f}s"
        bar.set_postfix_str(text, refresh=paused > 0.5)

    def _finish(self, gate: _Gate, ok: bool) -> None:
        self._counts["done" if ok else "failed"] += 1
        if self._bar is not None:
            self._postfix(gate)
            self._bar.update(1)

    def _needs_work(self, vs: VariantState | None) -> bool:
        if vs is None:
            return True
        if vs.status == "completed":
            if not self.download:
                return False
            return not all((self.out_dir / f).exists() for f in vs.files)
        if vs.status == "failed":
            return self.retry_failed
        return True

    # -- one variant --------------------------------------------------------------------------

    async def _process(
        self, v: Variant, vs: VariantState, gate: _Gate, journal: AsyncJournal, report: SweepReport
    ) -> None:
        backend = self.backend
        tries = 0  # transient failures in this run
        if vs.status == "failed" and self.retry_failed:
            vs.status = "new"
        if vs.status == "completed":
            job_id: str | None = vs.job_id  # outputs missing: fetch them again
        else:
            job_id = vs.job_id if vs.status == "accepted" else None
        await gate.acquire()
        holding = True
        try:
            if job_id is not None and not await self._adopt(v, vs, journal, job_id):
                job_id = None  # its server is not ours: submit again
            if job_id is not None:
                report.resumed += 1
            while True:
                if job_id is None:
                    await self._pace()
                    rec: dict[str, Any] = {
                        "ev": "submit",
                        "v": v.id,
                        "i": v.index,
                        "t": now(),
                        "p": v.params,
                    }
                    await journal.write(rec)
                    vs.apply(rec)
                    report.submitted += 1
                    try:
                        submitted = await backend.submit(v.prompt)
                    except BackendError as exc:
                        job_id = None
                        ev = "uncertain" if exc.uncertain else "rejected"
                        rec = {
                            "ev": ev,
                            "v": v.id,
                            "t": now(),
                            "code": exc.code,
                            "msg": exc.message,
                        }
                        await journal.write(rec)
                        vs.apply(rec)
                        if exc.fatal:
                            raise _Fatal(exc) from exc
                        if exc.code in _CAPACITY_CODES:
                            # the server holds fewer jobs than we thought: shrink and wait
                            await gate.set_limit(max(1, gate.active - 1))
                            await gate.release()
                            holding = False
                            await self._wait_job_end(self._sleep_for(tries + 1))
                            tries = min(tries + 1, 6)
                            await gate.acquire()
                            holding = True
                            continue
                        if exc.code == "rate_limit_exceeded":
                            pause = (
                                exc.retry_after if exc.retry_after else self._sleep_for(tries + 1)
                            )
                            self._pause_until = max(self._pause_until, time.monotonic() + pause)
                            tries = min(tries + 1, 6)
                            continue
                        if exc.uncertain or exc.transient:
                            tries += 1
                            if vs.attempts < self.max_attempts and tries < self.max_attempts:
                                await asyncio.sleep(self._sleep_for(tries))
                                continue
                        await self._end(v, vs, journal, "failed", None, exc.code, exc.message)
                        return
                    server = None
                    if isinstance(submitted, Submission):
                        job_id, server = submitted.job_id, _public_url(submitted.server)
                    else:
                        job_id = submitted
                    rec = {"ev": "accepted", "v": v.id, "job": job_id, "t": now()}
                    if server:
                        rec["server"] = server
                    await journal.write(rec)
                    vs.apply(rec)
                    await self._learn_limit(gate)
                # the job is on the server: wait for its end
                try:
                    outcome = await backend.wait(job_id)
                except BackendError as exc:
                    if exc.fatal:
                        raise _Fatal(exc) from exc
                    if exc.code == "not_found":
                        rec = {
                            "ev": "rejected",
                            "v": v.id,
                            "t": now(),
                            "code": exc.code,
                            "msg": exc.message,
                        }
                        await journal.write(rec)
                        vs.apply(rec)
                        job_id = None
                        continue
                    tries += 1
                    if tries < self.max_attempts * 4:
                        await asyncio.sleep(self._sleep_for(tries))
                        continue
                    self._mark_unfinished(vs, exc)
                    self._finish(gate, False)
                    return
                await gate.release()
                holding = False
                if self._job_ended is not None:
                    self._job_ended.set()
                files: list[str] = []
                if outcome.status == "completed" and self.download and outcome.outputs:
                    try:
                        files = await self._download(job_id, outcome, v)
                    except BackendError as exc:
                        if exc.fatal:
                            raise _Fatal(exc) from exc
                        self._mark_unfinished(vs, exc)
                        self._finish(gate, False)
                        return
                await self._end(v, vs, journal, outcome.status, outcome, None, None, job_id, files)
                return
        finally:
            if holding:
                await gate.release()
                if self._job_ended is not None:
                    self._job_ended.set()
            self._postfix(gate)

    async def _adopt(
        self, v: Variant, vs: VariantState, journal: AsyncJournal, job_id: str
    ) -> bool:
        """Make a job of an earlier run known to the backend (see :class:`Backend`); when it
        cannot be, journal why (``rejected`` with ``dup``) and return False."""
        adopt = getattr(self.backend, "adopt", None)
        if adopt is None:
            return True
        try:
            if await adopt(job_id, vs.server):
                return True
            where = vs.server or "a server this journal did not record"
            code = "server_not_in_pool" if vs.server else "server_unknown"
            msg = (
                f"job {job_id} of an earlier run is on {where}, which this run does not use; "
                f"submitted again (the earlier job may still run)"
            )
        except BackendError as exc:
            if exc.fatal:
                raise _Fatal(exc) from exc
            code, msg = exc.code, exc.message
        rec = {"ev": "rejected", "v": v.id, "t": now(), "code": code, "msg": msg, "dup": True}
        await journal.write(rec)
        vs.apply(rec)
        return False

    def _mark_unfinished(self, vs: VariantState, exc: BackendError) -> None:
        """The job's end or its outputs could not be fetched: the journal keeps the job as
        accepted (a rerun waits for it again); this run reports the error."""
        vs.error_code = exc.code
        vs.error_message = exc.message

    async def _wait_job_end(self, timeout: float) -> None:
        ev = self._job_ended
        if ev is None:
            await asyncio.sleep(timeout)
            return
        ev.clear()
        try:
            await asyncio.wait_for(ev.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    async def _download(self, job_id: str, outcome: JobOutcome, v: Variant) -> list[str]:
        dest = self.out_dir / OUTPUTS_DIR
        tries = 0
        while True:
            try:
                paths = await self.backend.download(job_id, outcome, dest, v.id)
            except BackendError as exc:
                tries += 1
                if exc.fatal or not exc.transient or tries >= self.max_attempts:
                    raise
                await asyncio.sleep(self._sleep_for(tries))
                continue
            out: list[str] = []
            for p in paths:
                try:
                    out.append(Path(p).resolve().relative_to(self.out_dir.resolve()).as_posix())
                except ValueError:
                    out.append(str(p))
            return out

    async def _end(
        self,
        v: Variant,
        vs: VariantState,
        journal: AsyncJournal,
        status: str,
        outcome: JobOutcome | None,
        code: str | None,
        message: str | None,
        job_id: str | None = None,
        files: Sequence[str] = (),
    ) -> None:
        rec: dict[str, Any] = {"ev": "done", "v": v.id, "t": now(), "status": status}
        if job_id is not None:
            rec["job"] = job_id
        if outcome is not None:
            rec["outputs"] = outcome.outputs
            rec["files"] = list(files)
            rec["code"] = outcome.error_code
            rec["msg"] = outcome.error_message
            rec["started_at"] = outcome.started_at
            rec["completed_at"] = outcome.completed_at
            rec["execution_ms"] = outcome.execution_ms
        else:
            rec["code"] = code
            rec["msg"] = message
        await journal.write(rec)
        vs.apply(rec)
        if vs.status == "completed" and vs.possibly_duplicated:
            pass
        self._finish(self._gate, vs.status == "completed")

    # -- the run ------------------------------------------------------------------------------

    async def run(self) -> SweepReport:
        """Run the sweep (resuming from the journal); write the results; return the report."""
        t0 = time.monotonic()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        jpath = self.out_dir / JOURNAL_NAME
        state = JournalState.load(jpath)
        self.state = state
        report = SweepReport(self.out_dir, len(self.sweep))
        report.journal_skipped_lines = state.skipped_lines
        self._total = len(self.sweep)
        journal = AsyncJournal(Journal.open(jpath))
        self._job_ended = asyncio.Event()
        limit = self.concurrency
        if limit is None:
            lim = self.backend.limits()
            limit = lim.concurrent if lim.concurrent else 4
        self._ceiling = limit
        gate = _Gate(limit)
        self._gate = gate
        workers = self.concurrency if self.concurrency is not None else max(limit, 256)
        bar = None
        if self.progress:
            tqdm = importlib.import_module("tqdm").tqdm

            bar = tqdm(
                total=self._total,
                unit="variant",
                file=sys.stderr,
                dynamic_ncols=True,
                mininterval=0.5,
                smoothing=0.1,
            )
        self._bar = bar
        fatal: BackendError | None = None
        try:
            await journal.write(
                {
                    "ev": "run",
                    "t": now(),
                    "sweep": self.sweep.base_digest,
                    "n": self._total,
                    "mode": self.sweep.mode,
                    "params": list(self.sweep.labels),
                }
            )
            variants = state.variants
            todo = self._todo(variants, report, gate)

            async def worker() -> None:
                for v, vs in todo:
                    await self._process(v, vs, gate, journal, report)

            tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
            try:
                done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
                if pending:
                    # a fatal error: start nothing new, let calls in flight end on their own
                    # for a moment (so the journal learns how), then cancel the rest
                    self._stopping = True
                    more, pending = await asyncio.wait(pending, timeout=self.stop_grace)
                    done |= more
                for t in done:
                    exc = t.exception()
                    if isinstance(exc, _Fatal):
                        fatal = fatal or exc.error
                    elif exc is not None:
                        raise exc
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            await journal.drain()
        finally:
            try:
                await journal.drain()  # no write may be left in flight on a closed descriptor
            except BaseException:  # noqa: BLE001 - a failed write is a crash the journal tolerates
                pass
            journal.close()
            if bar is not None:
                self._postfix(gate)
                bar.close()
            for vs in state.variants.values():
                vs.end_of_replay()  # a submission cut short: what the next run will assume
            self._tally(state, report)
            report.elapsed = time.monotonic() - t0
            write_results(self.out_dir, self.sweep, state)
        if fatal is not None:
            raise fatal
        return report

    def _todo(
        self, variants: dict[str, VariantState], report: SweepReport, gate: _Gate
    ) -> Iterator[tuple[Variant, VariantState]]:
        for v in self.sweep:
            if self._stopping:
                return
            vs = variants.get(v.id)
            if not self._needs_work(vs):
                assert vs is not None
                if vs.status == "completed":
                    report.skipped += 1
                self._finish(gate, vs.status == "completed")
                continue
            if vs is None:
                vs = variants[v.id] = VariantState(v.id)
                vs.index = v.index
            yield v, vs

    def _tally(self, state: JournalState, report: SweepReport) -> None:
        variants = state.variants
        for vid in self.sweep.ids():
            vs = variants.get(vid)
            if vs is None or vs.status == "new":
                report.pending += 1
                continue
            if vs.possibly_duplicated:
                report.possibly_duplicated.append(vid)
            if vs.status == "completed":
                report.completed += 1
            elif vs.status in ("failed", "rejected", "uncertain"):
                report.failed += 1
                code = vs.error_code or "failed"
                report.failures[code] = report.failures.get(code, 0) + 1
            else:
                report.pending += 1


def run_sweep(
    sweep: Sweep,
    out_dir: str | os.PathLike[str],
    backend: Backend,
    **options: Any,
) -> SweepReport:
    """Run ``sweep`` into ``out_dir`` on ``backend`` (blocking); see :class:`SweepRunner` for
    the options. Raises :class:`BackendError` when the backend refuses everything (e.g. a bad
    key); the journal and results are written in every case."""

    async def main() -> SweepReport:
        try:
            return await SweepRunner(sweep, out_dir, backend, **options).run()
        finally:
            await backend.aclose()

    return asyncio.run(main())


# ---------------------------------------------------------------------------------------------
# adapters


def _map_client_error(exc: Exception) -> BackendError:
    """Translate a :mod:`cmfy_graph.client.errors` error into a :class:`BackendError`."""
    from .client import errors as ce

    code = getattr(exc, "code", None) or type(exc).__name__
    msg = getattr(exc, "message", None) or str(exc)
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(exc, ce.SubmitUncertainError):
        return BackendError(msg, code=code, uncertain=True)
    if isinstance(exc, ce.AuthenticationError | ce.PermissionDeniedError | ce.ConfigurationError):
        return BackendError(msg, code=code, fatal=True)
    if isinstance(exc, ce.ApiConnectionError):
        # the client already retried (a request that never left, or a GET): the network or the
        # server is down; stop rather than fail every variant one by one
        return BackendError(msg, code=code, fatal=True)
    if isinstance(exc, ce.RateLimitError):
        return BackendError(msg, code=code, retry_after=retry_after, transient=True)
    if isinstance(exc, ce.NotFoundError):
        return BackendError(msg, code="not_found")
    if isinstance(exc, ce.ServerError | ce.WaitTimeout | ce.UnexpectedResponseError):
        return BackendError(msg, code=code, retry_after=retry_after, transient=True)
    return BackendError(msg, code=code)


class _ClientBackend:
    """Shared adapter code over a client with async ``submit/wait/download`` and
    ``rate_limits`` (the cloud :class:`~cmfy_graph.client.AsyncClient`, the ComfyUI pool)."""

    def __init__(
        self, client: Any, *, wait_timeout: float = 3600.0, poll_interval: float = 1.0
    ) -> None:
        self.client = client
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval

    async def submit(self, prompt: dict[str, Any]) -> str | Submission:
        from .client import errors as ce

        try:
            job = await self.client.submit(prompt)
        except ce.ApiError as exc:
            raise _map_client_error(exc) from None
        server = getattr(job, "server", None)
        if isinstance(server, str) and server:
            return Submission(str(job.job_id), server)
        return str(job.job_id)

    async def wait(self, job_id: str) -> JobOutcome:
        from .client import errors as ce

        try:
            job = await self.client.wait(
                job_id,
                timeout=self.wait_timeout,
                poll_interval=self.poll_interval,
                max_poll_interval=max(self.poll_interval, min(10.0, self.poll_interval * 10)),
            )
        except ce.JobFailedError as exc:
            if exc.job is None:
                return JobOutcome("failed", error_code=exc.code, error_message=exc.message)
            job = exc.job
        except ce.ApiError as exc:
            raise _map_client_error(exc) from None
        return _outcome_of(job)

    async def download(self, job_id: str, outcome: JobOutcome, dest: Path, stem: str) -> list[Path]:
        """Fetch the outputs into ``dest/<stem>/`` (emptied first: files there come from an
        interrupted download). The client writes each file under a temporary name and renames
        it when complete."""
        from .client import errors as ce

        target = dest / stem
        try:
            if target.exists():
                for old in target.iterdir():
                    if old.is_file():
                        old.unlink()
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(
                f"cannot write {target}: {exc.strerror}", code="write_failed", fatal=True
            ) from None
        job = outcome.job if outcome.job is not None else job_id
        try:
            paths = await self.client.download(job, target)
        except ce.ApiError as exc:
            raise _map_client_error(exc) from None
        except OSError as exc:
            raise BackendError(
                f"cannot write into {target}: {exc.strerror}", code="write_failed", fatal=True
            ) from None
        return [Path(p) for p in paths]

    def limits(self) -> Limits:
        rl = getattr(self.client, "rate_limits", None)
        if rl is None:
            return Limits()
        return Limits(
            concurrent=getattr(rl, "concurrent_limit", None),
            per_minute=getattr(rl, "limit", None),
            remaining=getattr(rl, "remaining", None),
            reset=getattr(rl, "reset", None),
        )

    async def aclose(self) -> None:
        close = getattr(self.client, "aclose", None)
        if close is not None:
            await close()


def _outcome_of(job: Any) -> JobOutcome:
    def get(name: str) -> Any:
        if isinstance(job, Mapping):
            return job.get(name)
        return getattr(job, name, None)

    status = str(get("status") or "failed")
    outputs = get("outputs")
    urls: list[str] = []
    if isinstance(outputs, Mapping):
        for v in outputs.values():
            if isinstance(v, list):
                urls.extend(str(u) for u in v)
    elif isinstance(outputs, list | tuple):
        urls.extend(str(u) for u in outputs)
    err = get("error")
    code = msg = None
    if isinstance(err, Mapping):
        code, msg = err.get("code"), err.get("message")
    elif err is not None:
        code = getattr(err, "code", None)
        msg = getattr(err, "message", None)
    return JobOutcome(
        status if status in ("completed", "failed") else "failed",
        urls,
        error_code=code,
        error_message=msg,
        started_at=_str_or_none(get("started_at")),
        completed_at=_str_or_none(get("completed_at")),
        execution_ms=get("execution_time_ms"),
        job=job,
    )


def _public_url(url: str | None) -> str | None:
    """``url`` without credentials, query or fragment (what the journal may keep of a server
    URL: never a password or token)."""
    if not url:
        return None
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _str_or_none(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.isoformat()
    return str(v)


class CloudBackend(_ClientBackend):
    """The cmfy.cloud jobs API through :class:`cmfy_graph.client.AsyncClient`."""

    @classmethod
    def create(
        cls,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        spec: Any = None,
        wait_timeout: float = 3600.0,
        poll_interval: float = 1.0,
        max_connections: int = 100,
    ) -> CloudBackend:
        """A backend with its own client (key and URL from the arguments or ``CMFY_API_KEY`` /
        ``CMFY_API_URL``). Prompts are not linted per variant (the sweep checked its values
        and the caller lints one prompt); capacity 429s are retried briefly by the client and
        then left to the runner, which paces itself."""
        from .client._base import RetryPolicy
        from .client.cloud import AsyncClient

        client = AsyncClient(
            api_key,
            base_url,
            spec=spec,
            validate=False,
            retry_policy=RetryPolicy(capacity_initial=0.2, capacity_max=2.0, budget=30.0),
            max_connections=max_connections,
        )
        return cls(client, wait_timeout=wait_timeout, poll_interval=poll_interval)


class ComfyUIBackend(_ClientBackend):
    """Self-hosted ComfyUI servers through :class:`cmfy_graph.client.comfyui.AsyncComfyUIPool`.

    The concurrency limit is the pool's: servers x jobs per server. A prompt id means something
    only on the server that queued it, so each submission reports its server (journaled by the
    runner) and, on resume, :meth:`adopt` hands a job of an earlier run to the new pool, which
    waits for it on that server instead of queuing it again.
    """

    async def adopt(self, job_id: str, server: str | None) -> bool:
        """Follow ``job_id`` on ``server`` (True), or False when ``server`` is None (a journal
        of an older version) or not one of the pool's servers."""
        from .client import errors as ce

        adopt = getattr(self.client, "adopt", None)
        if adopt is None:
            return True  # a client of one server: waiting tells whether it has the job
        if server is None:
            return False
        try:
            adopt(job_id, server)
        except ce.NotFoundError:
            return False
        return True

    def limits(self) -> Limits:
        pool = getattr(self.client, "pool", None)
        clients = getattr(pool, "clients", None)
        per = getattr(pool, "per_server_limit", None)
        if clients is None or not isinstance(per, int):
            return Limits()
        return Limits(concurrent=len(clients) * per)
