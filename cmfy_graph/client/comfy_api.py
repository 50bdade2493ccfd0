"""A client of the Comfy API v2: the jobs API of Comfy Cloud, serverless deployments and the
self-hosted comfy-api-proxy (the public OpenAPI spec ``spec/openapi.yaml`` of
Comfy-Org/comfy-python-sdk, version 2.0.0).

What it uses, and nothing else:

- ``POST /api/v2/jobs`` ``{"workflow": <API prompt>}`` -> ``201`` and the job. Every create
  carries an ``Idempotency-Key`` (a UUID per submission, the same on its retries). The key is
  single-use: a retry the server had already received is refused ``422 idempotency_key_reuse``
  and never run twice, so a retried submission creates at most one job. ``429`` (``queue_full``,
  ``deployment_not_ready``, ``rate_limited``) is retried after ``Retry-After``; a ``5xx`` or a
  connection lost after sending is retried with the same key. When such a retry meets
  ``idempotency_key_reuse``, the first attempt may have created a job whose id never came back:
  :class:`~cmfy_graph.client.errors.SubmitUncertainError` says so (the spec lists no way to
  find that job).
- ``GET /api/v2/jobs/{id}``: the job (statuses ``queued``, ``running``, ``canceling``,
  ``succeeded``, ``canceled``, ``failed``, ``expired``; :class:`Job` maps them onto
  ``queued``/``running``/``completed``/``failed``, the error code telling ``canceled`` and
  ``expired`` apart, and keeps the raw JSON).
- ``GET /api/v2/jobs/{id}/events``: Server-Sent Events (``status``, ``progress``, ``output``,
  ``preview``), a live view only: on a drop, a ``501`` or a ``429 too_many_streams`` the client
  polls the job instead.
- ``POST /api/v2/jobs/{id}/cancel``.
- ``POST /api/v2/assets`` (multipart) for a local input file, referenced in the workflow as
  ``{"__type": "core/ASSET", "info": {"id": ...}}``.
- Output URLs expire (``url_expires_at``): a download that finds its URL expired reads the job
  again for fresh ones. Links in responses (``urls``) are followed, host-relative ones resolved
  against the origin, as the spec requires.
- Errors come as ``{"error": {"code", "message", "details"}}``.

The base URL is ``base_url``, else ``COMFY_BASE_URL``, else ``http://127.0.0.1:8189`` (the
self-hosted proxy); the key ``api_key``, else ``COMFY_API_KEY`` (the environment variables of
the official ``comfy-sdk``), sent as ``Authorization: Bearer``; self-hosted servers may need
none. The key never appears in reprs, errors or logs.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

from ._base import check_prompt_shape, lint_prompt, output_filenames, to_prompt
from .errors import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    AuthenticationError,
    ConfigurationError,
    InvalidWorkflowError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SubmitUncertainError,
    UnexpectedResponseError,
    WaitTimeout,
)
from .events import EventHandler, JobEvent, end_event, poll_events
from .jobs import Job, JobError

if TYPE_CHECKING:
    import httpx

__all__ = ["ComfyApiClient", "DEFAULT_COMFY_API_URL", "parse_v2_job", "v2_error"]

DEFAULT_COMFY_API_URL = "http://127.0.0.1:8189"

_STATUS = {
    "queued": "queued",
    "running": "running",
    "canceling": "running",
    "succeeded": "completed",
    "failed": "failed",
    "canceled": "failed",
    "expired": "failed",
}


def parse_v2_job(data: Any, origin: str | None = None) -> Job:
    """A :class:`Job` from a v2 job object (see the module docstring for the statuses)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        raise UnexpectedResponseError("v2 job JSON has no 'id'")
    raw_status = data.get("status")
    if not isinstance(raw_status, str):
        raise UnexpectedResponseError(f"v2 job {data['id']} has no 'status'")
    status = _STATUS.get(raw_status, raw_status)
    err = data.get("error")
    error = None
    if isinstance(err, Mapping):
        error = JobError(str(err.get("code") or "failed"), str(err.get("message") or ""))
    elif raw_status in ("canceled", "expired"):
        error = JobError(raw_status, f"the job was {raw_status}")
    outputs = tuple(
        str(o["url"])
        for o in data.get("outputs") or []
        if isinstance(o, Mapping) and isinstance(o.get("url"), str)
    )
    from .jobs import _parse_time, opt_int

    metrics = data.get("metrics") if isinstance(data.get("metrics"), Mapping) else {}
    return Job(
        job_id=data["id"],
        status=status,
        queue_position=opt_int(data.get("queue_position")),
        created_at=_parse_time(data.get("created_at")),
        started_at=_parse_time(data.get("started_at")),
        completed_at=_parse_time(data.get("completed_at")),
        execution_time_ms=opt_int((metrics or {}).get("execution_ms")),
        outputs=outputs,
        error=error,
        raw=dict(data),
        server=origin,
    )


def v2_error(status: int, body: bytes, headers: Mapping[str, str], what: str) -> ApiError:
    """The exception for an error response in the v2 envelope."""
    code, message, details = f"http_{status}", "", None
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, Mapping) and isinstance(data.get("error"), Mapping):
        e = data["error"]
        code = str(e.get("code") or code)
        message = str(e.get("message") or "")
        details = e.get("details")
    text = f"{what}: HTTP {status} {code}" + (f": {message}" if message else "")
    retry = headers.get("retry-after") or headers.get("Retry-After")
    retry_after = float(retry) if retry and retry.strip().isdigit() else None
    det = dict(details) if isinstance(details, Mapping) else None
    if status in (401, 403):
        return AuthenticationError(text, status=status, code=code, details=det)
    if status == 404:
        return NotFoundError(text, status=status, code=code)
    if status == 422 and code != "idempotency_key_reuse":
        node_errors = (det or {}).get("node_errors")
        return InvalidWorkflowError(
            text, code=code, status=status, node_errors=node_errors or {}, details=det
        )
    if status == 429:
        return RateLimitError(text, status=status, code=code, retry_after=retry_after)
    if status >= 500:
        return ServerError(text, status=status, code=code, retry_after=retry_after)
    return ApiError(text, status=status, code=code, details=det)


class ComfyApiClient:
    """Blocking client of a Comfy API v2 server (see the module docstring)."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        spec: Any = None,
        validate: bool = True,
        max_attempts: int = 8,
        max_backoff: float = 30.0,
    ) -> None:
        import httpx

        url = base_url or os.environ.get("COMFY_BASE_URL") or DEFAULT_COMFY_API_URL
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"Comfy API URL {url!r} is not an http(s) URL")
        self.base_url = url.rstrip("/")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        key = api_key if api_key is not None else os.environ.get("COMFY_API_KEY")
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.spec = spec
        self.validate = validate
        self.max_attempts = max(1, max_attempts)
        self.max_backoff = max_backoff
        self._rng = random.Random()
        self._assets: dict[str, str] = {}  # content name -> asset id
        self._upload_lock = threading.Lock()  # threads upload a file once
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            transport=transport, timeout=httpx.Timeout(timeout), follow_redirects=True
        )

    def __repr__(self) -> str:
        return f"ComfyApiClient(base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the HTTP client (unless it was passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> ComfyApiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- HTTP ----------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        """One of the spec's paths (``/api/v2/...``) under the base URL."""
        return self.base_url + path

    def _link(self, link: str) -> str:
        """A link of a response: absolute, or host-relative (resolved against the origin,
        never the base URL, as the spec requires)."""
        if link.startswith(("http://", "https://")):
            return link
        if link.startswith("/"):
            return self.origin + link
        return urljoin(self.base_url + "/", link)

    def _sleep(self, attempt: int, retry_after: float | None) -> None:
        base = min(self.max_backoff, 0.2 * 2.0 ** (attempt - 1))
        delay = retry_after if retry_after is not None else base * self._rng.uniform(0.5, 1.0)
        time.sleep(min(self.max_backoff, delay))

    def _get(self, path: str, what: str) -> Any:
        """A GET of one of the spec's paths (see :meth:`_call`)."""
        return self._call("GET", self._url(path), what)

    def _call(self, method: str, url: str, what: str) -> Any:
        """A request that is safe to repeat (a read, a cancel), retried on 429, 5xx and
        connection errors; its JSON answer."""
        import httpx

        attempt = 0
        while True:
            attempt += 1
            try:
                r = self._http.request(method, url, headers=self._headers)
            except httpx.TransportError as exc:
                refused = isinstance(exc, httpx.ConnectError) and attempt >= 3
                if attempt < self.max_attempts and not refused:  # a server down: stop soon
                    self._sleep(attempt, None)
                    continue
                cls = (
                    ApiTimeoutError
                    if isinstance(exc, httpx.TimeoutException)
                    else ApiConnectionError
                )
                raise cls(f"{what}: {type(exc).__name__}: {exc}") from None
            if r.status_code == 429 or r.status_code >= 500:
                err = v2_error(r.status_code, r.content, r.headers, what)
                if attempt < self.max_attempts:
                    self._sleep(attempt, getattr(err, "retry_after", None))
                    continue
                raise err
            if r.status_code >= 400:
                raise v2_error(r.status_code, r.content, r.headers, what)
            try:
                return r.json()
            except ValueError:
                raise UnexpectedResponseError(f"{what}: the answer is not JSON") from None

    # -- submit ---------------------------------------------------------------------------------

    def submit(self, workflow_or_prompt: Any, *, idempotency_key: str | None = None) -> Job:
        """Create a job (``POST /api/v2/jobs``) with an ``Idempotency-Key`` (``idempotency_key``
        or a new UUID), uploading local input files as assets first; retries as the module
        docstring says, never creating two jobs for one call."""
        prompt, _ = to_prompt(workflow_or_prompt, self._spec_for())
        prompt, local, refs = self._local_assets(prompt)
        if self.validate:
            lint_prompt(prompt, self.spec, profile="comfyui", input_files=local)
        else:
            check_prompt_shape(prompt)
        for (nid, name), ref in refs.items():
            prompt[nid]["inputs"][name] = ref
        key = idempotency_key or str(uuid.uuid4())
        return self._create(prompt, key)

    def _spec_for(self) -> Any:
        if self.spec is None:
            from ..spec import core_spec

            self.spec = core_spec()
        return self.spec

    def _create(self, prompt: Mapping[str, Any], key: str) -> Job:
        import httpx

        body = json.dumps({"workflow": prompt}, ensure_ascii=False).encode("utf-8")
        headers = {
            **self._headers,
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        }
        attempt = 0
        refused = 0  # connections refused in a row
        maybe_sent = False  # an earlier attempt may have reached the server
        while True:
            attempt += 1
            try:
                r = self._http.post(self._url("/api/v2/jobs"), content=body, headers=headers)
            except httpx.TransportError as exc:
                not_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                maybe_sent = maybe_sent or not not_sent
                refused = refused + 1 if not_sent else 0
                if attempt < self.max_attempts and refused < 3:  # a server down: stop soon
                    self._sleep(attempt, None)
                    continue
                if not maybe_sent:  # no attempt left this machine: certainly no job
                    raise ApiConnectionError(
                        f"create job ({self.base_url}): {type(exc).__name__}: {exc}"
                    ) from None
                raise SubmitUncertainError(
                    f"create job: {type(exc).__name__}: {exc} (Idempotency-Key {key})",
                    code="uncertain_io",
                ) from None
            if r.status_code in (200, 201):
                return parse_v2_job(r.json(), self.origin)
            err = v2_error(r.status_code, r.content, r.headers, "create job")
            if err.code == "idempotency_key_reuse" and maybe_sent:
                raise SubmitUncertainError(
                    "create job: an earlier attempt with Idempotency-Key "
                    f"{key} reached the server, which may have created the job; it was not "
                    "created twice, but its id never came back",
                    code="uncertain_key_reuse",
                )
            if r.status_code == 429 or r.status_code >= 500:
                maybe_sent = maybe_sent or r.status_code >= 500
                if attempt < self.max_attempts:
                    self._sleep(attempt, getattr(err, "retry_after", None))
                    continue
                if r.status_code >= 500:
                    raise SubmitUncertainError(str(err), code=err.code or "server_error")
            raise err

    # -- assets -----------------------------------------------------------------------------------

    def _local_assets(
        self, prompt: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[str], dict[tuple[str, str], dict[str, Any]]]:
        """Local input files uploaded as assets: the prompt naming them, their names, and
        the asset references that replace them after linting."""
        from .uploads import replace_local_inputs

        out, done = replace_local_inputs(
            prompt, self._spec_for(), lambda path: self.upload(path)[1]
        )
        refs = {
            (li.node_id, li.input_name): {
                "__type": "core/ASSET",
                "info": {"id": self._assets[name], "file_path": name},
            }
            for li, name in done
        }
        return out, [name for _, name in done], refs

    def upload(self, path: str | os.PathLike[str]) -> tuple[str, str]:
        """Upload a local file as an asset (``POST /api/v2/assets``, once per file and
        client); its asset id and file name."""
        with self._upload_lock:
            return self._upload(path)

    def _upload(self, path: str | os.PathLike[str]) -> tuple[str, str]:
        import httpx

        from .uploads import content_name, mime_type

        name = content_name(path)
        if name in self._assets:
            return self._assets[name], name
        mime = mime_type(name)
        key = str(uuid.uuid4())
        attempt = 0
        while True:
            attempt += 1
            try:
                with open(path, "rb") as fh:
                    r = self._http.post(
                        self._url("/api/v2/assets"),
                        files={"file": (name, fh, mime)},
                        data={"content_type": mime, "file_path": name, "tags": "input"},
                        headers={**self._headers, "Idempotency-Key": key},
                    )
            except httpx.TransportError as exc:
                if attempt < self.max_attempts:
                    self._sleep(attempt, None)
                    continue
                raise ApiConnectionError(f"upload {path}: {exc}") from None
            except OSError as exc:
                raise ConfigurationError(f"{path}: cannot read: {exc.strerror or exc}") from None
            if r.status_code in (200, 201):
                data = r.json()
                if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
                    raise UnexpectedResponseError(f"upload {path}: no asset id in the answer")
                self._assets[name] = data["id"]
                return data["id"], name
            err = v2_error(r.status_code, r.content, r.headers, f"upload {path}")
            if (r.status_code == 429 or r.status_code >= 500) and attempt < self.max_attempts:
                key = str(uuid.uuid4()) if r.status_code == 429 else key
                self._sleep(attempt, getattr(err, "retry_after", None))
                continue
            raise err

    # -- jobs ------------------------------------------------------------------------------------

    def get(self, job: Job | str) -> Job:
        """The job (``GET /api/v2/jobs/{id}``)."""
        jid = job.job_id if isinstance(job, Job) else job
        data = self._get(f"/api/v2/jobs/{quote(jid, safe='')}", f"get job {jid}")
        return parse_v2_job(data, self.origin)

    def cancel(self, job: Job | str) -> Job:
        """Ask for cancellation (``POST /api/v2/jobs/{id}/cancel``); the job as it is now."""
        jid = job.job_id if isinstance(job, Job) else job
        link = f"/api/v2/jobs/{quote(jid, safe='')}/cancel"
        url = self._url(link)
        if isinstance(job, Job) and isinstance(job.raw.get("urls"), Mapping):
            given = job.raw["urls"].get("cancel")
            url = self._link(str(given)) if given else url
        return parse_v2_job(self._call("POST", url, f"cancel {jid}"), self.origin)

    def events(self, job: Job | str, timeout: float = 600.0) -> Iterator[JobEvent]:
        """The job's live events (SSE) until its end; polls when the stream is unavailable
        or drops (the spec: the stream is never the source of truth)."""
        jid = job.job_id if isinstance(job, Job) else job
        deadline = time.monotonic() + timeout
        link = f"/api/v2/jobs/{quote(jid, safe='')}/events"
        drops = 0
        while True:
            try:
                for ev in self._sse(link, jid, deadline):
                    yield ev
                    if ev.terminal:
                        return
            except _StreamUnavailable:
                drops = 99
            current = self.get(jid)
            if current.done:
                yield end_event(current)
                return
            drops += 1
            yield JobEvent("reconnecting", jid, data={"attempt": drops})
            if drops > 3:
                yield from poll_events(self.get, jid, deadline, 0.25)
                return
            time.sleep(min(2.0, 0.1 * 2**drops))

    def _sse(self, link: str, jid: str, deadline: float) -> Iterator[JobEvent]:
        import httpx

        headers = {**self._headers, "Accept": "text/event-stream"}
        try:
            with self._http.stream("GET", self._url(link), headers=headers) as r:
                if r.status_code in (429, 501) or r.status_code >= 500:
                    raise _StreamUnavailable()
                if r.status_code >= 400:
                    raise v2_error(r.status_code, r.read(), r.headers, f"events of {jid}")
                kind, data = "message", list[str]()
                for line in r.iter_lines():
                    if time.monotonic() > deadline:
                        raise WaitTimeout(f"job {jid} did not end in time")
                    if line == "":
                        if data:
                            ev = _sse_event(kind, "\n".join(data), jid)
                            if ev is not None:
                                yield ev
                        kind, data = "message", []
                    elif line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip())
        except httpx.TransportError:
            return  # dropped: the caller reads the job and reconnects

    def wait(
        self,
        job: Job | str,
        timeout: float = 600.0,
        poll_interval: float = 0.5,
        *,
        on_event: EventHandler | None = None,
        raise_on_failure: bool = False,
    ) -> Job:
        """Wait for the job's end: its events go to ``on_event`` when given (else it is
        polled); returns the final job."""
        jid = job.job_id if isinstance(job, Job) else job
        if on_event is not None:
            for ev in self.events(jid, timeout):
                on_event(ev)
        else:
            for _ in poll_events(self.get, jid, time.monotonic() + timeout, poll_interval):
                pass
        final = self.get(jid)
        return final.raise_for_failure() if raise_on_failure else final

    def images(self, job: Job | str) -> list[Any]:
        """The output images of a completed job as PIL images (fetched, nothing written)."""
        from .results import fetch_images

        current = job if isinstance(job, Job) and job.done else self.get(job)
        return fetch_images(self._http, current)

    def download(self, job: Job | str, dest_dir: str | os.PathLike[str]) -> list[Path]:
        """Save the outputs of a finished job into ``dest_dir``; an expired output URL is
        refreshed by reading the job again."""
        import httpx

        current = job if isinstance(job, Job) and job.done else self.get(job)
        current.require_completed()
        dest = Path(dest_dir)
        dest.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, target in enumerate(output_filenames(current, dest)):
            for refresh in (False, True):
                if refresh:
                    current = self.get(current.job_id)
                url = current.outputs[i]
                try:
                    r = self._http.get(url)
                except httpx.TransportError as exc:
                    raise ApiConnectionError(f"download {url}: {exc}") from None
                if r.status_code in (401, 403, 404, 410) and not refresh:
                    continue  # an expired link: ask the job for a fresh one
                if r.status_code >= 300:
                    raise v2_error(r.status_code, r.content, r.headers, f"download {url}")
                tmp = target.with_name(target.name + ".part")
                tmp.write_bytes(r.content)
                os.replace(tmp, target)
                paths.append(target)
                break
        return paths


class _StreamUnavailable(Exception):
    """The server does not stream events now (501, 429 too_many_streams, 5xx)."""


def _sse_event(kind: str, data: str, jid: str) -> JobEvent | None:
    try:
        payload = json.loads(data)
    except ValueError:
        return None
    if not isinstance(payload, Mapping):
        return None
    if kind == "status":
        st = payload.get("status")
        if st == "succeeded":
            return JobEvent("completed", jid)
        if st in ("failed", "expired"):
            return JobEvent("failed", jid, data={"status": st})
        if st == "canceled":
            return JobEvent("cancelled", jid)
        if st == "queued":
            return JobEvent("queued", jid, data={"position": payload.get("queue_position")})
        return JobEvent(str(st), jid)
    if kind == "progress":
        node = payload.get("current_node")
        return JobEvent(
            "progress",
            jid,
            str(node) if node is not None else None,
            payload.get("step"),
            payload.get("steps"),
            data={k: payload[k] for k in ("value", "nodes_done", "nodes_total") if k in payload},
        )
    if kind == "output":
        node = payload.get("node_id")
        return JobEvent(
            "executed",
            jid,
            str(node) if node is not None else None,
            data={"output": dict(payload)},
        )
    return None
