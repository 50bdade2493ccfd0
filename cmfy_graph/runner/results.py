"""Results: the report of a run (:class:`SweepReport`) and the results files (``results.jsonl``,
``results.csv``).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..journal import JournalState, VariantState
from ..sweep import Sweep, Variant

RESULTS_JSONL = "results.jsonl"
RESULTS_CSV = "results.csv"
OUTPUTS_DIR = "outputs"


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
