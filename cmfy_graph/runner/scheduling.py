"""Scheduling: bounded concurrency, pacing from the rate-limit headers, the three 429s, one task
per variant (submit, wait, download), progress.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import os
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..journal import JOURNAL_NAME, AsyncJournal, Journal, JournalState, VariantState, now
from ..sweep import Sweep, Variant
from ._state import _Fatal, _Gate
from .backends import _CAPACITY_CODES, Backend, BackendError, JobOutcome, Submission, _public_url
from .lock import DirLock
from .results import OUTPUTS_DIR, SweepReport, write_results
from .resume import _ResumeFromJournal


def _steps(backend: Any) -> str:
    """`` steps 12/20 5/20`` of the running jobs, for backends that report progress."""
    prog = getattr(backend, "progress", None)
    if prog is None:
        return ""
    shown = [f"{v}/{m}" for v, m in list(prog().values())[:4] if m]
    return f" steps {' '.join(shown)}" if shown else ""


class _Again:
    """Try again: wait for the job again, or (``resubmit``) submit the variant again."""

    __slots__ = ("resubmit",)

    def __init__(self, resubmit: bool = False) -> None:
        self.resubmit = resubmit


class _VariantRun:
    """What one variant's processing tracks across its retries."""

    __slots__ = ("v", "vs", "gate", "journal", "report", "tries", "holding")

    def __init__(
        self, v: Variant, vs: VariantState, gate: _Gate, journal: AsyncJournal, report: SweepReport
    ) -> None:
        self.v, self.vs, self.gate, self.journal, self.report = v, vs, gate, journal, report
        self.tries = 0  # transient failures in this run
        self.holding = False  # holds a slot of the gate


class SweepRunner(_ResumeFromJournal):
    """Runs one sweep into one directory (see :mod:`cmfy_graph.runner`).

    ``concurrency``: jobs in flight at most (default: from the backend's limits, else 4).
    ``retry_failed``: submit again the variants whose job failed in an earlier run.
    ``max_attempts``: submissions per variant and run before giving up on transient errors.
    ``progress``: show a tqdm bar on stderr (done / running / queued / failed, rate, ETA).
    """

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
        text += _steps(self.backend)
        paused = self._paused_to - time.monotonic()
        if paused > 0.5:
            text += f" rate-limited={paused:.0f}s"
        bar.set_postfix_str(text, refresh=paused > 0.5)

    def _finish(self, gate: _Gate, ok: bool) -> None:
        self._counts["done" if ok else "failed"] += 1
        if self._bar is not None:
            self._postfix(gate)
            self._bar.update(1)

    # -- one variant --------------------------------------------------------------------------

    async def _process(
        self, v: Variant, vs: VariantState, gate: _Gate, journal: AsyncJournal, report: SweepReport
    ) -> None:
        """One variant: submit (or adopt the journaled job), wait for its end, download its
        outputs, journal each step; retries within this run as the errors allow."""
        run = _VariantRun(v, vs, gate, journal, report)
        if vs.status == "failed" and self.retry_failed:
            vs.status = "new"
        # a completed variant whose outputs are missing is fetched again
        job_id = vs.job_id if vs.status in ("completed", "accepted") else None
        await gate.acquire()
        run.holding = True
        try:
            if job_id is not None and not await self._adopt(v, vs, journal, job_id):
                job_id = None  # its server is not ours: submit again
            if job_id is not None:
                report.resumed += 1
            while True:
                if job_id is None:
                    got = await self._submit(run)
                    if got is None:
                        return  # ended: failed
                    if isinstance(got, _Again):
                        continue
                    job_id = got
                # the job is on the server: wait for its end
                outcome = await self._outcome(run, job_id)
                if outcome is None:
                    return
                if isinstance(outcome, _Again):
                    job_id = None if outcome.resubmit else job_id
                    continue
                await self._complete(run, job_id, outcome)
                return
        finally:
            if run.holding:
                await gate.release()
                if self._job_ended is not None:
                    self._job_ended.set()
            self._postfix(gate)

    async def _submit(self, run: _VariantRun) -> str | _Again | None:
        """Submit the variant (journaled before and after): its job id, ``_Again`` to submit
        again, or None when it ended failed."""
        v, vs = run.v, run.vs
        await self._pace()
        rec: dict[str, Any] = {"ev": "submit", "v": v.id, "i": v.index, "t": now(), "p": v.params}
        idempotent = getattr(self.backend, "idempotent", False)
        if idempotent:
            # the key of a submission whose outcome was lost is sent again: the server then
            # refuses to run it twice
            rec["key"] = vs.key or uuid.uuid4().hex
        await run.journal.write(rec)
        vs.apply(rec)
        run.report.submitted += 1
        try:
            if idempotent:
                submitted = await self.backend.submit(v.prompt, key=rec["key"])  # type: ignore[call-arg]
            else:
                submitted = await self.backend.submit(v.prompt)
        except BackendError as exc:
            return await self._submit_failed(run, exc)
        server = None
        if isinstance(submitted, Submission):
            job_id, server = submitted.job_id, _public_url(submitted.server)
        else:
            job_id = submitted
        rec = {"ev": "accepted", "v": v.id, "job": job_id, "t": now()}
        if server:
            rec["server"] = server
        await run.journal.write(rec)
        vs.apply(rec)
        await self._learn_limit(run.gate)
        return job_id

    async def _submit_failed(self, run: _VariantRun, exc: BackendError) -> _Again | None:
        """A refused or uncertain submission: journaled; the three 429s and transient
        errors are retried within the budget, anything else ends the variant failed."""
        v, vs, gate = run.v, run.vs, run.gate
        ev = "uncertain" if exc.uncertain else "rejected"
        rec = {"ev": ev, "v": v.id, "t": now(), "code": exc.code, "msg": exc.message}
        await run.journal.write(rec)
        vs.apply(rec)
        if exc.fatal:
            raise _Fatal(exc) from exc
        if exc.code in _CAPACITY_CODES:
            # the server holds fewer jobs than we thought: shrink and wait
            await gate.set_limit(max(1, gate.active - 1))
            await gate.release()
            run.holding = False
            await self._wait_job_end(self._sleep_for(run.tries + 1))
            run.tries = min(run.tries + 1, 6)
            await gate.acquire()
            run.holding = True
            return _Again()
        if exc.code == "rate_limit_exceeded":
            pause = exc.retry_after if exc.retry_after else self._sleep_for(run.tries + 1)
            self._pause_until = max(self._pause_until, time.monotonic() + pause)
            run.tries = min(run.tries + 1, 6)
            return _Again()
        if exc.uncertain or exc.transient:
            run.tries += 1
            if vs.attempts < self.max_attempts and run.tries < self.max_attempts:
                await asyncio.sleep(self._sleep_for(run.tries))
                return _Again()
        await self._end(v, vs, run.journal, "failed", None, exc.code, exc.message)
        return None

    async def _outcome(self, run: _VariantRun, job_id: str) -> JobOutcome | _Again | None:
        """Wait for the job's end (then free its slot): its outcome, ``_Again`` to wait again
        (or, ``resubmit``, to submit again: the server lost it), None when given up."""
        try:
            outcome = await self.backend.wait(job_id)
        except BackendError as exc:
            if exc.fatal:
                raise _Fatal(exc) from exc
            if exc.code == "not_found":
                rec = {"ev": "rejected", "v": run.v.id, "t": now(), "code": exc.code}
                rec["msg"] = exc.message
                await run.journal.write(rec)
                run.vs.apply(rec)
                return _Again(resubmit=True)
            run.tries += 1
            if run.tries < self.max_attempts * 4:
                await asyncio.sleep(self._sleep_for(run.tries))
                return _Again()
            self._mark_unfinished(run.vs, exc)
            self._finish(run.gate, False)
            return None
        await run.gate.release()
        run.holding = False
        if self._job_ended is not None:
            self._job_ended.set()
        return outcome

    async def _complete(self, run: _VariantRun, job_id: str, outcome: JobOutcome) -> None:
        """Download a completed job's outputs and journal the end."""
        files: list[str] = []
        if outcome.status == "completed" and self.download and outcome.outputs:
            try:
                files = await self._download(job_id, outcome, run.v)
            except BackendError as exc:
                if exc.fatal:
                    raise _Fatal(exc) from exc
                self._mark_unfinished(run.vs, exc)
                self._finish(run.gate, False)
                return
        await self._end(
            run.v, run.vs, run.journal, outcome.status, outcome, None, None, job_id, files
        )

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
        """Run the sweep (resuming from the journal); write the results; return the report.

        The directory is locked for the run (:class:`~cmfy_graph.runner.lock.DirLock`: a second
        sweep into it is refused, naming this process). A directory whose journal is of a
        different sweep (other ``--set`` values, mode or base workflow) is refused unless
        ``force``; then the variants both share are not run again."""
        with DirLock(self.out_dir):
            return await self._run_locked()

    def _check_same_sweep(self, state: JournalState, mine: str) -> None:
        """Refuse a journal of another sweep (``mine``: this sweep's digest of variant ids)."""
        if not state.runs or self.force:
            return
        last = state.runs[-1]
        if "ids" in last:
            same = last["ids"] == mine
        else:  # a journal of an older version: compare what it recorded
            mine_old = {
                "sweep": self.sweep.base_digest,
                "n": len(self.sweep),
                "mode": self.sweep.mode,
                "params": list(self.sweep.labels),
            }
            same = all(last[k] == v for k, v in mine_old.items() if k in last)
        if same:
            return
        from ..sweep import SweepError

        theirs = ", ".join(str(p) for p in last.get("params") or []) or "?"
        ours = ", ".join(self.sweep.labels)
        raise SweepError(
            f"{self.out_dir} holds the results of a different sweep ({last.get('n')} variants "
            f"of {theirs}, {last.get('mode')}); this one has {len(self.sweep)} variants of "
            f"{ours}, {self.sweep.mode}. Give it another --out, or --force to run it here "
            "(variants both share are not run again; results.jsonl then lists this sweep's)"
        )

    def _ids_digest(self) -> str:
        h = hashlib.blake2b(digest_size=16)
        for vid in sorted(self.sweep.ids()):
            h.update(vid.encode())
        return h.hexdigest()

    def _left_behind(self, state: JournalState) -> None:
        """What a stopped run leaves: jobs on the server, submissions in flight."""
        self.left_on_server = []
        self.left_uncertain = []
        for vid in self.sweep.ids():
            vs = state.variants.get(vid)
            if vs is None:
                continue
            if vs.status == "accepted" and vs.job_id is not None:
                self.left_on_server.append((vid, vs.job_id, vs.server))
            elif vs.status in ("submitting", "uncertain"):
                self.left_uncertain.append(vid)

    async def _run_locked(self) -> SweepReport:
        t0 = time.monotonic()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        jpath = self.out_dir / JOURNAL_NAME
        state = JournalState.load(jpath)
        ids_digest = self._ids_digest()  # sorts every variant id: once per run
        self._check_same_sweep(state, ids_digest)
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
        self._bar = bar = self._progress_bar()
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
                    "ids": ids_digest,
                }
            )
            todo = self._todo(state.variants, report, gate)
            try:
                fatal = await self._work(todo, workers, gate, journal, report)
            except (asyncio.CancelledError, KeyboardInterrupt):
                await self._cancel_in_flight(state, journal)
                raise
            await journal.drain()
        finally:
            try:
                await journal.drain()  # no write may be left in flight on a closed descriptor
            except BaseException:  # noqa: BLE001 - a failed write is a crash the journal tolerates
                pass
            journal.close()
            self._left_behind(state)
            if bar is not None:
                self._postfix(gate)
                if self.left_on_server or self.left_uncertain:
                    # stopped: the jobs are still on the server, not "running=0"
                    bar.set_postfix_str(
                        f"stopped; on the server: {len(self.left_on_server)}"
                        + (
                            f", in flight: {len(self.left_uncertain)}"
                            if self.left_uncertain
                            else ""
                        )
                    )
                bar.close()
            for vs in state.variants.values():
                vs.end_of_replay()  # a submission cut short: what the next run will assume
            self._tally(state, report)
            report.elapsed = time.monotonic() - t0
            write_results(self.out_dir, self.sweep, state)
        if fatal is not None:
            raise fatal
        return report

    async def _cancel_in_flight(self, state: JournalState, journal: AsyncJournal) -> None:
        """Interrupted: cancel the jobs this sweep has on the server (when the backend can),
        each journaled (``cancelled``) so the next run submits the variant again.

        The journal on disk is the truth here: a record written just before the interruption
        may not have reached the in-memory state (the task was cancelled as its write
        returned), so the state is replayed from the file first."""
        try:
            await journal.drain()
        except BaseException:  # noqa: BLE001 - a write cut short: the file says what landed
            pass
        disk = JournalState.load(self.out_dir / JOURNAL_NAME)
        for vid in self.sweep.ids():
            if vid in disk.variants:
                state.variants[vid] = disk.variants[vid]
        cancel = getattr(self.backend, "cancel", None)
        if cancel is None or not self.cancel_on_interrupt:
            return
        for vid in self.sweep.ids():
            vs = state.variants.get(vid)
            if vs is None or vs.status != "accepted" or vs.job_id is None:
                continue
            job = vs.job_id
            try:
                await asyncio.wait_for(asyncio.shield(cancel(job)), 10)
            except (BackendError, asyncio.TimeoutError, asyncio.CancelledError):
                continue  # left on the server: reported as such
            rec = {"ev": "cancelled", "v": vid, "job": job, "t": now()}
            try:
                await journal.write(rec)
            except BaseException:  # noqa: BLE001 - the journal is closing; the next run waits for the job
                continue
            vs.apply(rec)
            self.cancelled_jobs.append((vid, job))

    def _progress_bar(self) -> Any:
        if not self.progress:
            return None
        tqdm = importlib.import_module("tqdm").tqdm
        return tqdm(
            total=self._total,
            unit="variant",
            file=sys.stderr,
            dynamic_ncols=True,
            mininterval=0.5,
            smoothing=0.1,
        )

    async def _work(
        self,
        todo: Any,
        workers: int,
        gate: _Gate,
        journal: AsyncJournal,
        report: SweepReport,
    ) -> BackendError | None:
        """Process the variants with ``workers`` tasks; the fatal backend error that stopped
        them, if one did (then calls in flight get ``stop_grace`` seconds to end)."""

        async def worker() -> None:
            for v, vs in todo:
                await self._process(v, vs, gate, journal, report)

        fatal: BackendError | None = None
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
        return fatal


# ---------------------------------------------------------------------------------------------
# the runner


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
