"""The cmfy.cloud jobs API clients: :class:`Client` (sync) and :class:`AsyncClient` (async).

Both share :class:`~cmfy_graph.client._base.BaseClient`: request bodies, validation, error
parsing, rate-limit headers and the retry policy are written once there as generators of I/O
actions; the two classes here only perform those actions with httpx (one blocking, one async).

Example::

    from cmfy_graph.client import Client

    with Client() as client:                    # key from CMFY_API_KEY
        job = client.submit(prompt)             # 202: queued
        job = client.wait(job, timeout=300)     # polls with backoff and jitter
        paths = client.download(job, "out/")    # streams the output images (no key sent)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import time
from collections.abc import Generator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from ._base import (
    USER_AGENT,
    Action,
    BaseClient,
    Fetch,
    Job,
    Outcome,
    Response,
    RetryPolicy,
    Send,
    Sleep,
    TransportFailure,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["Client", "AsyncClient", "DEFAULT_TIMEOUT"]

T = TypeVar("T")

#: seconds for connect, read, write and pool waits
DEFAULT_TIMEOUT = 30.0
_CHUNK = 64 * 1024
_SHARD_SIZE = 8


def _failure(exc: Exception) -> TransportFailure:
    import httpx

    desc = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return TransportFailure("timeout", False, desc)
    if isinstance(exc, httpx.TimeoutException):
        return TransportFailure("timeout", True, desc)
    if isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol | httpx.ProxyError):
        return TransportFailure("connect", False, desc)
    return TransportFailure("io", True, desc)


def _fetch_headers() -> dict[str, str]:
    # downloads never carry the key: output URLs point at the CDN, another host
    return {"User-Agent": USER_AGENT}


def _make_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    import httpx

    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


class Client(BaseClient):
    """Blocking client of the cmfy.cloud jobs API.

    The key comes from ``api_key`` or ``CMFY_API_KEY`` (checked locally: ``sk_live_``/``sk_test_``
    and 51 characters), the base URL from ``base_url`` or ``CMFY_API_URL`` (default
    ``https://api.cmfy.cloud``; plain HTTP only to a loopback address). Pass ``http_client`` (not
    closed by us) or ``transport`` to control the HTTP layer. ``spec`` is the node spec used to
    validate and to convert UI workflows (default: the bundled core spec); ``validate=False``
    skips the linter (structural checks remain). Retries stay within ``retry_budget`` seconds.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        spec: Any = None,
        validate: bool = True,
        retry_budget: float = 120.0,
        retry_policy: RetryPolicy | None = None,
        allow_private_webhooks: bool = False,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            spec=spec,
            validate=validate,
            retry_budget=retry_budget,
            retry_policy=retry_policy,
            allow_private_webhooks=allow_private_webhooks,
            seed=seed,
        )
        import httpx

        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            transport=transport, timeout=_make_timeout(timeout), follow_redirects=False
        )

    # -- context management --------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP client (unless it was passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- public API ------------------------------------------------------------------------------

    def submit(self, workflow_or_prompt: Any, webhook_url: str | None = None) -> Job:
        """Validate and submit a workflow; returns the queued :class:`Job` (HTTP 202).

        Accepts a :class:`~cmfy_graph.graph.Workflow`, an API prompt, a request body
        ``{"prompt": ..., "webhook_url"?}`` or a UI workflow. A prompt the linter refuses raises
        :class:`~cmfy_graph.client.errors.InvalidWorkflowError` before any request. A failure
        after the request may have reached the server raises
        :class:`~cmfy_graph.client.errors.SubmitUncertainError` and is never retried.
        """
        return self._run(self._submit_flow(workflow_or_prompt, webhook_url))

    def get(self, job_id: str | Job) -> Job:
        """The job's current state (``GET /v1/jobs/{job_id}``)."""
        jid = job_id.job_id if isinstance(job_id, Job) else job_id
        return self._run(self._get_flow(jid))

    def wait(
        self,
        job_or_id: Job | str,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        *,
        max_poll_interval: float = 10.0,
        raise_on_failure: bool = False,
    ) -> Job:
        """Poll until the job is ``completed`` or ``failed`` and return it.

        The interval starts at ``poll_interval`` and grows by half each time up to
        ``max_poll_interval``, with jitter. After ``timeout`` seconds
        :class:`~cmfy_graph.client.errors.WaitTimeout` is raised and the job is left alone.
        With ``raise_on_failure`` a failed job raises
        :class:`~cmfy_graph.client.errors.JobFailedError`.
        """
        job = self._run(self._wait_flow(job_or_id, timeout, poll_interval, max_poll_interval))
        return job.raise_for_failure() if raise_on_failure else job

    def images(self, job: Job | str) -> list[Any]:
        """The output images of a completed job as PIL images (fetched from the CDN, nothing
        written; the API key is never sent there)."""
        from .results import fetch_images

        current = job if isinstance(job, Job) and job.done else self.get(job)
        return fetch_images(self._http, current)

    def download(self, job: Job | str, dest_dir: str | os.PathLike[str]) -> list[Path]:
        """Stream the outputs of a completed job into ``dest_dir``; returns the file paths.

        Output URLs are fetched without the API key.
        """
        return self._run(self._download_flow(job, dest_dir))

    # -- the I/O driver --------------------------------------------------------------------------

    def _run(self, flow: Generator[Action, Outcome, T]) -> T:
        try:
            action = next(flow)
            while True:
                action = flow.send(self._perform(action))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def _perform(self, action: Action) -> Outcome:
        import httpx

        if isinstance(action, Sleep):
            time.sleep(action.seconds)
            return None
        if isinstance(action, Send):
            try:  # the headers (with the key) are not kept in a local variable
                r = self._http.request(
                    action.method,
                    action.url,
                    content=action.content,
                    headers=self._request_headers(action),
                )
            except httpx.TransportError as exc:
                return _failure(exc)
            return Response(r.status_code, dict(r.headers), r.content)
        return self._fetch(action)

    def _fetch(self, action: Fetch) -> Outcome:
        import httpx

        tmp = action.dest.with_name(action.dest.name + ".part")
        try:
            with self._http.stream(
                "GET", action.url, headers=_fetch_headers(), follow_redirects=True
            ) as r:
                if r.status_code >= 300:
                    return Response(r.status_code, dict(r.headers), r.read()[:4096])
                with open(tmp, "wb") as fh:
                    for chunk in r.iter_bytes(_CHUNK):
                        fh.write(chunk)
            os.replace(tmp, action.dest)
            return Response(r.status_code, dict(r.headers))
        except httpx.TransportError as exc:
            return _failure(exc)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()


class AsyncClient(BaseClient):
    """The async twin of :class:`Client` (same arguments, ``await`` every call).

    ``http_client`` is an :class:`httpx.AsyncClient`; ``transport`` an async transport.
    ``max_connections`` bounds the connections to the API (spread over several small httpx
    pools, which keeps httpx fast with many requests in flight).
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        spec: Any = None,
        validate: bool = True,
        retry_budget: float = 120.0,
        retry_policy: RetryPolicy | None = None,
        allow_private_webhooks: bool = False,
        seed: int | None = None,
        max_connections: int = 100,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            spec=spec,
            validate=validate,
            retry_budget=retry_budget,
            retry_policy=retry_policy,
            allow_private_webhooks=allow_private_webhooks,
            seed=seed,
        )
        import httpx

        self._owns_http = http_client is None
        if http_client is not None:
            self._shards = [http_client]
        else:
            # httpcore's pool scans every connection for every request (quadratic under load),
            # so many connections are spread over several small pools used in turn.
            n = max(1, min(16, math.ceil(max_connections / _SHARD_SIZE)))
            per = max(1, math.ceil(max_connections / n))
            self._shards = [
                httpx.AsyncClient(
                    transport=transport,
                    timeout=_make_timeout(timeout),
                    follow_redirects=False,
                    limits=httpx.Limits(max_connections=per, max_keepalive_connections=per),
                )
                for _ in range(n)
            ]
        self._http = self._shards[0]
        self._turn = itertools.cycle(self._shards)

    async def aclose(self) -> None:
        """Close the HTTP client (unless it was passed in)."""
        if self._owns_http:
            for http in self._shards:
                await http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def submit(self, workflow_or_prompt: Any, webhook_url: str | None = None) -> Job:
        """Validate and submit a workflow; see :meth:`Client.submit`."""
        return await self._run(self._submit_flow(workflow_or_prompt, webhook_url))

    async def get(self, job_id: str | Job) -> Job:
        """The job's current state; see :meth:`Client.get`."""
        jid = job_id.job_id if isinstance(job_id, Job) else job_id
        return await self._run(self._get_flow(jid))

    async def wait(
        self,
        job_or_id: Job | str,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        *,
        max_poll_interval: float = 10.0,
        raise_on_failure: bool = False,
    ) -> Job:
        """Poll until the job ends; see :meth:`Client.wait`."""
        job = await self._run(self._wait_flow(job_or_id, timeout, poll_interval, max_poll_interval))
        return job.raise_for_failure() if raise_on_failure else job

    async def download(self, job: Job | str, dest_dir: str | os.PathLike[str]) -> list[Path]:
        """Stream the outputs of a completed job; see :meth:`Client.download`."""
        return await self._run(self._download_flow(job, dest_dir))

    async def _run(self, flow: Generator[Action, Outcome, T]) -> T:
        try:
            action = next(flow)
            while True:
                action = flow.send(await self._perform(action))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    async def _perform(self, action: Action) -> Outcome:
        import httpx

        if isinstance(action, Sleep):
            await asyncio.sleep(action.seconds)
            return None
        if isinstance(action, Send):
            try:  # the headers (with the key) are not kept in a local variable
                r = await next(self._turn).request(
                    action.method,
                    action.url,
                    content=action.content,
                    headers=self._request_headers(action),
                )
            except httpx.TransportError as exc:
                return _failure(exc)
            return Response(r.status_code, dict(r.headers), r.content)
        return await self._fetch(action)

    async def _fetch(self, action: Fetch) -> Outcome:
        import httpx

        tmp = action.dest.with_name(action.dest.name + ".part")
        try:
            async with next(self._turn).stream(
                "GET", action.url, headers=_fetch_headers(), follow_redirects=True
            ) as r:
                if r.status_code >= 300:
                    body = await r.aread()
                    return Response(r.status_code, dict(r.headers), body[:4096])
                with open(tmp, "wb") as fh:
                    async for chunk in r.aiter_bytes(_CHUNK):
                        fh.write(chunk)
            os.replace(tmp, action.dest)
            return Response(r.status_code, dict(r.headers))
        except httpx.TransportError as exc:
            return _failure(exc)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
