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

from .backends import (
    Backend,
    BackendError,
    CloudBackend,
    ComfyApiBackend,
    ComfyUIBackend,
    JobOutcome,
    Limits,
    Submission,
)
from .mixed import MixedBackend
from .results import (
    OUTPUTS_DIR,
    RESULTS_CSV,
    RESULTS_JSONL,
    SweepReport,
    results_rows,
    write_results,
)
from .scheduling import SweepRunner, run_sweep

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
    "ComfyApiBackend",
    "MixedBackend",
    "RESULTS_JSONL",
    "RESULTS_CSV",
    "OUTPUTS_DIR",
]
