"""Backends: what the runner submits to (:class:`Backend`), and the adapters of the cmfy.cloud
client (:class:`CloudBackend`), the ComfyUI pool (:class:`ComfyUIBackend`) and the Comfy API v2
(:class:`ComfyApiBackend`).

A backend may also have ``async def cancel(job_id)`` (the runner cancels the jobs in flight when
a sweep is interrupted) and ``idempotent = True`` with ``submit(prompt, key=...)`` (the runner
journals a key per submission and sends it again when the submission's outcome was lost, so the
server never runs it twice).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from ..errors import CmfyGraphError


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
# adapters


def _map_client_error(exc: Exception) -> BackendError:
    """Translate a :mod:`cmfy_graph.client.errors` error into a :class:`BackendError`."""
    from ..client import errors as ce

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
        from ..client import errors as ce

        try:
            job = await self.client.submit(prompt)
        except ce.ApiError as exc:
            raise _map_client_error(exc) from None
        server = getattr(job, "server", None)
        if isinstance(server, str) and server:
            return Submission(str(job.job_id), server)
        return str(job.job_id)

    async def wait(self, job_id: str) -> JobOutcome:
        from ..client import errors as ce

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
        from ..client import errors as ce

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

    async def cancel(self, job_id: str) -> None:
        """Cancel a job (when the client can)."""
        from ..client import errors as ce

        cancel = getattr(self.client, "cancel", None)
        if cancel is None:
            raise BackendError("this backend cannot cancel jobs", code="cannot_cancel")
        try:
            await cancel(job_id)
        except ce.ApiError as exc:
            raise _map_client_error(exc) from None


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
        from ..client._base import RetryPolicy
        from ..client.cloud import AsyncClient

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

    _monitors: list[Any] | None = None

    async def submit(self, prompt: dict[str, Any]) -> str | Submission:
        if self._monitors is None:
            self._start_monitors()
        return await super().submit(prompt)

    def _start_monitors(self) -> None:
        """One websocket reader per server, for the per-job progress the sweep shows."""
        from ..client.comfyui_ws import ProgressMonitor

        pool = getattr(self.client, "pool", None)
        clients = getattr(pool, "clients", None) or []
        self._monitors = [ProgressMonitor(c) for c in clients]

    def progress(self) -> dict[str, tuple[Any, Any]]:
        """The latest sampler step of each running job: ``{job_id: (value, max)}``."""
        out: dict[str, tuple[Any, Any]] = {}
        for m in self._monitors or []:
            for pid, (_node, value, mx) in list(m.progress.items()):
                out[pid] = (value, mx)
        return out

    async def aclose(self) -> None:
        for m in self._monitors or []:
            m.stop()
        await super().aclose()

    async def adopt(self, job_id: str, server: str | None) -> bool:
        """Follow ``job_id`` on ``server`` (True), or False when ``server`` is None (a journal
        of an older version) or not one of the pool's servers."""
        from ..client import errors as ce

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


class ComfyApiBackend(_ClientBackend):
    """The Comfy API v2 through :class:`cmfy_graph.client.AsyncComfyApiClient`: every create
    carries the runner's idempotency key for the variant."""

    idempotent = True

    @classmethod
    def create(
        cls,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        spec: Any = None,
        wait_timeout: float = 3600.0,
        poll_interval: float = 1.0,
    ) -> ComfyApiBackend:
        """A backend with its own client (URL and key from the arguments or
        ``COMFY_BASE_URL`` / ``COMFY_API_KEY``); prompts are not linted per variant."""
        from ..client.aio import AsyncComfyApiClient

        client = AsyncComfyApiClient(base_url, api_key=api_key, spec=spec, validate=False)
        return cls(client, wait_timeout=wait_timeout, poll_interval=poll_interval)

    async def submit(self, prompt: dict[str, Any], key: str | None = None) -> str | Submission:
        from ..client import errors as ce

        try:
            job = await self.client.submit(prompt, idempotency_key=key)
        except ce.ApiError as exc:
            raise _map_client_error(exc) from None
        return str(job.job_id)

    _progress: dict[str, tuple[Any, Any]] | None = None

    async def wait(self, job_id: str) -> JobOutcome:
        from ..client import errors as ce

        if self._progress is None:
            self._progress = {}
        store = self._progress

        def note(ev: Any) -> None:
            if ev.event == "progress" and ev.max:
                store[job_id] = (ev.value, ev.max)

        try:
            job = await self.client.wait(
                job_id, timeout=self.wait_timeout, poll_interval=self.poll_interval, on_event=note
            )
        except ce.ApiError as exc:
            raise _map_client_error(exc) from None
        finally:
            store.pop(job_id, None)
        return _outcome_of(job)

    def progress(self) -> dict[str, tuple[Any, Any]]:
        """The latest sampler step of each running job: ``{job_id: (value, max)}``."""
        return dict(self._progress or {})

    def limits(self) -> Limits:
        return Limits()


_CAPACITY_CODES = ("concurrent_limit_reached", "queue_full")
