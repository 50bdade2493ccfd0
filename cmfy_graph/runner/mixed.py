"""A pool of backends used as one: a sweep's variants spread over, say, two ComfyUI servers
and the Comfy API, or cmfy.cloud for what the local GPUs cannot take.

Each submission goes to the backend with the most free room (jobs in flight against its
concurrency limit, ``per_backend`` when it states none). The backend's label goes into the
server recorded in the journal (``"comfyui-1::http://10.0.0.5:8188"``), so a resumed sweep
waits for a job on the backend that holds it, never on another.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .backends import Backend, BackendError, JobOutcome, Limits, Submission, _public_url

__all__ = ["MixedBackend"]

_SEP = "::"


class MixedBackend:
    """Several backends as one (see the module docstring). ``labels`` name them in the
    journal (default: ``backend-0``, ``backend-1``, ...); keep them stable across runs."""

    def __init__(
        self,
        backends: Sequence[Backend],
        labels: Sequence[str] | None = None,
        *,
        per_backend: int = 4,
    ) -> None:
        if not backends:
            raise ValueError("a mixed pool needs at least one backend")
        self.backends = list(backends)
        self.labels = (
            list(labels) if labels is not None else [f"backend-{i}" for i in range(len(backends))]
        )
        if len(set(self.labels)) != len(self.labels) or len(self.labels) != len(self.backends):
            raise ValueError("one distinct label per backend")
        self.per_backend = per_backend
        self.in_flight = [0] * len(self.backends)
        self._owner: dict[str, int] = {}
        self._turn = 0

    @property
    def idempotent(self) -> bool:
        """True: a key is taken (and passed on to the backends that use one)."""
        return True

    def _limit(self, i: int) -> int:
        c = self.backends[i].limits().concurrent
        return c if c else self.per_backend

    def _pick(self) -> int:
        n = len(self.backends)
        order = [(self._turn + k) % n for k in range(n)]
        best = min(order, key=lambda i: self.in_flight[i] / self._limit(i))
        self._turn = (best + 1) % n
        return best

    async def submit(self, prompt: dict[str, Any], key: str | None = None) -> str | Submission:
        """Submit to the backend with the most free room; the job's server names it."""
        i = self._pick()
        b = self.backends[i]
        self.in_flight[i] += 1
        try:
            if getattr(b, "idempotent", False):
                got = await b.submit(prompt, key=key)  # type: ignore[call-arg]
            else:
                got = await b.submit(prompt)
        except BaseException:
            self.in_flight[i] -= 1
            raise
        job_id, server = (got.job_id, got.server) if isinstance(got, Submission) else (got, None)
        self._owner[job_id] = i
        return Submission(job_id, f"{self.labels[i]}{_SEP}{_public_url(server) or ''}")

    def _of(self, job_id: str) -> tuple[int, Backend]:
        i = self._owner.get(job_id)
        if i is None:
            raise BackendError(f"job {job_id} is not one of this pool's", code="not_found")
        return i, self.backends[i]

    async def adopt(self, job_id: str, server: str | None) -> bool:
        """A job of an earlier run: on the backend its recorded label names (False when the
        label is not one of this pool's)."""
        if not server or _SEP not in server:
            return False
        label, _, inner = server.partition(_SEP)
        if label not in self.labels:
            return False
        i = self.labels.index(label)
        adopt = getattr(self.backends[i], "adopt", None)
        if adopt is not None and not await adopt(job_id, inner or None):
            return False
        self._owner[job_id] = i
        self.in_flight[i] += 1
        return True

    async def wait(self, job_id: str) -> JobOutcome:
        """Wait for the job on the backend that holds it."""
        i, b = self._of(job_id)
        try:
            return await b.wait(job_id)
        finally:
            self.in_flight[i] = max(0, self.in_flight[i] - 1)

    async def download(self, job_id: str, outcome: JobOutcome, dest: Path, stem: str) -> list[Path]:
        """Download the job's outputs from the backend that holds it."""
        return await self._of(job_id)[1].download(job_id, outcome, dest, stem)

    async def cancel(self, job_id: str) -> None:
        """Cancel the job on its backend (an error when that backend cannot)."""
        b = self._of(job_id)[1]
        cancel = getattr(b, "cancel", None)
        if cancel is None:
            raise BackendError("this backend cannot cancel jobs", code="cannot_cancel")
        await cancel(job_id)

    def limits(self) -> Limits:
        """The pool's concurrency: the sum of its backends'."""
        return Limits(concurrent=sum(self._limit(i) for i in range(len(self.backends))))

    def progress(self) -> dict[str, tuple[Any, Any]]:
        """The latest sampler step of each running job, from the backends that report it."""
        out: dict[str, tuple[Any, Any]] = {}
        for b in self.backends:
            prog = getattr(b, "progress", None)
            if prog is not None:
                out.update(prog())
        return out

    async def aclose(self) -> None:
        """Close every backend."""
        for b in self.backends:
            await b.aclose()
