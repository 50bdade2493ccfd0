"""What the cmfy.cloud clients share: keys, URLs, records, request bodies, error parsing, retries.

The sync :class:`~cmfy_graph.client.cloud.Client` and the async
:class:`~cmfy_graph.client.cloud.AsyncClient` run the same logic, written once here as
generators that *yield* I/O actions (:class:`Send`, :class:`Sleep`, :class:`Fetch`) and receive
their results; each client drives the generators with its own I/O. Nothing in this module opens
a socket, and nothing here imports httpx.

The contract is ``../shared/seeds/cmfy_cloud_quickstart.txt`` and ``../shared/cmfy_cloud_api.md``.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import os
import random
import re
import time
from collections.abc import Generator, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

import attrs

from .errors import (
    AUTH_CODES,
    PERMISSION_CODES,
    RATE_LIMIT_CODES,
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    AuthenticationError,
    ConfigurationError,
    InvalidWorkflowError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SubmitUncertainError,
    UnexpectedResponseError,
    WaitTimeout,
)
from .jobs import FINAL_STATUSES, Job, JobError, opt_int, parse_job

__all__ = [
    "DEFAULT_BASE_URL",
    "KEY_PREFIXES",
    "KEY_LENGTH",
    "JOB_STATUSES",
    "FINAL_STATUSES",
    "Job",
    "JobError",
    "RateLimits",
    "RetryPolicy",
    "check_api_key",
    "check_base_url",
    "is_loopback_host",
    "parse_job",
    "error_from_response",
    "to_prompt",
    "check_prompt_shape",
    "lint_prompt",
]

log = logging.getLogger("cmfy_graph.client")

DEFAULT_BASE_URL = "https://api.cmfy.cloud"
KEY_PREFIXES = ("sk_live_", "sk_test_")
KEY_LENGTH = 51  # the 8-character prefix and 43 random characters
JOB_STATUSES = ("queued", "running", "completed", "failed")
USER_AGENT = "cmfy-graph/0.1"

T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# keys and URLs


class _Secret:
    """Holds the API key; its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<API key hidden>"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # pragma: no cover - pickling would write the key somewhere
        raise TypeError("the API key cannot be pickled")


def check_api_key(key: str | None, *, source: str = "api_key") -> str:
    """Return ``key`` when it has the cmfy.cloud format, else raise :class:`ConfigurationError`.

    A key is ``sk_live_`` or ``sk_test_`` followed by 43 characters (51 in all). The message
    never repeats the key; it says what is wrong with it.
    """
    if key is None or key == "":
        raise ConfigurationError(
            "no API key: pass api_key=... or set CMFY_API_KEY (keys start with sk_live_ or sk_test_)",
            code="missing_api_key",
        )
    if not isinstance(key, str):
        raise ConfigurationError(f"{source} must be a string", code="invalid_key_format")
    if key != key.strip():
        raise ConfigurationError(
            f"{source} has leading or trailing whitespace (a copy-paste slip?)",
            code="invalid_key_format",
        )
    if not key.startswith(KEY_PREFIXES):
        raise ConfigurationError(
            f"{source} is not a cmfy.cloud key: it must start with 'sk_live_' or 'sk_test_'",
            code="invalid_key_format",
        )
    if len(key) != KEY_LENGTH:
        raise ConfigurationError(
            f"{source} has {len(key)} characters; a cmfy.cloud key has {KEY_LENGTH} "
            f"('{key[:8]}' followed by 43 characters): was it cut off or pasted twice?",
            code="invalid_key_format",
        )
    if not all(33 <= ord(c) < 127 for c in key):
        raise ConfigurationError(
            f"{source} contains spaces or characters outside printable ASCII",
            code="invalid_key_format",
        )
    return key


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    h = host.strip("[]").lower()
    if h == "localhost" or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    """Normalise the API base URL; refuse plain HTTP except to a loopback address.

    The key is sent on every request to this URL, so it must be HTTPS (or a local emulator).
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"base URL {url!r} is not an http(s) URL such as {DEFAULT_BASE_URL}",
            code="invalid_base_url",
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigurationError(
            "base URL must not carry credentials, a query or a fragment", code="invalid_base_url"
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigurationError(
            f"refusing to send the API key over plain HTTP to {parts.hostname}: use https:// "
            "(plain http is allowed only for a loopback address such as a local emulator)",
            code="insecure_base_url",
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def same_origin(url: str, base_url: str) -> bool:
    """True when ``url`` has the scheme, host and port of ``base_url``."""
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


# ---------------------------------------------------------------------------------------------
# records


def check_webhook_url(url: str, *, allow_private: bool = False) -> str:
    """Return ``url`` unchanged when cmfy.cloud can deliver to it, else raise
    :class:`~cmfy_graph.client.errors.ConfigurationError`.

    The rules are the service's (shared with the linter, :func:`cmfy_graph.validate.check_webhook_url`):
    HTTPS, and not localhost or a private address. With ``allow_private=True`` (for tests
    against the emulator) plain HTTP and loopback or private hosts are accepted. Host names
    are not resolved here.
    """
    from ..validate import check_webhook_url as shared_check

    findings = shared_check(url, allow_insecure=allow_private)
    if findings:
        text = "; ".join(f.message for f in findings)
        if not allow_private and any(f.code != "webhook_invalid" for f in findings):
            text += " (for local tests against the emulator pass allow_private_webhooks=True)"
        raise ConfigurationError(text, code="invalid_webhook_url")
    return url


@attrs.frozen
class RateLimits:
    """The rate-limit headers of the last response (None where a header was absent).

    ``reset`` is the unix time at which the request window resets (``X-RateLimit-Reset``).
    """

    limit: int | None = None
    remaining: int | None = None
    reset: int | None = None
    concurrent_limit: int | None = None
    concurrent_current: int | None = None
    queue_limit: int | None = None
    queue_current: int | None = None

    HEADERS = {
        "limit": "x-ratelimit-limit",
        "remaining": "x-ratelimit-remaining",
        "reset": "x-ratelimit-reset",
        "concurrent_limit": "x-concurrent-limit",
        "concurrent_current": "x-concurrent-current",
        "queue_limit": "x-queue-limit",
        "queue_current": "x-queue-current",
    }

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimits:
        """Read the seven documented headers (case-insensitive); unparsable values become None."""
        lower = {k.lower(): v for k, v in headers.items()}
        return cls(**{field: opt_int(lower.get(h)) for field, h in cls.HEADERS.items()})

    @property
    def seen(self) -> bool:
        """True when at least one of the headers was present."""
        return any(getattr(self, f) is not None for f in self.HEADERS)

    @property
    def concurrent_available(self) -> int | None:
        """Free job slots (concurrent limit minus current), when both are known."""
        if self.concurrent_limit is None or self.concurrent_current is None:
            return None
        return max(0, self.concurrent_limit - self.concurrent_current)


# ---------------------------------------------------------------------------------------------
# errors from responses


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if dt is None:  # pragma: no cover - py<3.10 behaviour
        return None
    return max(0.0, dt.timestamp() - (time.time() if now is None else now))


def _decode_json(content: bytes) -> Any:
    try:
        return json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


_STATUS_CLASSES: dict[int, type[ApiError]] = {
    400: InvalidWorkflowError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def error_from_response(
    status: int, headers: Mapping[str, str], content: bytes, *, what: str = "request"
) -> ApiError:
    """Build the typed error for a non-2xx response from its error envelope.

    The envelope is ``{"error": {"code", "message", "details", "retry_after"?, "request_id"}}``;
    a 400 may also carry ComfyUI-style ``node_errors`` (at the top level or in ``details``).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    body = _decode_json(content)
    env: Mapping[str, Any] = {}
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        env = body["error"]
    code = env.get("code") if isinstance(env.get("code"), str) else None
    if code is None and isinstance(env.get("type"), str):  # ComfyUI's own error objects
        code = env["type"]
    message = env.get("message") if isinstance(env.get("message"), str) else None
    details = env.get("details") if isinstance(env.get("details"), Mapping) else {}
    request_id = env.get("request_id") if isinstance(env.get("request_id"), str) else None
    request_id = request_id or lower.get("x-request-id")
    retry_after = parse_retry_after(lower.get("retry-after"))
    if retry_after is None and isinstance(env.get("retry_after"), (int, float)):
        retry_after = float(env["retry_after"])
    if message is None:
        snippet = content[:200].decode("utf-8", "replace").strip().replace("\n", " ")
        message = f"{what} failed with HTTP {status}" + (f": {snippet}" if snippet else "")
    kwargs: dict[str, Any] = {
        "code": code,
        "status": status,
        "request_id": request_id,
        "retry_after": retry_after,
        "details": details,
    }
    if status == 400:
        node_errors: Any = None
        if isinstance(body, Mapping):
            node_errors = body.get("node_errors")
            if node_errors is None and isinstance(details, Mapping):
                node_errors = details.get("node_errors")
        if isinstance(node_errors, Mapping) and node_errors:
            message = f"{message}: {summarise_node_errors(node_errors)}"
        return InvalidWorkflowError(
            message,
            node_errors=node_errors if isinstance(node_errors, Mapping) else None,
            **kwargs,
        )
    if status >= 500:
        return ServerError(message, **kwargs)
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        return UnexpectedResponseError(message, **kwargs)
    if cls is AuthenticationError and code not in AUTH_CODES:
        log.debug("undocumented 401 code %r", code)
    if cls is PermissionDeniedError and code not in PERMISSION_CODES:
        log.debug("undocumented 403 code %r", code)
    if cls is RateLimitError and code not in RATE_LIMIT_CODES:
        log.debug("undocumented 429 code %r", code)
    return cls(message, **kwargs)


def summarise_node_errors(node_errors: Mapping[str, Any], limit: int = 3) -> str:
    """One line naming the first few failing nodes, inputs and reasons (ComfyUI's shape)."""
    parts: list[str] = []
    total = 0
    for node_id, entry in node_errors.items():
        if not isinstance(entry, Mapping):
            continue
        cls = entry.get("class_type", "?")
        for err in entry.get("errors") or []:
            total += 1
            if len(parts) >= limit or not isinstance(err, Mapping):
                continue
            info = err.get("extra_info") if isinstance(err.get("extra_info"), Mapping) else {}
            inp = info.get("input_name") if isinstance(info, Mapping) else None
            where = f"node {node_id} ({cls})" + (f" input {inp!r}" if inp else "")
            msg = err.get("message", err.get("type", "error"))
            det = err.get("details")
            parts.append(f"{where}: {msg}" + (f" [{det}]" if det and det != inp else ""))
    more = f"; and {total - len(parts)} more" if total > len(parts) else ""
    return "; ".join(parts) + more


# ---------------------------------------------------------------------------------------------
# request bodies


def to_prompt(obj: Any, spec: Any = None) -> tuple[dict[str, Any], str | None]:
    """Turn what ``submit()`` accepts into ``(api_prompt, webhook_url_from_body)``.

    Accepts a :class:`cmfy_graph.graph.Workflow` (anything with ``to_prompt()``), an API
    prompt, a request body ``{"prompt": ..., "webhook_url"?}`` or a UI workflow (converted with
    ``cmfy_graph.convert.ui.ui_to_api``).
    """
    if hasattr(obj, "to_prompt") and callable(obj.to_prompt):
        prompt = obj.to_prompt()
        if isinstance(prompt, Mapping) and isinstance(prompt.get("prompt"), Mapping):
            prompt = prompt["prompt"]
        return dict(prompt), None
    if isinstance(obj, (str, bytes, Path)):
        raise InvalidWorkflowError(
            "submit() takes a workflow object or a parsed JSON dict, not a string or path; "
            "read the file first (json.load) or use `cmfy-graph submit FILE`",
            code="invalid_argument",
        )
    if not isinstance(obj, Mapping):
        raise InvalidWorkflowError(
            f"cannot submit a {type(obj).__name__}: expected a Workflow, an API prompt dict, "
            "a request body {'prompt': ...} or a UI workflow",
            code="invalid_argument",
        )
    if isinstance(obj.get("prompt"), Mapping):
        extra = sorted(k for k in obj if k not in ("prompt", "webhook_url"))
        if extra:
            log.warning("ignoring request body keys the cmfy.cloud API does not take: %s", extra)
        hook = obj.get("webhook_url")
        if hook is not None and not isinstance(hook, str):
            raise InvalidWorkflowError("'webhook_url' must be a string", code="invalid_argument")
        return dict(obj["prompt"]), hook
    if isinstance(obj.get("nodes"), list):
        from ..convert.ui import is_ui_workflow, ui_to_api

        if is_ui_workflow(obj):
            return dict(ui_to_api(obj, spec)), None
    return dict(obj), None


def check_prompt_shape(prompt: Mapping[str, Any]) -> None:
    """Structural checks that need no spec: a non-empty dict of ``{class_type, inputs}``."""
    if not prompt:
        raise InvalidWorkflowError("the prompt has no nodes", code="empty_prompt")
    for node_id, node in prompt.items():
        if not isinstance(node_id, str):
            raise InvalidWorkflowError(
                f"node id {node_id!r} is not a string", code="invalid_prompt"
            )
        if not isinstance(node, Mapping):
            hint = (
                " (is this a UI workflow? it has 'nodes' and 'links')"
                if node_id in ("last_node_id", "nodes", "links", "version")
                else ""
            )
            raise InvalidWorkflowError(
                f"node {node_id}: expected an object with class_type and inputs, got "
                f"{type(node).__name__}{hint}",
                code="invalid_prompt",
            )
        cls = node.get("class_type")
        if not isinstance(cls, str) or not cls:
            raise InvalidWorkflowError(f"node {node_id} has no class_type", code="invalid_prompt")
        if not isinstance(node.get("inputs", {}), Mapping):
            raise InvalidWorkflowError(
                f"node {node_id} ({cls}): 'inputs' is not an object", code="invalid_prompt"
            )


def _refuse_local_files(prompt: Mapping[str, Any], spec: Any) -> None:
    """cmfy.cloud documents no upload endpoint: a local input file cannot reach it."""
    from .uploads import local_inputs

    found = next(iter(local_inputs(prompt, spec)), None)
    if found is None:
        return
    raise ConfigurationError(
        f"node {found.node_id} {found.class_type}.{found.input_name} names the local file "
        f"{str(found.path)!r}, and cmfy.cloud documents no upload endpoint: give the file's "
        "https:// URL where the node accepts one (as model inputs do), or run on your own "
        "ComfyUI server (--server URL), which the file is uploaded to"
    )


def lint_prompt(
    prompt: Mapping[str, Any],
    spec: Any,
    profile: str = "cmfy",
    input_files: Iterable[str] = (),
) -> None:
    """Run the project's linter (``profile``: ``cmfy`` for cmfy.cloud, where model inputs may be
    URLs; ``comfyui`` for a self-hosted server) and raise :class:`InvalidWorkflowError` when
    ComfyUI would refuse the prompt. Outputs that fail while another validates are logged (the
    prompt is still sent, as ComfyUI would queue it). ``input_files``: files just uploaded to
    the server's input folder."""
    check_prompt_shape(prompt)
    from ..validate import validate_prompt

    if spec is None:
        from ..spec import core_spec

        spec = core_spec()
    report = validate_prompt(dict(prompt), spec, profile=profile, input_files=input_files)
    node_errors = {k: dict(v) for k, v in report.node_errors.items()}
    if not report.valid:
        errors = report.errors
        summary = "; ".join(str(f) for f in errors[:3])
        if len(errors) > 3:
            summary += f"; and {len(errors) - 3} more"
        if not summary:
            summary = summarise_node_errors(node_errors) or str(
                (report.error or {}).get("message", "invalid")
            )
        raise InvalidWorkflowError(
            f"workflow refused before sending ({report.summary()}): {summary}",
            code=str((report.error or {}).get("type") or "invalid_workflow"),
            node_errors=node_errors,
            report=report,
        )
    if node_errors:
        log.warning(
            "some outputs fail validation and will be dropped: %s",
            summarise_node_errors(node_errors),
        )


# ---------------------------------------------------------------------------------------------
# retries and I/O actions


@attrs.frozen
class RetryPolicy:
    """How the clients retry, all within ``budget`` seconds from the first attempt.

    - connection failures before the request was sent, and any failure of a GET: exponential
      backoff from ``backoff_initial`` to ``backoff_max`` with jitter, at most ``max_attempts``;
    - 429 ``rate_limit_exceeded``: after ``Retry-After`` (plus a little jitter);
    - 429 ``concurrent_limit_reached`` / ``queue_full``: backoff from ``capacity_initial`` to
      ``capacity_max`` while capacity frees up;
    - a POST that may have reached the server: never (:class:`SubmitUncertainError`).
    """

    budget: float = 120.0
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    capacity_initial: float = 1.0
    capacity_max: float = 15.0
    max_attempts: int = 8
    jitter: float = 0.2

    def backoff(self, attempt: int, rng: random.Random, *, capacity: bool = False) -> float:
        """The jittered delay before retry number ``attempt`` (1-based)."""
        first, cap = (
            (self.capacity_initial, self.capacity_max)
            if capacity
            else (self.backoff_initial, self.backoff_max)
        )
        base = min(cap, first * (2.0 ** max(0, attempt - 1)))
        return max(0.0, base * (1 + rng.uniform(-self.jitter, self.jitter)))


@attrs.frozen
class Send:
    """Action: send one request (``auth`` adds the key) and read the whole body."""

    method: str
    url: str
    content: bytes | None = None
    auth: bool = True
    headers: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class Fetch:
    """Action: stream ``url`` (no key) into ``dest`` (written via a temporary file)."""

    url: str
    dest: Path


@attrs.frozen
class Sleep:
    """Action: sleep ``seconds``."""

    seconds: float


@attrs.frozen
class Response:
    """Result of :class:`Send`/:class:`Fetch`: a status, headers and (for Send) the body."""

    status: int
    headers: Mapping[str, str]
    content: bytes = b""


@attrs.frozen
class TransportFailure:
    """Result of :class:`Send`/:class:`Fetch` when no response arrived.

    ``sent`` is False only when the request certainly never left (connect failed, pool timeout).
    """

    kind: Literal["connect", "timeout", "io"]
    sent: bool
    description: str


Action = Send | Fetch | Sleep
Outcome = Response | TransportFailure | None
Flow = Generator[Action, Outcome, T]


class BaseClient:
    """The logic of :class:`Client`/:class:`AsyncClient`; subclasses only do I/O."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        spec: Any = None,
        validate: bool = True,
        retry_budget: float = 120.0,
        retry_policy: RetryPolicy | None = None,
        allow_private_webhooks: bool = False,
        seed: int | None = None,
    ) -> None:
        source = "api_key" if api_key is not None else "CMFY_API_KEY"
        key = api_key if api_key is not None else os.environ.get("CMFY_API_KEY")
        self._key = _Secret(check_api_key(key, source=source))
        self.base_url = check_base_url(
            base_url or os.environ.get("CMFY_API_URL") or DEFAULT_BASE_URL
        )
        self.spec = spec
        self.validate = validate
        policy = retry_policy or RetryPolicy()
        if retry_policy is None or retry_budget != 120.0:
            policy = attrs.evolve(policy, budget=retry_budget)
        self.retry_policy = policy
        self.allow_private_webhooks = allow_private_webhooks
        self._rng = random.Random(seed)
        self._rate_limits = RateLimits()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key=<hidden>)"

    @property
    def rate_limits(self) -> RateLimits:
        """The ``X-RateLimit-*``, ``X-Concurrent-*`` and ``X-Queue-*`` headers last seen."""
        return self._rate_limits

    # -- helpers used by the drivers -----------------------------------------------------------

    def _request_headers(self, action: Send) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **action.headers}
        if action.auth:
            if not same_origin(action.url, self.base_url):  # defence in depth
                raise ConfigurationError(
                    "refusing to send the API key to a host other than the API's",
                    code="foreign_host",
                )
            headers["Authorization"] = "Bearer " + self._key.reveal()
        if action.content is not None:
            headers["Content-Type"] = "application/json"
        return headers

    def _note_headers(self, headers: Mapping[str, str]) -> None:
        limits = RateLimits.from_headers(headers)
        if limits.seen:
            self._rate_limits = limits

    def _url(self, path: str) -> str:
        return self.base_url + path

    # -- flows -----------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None, *, what: str) -> Flow[Any]:
        """One API call with the retry policy; returns the decoded JSON body."""
        url = self._url(path)
        content = (
            None
            if body is None
            else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        )
        is_submit = method == "POST"
        policy = self.retry_policy
        start = time.monotonic()
        attempts = [0, 0]  # [attempts, attempts refused for capacity]
        while True:
            attempts[0] += 1
            result = yield Send(method, url, content)
            if isinstance(result, TransportFailure):
                error = _transport_error(result, what)
                if is_submit and result.sent:
                    raise SubmitUncertainError(
                        f"{what}: {result.description} after the request was sent; the job may "
                        "or may not have been created, so it was not sent again (that could "
                        "start a second, billed job)",
                        code=f"uncertain_{result.kind}",
                    )
                delay = self._backoff(attempts[0])
            else:
                assert result is not None
                self._note_headers(result.headers)
                if 200 <= result.status < 300:
                    data = _decode_json(result.content)
                    if isinstance(data, Mapping):
                        return data
                    error = self._not_an_object(result, is_submit, what)
                    delay = self._backoff(attempts[0])
                else:
                    error = error_from_response(
                        result.status, result.headers, result.content, what=what
                    )
                    delay = self._error_delay(error, attempts, is_submit, what)
            elapsed = time.monotonic() - start
            if delay is None or elapsed + delay > policy.budget:
                if delay is not None:
                    log.debug("%s: retry budget of %.1fs exhausted", what, policy.budget)
                raise error
            log.info("%s: %s; retrying in %.2fs", what, error.code, delay)
            yield Sleep(delay)

    def _backoff(self, attempt: int) -> float | None:
        """The policy's delay before the next attempt, or None when none is left."""
        policy = self.retry_policy
        return policy.backoff(attempt, self._rng) if attempt < policy.max_attempts else None

    def _not_an_object(self, result: Response, is_submit: bool, what: str) -> ApiError:
        """A 2xx whose body is not a JSON object: uncertain for a submission (never sent
        again), else an unexpected response (retried)."""
        if is_submit:
            raise SubmitUncertainError(
                f"{what}: the server answered HTTP {result.status} with a body that "
                "is not a JSON object; the job was probably created but its id is "
                "unknown, so it was not sent again",
                code="uncertain_body",
                status=result.status,
            )
        return UnexpectedResponseError(
            f"{what}: HTTP {result.status} with a body that is not a JSON object",
            status=result.status,
        )

    def _error_delay(
        self, error: ApiError, attempts: list[int], is_submit: bool, what: str
    ) -> float | None:
        """How long to wait before retrying an error response (None: do not): 5xx by the
        policy (a submission never: it may have created a job), the three 429s as the API
        asks."""
        policy = self.retry_policy
        if isinstance(error, ServerError):
            if is_submit:
                raise SubmitUncertainError(
                    f"{what}: the server answered HTTP {error.status} "
                    f"({error.message}); the job may or may not have been created, "
                    "so it was not sent again",
                    code=f"uncertain_{error.code}",
                    status=error.status,
                    request_id=error.request_id,
                )
            return self._backoff(attempts[0])
        if not isinstance(error, RateLimitError):
            return None
        if error.code == "rate_limit_exceeded":
            wait = error.retry_after
            if wait is None:
                wait = _reset_delay(self._rate_limits)
            if wait is None:
                wait = policy.backoff(attempts[0], self._rng)
            return wait + self._rng.uniform(0.0, 0.05 + 0.05 * wait)
        attempts[1] += 1
        return policy.backoff(attempts[1], self._rng, capacity=True)

    def _submit_flow(self, workflow: Any, webhook_url: str | None) -> Flow[Job]:
        body = self._build_body(workflow, webhook_url)
        data = yield from self._call("POST", "/v1/jobs", body, what="submit")
        return _job_or_uncertain(data)

    def _build_body(self, workflow: Any, webhook_url: str | None) -> dict[str, Any]:
        prompt, body_hook = to_prompt(workflow, self.spec)
        _refuse_local_files(prompt, self.spec)
        hook = webhook_url if webhook_url is not None else body_hook
        if self.validate:
            lint_prompt(prompt, self.spec)
        else:
            check_prompt_shape(prompt)
        body: dict[str, Any] = {"prompt": prompt}
        if hook is not None:
            body["webhook_url"] = check_webhook_url(hook, allow_private=self.allow_private_webhooks)
        return body

    def _get_flow(self, job_id: str) -> Flow[Job]:
        job_id = _check_job_id(job_id)
        data = yield from self._call(
            "GET", f"/v1/jobs/{quote(job_id, safe='')}", what=f"get job {job_id}"
        )
        return parse_job(data)

    def _wait_flow(
        self, job: Job | str, timeout: float, poll_interval: float, max_poll_interval: float
    ) -> Flow[Job]:
        deadline = time.monotonic() + timeout
        current = job if isinstance(job, Job) else None
        job_id = job.job_id if isinstance(job, Job) else _check_job_id(job)
        if current is None or not current.done:
            current = yield from self._get_flow(job_id)
        delay = max(0.01, poll_interval)
        while not current.done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeout(
                    f"job {job_id} is still {current.status} after {timeout:g}s; it was left "
                    "running (check it later with get()/`cmfy-graph status`)",
                    job=current,
                )
            pause = min(remaining, delay * (1 + self._rng.uniform(-0.2, 0.2)))
            yield Sleep(pause)
            delay = min(max_poll_interval, delay * 1.5)
            current = yield from self._get_flow(job_id)
        return current

    def _download_flow(self, job: Job | str, dest_dir: str | os.PathLike[str]) -> Flow[list[Path]]:
        current = job if isinstance(job, Job) else None
        if current is None or not current.done:
            current = yield from self._get_flow(job if isinstance(job, str) else job.job_id)
        current.require_completed(advice="; wait() for it before downloading")
        dest = Path(dest_dir)
        dest.mkdir(parents=True, exist_ok=True)
        paths: list[Path] = []
        names = output_filenames(current, dest)
        for url, target in zip(current.outputs, names, strict=False):
            yield from self._fetch_flow(url, target)
            paths.append(target)
        return paths

    def _fetch_flow(self, url: str, target: Path) -> Flow[None]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UnexpectedResponseError(f"output URL {url!r} is not an http(s) URL")
        policy = self.retry_policy
        start = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            result = yield Fetch(url, target)
            if isinstance(result, Response) and 200 <= result.status < 300:
                return None
            if isinstance(result, TransportFailure):
                error: ApiError = _transport_error(result, f"download {url}")
                retry = True
            else:
                assert result is not None
                error = error_from_response(
                    result.status, result.headers, result.content, what=f"download {url}"
                )
                retry = result.status >= 500 or result.status == 429
            delay = policy.backoff(attempt, self._rng) if retry else None
            if (
                delay is None
                or attempt >= policy.max_attempts
                or time.monotonic() - start + delay > policy.budget
            ):
                raise error
            yield Sleep(delay)


def output_filenames(job: Job, dest: Path) -> list[Path]:
    """Safe file names for the outputs of ``job`` inside ``dest``.

    The name is the URL's last path segment (sanitised); an existing file or a repeated name
    gets the job id in front, so outputs of several jobs can share a directory.
    """
    out: list[Path] = []
    used: set[str] = set()
    safe_id = _SAFE.sub("_", job.job_id).lstrip(".") or "job"
    for i, url in enumerate(job.outputs):
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        # ComfyUI's /view?filename=...; otherwise the last path segment
        base = query["filename"][0] if query.get("filename") else parts.path.rsplit("/", 1)[-1]
        base = _SAFE.sub("_", base).lstrip(".") or f"output_{i}.png"
        name = base
        if name in used or (dest / name).exists():
            name = f"{safe_id}_{base}"
        stem, dot, ext = base.rpartition(".")
        if not stem:
            stem, dot, ext = base, "", ""
        k = 1
        while name in used or (dest / name).exists():
            name = f"{safe_id}_{stem}-{k}{dot}{ext}"
            k += 1
        used.add(name)
        out.append(dest / name)
    return out


_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def _check_job_id(job_id: Any) -> str:
    if isinstance(job_id, Job):
        return job_id.job_id
    if not isinstance(job_id, str) or not job_id.strip():
        raise ConfigurationError(
            f"job id must be a non-empty string, got {job_id!r}", code="invalid_job_id"
        )
    return job_id.strip()


def _job_or_uncertain(data: Mapping[str, Any]) -> Job:
    try:
        return parse_job(data)
    except UnexpectedResponseError as exc:
        raise SubmitUncertainError(
            f"submit: the 202 answer has no usable job ({exc.message}); the job was probably "
            "created but its id is unknown",
            code="uncertain_body",
        ) from None


def _transport_error(result: TransportFailure, what: str) -> ApiError:
    if result.kind == "timeout":
        return ApiTimeoutError(f"{what}: {result.description}", code="timeout")
    return ApiConnectionError(f"{what}: {result.description}", code="connection_error")


def _reset_delay(limits: RateLimits) -> float | None:
    if limits.reset is None:
        return None
    return max(0.0, limits.reset - time.time())
