"""What a running job reports while it runs, the same for every backend.

:class:`JobEvent` is one event; its :meth:`~JobEvent.to_dict` is the JSON object that
``cmfy-graph submit --events`` prints, one a line::

    {"event": "executing", "node": "3"}
    {"event": "progress", "node": "3", "value": 5, "max": 20}
    {"event": "cached", "nodes": ["1", "2"]}
    {"event": "executed", "node": "9", "output": {...}}
    {"event": "completed"}
    {"event": "failed", "node": "3", "message": "…"}

Events are a live view: they may be missed (a dropped connection) and are never the record of
a job; the job itself (``get``/``wait``) is. Other kinds: ``queued`` (with ``position``),
``running``, ``cancelled``, ``reconnecting`` (the live connection dropped; events resume or the
client polls).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping
from typing import Any

import attrs

__all__ = [
    "JobEvent",
    "EventHandler",
    "TERMINAL_EVENTS",
    "ProgressLine",
    "end_event",
    "poll_events",
]

#: the events after which a job's stream ends
TERMINAL_EVENTS = frozenset({"completed", "failed", "cancelled"})


@attrs.frozen(slots=True)
class JobEvent:
    """One event of a job: ``event`` (see the module docstring), the job id, the node it is
    about, a step ``value`` of ``max``, and whatever else the backend said (``data``)."""

    event: str
    job: str
    node: str | None = None
    value: int | float | None = None
    max: int | float | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict, eq=False)

    @property
    def terminal(self) -> bool:
        """True for the last event of a job (completed, failed, cancelled)."""
        return self.event in TERMINAL_EVENTS

    def to_dict(self, *, with_job: bool = False) -> dict[str, Any]:
        """The JSON object ``--events`` prints: ``event``, then ``node``, ``value``, ``max``
        and the backend's extra fields when set (``job`` too with ``with_job``: the command
        prints the events of one job, named by the final job printed last)."""
        out: dict[str, Any] = {"event": self.event}
        if with_job:
            out["job"] = self.job
        if self.node is not None:
            out["node"] = self.node
        if self.value is not None:
            out["value"] = self.value
        if self.max is not None:
            out["max"] = self.max
        out.update((k, v) for k, v in self.data.items() if k not in out)
        return out


#: error codes of a job that was stopped on request: ComfyUI's and the Comfy API's
_CANCEL_CODES = frozenset({"execution_interrupted", "canceled"})


def end_event(job: Any) -> JobEvent:
    """The last event of a job that ended (a :class:`~cmfy_graph.client.jobs.Job` whose
    ``done`` is true): ``completed``, ``cancelled`` or ``failed`` with its message."""
    if job.completed:
        return JobEvent("completed", job.job_id)
    err = job.error
    if err is not None and err.code in _CANCEL_CODES:
        return JobEvent("cancelled", job.job_id)
    return JobEvent("failed", job.job_id, data={"message": err.message if err else "failed"})


def poll_events(
    get: Callable[[str], Any],
    job_id: str,
    deadline: float,
    delay: float = 0.5,
    max_delay: float = 5.0,
) -> Generator[JobEvent, None, Any]:
    """A job's events as polling sees them, for a backend (or a moment) without a live
    stream: its status each time it changes (``position`` while queued), then its
    :func:`end_event`. ``get(job_id)`` reads the job; polls start ``delay`` apart and grow by
    half up to ``max_delay``; :class:`~cmfy_graph.client.errors.WaitTimeout` at ``deadline``
    (a :func:`time.monotonic` time). The generator's return value is the job as it ended."""
    from .errors import WaitTimeout

    last = None
    delay = max(0.01, delay)
    while True:
        job = get(job_id)
        if job.done:
            yield end_event(job)
            return job
        if job.status != last:
            last = job.status
            data = {"position": job.queue_position} if job.queue_position is not None else {}
            yield JobEvent(job.status, job_id, data=data)
        left = deadline - time.monotonic()
        if left <= 0:
            raise WaitTimeout(f"job {job_id} is still {job.status}", job=job)
        time.sleep(min(left, delay))
        delay = min(max_delay, delay * 1.5)


#: a callback that receives each event as it arrives
EventHandler = Callable[[JobEvent], None]


class ProgressLine:
    """A one-line live progress display (for a terminal's stderr): ``job 1a2b: node 3
    KSampler 5/20``, rewritten in place, ended by :meth:`close`."""

    def __init__(self, stream: Any, classes: Mapping[str, str] | None = None) -> None:
        self.stream = stream
        self.classes = dict(classes or {})
        self._width = 0

    def __call__(self, ev: JobEvent) -> None:
        if ev.event == "progress" and ev.max:
            what = self._node(ev.node)
            text = f"{ev.job[:8]}: {what} {ev.value}/{ev.max}"
        elif ev.event == "executing" and ev.node is not None:
            text = f"{ev.job[:8]}: {self._node(ev.node)}"
        elif ev.event == "queued":
            pos = ev.data.get("position")
            text = f"{ev.job[:8]}: queued" + (f" (position {pos})" if pos is not None else "")
        elif ev.event in ("running", "reconnecting", "cancelled"):
            text = f"{ev.job[:8]}: {ev.event}"
        else:
            return
        pad = max(0, self._width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._width = len(text)

    def _node(self, node: str | None) -> str:
        if node is None:
            return "node ?"
        cls = self.classes.get(node)
        return f"node {node} {cls}" if cls else f"node {node}"

    def close(self) -> None:
        """End the line (if one was drawn)."""
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
