"""The runner's state (the sweep, the directory, the backend, the limits) that scheduling and
resuming share.
"""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..sweep import Sweep
from .backends import Backend, BackendError


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


class _State:
    """The runner's state (the constructor's arguments and the counters)."""

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
        force: bool = False,
        cancel_on_interrupt: bool = True,
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
        self.force = force
        #: cancel the jobs in flight when the run is interrupted (backends that can)
        self.cancel_on_interrupt = cancel_on_interrupt
        self.cancelled_jobs: list[tuple[str, str]] = []
        #: after a run that was stopped (Ctrl-C): (variant id, job id, server) of every job
        #: that is still on the server, and the variants whose submission was in flight
        self.left_on_server: list[tuple[str, str, str | None]] = []
        self.left_uncertain: list[str] = []
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

    if TYPE_CHECKING:  # implemented by the runner (scheduling)

        def _finish(self, gate: _Gate, ok: bool) -> None: ...
