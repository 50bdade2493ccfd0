"""Async twins of the ComfyUI and Comfy API v2 clients.

Each runs its blocking twin in worker threads (``asyncio.to_thread``), so an event loop never
blocks on a socket; ``events()`` is an async iterator fed by a thread that reads the
websocket or the SSE stream. Same methods, same errors, same semantics as the blocking ones::

    async with AsyncComfyUIClient("http://127.0.0.1:8188") as c:
        job = await c.submit(wf)
        async for ev in c.events(job):
            print(ev.to_dict())
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from .events import EventHandler, JobEvent
from .jobs import Job

__all__ = ["AsyncComfyUIClient", "AsyncComfyApiClient"]

_END = object()


class _Async:
    """The shared part: the blocking client in ``sync``, its calls in threads."""

    sync: Any

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the blocking client."""
        await asyncio.to_thread(self.sync.close)

    async def submit(self, workflow_or_prompt: Any, **kwargs: Any) -> Job:
        """See the blocking client's ``submit`` (uploads included)."""
        job: Job = await asyncio.to_thread(self.sync.submit, workflow_or_prompt, **kwargs)
        return job

    async def get(self, job: Job | str) -> Job:
        """The job's current state."""
        got: Job = await asyncio.to_thread(self.sync.get, job)
        return got

    async def cancel(self, job: Job | str) -> None:
        """Cancel the job (see the blocking client)."""
        await asyncio.to_thread(self.sync.cancel, job)

    async def download(self, job: Job | str, dest_dir: str | os.PathLike[str]) -> list[Path]:
        """Save the job's outputs into ``dest_dir``."""
        paths: list[Path] = await asyncio.to_thread(self.sync.download, job, dest_dir)
        return paths

    async def wait(
        self,
        job: Job | str,
        timeout: float = 600.0,
        poll_interval: float = 0.5,
        *,
        on_event: EventHandler | None = None,
    ) -> Job:
        """Wait for the job's end; ``on_event`` gets its events (called in a worker thread)."""
        done: Job = await asyncio.to_thread(
            self.sync.wait, job, timeout, poll_interval, on_event=on_event
        )
        return done

    async def events(self, job: Job | str, timeout: float = 600.0) -> AsyncIterator[JobEvent]:
        """The job's events as they come, until its end."""
        jid = job.job_id if isinstance(job, Job) else job
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def pump() -> None:
            try:
                for ev in self._events(jid, timeout):
                    loop.call_soon_threadsafe(queue.put_nowait, ev)
                    if stop.is_set():
                        return
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting side
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _END)

        worker = threading.Thread(target=pump, daemon=True)
        worker.start()
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()

    def _events(self, jid: str, timeout: float) -> Any:
        raise NotImplementedError


class AsyncComfyUIClient(_Async):
    """Async :class:`~cmfy_graph.client.comfyui.ComfyUIClient` (same arguments)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .comfyui import ComfyUIClient

        self.sync = ComfyUIClient(*args, **kwargs)

    def __repr__(self) -> str:
        return f"AsyncComfyUIClient(base_url={self.sync.base_url!r})"

    async def upload(self, path: str | os.PathLike[str]) -> str:
        """Upload a local file to the input folder (once); its name on the server."""
        name: str = await asyncio.to_thread(self.sync.upload, path)
        return name

    def _events(self, jid: str, timeout: float) -> Any:
        with self.sync.live() as live:
            yield from live.events(jid, timeout)


class AsyncComfyApiClient(_Async):
    """Async :class:`~cmfy_graph.client.comfy_api.ComfyApiClient` (same arguments)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .comfy_api import ComfyApiClient

        self.sync = ComfyApiClient(*args, **kwargs)

    def __repr__(self) -> str:
        return f"AsyncComfyApiClient(base_url={self.sync.base_url!r})"

    def _events(self, jid: str, timeout: float) -> Any:
        return self.sync.events(jid, timeout)
