"""The job record the clients return (:class:`Job`) and its parser: a leaf of the client
package (it imports only :mod:`cmfy_graph.client.errors`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from .errors import JobFailedError, JobNotReadyError, UnexpectedResponseError

__all__ = ["FINAL_STATUSES", "Job", "JobError", "parse_job", "opt_int"]

#: The statuses a job ends in.
FINAL_STATUSES = frozenset({"completed", "failed"})


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def opt_int(value: Any) -> int | None:
    """An int from a JSON number or a header string; ``None`` when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


@attrs.frozen
class JobError:
    """The ``error`` of a failed job: ``code`` (``execution_...``; the full list is unknown)."""

    code: str
    message: str


@attrs.frozen
class Job:
    """A job as the service last described it.

    ``status`` is ``queued``, ``running``, ``completed`` or ``failed`` (an unknown string is
    kept as given). ``outputs`` lists the output image URLs. ``raw`` is the JSON object as
    received (not compared: two jobs are equal when their parsed fields are). ``server`` is
    the base URL of the self-hosted ComfyUI server that holds the job (None for cmfy.cloud).
    Jobs are hashable.
    """

    job_id: str
    status: str
    queue_position: int | None = None
    estimated_wait_seconds: float | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    execution_time_ms: int | None = None
    outputs: tuple[str, ...] = ()
    error: JobError | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    server: str | None = attrs.field(default=None, repr=False)

    @property
    def done(self) -> bool:
        """True once the job is ``completed`` or ``failed``."""
        return self.status in FINAL_STATUSES

    @property
    def failed(self) -> bool:
        """True when the job ended with status ``failed``."""
        return self.status == "failed"

    @property
    def completed(self) -> bool:
        """True when the job ended with status ``completed``."""
        return self.status == "completed"

    def raise_for_failure(self) -> Job:
        """Raise :class:`JobFailedError` when the job failed; else return the job."""
        if self.status == "failed":
            err = self.error or JobError("execution_failed", "the job failed")
            raise JobFailedError(
                f"job {self.job_id} failed: {err.message}", code=err.code, job=self
            )
        return self

    def require_completed(self, noun: str = "job", advice: str = "") -> Job:
        """The job, when it completed (its outputs are there): a failed job raises
        :class:`JobFailedError`, one still queued or running :class:`JobNotReadyError`
        ("<noun> <id> is <status>", then ``advice``)."""
        self.raise_for_failure()
        if self.status != "completed":
            raise JobNotReadyError(f"{noun} {self.job_id} is {self.status}{advice}", job=self)
        return self

    def _repr_html_(self) -> str:
        """Jupyter: the job's id, status, times and error, and its output images."""
        from html import escape

        rows = [("job", self.job_id), ("status", self.status)]
        if self.queue_position is not None:
            rows.append(("queue position", str(self.queue_position)))
        if self.execution_time_ms is not None:
            rows.append(("execution", f"{self.execution_time_ms / 1000:.1f} s"))
        if self.error is not None:
            rows.append(("error", f"{self.error.code}: {self.error.message}"))
        table = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th><td>{escape(v)}</td></tr>"
            for k, v in rows
        )
        imgs = "".join(
            f"<img src='{escape(u, quote=True)}' style='max-width:256px;margin:2px'/>"
            for u in self.outputs
            if u.startswith(("http://", "https://"))
        )
        return f"<table>{table}</table>" + (f"<div>{imgs}</div>" if imgs else "")

    def to_dict(self) -> dict[str, Any]:
        """The job as a JSON-ready dict (the service's own JSON when there is one)."""
        if self.raw:
            return dict(self.raw)
        out: dict[str, Any] = {"job_id": self.job_id, "status": self.status}
        if self.outputs:
            out["outputs"] = {"images": list(self.outputs)}
        if self.error:
            out["error"] = {"code": self.error.code, "message": self.error.message}
        return out


def parse_job(data: Any, *, server: str | None = None) -> Job:
    """Build a :class:`Job` from the JSON of ``POST /v1/jobs`` (202), ``GET /v1/jobs/{id}`` or a
    webhook body. Raises :class:`UnexpectedResponseError` when ``job_id``/``status`` are missing.
    """
    if not isinstance(data, Mapping):
        raise UnexpectedResponseError("job JSON is not an object")
    job_id = data.get("job_id")
    status = data.get("status")
    if not isinstance(job_id, str) or not job_id:
        raise UnexpectedResponseError("job JSON has no 'job_id'")
    if not isinstance(status, str) or not status:
        raise UnexpectedResponseError(f"job {job_id} JSON has no 'status'")
    outputs_raw = data.get("outputs")
    images: list[str] = []
    if isinstance(outputs_raw, Mapping):
        imgs = outputs_raw.get("images")
        if isinstance(imgs, list):
            images = [u for u in imgs if isinstance(u, str)]
    err = data.get("error")
    job_error = None
    if isinstance(err, Mapping):
        job_error = JobError(
            str(err.get("code") or "execution_failed"), str(err.get("message", ""))
        )
    wait = data.get("estimated_wait_seconds")
    return Job(
        job_id=job_id,
        status=status,
        queue_position=opt_int(data.get("queue_position")),
        estimated_wait_seconds=float(wait)
        if isinstance(wait, (int, float)) and not isinstance(wait, bool)
        else None,
        created_at=_parse_time(data.get("created_at")),
        started_at=_parse_time(data.get("started_at")),
        completed_at=_parse_time(data.get("completed_at")),
        execution_time_ms=opt_int(data.get("execution_time_ms")),
        outputs=tuple(images),
        error=job_error,
        raw=dict(data),
        server=server,
    )
