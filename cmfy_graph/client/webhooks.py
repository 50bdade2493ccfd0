"""Webhooks: checking a ``webhook_url`` and receiving deliveries.

cmfy.cloud POSTs the job, in the shape of ``GET /v1/jobs/{id}``, to ``webhook_url`` once, when
the job ends. The URL must be HTTPS and publicly reachable (no localhost, no private address).
The payload is **not signed** (no signature scheme is documented), so a receiver must treat it
as a hint: :func:`parse_webhook` parses it, confirms it with ``GET /v1/jobs/{id}`` over the
authenticated API and drops repeats of a job id already handled.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._base import check_webhook_url
from .errors import UnexpectedResponseError
from .jobs import Job, parse_job

if TYPE_CHECKING:
    from .cloud import AsyncClient, Client

__all__ = ["check_webhook_url", "parse_webhook", "aparse_webhook", "SeenJobs"]


class SeenJobs:
    """A bounded, thread-safe set of job ids already handled (oldest forgotten first)."""

    def __init__(self, maxsize: int = 100_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self.maxsize = maxsize

    def add(self, job_id: str) -> bool:
        """Record ``job_id``; False when it was already there."""
        with self._lock:
            if job_id in self._ids:
                self._ids.move_to_end(job_id)
                return False
            self._ids[job_id] = None
            while len(self._ids) > self.maxsize:
                self._ids.popitem(last=False)
            return True

    def __contains__(self, job_id: object) -> bool:
        with self._lock:
            return job_id in self._ids

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)


def _load(body: bytes | str | Mapping[str, Any]) -> Job:
    if isinstance(body, (bytes, bytearray)):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise UnexpectedResponseError(
                "webhook body is not UTF-8", code="invalid_webhook"
            ) from None
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            raise UnexpectedResponseError(
                "webhook body is not JSON", code="invalid_webhook"
            ) from None
    return parse_job(body)


def parse_webhook(
    body: bytes | str | Mapping[str, Any],
    client: Client | None = None,
    *,
    seen: SeenJobs | None = None,
) -> Job | None:
    """Parse a webhook delivery into a :class:`Job`.

    With ``client`` the job is confirmed with ``GET /v1/jobs/{id}`` and the confirmed state is
    returned (the payload is unsigned: never trust it alone). With ``seen`` a job id already
    handled returns None (it is recorded only once confirmed, so a failed confirmation can be
    retried). Raises
    :class:`~cmfy_graph.client.errors.UnexpectedResponseError` for a body that is not a job.
    """
    hinted = _load(body)
    if seen is not None and hinted.job_id in seen:
        return None
    job = client.get(hinted.job_id) if client is not None else hinted
    if seen is not None and not seen.add(job.job_id):
        return None  # another delivery of the same job won the race
    return job


async def aparse_webhook(
    body: bytes | str | Mapping[str, Any],
    client: AsyncClient | None = None,
    *,
    seen: SeenJobs | None = None,
) -> Job | None:
    """The async twin of :func:`parse_webhook`."""
    hinted = _load(body)
    if seen is not None and hinted.job_id in seen:
        return None
    job = await client.get(hinted.job_id) if client is not None else hinted
    if seen is not None and not seen.add(job.job_id):
        return None
    return job
