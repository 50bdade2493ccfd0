"""Errors of the cmfy.cloud and ComfyUI clients.

One hierarchy, rooted in :class:`ApiError` (itself a :class:`~cmfy_graph.errors.CmfyGraphError`)::

    ApiError                        exit 3  the API, the network or the client's setup failed
    ├── ConfigurationError          exit 2  no key, a malformed key, an unsafe base URL or webhook URL
    ├── AuthenticationError         exit 3  401: missing_auth, invalid_auth_format,
    │                                        invalid_api_key, revoked_api_key
    ├── PermissionDeniedError       exit 3  403: account_suspended, insufficient_permissions
    ├── InvalidWorkflowError        exit 2  400 from the service (with ComfyUI-style node_errors when
    │                                        the body has them), or refused by the local linter
    ├── NotFoundError               exit 3  404: no such job
    ├── RateLimitError              exit 3  429: rate_limit_exceeded, concurrent_limit_reached,
    │                                        queue_full (after the retry budget ran out)
    ├── ServerError                 exit 3  5xx on a request that is safe to repeat (budget ran out)
    ├── UnexpectedResponseError     exit 3  a status or a body the contract does not describe
    ├── ApiConnectionError          exit 3  the connection failed (after the retry budget ran out)
    │   └── ApiTimeoutError         exit 3  connect/read/write timed out
    ├── SubmitUncertainError        exit 3  a POST /v1/jobs that may have reached the server failed
    │                                        (timeout after sending, 5xx, reset, unreadable 2xx): it is
    │                                        never repeated, as that could start a second billed job
    ├── WaitTimeout                 exit 3  wait() gave up; the job is left alone (``.job``)
    ├── JobNotReadyError            exit 3  download() of a job that has not completed
    └── JobFailedError              exit 1  the job ended with status ``failed`` (``.job``)

Every error carries ``code``, ``message``, ``request_id``, ``status`` (HTTP), ``retry_after``
and ``details`` where known. None of them ever holds the API key: messages are built from the
server's error envelope and from our own text, and the request object is not kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..errors import CmfyGraphError


class JobLike(Protocol):
    """What the ``.job`` of an error is: a :class:`~cmfy_graph.client.Job` (typed by its shape
    here, so that this module, the root of the client's hierarchy, imports no other)."""

    @property
    def job_id(self) -> str: ...

    @property
    def status(self) -> str: ...


__all__ = [
    "ApiError",
    "ConfigurationError",
    "AuthenticationError",
    "PermissionDeniedError",
    "InvalidWorkflowError",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "UnexpectedResponseError",
    "ApiConnectionError",
    "ApiTimeoutError",
    "SubmitUncertainError",
    "WaitTimeout",
    "JobNotReadyError",
    "JobFailedError",
    "AUTH_CODES",
    "PERMISSION_CODES",
    "RATE_LIMIT_CODES",
]

#: the documented 401 codes
AUTH_CODES = frozenset(
    {"missing_auth", "invalid_auth_format", "invalid_api_key", "revoked_api_key"}
)
#: the documented 403 codes
PERMISSION_CODES = frozenset({"account_suspended", "insufficient_permissions"})
#: the documented 429 codes
RATE_LIMIT_CODES = frozenset({"rate_limit_exceeded", "concurrent_limit_reached", "queue_full"})


class ApiError(CmfyGraphError):
    """Base class of every client error.

    Attributes: ``code`` (the envelope's ``error.code`` or a local code), ``message``,
    ``status`` (HTTP status or None), ``request_id``, ``retry_after`` (seconds or None),
    ``details`` (the envelope's ``details`` dict). ``exit_code`` is what the CLI exits with.
    """

    exit_code: int = 3
    default_code: str = "api_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = message
        self.code = code or self.default_code
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(message)

    def __str__(self) -> str:
        parts = [self.message]
        tags = []
        if self.status is not None:
            tags.append(f"HTTP {self.status}")
        if self.code:
            tags.append(self.code)
        if self.request_id:
            tags.append(f"request {self.request_id}")
        if tags:
            parts.append(f"({', '.join(tags)})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class ConfigurationError(ApiError):
    """The client cannot be used as configured (no key, a malformed key, an unsafe URL)."""

    exit_code = 2
    default_code = "configuration_error"


class AuthenticationError(ApiError):
    """401: the key is missing, malformed, unknown or revoked (``code`` says which)."""

    default_code = "invalid_api_key"


class PermissionDeniedError(ApiError):
    """403: the account is suspended or the plan does not allow this."""

    default_code = "insufficient_permissions"


class InvalidWorkflowError(ApiError):
    """The workflow was refused: by the service (400) or by the local linter before sending.

    ``node_errors`` is in ComfyUI's shape ``{node_id: {"errors": [...], "class_type": ...,
    "dependent_outputs": [...]}}`` when known; ``report`` is the local linter's report when the
    refusal was local.
    """

    exit_code = 2
    default_code = "invalid_workflow"

    def __init__(
        self,
        message: str,
        *,
        node_errors: Mapping[str, Any] | None = None,
        report: object | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.node_errors: dict[str, Any] = dict(node_errors or {})
        self.report = report


class NotFoundError(ApiError):
    """404: the job does not exist (or belongs to another account)."""

    default_code = "not_found"


class RateLimitError(ApiError):
    """429 after the retry budget ran out; ``code`` is one of :data:`RATE_LIMIT_CODES`."""

    default_code = "rate_limit_exceeded"


class ServerError(ApiError):
    """A 5xx answer to a request that is safe to repeat, after the retry budget ran out."""

    default_code = "server_error"


class UnexpectedResponseError(ApiError):
    """The server answered with a status or a body that the contract does not describe."""

    default_code = "unexpected_response"


class ApiConnectionError(ApiError):
    """The connection to the server failed (refused, reset, DNS), after retries where safe."""

    default_code = "connection_error"


class ApiTimeoutError(ApiConnectionError):
    """A connect, read or write timeout, after retries where safe."""

    default_code = "timeout"


class SubmitUncertainError(ApiError):
    """A submission failed in a way that may have created the job anyway.

    Raised for a timeout after the request was sent, a 5xx, a connection reset after sending
    or an unreadable 2xx body. The client never repeats such a POST: that could create a
    second, billed job. Check your jobs (or the webhook) before submitting again.
    """

    default_code = "submit_uncertain"


class WaitTimeout(ApiError):
    """``wait()`` ran out of time; the job itself was left alone. ``job`` is its last state."""

    default_code = "wait_timeout"

    def __init__(self, message: str, *, job: JobLike | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.job = job


class JobNotReadyError(ApiError):
    """Outputs were asked for a job that has not completed."""

    default_code = "job_not_ready"

    def __init__(self, message: str, *, job: JobLike | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.job = job


class JobFailedError(ApiError):
    """The job ended with status ``failed``; ``code``/``message`` are the job's ``error``."""

    exit_code = 1
    default_code = "execution_failed"

    def __init__(self, message: str, *, job: JobLike | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.job = job
