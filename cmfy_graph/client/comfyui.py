"""A client for self-hosted ComfyUI servers, and a pool of several of them.

:class:`ComfyUIClient` offers the same ``submit``/``get``/``wait``/``download`` as the cmfy.cloud
client, over ComfyUI's own HTTP routes (``../shared/comfyui/FORMATS.md`` section 1.3-1.4):

- ``POST /prompt`` with ``{"prompt", "client_id"}``. A **200 may carry node_errors**: when at
  least one output validated, ComfyUI queues the prompt and silently drops the outputs that
  failed. The job's ``raw["node_errors"]`` keeps them and a warning is logged. A 400 carries
  ``{"error", "node_errors"}`` and raises :class:`~cmfy_graph.client.errors.InvalidWorkflowError`;
  a non-JSON 500 (e.g. a UI workflow posted as a prompt) raises ``ServerError``.
- ``GET /history/{id}`` is **empty while the prompt is queued or running**: the state then comes
  from ``GET /queue`` (``queue_running`` / ``queue_pending``).
- ``GET /view?filename=&subfolder=&type=`` serves outputs; ``POST /interrupt`` stops the running
  prompt; ``POST /queue {"delete": [id]}`` removes a pending one.

:class:`ComfyUIPool` spreads jobs over several servers round-robin with a per-server limit of
jobs in flight: the step past one GPU. A prompt id means something only on the server that
queued it (``Job.server``); :meth:`ComfyUIPool.adopt` hands a new pool a job of an earlier
process (e.g. a sweep resumed after a crash) so it can be waited for instead of queued again.

Live events (per-node and per-step progress) come from ComfyUI's websocket:
:meth:`ComfyUIClient.live` opens it before queueing, :meth:`ComfyUIClient.wait` with
``on_event`` streams them (reconnecting, or falling back to polling ``/history``). A prompt's
local input files (a ``Path`` or an existing local path in ``LoadImage.image`` and the other
upload inputs) are uploaded first (``POST /upload/image``), named by content, and not sent
again when the server already has them (``HEAD /view?type=input``): see
:mod:`cmfy_graph.client.uploads`.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

from ._base import (
    Job,
    JobError,
    check_prompt_shape,
    error_from_response,
    lint_prompt,
    output_filenames,
    summarise_node_errors,
    to_prompt,
)
from .errors import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    ConfigurationError,
    NotFoundError,
    SubmitUncertainError,
    UnexpectedResponseError,
    WaitTimeout,
)

if TYPE_CHECKING:
    import httpx

    from .comfyui_ws import LiveEvents
    from .events import EventHandler

__all__ = ["ComfyUIClient", "ComfyUIPool", "AsyncComfyUIPool", "DEFAULT_COMFYUI_URL"]

log = logging.getLogger("cmfy_graph.client.comfyui")

DEFAULT_COMFYUI_URL = "http://127.0.0.1:8188"


def _server_key(url: str) -> str:
    """A server URL as compared by :meth:`ComfyUIPool.server_url`: scheme, host (lower case),
    port and path without a trailing slash; no credentials, query or fragment."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    netloc = host if port is None or port == default else f"{host}:{port}"
    return f"{parts.scheme.lower()}://{netloc}{parts.path.rstrip('/')}"


def _ms_to_dt(ms: Any) -> datetime | None:
    if isinstance(ms, (int, float)) and not isinstance(ms, bool):
        return datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc)
    return None


class ComfyUIClient:
    """Blocking client of one ComfyUI server.

    ``base_url`` defaults to ``http://127.0.0.1:8188``. ``headers`` (e.g. a reverse proxy's
    token) are sent to that server only, never to other hosts; so is a ``user:password@`` in
    the URL (as a Basic ``Authorization`` header), which is removed from ``base_url``. ``spec`` is used to validate
    (profile ``comfyui``) and to convert UI workflows; by default it is fetched once from the
    server's ``/object_info``. GETs are retried on connection failures; a POST only when it
    certainly never left.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_COMFYUI_URL,
        *,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        client_id: str | None = None,
        spec: Any = None,
        validate: bool = True,
        headers: Mapping[str, str] | None = None,
        max_attempts: int = 4,
    ) -> None:
        import httpx

        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            shown = re.sub(r"//[^/@]*@", "//", base_url)  # never echo credentials
            raise ConfigurationError(
                f"ComfyUI URL {shown!r} is not an http(s) URL such as {DEFAULT_COMFYUI_URL}"
            )
        self._headers = dict(headers or {})
        if parts.username is not None or parts.password is not None:
            # credentials in the URL (a reverse proxy's basic auth) become a header sent to
            # this server only, so that base_url, job.server and output URLs never carry them
            if not any(k.lower() == "authorization" for k in self._headers):
                pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
                token = base64.b64encode(pair.encode("utf-8")).decode("ascii")
                self._headers["Authorization"] = f"Basic {token}"
            netloc = parts.netloc.rpartition("@")[2]
            base_url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id or uuid.uuid4().hex
        self.spec = spec
        self.validate = validate
        self.max_attempts = max(1, max_attempts)
        self._rng = random.Random()
        self._uploaded: dict[str, str] = {}  # content name -> the server's name for it
        self._upload_lock = threading.Lock()  # threads of a pool upload a file once
        self.uploads = 0  # files this client sent (not counting those the server had)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            transport=transport, timeout=httpx.Timeout(timeout), follow_redirects=False
        )

    def __repr__(self) -> str:
        return f"ComfyUIClient(base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the HTTP client (unless it was passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> ComfyUIClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- HTTP --------------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None, *, what: str) -> Any:
        import httpx

        url = self.base_url + path
        content = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Accept": "application/json", **self._headers}
        if content is not None:
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            attempt += 1
            try:
                r = self._http.request(method, url, content=content, headers=headers)
            except httpx.TransportError as exc:
                not_sent = isinstance(
                    exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
                )
                desc = f"{what} ({self.base_url}): {type(exc).__name__}: {exc}"
                if method == "POST" and path == "/prompt" and not not_sent:
                    raise SubmitUncertainError(
                        desc + "; the prompt may have been queued, so it was not sent again",
                        code="uncertain_io",
                    ) from None
                if (method == "GET" or not_sent) and attempt < self.max_attempts:
                    time.sleep(min(4.0, 0.25 * 2.0 ** (attempt - 1)) * self._rng.uniform(0.8, 1.2))
                    continue
                cls = (
                    ApiTimeoutError
                    if isinstance(exc, httpx.TimeoutException)
                    else ApiConnectionError
                )
                raise cls(desc) from None
            if r.status_code >= 400:
                if r.status_code >= 500 and method == "GET" and attempt < self.max_attempts:
                    time.sleep(min(4.0, 0.25 * 2.0 ** (attempt - 1)))
                    continue
                raise error_from_response(r.status_code, dict(r.headers), r.content, what=what)
            if not r.content:
                return None
            try:
                return r.json()
            except ValueError:
                raise UnexpectedResponseError(
                    f"{what}: HTTP {r.status_code} with a body that is not JSON",
                    status=r.status_code,
                ) from None

    def _spec(self) -> Any:
        if self.spec is None:
            from ..errors import CmfyGraphError
            from ..spec import load_spec

            try:
                self.spec = load_spec(self.base_url)
            except CmfyGraphError as exc:  # the server, not the user's input: exit code 3
                raise ApiConnectionError(str(exc)) from None
        return self.spec

    # -- public API --------------------------------------------------------------------------

    def submit(
        self, workflow_or_prompt: Any, *, extra_data: Mapping[str, Any] | None = None
    ) -> Job:
        """Validate and queue a workflow (``POST /prompt``); returns the queued :class:`Job`.

        When the server queues the prompt but reports node errors (some outputs failed and
        were dropped), the job's ``raw["node_errors"]`` lists them and a warning is logged.
        """
        needs_spec = self.validate or (
            isinstance(workflow_or_prompt, Mapping) and "nodes" in workflow_or_prompt
        )
        spec = self._spec() if needs_spec else self.spec
        prompt, _ = to_prompt(workflow_or_prompt, spec)
        prompt, uploaded = self.upload_inputs(prompt)
        if self.validate:
            lint_prompt(prompt, spec, profile="comfyui", input_files=uploaded)
        else:
            check_prompt_shape(prompt)
        body: dict[str, Any] = {"prompt": prompt, "client_id": self.client_id}
        if extra_data:
            body["extra_data"] = dict(extra_data)
        data = self._request("POST", "/prompt", body, what="queue prompt")
        if not isinstance(data, Mapping) or not isinstance(data.get("prompt_id"), str):
            raise SubmitUncertainError(
                "queue prompt: the answer has no prompt_id; the prompt may have been queued",
                code="uncertain_body",
            )
        node_errors = data.get("node_errors") or {}
        if node_errors:
            log.warning(
                "%s queued prompt %s but dropped outputs that failed validation: %s",
                self.base_url,
                data["prompt_id"],
                summarise_node_errors(node_errors),
            )
        raw = {
            "prompt_id": data["prompt_id"],
            "number": data.get("number"),
            "node_errors": node_errors,
        }
        return Job(job_id=data["prompt_id"], status="queued", raw=raw, server=self.base_url)

    # -- input files ---------------------------------------------------------------------------

    def upload(self, path: str | os.PathLike[str]) -> str:
        """Put a local file in the server's input folder, named by its content; returns the
        name to use in the prompt. Nothing is sent when the server already has it."""

        from .uploads import content_name

        with self._upload_lock:
            return self._upload(path, content_name(path))

    def _upload(self, path: str | os.PathLike[str], name: str) -> str:
        import httpx

        from .uploads import mime_type

        if name in self._uploaded:
            return self._uploaded[name]
        key = name
        q = urlencode({"filename": name, "type": "input", "subfolder": ""})
        try:
            r = self._http.head(f"{self.base_url}/view?{q}", headers=self._headers)
            exists = r.status_code == 200
        except httpx.TransportError:
            exists = False
        if not exists:
            mime = mime_type(name)
            try:
                with open(path, "rb") as fh:
                    r = self._http.post(
                        f"{self.base_url}/upload/image",
                        files={"image": (name, fh, mime)},
                        data={"type": "input", "subfolder": "", "overwrite": "true"},
                        headers=self._headers,
                    )
            except httpx.TransportError as exc:
                raise ApiConnectionError(f"upload {path}: {type(exc).__name__}: {exc}") from None
            except OSError as exc:
                raise ConfigurationError(f"{path}: cannot read: {exc.strerror or exc}") from None
            if r.status_code >= 400:
                raise error_from_response(
                    r.status_code, dict(r.headers), r.content, what=f"upload {path}"
                )
            self.uploads += 1
            try:
                got = r.json()
            except ValueError:
                got = {}
            if isinstance(got, Mapping) and isinstance(got.get("name"), str):
                sub = got.get("subfolder") or ""
                name = f"{sub}/{got['name']}" if sub else got["name"]
        self._uploaded[key] = name
        return name

    def upload_inputs(self, prompt: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The prompt with every local input file uploaded (:meth:`upload`) and replaced by
        its server name, and those names. The prompt is copied only when a file was found."""
        from .uploads import replace_local_inputs

        out, done = replace_local_inputs(prompt, self.spec, self.upload)
        return out, [name for _, name in done]

    # -- live events ------------------------------------------------------------------------------

    def live(self, **options: Any) -> LiveEvents:
        """The server's websocket for this client, as a context manager: open it *before*
        queueing, then read a job's events with ``live.events(job_id)`` (see
        :mod:`cmfy_graph.client.comfyui_ws`)."""
        from .comfyui_ws import LiveEvents

        return LiveEvents(self, **options)

    def queue(self) -> dict[str, Any]:
        """``GET /queue``: ``{"queue_running": [...], "queue_pending": [...]}``."""
        data = self._request("GET", "/queue", what="read queue")
        return dict(data) if isinstance(data, Mapping) else {}

    def get(self, job_id: str | Job) -> Job:
        """The job's state: from ``/history/{id}`` once done, else from ``/queue``."""
        jid = job_id.job_id if isinstance(job_id, Job) else job_id
        job = self._from_history(jid)
        if job is not None:
            return job
        q = self.queue()
        for item in q.get("queue_running") or []:
            if isinstance(item, list) and len(item) > 1 and item[1] == jid:
                return Job(
                    job_id=jid, status="running", raw={"prompt_id": jid}, server=self.base_url
                )
        pending = [i for i in q.get("queue_pending") or [] if isinstance(i, list) and len(i) > 1]
        pending.sort(key=lambda i: i[0] if isinstance(i[0], (int, float)) else 0)
        for pos, item in enumerate(pending, start=1):
            if item[1] == jid:
                return Job(
                    job_id=jid,
                    status="queued",
                    queue_position=pos,
                    raw={"prompt_id": jid},
                    server=self.base_url,
                )
        job = self._from_history(jid)  # it may have finished between the two reads
        if job is not None:
            return job
        raise NotFoundError(
            f"prompt {jid} is neither queued, running nor in the history of {self.base_url}"
        )

    def _from_history(self, jid: str) -> Job | None:
        data = self._request("GET", f"/history/{quote(jid, safe='')}", what=f"read history {jid}")
        if not isinstance(data, Mapping) or jid not in data:
            return None
        entry = data[jid]
        if not isinstance(entry, Mapping):
            raise UnexpectedResponseError(f"history entry of {jid} is not an object")
        raw_status = entry.get("status")
        status: Mapping[str, Any] = raw_status if isinstance(raw_status, Mapping) else {}
        messages = [m for m in status.get("messages") or [] if isinstance(m, list) and len(m) == 2]
        events = {m[0]: m[1] for m in messages if isinstance(m[1], Mapping)}
        status_str = status.get("status_str")
        error = None
        if status_str == "error":
            state = "failed"
            if "execution_error" in events:
                ev = events["execution_error"]
                error = JobError(
                    "execution_error",
                    f"node {ev.get('node_id')} ({ev.get('node_type')}): "
                    f"{ev.get('exception_type')}: {ev.get('exception_message')}",
                )
            elif "execution_interrupted" in events:
                error = JobError("execution_interrupted", "the prompt was interrupted")
            else:
                error = JobError("execution_error", "the prompt failed")
        elif status_str == "success" or status.get("completed") or not status:
            state = "completed"
        else:
            state = "running"
        images: list[str] = []
        raw_outputs = entry.get("outputs")
        outputs: Mapping[str, Any] = raw_outputs if isinstance(raw_outputs, Mapping) else {}
        for node_out in outputs.values():
            if not isinstance(node_out, Mapping):
                continue
            for img in node_out.get("images") or []:
                if (
                    isinstance(img, Mapping)
                    and img.get("type", "output") == "output"
                    and img.get("filename")
                ):
                    q = urlencode(
                        {
                            "filename": img["filename"],
                            "subfolder": img.get("subfolder", ""),
                            "type": "output",
                        }
                    )
                    images.append(f"{self.base_url}/view?{q}")
        start = _ms_to_dt((events.get("execution_start") or {}).get("timestamp"))
        end_ev = (
            events.get("execution_success")
            or events.get("execution_error")
            or events.get("execution_interrupted")
        )
        end = _ms_to_dt((end_ev or {}).get("timestamp"))
        ms = None
        if start and end:
            ms = int((end - start).total_seconds() * 1000)
        return Job(
            job_id=jid,
            status=state,
            started_at=start,
            completed_at=end,
            execution_time_ms=ms,
            outputs=tuple(images),
            error=error,
            raw=dict(entry),
            server=self.base_url,
        )

    def wait(
        self,
        job_or_id: Job | str,
        timeout: float = 600.0,
        poll_interval: float = 0.5,
        *,
        max_poll_interval: float = 5.0,
        raise_on_failure: bool = False,
        on_event: EventHandler | None = None,
        live: LiveEvents | None = None,
    ) -> Job:
        """Wait until the prompt ends; :class:`WaitTimeout` after ``timeout`` (the job is left
        alone: use :meth:`cancel` to stop it). With ``on_event``, the job's live events are
        passed to it as they come (from ``live``, a socket opened before queueing, or one
        opened now); without, the job is polled."""
        deadline = time.monotonic() + timeout
        jid = job_or_id.job_id if isinstance(job_or_id, Job) else job_or_id
        if on_event is not None:
            own = live is None
            sock = live if live is not None else self.live(poll_interval=poll_interval)
            try:
                if own:
                    sock.__enter__()
                for ev in sock.events(jid, timeout):
                    on_event(ev)
            finally:
                if own:
                    sock.close()
            job = self.get(jid)
            return job.raise_for_failure() if raise_on_failure else job
        delay = max(0.01, poll_interval)
        job = self.get(jid)
        while not job.done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeout(f"prompt {jid} is still {job.status} after {timeout:g}s", job=job)
            time.sleep(min(remaining, delay * self._rng.uniform(0.8, 1.2)))
            delay = min(max_poll_interval, delay * 1.5)
            job = self.get(jid)
        return job.raise_for_failure() if raise_on_failure else job

    def download(self, job: Job | str, dest_dir: str | os.PathLike[str]) -> list[Path]:
        """Stream the output images (``/view``) of a completed prompt into ``dest_dir``."""
        import httpx

        current = job if isinstance(job, Job) and job.done else self.get(job)
        current.require_completed("prompt")
        dest = Path(dest_dir)
        dest.mkdir(parents=True, exist_ok=True)
        paths = []
        for url, target in zip(current.outputs, output_filenames(current, dest), strict=False):
            same = urlsplit(url).netloc == urlsplit(self.base_url).netloc
            tmp = target.with_name(target.name + ".part")
            try:
                with self._http.stream("GET", url, headers=self._headers if same else {}) as r:
                    if r.status_code >= 300:
                        raise error_from_response(
                            r.status_code, dict(r.headers), r.read(), what=f"download {url}"
                        )
                    with open(tmp, "wb") as fh:
                        for chunk in r.iter_bytes(65536):
                            fh.write(chunk)
                os.replace(tmp, target)
            except httpx.TransportError as exc:
                raise ApiConnectionError(f"download {url}: {type(exc).__name__}: {exc}") from None
            finally:
                if tmp.exists():
                    tmp.unlink()
            paths.append(target)
        return paths

    def images(self, job: Job | str) -> list[Any]:
        """The output images of a completed prompt as PIL images (fetched, nothing written)."""
        from .results import fetch_images

        current = job if isinstance(job, Job) and job.done else self.get(job)
        here = urlsplit(self.base_url).netloc
        return fetch_images(
            self._http, current, lambda u: self._headers if urlsplit(u).netloc == here else {}
        )

    def interrupt(self, job: Job | str | None = None) -> None:
        """Stop the running prompt (``POST /interrupt``).

        With ``job``, only when that prompt is the one running (older servers ignore the
        ``prompt_id`` in the body and would stop whatever runs, so it is checked first).
        """
        if job is None:
            self._request("POST", "/interrupt", {}, what="interrupt")
            return
        jid = job.job_id if isinstance(job, Job) else job
        running = [
            i[1]
            for i in self.queue().get("queue_running") or []
            if isinstance(i, list) and len(i) > 1
        ]
        if jid in running:
            self._request("POST", "/interrupt", {"prompt_id": jid}, what="interrupt")

    def cancel(self, job: Job | str) -> None:
        """Remove a pending prompt from the queue, or interrupt it if it runs."""
        jid = job.job_id if isinstance(job, Job) else job
        self._request("POST", "/queue", {"delete": [jid]}, what="delete from queue")
        self.interrupt(jid)


class ComfyUIPool:
    """Several ComfyUI servers used as one: jobs go round-robin to the next server with a free
    slot, each server holding at most ``per_server_limit`` of our jobs in flight.

    A slot is freed when the pool sees the job end (``get``/``wait``), or when the server's
    ``/queue`` no longer lists it. ``submit`` blocks while every server is full (up to
    ``acquire_timeout`` seconds, then :class:`WaitTimeout`). A server that refuses the
    connection is skipped for that submission. Jobs queued by another pool (an earlier
    process) are followed after :meth:`adopt`. Thread-safe.
    """

    def __init__(
        self,
        urls: Sequence[str],
        per_server_limit: int = 1,
        *,
        acquire_timeout: float = 3600.0,
        poll_interval: float = 0.25,
        **client_kwargs: Any,
    ) -> None:
        if not urls:
            raise ConfigurationError("ComfyUIPool needs at least one server URL")
        if per_server_limit < 1:
            raise ConfigurationError("per_server_limit must be at least 1")
        self.clients = [ComfyUIClient(u, **client_kwargs) for u in urls]
        self.per_server_limit = per_server_limit
        self.acquire_timeout = acquire_timeout
        self.poll_interval = poll_interval
        self._inflight: list[set[str]] = [set() for _ in self.clients]
        self._reserved = [0] * len(self.clients)
        self._owner: dict[str, int] = {}
        self._next = 0
        self._cond = threading.Condition()

    def __enter__(self) -> ComfyUIPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every server's client."""
        for c in self.clients:
            c.close()

    def in_flight(self) -> dict[str, int]:
        """Jobs in flight per server URL (as the pool knows them)."""
        with self._cond:
            return {
                c.base_url: len(s) + r
                for c, s, r in zip(self.clients, self._inflight, self._reserved, strict=False)
            }

    def _try_reserve(self, skip: set[int]) -> int | None:
        n = len(self.clients)
        for k in range(n):
            i = (self._next + k) % n
            if i in skip:
                continue
            if len(self._inflight[i]) + self._reserved[i] < self.per_server_limit:
                self._reserved[i] += 1
                self._next = (i + 1) % n
                return i
        return None

    def _refresh(self) -> None:
        """Free the slots of jobs a server no longer lists in its queue."""
        for i, client in enumerate(self.clients):
            with self._cond:
                ids = set(self._inflight[i])
            if not ids:
                continue
            try:
                q = client.queue()
            except ApiError:
                continue
            listed = {
                item[1]
                for key in ("queue_running", "queue_pending")
                for item in q.get(key) or []
                if isinstance(item, list) and len(item) > 1
            }
            with self._cond:
                for jid in ids - listed:
                    self._release(jid)

    def _release(self, jid: str) -> None:
        i = self._owner.get(jid)
        if i is not None and jid in self._inflight[i]:
            self._inflight[i].discard(jid)
            self._cond.notify_all()

    def _acquire(self, skip: set[int]) -> int:
        deadline = time.monotonic() + self.acquire_timeout
        while True:
            with self._cond:
                i = self._try_reserve(skip)
                if i is not None:
                    return i
            self._refresh()
            with self._cond:
                i = self._try_reserve(skip)
                if i is not None:
                    return i
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeout(
                        f"no free ComfyUI server slot within {self.acquire_timeout:g}s"
                    )
                self._cond.wait(min(remaining, self.poll_interval))

    def submit(self, workflow_or_prompt: Any, **kwargs: Any) -> Job:
        """Queue a workflow on the next server with a free slot (blocks while all are full)."""
        skip: set[int] = set()
        while True:
            i = self._acquire(skip)
            try:
                job = self.clients[i].submit(workflow_or_prompt, **kwargs)
            except ApiConnectionError as exc:
                with self._cond:
                    self._reserved[i] -= 1
                    self._cond.notify_all()
                log.warning("%s: %s; trying another server", self.clients[i].base_url, exc.message)
                skip.add(i)
                if len(skip) == len(self.clients):
                    raise
                continue
            except BaseException:
                with self._cond:
                    self._reserved[i] -= 1
                    self._cond.notify_all()
                raise
            with self._cond:
                self._reserved[i] -= 1
                self._inflight[i].add(job.job_id)
                self._owner[job.job_id] = i
            return job

    def server_url(self, url: str) -> str | None:
        """The pool's own spelling of server ``url`` (compared without a trailing slash, scheme
        and host case-insensitive), or None when the pool has no such server."""
        key = _server_key(url)
        for c in self.clients:
            if _server_key(c.base_url) == key:
                return c.base_url
        return None

    def adopt(self, job_id: str, server_url: str) -> Job:
        """Follow a job that another pool or process queued on ``server_url``.

        The job then counts in that server's jobs in flight (until the pool sees it end, or
        the server's ``/queue`` no longer lists it), and ``get``/``wait``/``download`` work with
        its id alone. Nothing is sent: the returned :class:`Job` has status ``"adopted"`` and
        the first ``get`` says where the job really is (a :class:`NotFoundError` if the server
        no longer knows it, e.g. after a restart). Adopting a job the pool already follows
        changes nothing. Raises :class:`NotFoundError` when ``server_url`` is not in the pool.
        """
        url = self.server_url(server_url)
        if url is None:
            known = ", ".join(_server_key(c.base_url) for c in self.clients)
            raise NotFoundError(
                f"cannot adopt job {job_id}: server {server_url} is not in this pool ({known})"
            )
        i = next(k for k, c in enumerate(self.clients) if c.base_url == url)
        with self._cond:
            owner = self._owner.get(job_id)
            if owner is None or job_id not in self._inflight[owner]:
                self._owner[job_id] = i
                self._inflight[i].add(job_id)
            url = self.clients[self._owner[job_id]].base_url
        return Job(job_id=job_id, status="adopted", raw={"prompt_id": job_id}, server=url)

    def _client_for(self, job: Job | str) -> ComfyUIClient:
        jid = job.job_id if isinstance(job, Job) else job
        with self._cond:
            i = self._owner.get(jid)
        if i is None:
            if isinstance(job, Job) and job.server:
                for c in self.clients:
                    if c.base_url == job.server:
                        return c
            raise NotFoundError(f"job {jid} was not submitted through this pool")
        return self.clients[i]

    def cancel(self, job: Job | str) -> None:
        """Cancel a job of the pool on its server (removed from the queue, or interrupted)."""
        self._client_for(job).cancel(job)

    def _note(self, job: Job) -> Job:
        if job.done:
            with self._cond:
                self._release(job.job_id)
        return job

    def _forget(self, job: Job | str) -> None:
        """The job's server does not know it (any more): free its slot."""
        with self._cond:
            self._release(job.job_id if isinstance(job, Job) else job)

    def get(self, job: Job | str) -> Job:
        """The job's state, from the server that holds it."""
        client = self._client_for(job)
        try:
            return self._note(client.get(job))
        except NotFoundError:
            self._forget(job)
            raise

    def wait(self, job: Job | str, timeout: float = 600.0, **kwargs: Any) -> Job:
        """Wait for the job on its server; frees its slot when it ends."""
        client = self._client_for(job)
        try:
            return self._note(client.wait(job, timeout, **kwargs))
        except NotFoundError:
            self._forget(job)
            raise
        except ApiError as exc:
            if getattr(exc, "job", None) is not None and exc.job.done:  # type: ignore[attr-defined]
                self._note(exc.job)  # type: ignore[attr-defined]
            raise

    def download(self, job: Job | str, dest_dir: str | os.PathLike[str]) -> list[Path]:
        """Download the job's outputs from its server."""
        return self._client_for(job).download(job, dest_dir)

    def map(self, workflows: Iterable[Any], timeout: float = 3600.0) -> list[Job]:
        """Submit every workflow (as slots free up) and return the final jobs, in order.

        The returned jobs may be failed; check ``job.failed``.
        """
        deadline = time.monotonic() + timeout
        jobs: list[Job] = []
        for wf in workflows:
            jobs.append(self.submit(wf))
        return [self.wait(j, max(0.0, deadline - time.monotonic())) for j in jobs]


class AsyncComfyUIPool:
    """The async face of :class:`ComfyUIPool` (same arguments): every call runs the blocking
    pool in a dedicated thread pool of ``max_threads`` threads, so ``await pool.submit(...)``
    can be mixed with other asyncio work (e.g. the sweep runner). ``rate_limits`` is None:
    a self-hosted server has no such headers.
    """

    rate_limits = None

    def __init__(
        self,
        urls: Sequence[str],
        per_server_limit: int = 1,
        *,
        max_threads: int = 64,
        **kwargs: Any,
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ComfyUIPool(urls, per_server_limit, **kwargs)
        self._executor = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="comfyui")

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        import asyncio
        import functools

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def cancel(self, job: Job | str) -> None:
        """Cancel a job of the pool on its server."""
        await self._call(self.pool.cancel, job)

    async def submit(self, workflow_or_prompt: Any, **kwargs: Any) -> Job:
        """See :meth:`ComfyUIPool.submit`."""
        job: Job = await self._call(self.pool.submit, workflow_or_prompt, **kwargs)
        return job

    async def get(self, job: Job | str) -> Job:
        """See :meth:`ComfyUIPool.get`."""
        out: Job = await self._call(self.pool.get, job)
        return out

    async def wait(self, job: Job | str, timeout: float = 600.0, **kwargs: Any) -> Job:
        """See :meth:`ComfyUIPool.wait`."""
        out: Job = await self._call(self.pool.wait, job, timeout, **kwargs)
        return out

    async def download(self, job: Job | str, dest_dir: str | os.PathLike[str]) -> list[Path]:
        """See :meth:`ComfyUIPool.download`."""
        paths: list[Path] = await self._call(self.pool.download, job, dest_dir)
        return paths

    def in_flight(self) -> dict[str, int]:
        """See :meth:`ComfyUIPool.in_flight`."""
        return self.pool.in_flight()

    def server_url(self, url: str) -> str | None:
        """See :meth:`ComfyUIPool.server_url`."""
        return self.pool.server_url(url)

    def adopt(self, job_id: str, server_url: str) -> Job:
        """See :meth:`ComfyUIPool.adopt` (no I/O, so not a coroutine)."""
        return self.pool.adopt(job_id, server_url)

    async def aclose(self) -> None:
        """Close the servers' clients and the thread pool."""
        self.pool.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> AsyncComfyUIPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
