"""Live events of a ComfyUI server: its websocket (``GET /ws?clientId=...``), as
:class:`~cmfy_graph.client.events.JobEvent` objects.

ComfyUI sends a prompt's events only to the websocket of the ``client_id`` that queued it, so
the socket is opened *before* the prompt is queued (:class:`LiveEvents` does that) and the
events are filtered by ``prompt_id``. Messages and what they become:

================================  =============================================================
ComfyUI message                   event
================================  =============================================================
``execution_start``               ``running``
``execution_cached`` (``nodes``)  ``cached`` (``nodes``)
``executing`` (``node``)          ``executing`` (the end marker ``node: null`` is dropped)
``progress`` (``value``, ``max``)  ``progress``
``executed`` (``node``)           ``executed`` (``output``)
``execution_success``             ``completed``
``execution_error``               ``failed`` (``node``, ``message``)
``execution_interrupted``         ``cancelled``
================================  =============================================================

Binary frames (previews) are skipped. When the socket drops, a ``reconnecting`` event is
given, the history is read (the prompt may have ended meanwhile) and the socket is opened
again, a few times with backoff; when it cannot be, the events come from polling
``/history`` and ``/queue`` (``queued``, ``running`` and the end) instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

from .errors import WaitTimeout
from .events import JobEvent, end_event, poll_events
from .jobs import Job


class _Client(Protocol):
    """What this module needs of :class:`~cmfy_graph.client.comfyui.ComfyUIClient` (typed by
    its shape, so that the two modules do not import each other)."""

    base_url: str
    client_id: str
    _headers: dict[str, str]

    def get(self, job_id: str | Job) -> Job: ...

    def _from_history(self, jid: str) -> Job | None: ...


__all__ = ["LiveEvents", "ws_url"]


def ws_url(base_url: str, client_id: str) -> str:
    """The websocket URL of a ComfyUI server for ``client_id``."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = parts.path.rstrip("/") + "/ws"
    return urlunsplit((scheme, parts.netloc, path, f"clientId={quote(client_id)}", ""))


def _event(msg: dict[str, Any], job_id: str) -> JobEvent | None:
    kind = msg.get("type")
    data = msg.get("data")
    if not isinstance(data, dict) or data.get("prompt_id") != job_id:
        return None
    node = data.get("node")
    node = str(node) if node is not None else None
    if kind == "execution_start":
        return JobEvent("running", job_id)
    if kind == "execution_cached":
        return JobEvent("cached", job_id, data={"nodes": list(data.get("nodes") or [])})
    if kind == "executing":
        return JobEvent("executing", job_id, node) if node is not None else None
    if kind == "progress":
        return JobEvent("progress", job_id, node, data.get("value"), data.get("max"))
    if kind == "executed":
        return JobEvent("executed", job_id, node, data={"output": data.get("output")})
    if kind == "execution_success":
        return JobEvent("completed", job_id)
    if kind == "execution_error":
        msg_text = f"{data.get('exception_type')}: {data.get('exception_message')}"
        return JobEvent(
            "failed",
            job_id,
            str(data["node_id"]) if data.get("node_id") is not None else None,
            data={"message": msg_text, "class_type": data.get("node_type")},
        )
    if kind == "execution_interrupted":
        return JobEvent("cancelled", job_id)
    return None


class LiveEvents:
    """A websocket to one ComfyUI server, opened on ``__enter__`` (before queueing), read by
    :meth:`events` for one job at a time."""

    def __init__(
        self,
        client: _Client,
        *,
        reconnects: int = 5,
        poll_interval: float = 0.5,
        open_timeout: float = 5.0,
    ) -> None:
        self.client = client
        self.reconnects = reconnects
        self.poll_interval = poll_interval
        self.open_timeout = open_timeout
        self._ws: Any = None
        self.polling = False  # True once the socket was given up for polling

    def __enter__(self) -> LiveEvents:
        self._ws = self._connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the socket."""
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                ws.close()
            except Exception:  # noqa: BLE001 - closing a broken socket
                pass

    def _connect(self) -> Any:
        from websockets.sync.client import connect

        c = self.client
        try:
            opening = connect(
                ws_url(c.base_url, c.client_id),
                additional_headers=c._headers or None,
                open_timeout=self.open_timeout,
                max_size=None,
            )
            # entered as the context manager it is (newer websockets warn otherwise; older
            # ones return the connection itself, whose __enter__ returns it too)
            return opening.__enter__()
        except Exception:  # noqa: BLE001 - any failure to open means: poll instead
            return None

    def events(self, job_id: str, timeout: float = 600.0) -> Iterator[JobEvent]:
        """The job's events until its end (the last one is ``completed``, ``failed`` or
        ``cancelled``); :class:`WaitTimeout` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        tries = 0
        if self._ws is None:
            self._ws = self._connect()
        end = self._ended(job_id)  # it may have ended before the socket was open
        if end is not None:
            yield end
            return
        while True:
            if self._ws is None:
                yield from self._poll(job_id, deadline)
                return
            try:
                for ev in self._read(job_id, deadline):
                    yield ev
                    if ev.terminal:
                        return
                return
            except _Dropped:
                self.close()
                tries += 1
                yield JobEvent("reconnecting", job_id, data={"attempt": tries})
                end = self._ended(job_id)
                if end is not None:
                    yield end
                    return
                if tries > self.reconnects:
                    self.polling = True
                    yield from self._poll(job_id, deadline)
                    return
                time.sleep(min(2.0, 0.1 * 2**tries))
                self._ws = self._connect()
                if self._ws is not None:
                    # events sent while the socket was down are gone: the end may be too
                    end = self._ended(job_id)
                    if end is not None:
                        yield end
                        return

    def _read(self, job_id: str, deadline: float) -> Iterator[JobEvent]:
        from websockets.exceptions import ConnectionClosed

        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeout(f"prompt {job_id} did not end in time")
            try:
                raw = self._ws.recv(timeout=min(left, 5.0))
            except TimeoutError:
                # quiet for a while: the prompt may have ended unseen (or never been ours)
                end = self._ended(job_id)
                if end is not None:
                    yield end
                    return
                continue
            except (ConnectionClosed, OSError) as exc:
                raise _Dropped() from exc
            if isinstance(raw, bytes):
                continue  # a preview image
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            ev = _event(msg, job_id) if isinstance(msg, dict) else None
            if ev is not None:
                yield ev

    def _ended(self, job_id: str) -> JobEvent | None:
        """The end event of the job if its history says it ended, else None."""
        job = self.client._from_history(job_id)
        if job is None or not job.done:
            return None
        return end_event(job)

    def _poll(self, job_id: str, deadline: float) -> Iterator[JobEvent]:
        return poll_events(self.client.get, job_id, deadline, self.poll_interval)


class _Dropped(Exception):
    """The socket closed under us."""


class ProgressMonitor:
    """A background reader of one server's websocket for a client id that keeps, per prompt,
    the latest sampler step (``progress[prompt_id] = (node, value, max)``; removed when the
    prompt ends): the per-job progress a sweep shows. Read-only: waiting for jobs does not
    depend on it. :meth:`stop` ends it."""

    def __init__(self, client: _Client, *, reconnect_delay: float = 1.0) -> None:
        import threading

        self.client = client
        self.progress: dict[str, tuple[str | None, Any, Any]] = {}
        self.reconnect_delay = reconnect_delay
        self._stop = threading.Event()
        self._live = LiveEvents(client)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from websockets.exceptions import ConnectionClosed

        while not self._stop.is_set():
            ws = self._live._connect()
            if ws is None:
                self._stop.wait(self.reconnect_delay)
                continue
            try:
                while not self._stop.is_set():
                    try:
                        raw = ws.recv(timeout=0.5)
                    except TimeoutError:
                        continue
                    if isinstance(raw, str):
                        self._note(raw)
            except (ConnectionClosed, OSError):
                pass
            finally:
                try:
                    ws.close()
                except Exception:  # noqa: BLE001 - closing a broken socket
                    pass

    def _note(self, raw: str) -> None:
        try:
            msg = json.loads(raw)
        except ValueError:
            return
        data = msg.get("data") if isinstance(msg, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("prompt_id"), str):
            return
        pid = data["prompt_id"]
        kind = msg.get("type")
        if kind == "progress":
            node = data.get("node")
            self.progress[pid] = (
                str(node) if node is not None else None,
                data.get("value"),
                data.get("max"),
            )
        elif kind in ("execution_success", "execution_error", "execution_interrupted"):
            self.progress.pop(pid, None)

    def stop(self) -> None:
        """Stop reading and close the socket."""
        self._stop.set()
        self._thread.join(2)
