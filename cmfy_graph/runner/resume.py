"""Resuming from the journal: which variants still need work, adopting jobs an earlier run
submitted, marking what a stop left unfinished.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..journal import AsyncJournal, JournalState, VariantState, now
from ..sweep import Variant
from ._state import _Fatal, _Gate, _State
from .backends import BackendError
from .results import SweepReport


class _ResumeFromJournal(_State):
    """Resuming from the journal."""

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
