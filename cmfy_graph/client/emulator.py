"""A local emulator of the cmfy.cloud jobs API, for tests, demos and benchmarks.

It is a real HTTP/1.1 server on loopback (asyncio, in a background thread) that implements the
contract of ``../shared/seeds/cmfy_cloud_quickstart.txt`` and ``../shared/cmfy_cloud_api.md``:

- ``POST /v1/jobs`` and ``GET /v1/jobs/{job_id}`` with ``Authorization: Bearer <key>``;
- the gateway's order: authentication (every documented 401 and 403 code), workflow validation
  with cmfy_graph's own linter in its ``cmfy`` profile (400 with ComfyUI-style node errors),
  rate limits (all three 429 codes, per key, with ``Retry-After`` on ``rate_limit_exceeded``);
- jobs that move ``queued`` -> ``running`` -> ``completed`` (or ``failed``) over configurable
  times; a webhook POST when a job ends;
- the error envelope ``{"error": {"code", "message", "details", "retry_after"?, "request_id"}}``
  and the seven rate-limit headers on every API response;
- outputs served from its own CDN listener (another port, i.e. another origin, like
  ``cdn.cmfy.cloud``) as real PNG files: placeholders, labelled as such in their text chunks;
- fault injection: 5xx answers, connection resets (before or after the job is created), slow
  answers and malformed bodies, by rate and/or count, deterministic for a given seed.

Where the contract is silent the emulator makes a choice, listed in ``docs/client.md``
(the 400 codes, where node errors sit in a 400 body, the job failure codes, 404/405 bodies).
It keeps the last ``max_jobs`` jobs (100,000 by default) and request records.

Use::

    with Emulator(EmulatorConfig(run_seconds=0.1)) as emu:
        client = Client(emu.test_key, emu.url)
"""

from __future__ import annotations

import asyncio
import collections
import copy
import hashlib
import json
import logging
import math
import random
import socket
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Literal

import attrs

from ._base import check_prompt_shape, is_loopback_host, summarise_node_errors
from .errors import ApiError, InvalidWorkflowError

__all__ = [
    "Emulator",
    "EmulatorConfig",
    "EmulatedJob",
    "FaultRule",
    "PLANS",
    "TEST_KEY",
    "REVOKED_KEY",
    "SUSPENDED_KEY",
    "RESTRICTED_KEY",
    "placeholder_png",
]

log = logging.getLogger("cmfy_graph.emulator")


def _key(tag: str) -> str:
    return "sk_test_" + tag + "0" * (43 - len(tag))


#: the emulator's valid test key (sandbox-style; printed by ``cmfy-graph emulator``)
TEST_KEY = _key("cmfygraphemulatorvalidtestkey")
#: a key the emulator treats as revoked (401 ``revoked_api_key``)
REVOKED_KEY = _key("cmfygraphemulatorrevokedkey")
#: a key of a suspended account (403 ``account_suspended``)
SUSPENDED_KEY = _key("cmfygraphemulatorsuspendedkey")
#: a key whose plan does not allow submitting (403 ``insufficient_permissions``)
RESTRICTED_KEY = _key("cmfygraphemulatorrestrictedkey")

#: requests per minute, concurrent jobs, queued jobs (cmfy_cloud_api.md, "Rate limits")
PLANS: dict[str, tuple[int, int, int]] = {
    "free": (60, 2, 100),
    "pro": (300, 10, 100),
    "enterprise": (1000, 50, 100),
}

FaultKind = Literal["status", "reset", "reset_after", "slow", "malformed"]


@attrs.define
class FaultRule:
    """One kind of injected fault.

    ``kind``: ``status`` (answer ``status`` without doing anything), ``reset`` (drop the
    connection with a TCP reset without doing anything), ``reset_after`` (do the work, e.g.
    create the job, then reset), ``slow`` (do the work, answer after ``delay`` seconds),
    ``malformed`` (do the work, answer 2xx with a body that is not JSON).
    The rule applies to requests whose method is ``method`` (None: any) and whose path starts
    with ``path`` (default ``/v1/``: the API; ``/outputs/`` targets the CDN), with probability
    ``rate``, at most ``count`` times (None: no limit).
    """

    kind: FaultKind
    status: int = 500
    delay: float = 1.0
    rate: float = 1.0
    count: int | None = None
    method: str | None = None
    path: str = "/v1/"
    applied: int = 0


@attrs.define
class EmulatorConfig:
    """Settings of an :class:`Emulator` (mutable while it runs).

    Limits default to the ``plan``'s (``free``, ``pro``, ``enterprise``); ``rate_limit``,
    ``concurrent_limit`` and ``queue_limit`` override them, ``rate_window`` is the length in
    seconds of the request window (60 on the service). A job is ``queued`` for
    ``queue_seconds``, then ``running`` for ``run_seconds``; it fails with ``failure_code``
    with probability ``failure_rate``. ``allow_private_webhooks`` lets it deliver to loopback
    and plain-HTTP URLs (tests). ``faults`` are tried in order; ``seed`` makes every random
    choice (faults, failures, job ids) repeatable.
    """

    plan: str = "pro"
    rate_limit: int | None = None
    concurrent_limit: int | None = None
    queue_limit: int | None = None
    rate_window: float = 60.0
    queue_seconds: float = 0.5
    run_seconds: float = 2.0
    failure_rate: float = 0.0
    failure_code: str = "execution_error"
    failure_message: str = "the emulator failed this job on purpose (failure_rate)"
    validate: bool = True
    spec: Any = None
    faults: list[FaultRule] = attrs.field(factory=list)
    seed: int = 0
    allow_private_webhooks: bool = False
    webhook_timeout: float = 30.0
    invalid_code: str = "invalid_workflow"
    image_size: int = 64
    keep_alive: float = 75.0
    max_body: int = 16 * 1024 * 1024
    max_jobs: int = 100_000

    def limits(self) -> tuple[int, int, int]:
        """(requests per window, concurrent jobs, queued jobs) in force."""
        if self.plan not in PLANS:
            raise ValueError(f"unknown plan {self.plan!r}; choose from {sorted(PLANS)}")
        rpm, conc, queue = PLANS[self.plan]
        return (
            self.rate_limit if self.rate_limit is not None else rpm,
            self.concurrent_limit if self.concurrent_limit is not None else conc,
            self.queue_limit if self.queue_limit is not None else queue,
        )


# ---------------------------------------------------------------------------------------------
# placeholder PNGs


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def placeholder_png(width: int, height: int, text: Mapping[str, str], *, seed: str = "") -> bytes:
    """A real PNG (RGB, a two-colour diagonal pattern) with ``text`` as tEXt chunks.

    Used by the emulators for output images; the caller labels them as placeholders.
    """
    digest = hashlib.sha256(seed.encode()).digest()
    c1, c2 = bytes(digest[0:3]), bytes(digest[3:6])
    stripe = max(1, width // 8)
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # filter type 0
        for x in range(width):
            row += c1 if ((x + y) // stripe) % 2 == 0 else c2
        rows.append(bytes(row))
    raw = b"".join(rows)
    out = [
        b"\x89PNG\r\n\x1a\n",
        _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
    ]
    for k, v in text.items():
        out.append(
            _png_chunk(
                b"tEXt", k.encode("latin-1", "replace") + b"\x00" + v.encode("latin-1", "replace")
            )
        )
    out.append(_png_chunk(b"IDAT", zlib.compress(raw, 6)))
    out.append(_png_chunk(b"IEND", b""))
    return b"".join(out)


PLACEHOLDER_NOTE = (
    "PLACEHOLDER image from the cmfy-graph emulator: no model ran; this is not a generated result"
)

# ---------------------------------------------------------------------------------------------
# state


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@attrs.define(eq=False)
class _Job:
    job_id: str
    key: str
    prompt: dict[str, Any]
    created: float
    start_at: float
    end_at: float
    fails: bool
    images: int
    webhook_url: str | None

    def status(self, now: float) -> str:
        if now < self.start_at:
            return "queued"
        if now < self.end_at:
            return "running"
        return "failed" if self.fails else "completed"


@attrs.frozen
class EmulatedJob:
    """A snapshot of one job the emulator created, as :meth:`Emulator.jobs` returns it.

    ``status`` is the job's state when the snapshot was taken (``queued``, ``running``,
    ``completed`` or ``failed``); ``prompt`` is a copy of the API prompt it received (changing
    it changes nothing in the emulator); ``created_at`` is a UTC datetime; ``webhook_url`` the
    URL given at submission (or None). ``key_label`` says which key submitted it (``"test"``
    for :data:`TEST_KEY`, else the label given to :meth:`Emulator.add_key`): never the key.
    """

    job_id: str
    status: str
    prompt: dict[str, Any] = attrs.field(repr=False)
    created_at: datetime
    webhook_url: str | None
    key_label: str


@attrs.define(eq=False)
class _Account:
    window_start: float = 0.0
    count: int = 0
    queued: collections.deque[_Job] = attrs.field(factory=collections.deque)
    running: collections.deque[_Job] = attrs.field(factory=collections.deque)

    def advance(self, now: float) -> None:
        while self.queued and self.queued[0].start_at <= now:
            self.running.append(self.queued.popleft())
        # every job has the same durations, so jobs leave in the order they came
        while self.running and self.running[0].end_at <= now:
            self.running.popleft()


@attrs.frozen
class RequestRecord:
    """One API request as the emulator saw it (no key: only which kind of key)."""

    time: float
    method: str
    path: str
    status: int
    code: str | None
    fault: str | None


@attrs.frozen
class _Reply:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"
    fault: FaultRule | None = None


_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class _Conn(asyncio.Protocol):
    """One HTTP/1.1 connection: parses requests one at a time and hands them to the emulator."""

    def __init__(self, emu: Emulator, role: str) -> None:
        self.emu = emu
        self.role = role
        self.buf = bytearray()
        self.busy = False
        self.transport: asyncio.Transport | None = None
        self.idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.emu._conns.add(self)
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self.emu._conns.discard(self)
        if self.idle:
            self.idle.cancel()
        self.transport = None

    def _arm_idle(self) -> None:
        if self.idle:
            self.idle.cancel()
        self.idle = self.emu._loop_or_raise().call_later(self.emu.config.keep_alive, self.close)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def reset(self) -> None:
        tr = self.transport
        if tr is None:
            return
        sock = tr.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:  # pragma: no cover
                pass
        tr.abort()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._next()

    def _next(self) -> None:
        while not self.busy and self.transport is not None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > 65536:
                    self._simple(431, b"request headers too large", close=True)
                return
            head = bytes(self.buf[:end]).decode("latin-1")
            lines = head.split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                self._simple(400, b"bad request line", close=True)
                return
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if "transfer-encoding" in headers:
                self._simple(411, b"send Content-Length, not chunked bodies", close=True)
                return
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                self._simple(400, b"bad Content-Length", close=True)
                return
            if length > self.emu.config.max_body:
                self._simple(413, b"body too large", close=True)
                return
            if len(self.buf) < end + 4 + length:
                return
            body = bytes(self.buf[end + 4 : end + 4 + length])
            del self.buf[: end + 4 + length]
            keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
            self.busy = True
            self._arm_idle()
            self.emu._dispatch(self, method, target, headers, body, keep)

    def _simple(self, status: int, text: bytes, *, close: bool) -> None:
        self.send(_Reply(status, text, content_type="text/plain"), keep=not close)

    def send(self, reply: _Reply, *, keep: bool) -> None:
        tr = self.transport
        if tr is None:
            return
        lines = [
            f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}",
            f"Content-Type: {reply.content_type}",
            f"Content-Length: {len(reply.body)}",
        ]
        lines += [f"{k}: {v}" for k, v in reply.headers]
        if not keep:
            lines.append("Connection: close")
        tr.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body)
        if not keep:
            tr.close()
            return
        self.busy = False
        if self.buf:
            self._next()


class Emulator:
    """A cmfy.cloud API emulator listening on ``host:port`` (port 0: any free port).

    Start it with :meth:`start` or ``with Emulator(...) as emu:``; ``url`` is the API base URL,
    ``cdn_url`` the base of output URLs, ``test_key`` the valid key. ``requests`` records the
    API requests seen, ``webhook_deliveries`` the webhook calls made, ``cdn_requests`` whether
    each CDN request carried an ``Authorization`` header (it never should); :meth:`jobs` lists
    the jobs created, with their prompts and states.
    """

    test_key = TEST_KEY
    revoked_key = REVOKED_KEY
    suspended_key = SUSPENDED_KEY
    restricted_key = RESTRICTED_KEY

    def __init__(
        self, config: EmulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or EmulatorConfig()
        self.host = host
        self.port = port
        self.cdn_port = 0
        self._rng = random.Random(self.config.seed)
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._accounts: dict[str, _Account] = {}
        self._conns: set[_Conn] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._spec: Any = None
        self._validator: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None
        self._valid_cache: collections.OrderedDict[bytes, dict[str, Any] | None] = (
            collections.OrderedDict()
        )
        self._req_counter = 0
        self._http: Any = None
        self._pending: set[asyncio.Task[None]] = set()
        self.requests: collections.deque[RequestRecord] = collections.deque(maxlen=100_000)
        self.webhook_deliveries: list[dict[str, Any]] = []
        self.cdn_requests: collections.deque[dict[str, Any]] = collections.deque(maxlen=100_000)
        self.keys: dict[str, str] = {
            TEST_KEY: "ok",
            REVOKED_KEY: "revoked",
            SUSPENDED_KEY: "suspended",
            RESTRICTED_KEY: "restricted",
        }
        self._key_labels: dict[str, str] = {
            TEST_KEY: "test",
            REVOKED_KEY: "revoked",
            SUSPENDED_KEY: "suspended",
            RESTRICTED_KEY: "restricted",
        }

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API base URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://{self._host_for_url()}:{self.port}"

    @property
    def cdn_url(self) -> str:
        """The base URL of the CDN listener that serves output images."""
        return f"http://{self._host_for_url()}:{self.cdn_port}"

    def _host_for_url(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    def _loop_or_raise(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the emulator is not running")
        return self._loop

    def start(self) -> Emulator:
        """Start serving in a background thread; returns self."""
        if self._thread is not None:
            return self
        if not is_loopback_host(self.host):
            log.warning("the emulator listens on %s, not a loopback address", self.host)
        self._load_validator()
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._open())
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._close())
                loop.close()

        self._thread = threading.Thread(target=run, name="cmfy-emulator", daemon=True)
        self._thread.start()
        ready.wait(30)
        if errors:
            self._thread.join(5)
            self._thread = None
            self._loop = None
            raise errors[0]
        return self

    def stop(self) -> None:
        """Stop serving and close every connection (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        self._loop = None
        self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        api = await loop.create_server(
            lambda: _Conn(self, "api"), self.host, self.port, reuse_address=True, backlog=1024
        )
        cdn = await loop.create_server(
            lambda: _Conn(self, "cdn"), self.host, self.cdn_port, reuse_address=True, backlog=1024
        )
        self._servers = [api, cdn]
        self.port = api.sockets[0].getsockname()[1]
        self.cdn_port = cdn.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        for srv in self._servers:
            srv.close()
        for conn in list(self._conns):
            conn.close()
        for task in list(self._pending):
            task.cancel()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        for srv in self._servers:
            await srv.wait_closed()
        self._servers = []

    # -- public helpers for tests --------------------------------------------------------------

    def inject(self, rule: FaultRule) -> FaultRule:
        """Add a fault rule (thread-safe); returns it (its ``applied`` counts uses)."""
        with self._lock:
            self.config.faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        with self._lock:
            self.config.faults.clear()

    def job_count(self) -> int:
        """How many jobs were created."""
        with self._lock:
            return len(self._jobs)

    def job_ids(self) -> list[str]:
        """The ids of the jobs created, oldest first."""
        with self._lock:
            return list(self._jobs)

    def jobs(self) -> list[EmulatedJob]:
        """Snapshots of the jobs the emulator holds (the last ``max_jobs`` created), oldest
        first, with their prompts and their states now (thread-safe; see :class:`EmulatedJob`).
        """
        with self._lock:
            now = time.time()
            return [self._snapshot(job, now) for job in self._jobs.values()]

    def job(self, job_id: str) -> EmulatedJob | None:
        """A snapshot of the job ``job_id`` (None if the emulator has no such job)."""
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else self._snapshot(job, time.time())

    def _snapshot(self, job: _Job, now: float) -> EmulatedJob:
        return EmulatedJob(
            job_id=job.job_id,
            status=job.status(now),
            prompt=copy.deepcopy(job.prompt),
            created_at=datetime.fromtimestamp(job.created, tz=timezone.utc),
            webhook_url=job.webhook_url,
            key_label=self._key_labels.get(job.key, "unlabelled key"),
        )

    def add_key(self, key: str, kind: str = "ok", *, label: str | None = None) -> None:
        """Accept another key (``ok``, ``revoked``, ``suspended`` or ``restricted``).

        ``label`` names it in :meth:`jobs` (default ``"key N"``, N counting the keys added).
        """
        with self._lock:
            if key not in self._key_labels:
                added = len(self._key_labels) - 3  # after the four built-in keys
                self._key_labels[key] = label or f"key {added}"
            elif label:
                self._key_labels[key] = label
            self.keys[key] = kind

    # -- validation ----------------------------------------------------------------------------

    def _load_validator(self) -> None:
        if not self.config.validate:
            self._validator = None
            return
        from ..validate import validate_prompt

        spec = self.config.spec
        if spec is None:
            from ..spec import core_spec

            spec = core_spec()
        self._spec = spec

        def check(prompt: dict[str, Any]) -> dict[str, Any] | None:
            try:
                check_prompt_shape(prompt)
            except InvalidWorkflowError as exc:
                return {"message": exc.message, "node_errors": {}}
            report = validate_prompt(prompt, spec, profile="cmfy")
            if report.valid:
                return None
            node_errors = {k: dict(v) for k, v in report.node_errors.items()}
            msg = "; ".join(str(f) for f in report.errors[:3])
            if not msg:
                msg = summarise_node_errors(node_errors) or str((report.error or {}).get("message"))
            return {"message": msg, "node_errors": node_errors}

        self._validator = check

    def _validate(self, raw: bytes, prompt: dict[str, Any]) -> dict[str, Any] | None:
        if self._validator is None:
            try:
                check_prompt_shape(prompt)
            except InvalidWorkflowError as exc:
                return {"message": exc.message, "node_errors": {}}
            return None
        cached = self._valid_cache.get(raw, False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        result = self._validator(prompt)
        self._valid_cache[raw] = result
        if len(self._valid_cache) > 2048:
            self._valid_cache.popitem(last=False)
        return result

    # -- request handling (runs in the loop thread) --------------------------------------------

    def _dispatch(
        self,
        conn: _Conn,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        keep: bool,
    ) -> None:
        path = target.split("?", 1)[0]
        if conn.role == "cdn":
            with self._lock:
                self.cdn_requests.append(
                    {"path": path, "authorization": "authorization" in headers}
                )
                fault = self._pick_fault(method, path)
            if fault is not None and fault.kind == "reset":
                conn.reset()
                return
            if fault is not None and fault.kind == "status":
                reply = _Reply(fault.status, b"injected CDN error", content_type="text/plain")
            else:
                reply = self._cdn(method, path, headers)
            self._answer(conn, reply, fault, keep)
            return
        with self._lock:
            fault = self._pick_fault(method, path)
            now = time.time()
            if fault is not None and fault.kind == "reset":
                self._record(now, method, path, 0, None, "reset")
                conn.reset()
                return
            if fault is not None and fault.kind == "status":
                reply = self._error(
                    fault.status, "internal_error", "injected server error (emulator fault)", now
                )
            else:
                reply = self._api(method, path, headers, body, now)
            self._record(
                now, method, path, reply.status, _code_of(reply), fault.kind if fault else None
            )
        self._answer(conn, reply, fault, keep)

    def _answer(self, conn: _Conn, reply: _Reply, fault: FaultRule | None, keep: bool) -> None:
        if fault is None or fault.kind == "status":
            conn.send(reply, keep=keep)
        elif fault.kind == "reset_after":
            conn.reset()
        elif fault.kind == "malformed":
            bad = _Reply(
                reply.status, reply.body[: max(1, len(reply.body) // 2)] + b"<html>", reply.headers
            )
            conn.send(bad, keep=keep)
        else:  # slow
            self._loop_or_raise().call_later(fault.delay, lambda: conn.send(reply, keep=keep))

    def _record(
        self, now: float, method: str, path: str, status: int, code: str | None, fault: str | None
    ) -> None:
        self.requests.append(RequestRecord(now, method, path, status, code, fault))

    def _pick_fault(self, method: str, path: str) -> FaultRule | None:
        for rule in self.config.faults:
            if rule.method is not None and rule.method.upper() != method:
                continue
            if not path.startswith(rule.path):
                continue
            if rule.count is not None and rule.applied >= rule.count:
                continue
            if rule.rate < 1.0 and self._rng.random() >= rule.rate:
                continue
            rule.applied += 1
            return rule
        return None

    def _request_id(self) -> str:
        self._req_counter += 1
        return f"req_emu_{self._req_counter:08d}"

    def _limit_headers(self, account: _Account | None, now: float) -> list[tuple[str, str]]:
        rpm, conc, queue = self.config.limits()
        if account is None:
            remaining, reset, running, queued = rpm, now + self.config.rate_window, 0, 0
        else:
            in_window = now < account.window_start + self.config.rate_window
            used = account.count if in_window else 0
            remaining = max(0, rpm - used)
            reset = (account.window_start if in_window else now) + self.config.rate_window
            account.advance(now)
            running, queued = len(account.running), len(account.queued)
        return [
            ("X-RateLimit-Limit", str(rpm)),
            ("X-RateLimit-Remaining", str(remaining)),
            ("X-RateLimit-Reset", str(math.ceil(reset))),
            ("X-Concurrent-Limit", str(conc)),
            ("X-Concurrent-Current", str(running)),
            ("X-Queue-Limit", str(queue)),
            ("X-Queue-Current", str(queued)),
        ]

    def _error(
        self,
        status: int,
        code: str,
        message: str,
        now: float,
        *,
        account: _Account | None = None,
        details: Mapping[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> _Reply:
        err: dict[str, Any] = {"code": code, "message": message, "details": dict(details or {})}
        if retry_after is not None:
            err["retry_after"] = retry_after
        err["request_id"] = self._request_id()
        headers = self._limit_headers(account, now)
        if retry_after is not None:
            headers.append(("Retry-After", str(retry_after)))
        return _Reply(status, _dumps({"error": err}), tuple(headers))

    def _ok(self, status: int, data: Mapping[str, Any], account: _Account, now: float) -> _Reply:
        return _Reply(status, _dumps(data), tuple(self._limit_headers(account, now)))

    def _api(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, now: float
    ) -> _Reply:
        """One request to the jobs API, checked in the documented order: route,
        authentication, then (``POST``) the workflow, then the rate limits."""
        route = _route(method, path)
        if route == "not_found":
            return self._error(404, "not_found", f"no route {path}", now)
        if route == "method_not_allowed":
            return self._error(405, "method_not_allowed", f"{method} is not allowed on {path}", now)
        refused, key = self._authenticate(method, headers, now)
        if refused is not None:
            return refused
        account = self._accounts.get(key)
        if account is None:
            account = self._accounts[key] = _Account(window_start=now)
        account.advance(now)
        if method == "GET":
            limited = self._rate_check(account, now)
            if limited is not None:
                return limited
            job = self._jobs.get(route)
            if job is None or job.key != key:
                return self._error(404, "not_found", f"no job {route}", now, account=account)
            return self._ok(200, self._job_json(job, now), account, now)
        return self._create(key, account, body, now)

    def _authenticate(
        self, method: str, headers: Mapping[str, str], now: float
    ) -> tuple[_Reply | None, str]:
        """(the 401/403 refusal or None, the API key)."""
        auth = headers.get("authorization")
        if auth is None:
            return self._error(401, "missing_auth", "Missing Authorization header", now), ""
        scheme, _, key = auth.partition(" ")
        if scheme != "Bearer" or not key or " " in key.strip():
            msg = "Authorization header must be 'Bearer <key>'"
            return self._error(401, "invalid_auth_format", msg, now), ""
        key = key.strip()
        kind = self.keys.get(key)
        refusal = {
            None: (401, "invalid_api_key", "Invalid API key"),
            "revoked": (401, "revoked_api_key", "This API key has been revoked"),
            "suspended": (403, "account_suspended", "This account is suspended"),
        }.get(kind)
        if refusal is None and kind == "restricted" and method == "POST":
            refusal = (403, "insufficient_permissions", "Your plan does not allow this action")
        if refusal is not None:
            return self._error(*refusal, now), key
        return None, key

    def _create(self, key: str, account: _Account, body: bytes, now: float) -> _Reply:
        """``POST /v1/jobs``: the workflow checked (400), the limits (429), then 202."""
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            return self._error(
                400, "invalid_json", "the body is not valid JSON", now, account=account
            )
        if not isinstance(data, dict) or not isinstance(data.get("prompt"), dict):
            return self._error(
                400,
                "invalid_request",
                "the body must be a JSON object with a 'prompt' object",
                now,
                account=account,
            )
        prompt: dict[str, Any] = data["prompt"]
        hook = data.get("webhook_url")
        invalid = self._invalid_workflow(body, prompt, hook, account, now)
        if invalid is not None:
            return invalid
        limited = self._rate_check(account, now) or self._capacity_check(account, now)
        if limited is not None:
            return limited
        job = self._create_job(key, prompt, hook if isinstance(hook, str) else None, now)
        account.queued.append(job)
        account.advance(now)
        position = len(account.queued) if account.queued and account.queued[-1] is job else 0
        return self._ok(
            202,
            {
                "job_id": job.job_id,
                "status": "queued",
                "queue_position": position,
                "estimated_wait_seconds": math.ceil(max(0.0, job.start_at - now)),
            },
            account,
            now,
        )

    def _invalid_workflow(
        self, body: bytes, prompt: dict[str, Any], hook: Any, account: _Account, now: float
    ) -> _Reply | None:
        if hook is not None:
            problem = self._webhook_problem(hook)
            if problem:
                return self._error(400, "invalid_webhook_url", problem, now, account=account)
        invalid = self._validate(body, prompt)
        if invalid is None:
            return None
        details = {"node_errors": invalid["node_errors"]} if invalid["node_errors"] else {}
        return self._error(
            400,
            self.config.invalid_code,
            "Invalid workflow (see details.node_errors)"
            if invalid["node_errors"]
            else f"Invalid workflow: {invalid['message']}",
            now,
            account=account,
            details=details,
        )

    def _capacity_check(self, account: _Account, now: float) -> _Reply | None:
        _, conc, queue = self.config.limits()
        if len(account.running) >= conc:
            return self._error(
                429,
                "concurrent_limit_reached",
                f"Concurrent job limit of {conc} reached; wait for a job to finish",
                now,
                account=account,
            )
        if len(account.queued) >= queue:
            return self._error(
                429, "queue_full", f"Queue limit of {queue} jobs reached", now, account=account
            )
        return None

    def _rate_check(self, account: _Account, now: float) -> _Reply | None:
        rpm = self.config.limits()[0]
        window = self.config.rate_window
        if now >= account.window_start + window:
            account.window_start, account.count = now, 0
        if account.count >= rpm:
            wait = max(1, math.ceil(account.window_start + window - now))
            return self._error(
                429,
                "rate_limit_exceeded",
                f"Rate limit of {rpm} requests per window exceeded",
                now,
                account=account,
                retry_after=wait,
            )
        account.count += 1
        return None

    def _webhook_problem(self, hook: Any) -> str | None:
        from .webhooks import check_webhook_url

        if not isinstance(hook, str):
            return "webhook_url must be a string"
        try:
            check_webhook_url(hook, allow_private=self.config.allow_private_webhooks)
        except ApiError as exc:
            return exc.message
        return None

    def _create_job(self, key: str, prompt: dict[str, Any], hook: str | None, now: float) -> _Job:
        cfg = self.config
        job_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        start = now + max(0.0, cfg.queue_seconds)
        job = _Job(
            job_id=job_id,
            key=key,
            prompt=prompt,
            created=now,
            start_at=start,
            end_at=start + max(0.0, cfg.run_seconds),
            fails=cfg.failure_rate > 0 and self._rng.random() < cfg.failure_rate,
            images=_count_images(prompt),
            webhook_url=hook,
        )
        self._jobs[job_id] = job
        if len(self._jobs) > cfg.max_jobs:  # forget the oldest job (its GET becomes a 404)
            oldest = next(iter(self._jobs))
            del self._jobs[oldest]
        if hook is not None:
            loop = self._loop_or_raise()
            loop.call_later(max(0.0, job.end_at - now), self._spawn_delivery, job)
        return job

    def _job_json(self, job: _Job, now: float) -> dict[str, Any]:
        status = job.status(now)
        done = status in ("completed", "failed")
        started = status != "queued"
        data: dict[str, Any] = {
            "job_id": job.job_id,
            "status": status,
            "created_at": _iso(job.created),
            "started_at": _iso(job.start_at) if started else None,
            "completed_at": _iso(job.end_at) if done else None,
            "execution_time_ms": round((job.end_at - job.start_at) * 1000) if done else None,
            "outputs": {
                "images": [
                    f"{self.cdn_url}/outputs/{job.job_id}/image_{i}.png" for i in range(job.images)
                ]
                if status == "completed"
                else []
            },
        }
        if status == "failed":
            data["error"] = {
                "code": self.config.failure_code,
                "message": self.config.failure_message,
            }
        return data

    # -- webhooks ------------------------------------------------------------------------------

    def _spawn_delivery(self, job: _Job) -> None:
        task = asyncio.ensure_future(self._deliver(job))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _deliver(self, job: _Job) -> None:
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.config.webhook_timeout)
        with self._lock:
            payload = self._job_json(job, max(time.time(), job.end_at))
        record: dict[str, Any] = {"job_id": job.job_id, "url": job.webhook_url, "status": None}
        try:
            r = await self._http.post(
                job.webhook_url,
                content=_dumps(payload),
                headers={"Content-Type": "application/json"},
            )
            record["status"] = r.status_code
        except httpx.HTTPError as exc:
            record["error"] = type(exc).__name__
        with self._lock:
            self.webhook_deliveries.append(record)

    # -- CDN -------------------------------------------------------------------------------------

    def _cdn(self, method: str, path: str, headers: Mapping[str, str]) -> _Reply:
        with self._lock:
            parts = path.strip("/").split("/")
            job = self._jobs.get(parts[1]) if len(parts) == 3 and parts[0] == "outputs" else None
            now = time.time()
            if method != "GET" or job is None or job.status(now) != "completed":
                return _Reply(404, b"not found", content_type="text/plain")
            name = parts[2]
            valid = {f"image_{i}.png" for i in range(job.images)}
            if name not in valid:
                return _Reply(404, b"not found", content_type="text/plain")
            prompt_json = json.dumps(job.prompt, separators=(",", ":"))
        size = max(1, min(1024, self.config.image_size))
        png = placeholder_png(
            size,
            size,
            {
                "Title": "cmfy-graph emulator placeholder",
                "Comment": PLACEHOLDER_NOTE,
                "Source": f"cmfy-graph emulator, job {job.job_id}, {name}",
                "prompt": prompt_json,
            },
            seed=job.job_id + name,
        )
        return _Reply(200, png, content_type="image/png")


def _route(method: str, path: str) -> str:
    """``"POST"`` / a job id / ``"not_found"`` / ``"method_not_allowed"``."""
    if path in ("/v1/jobs", "/v1/jobs/"):
        return "POST" if method == "POST" else "method_not_allowed"
    if path.startswith("/v1/jobs/"):
        rest = path[len("/v1/jobs/") :]
        if not rest or "/" in rest:
            return "not_found"
        return rest if method == "GET" else "method_not_allowed"
    return "not_found"


def _code_of(reply: _Reply) -> str | None:
    if reply.status < 400:
        return None
    try:
        return str(json.loads(reply.body)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode("utf-8")


def _count_images(prompt: Mapping[str, Any]) -> int:
    """How many placeholder images a job makes: one per SaveImage-like node and latent batch."""
    batch = 1
    for node in prompt.values():
        if isinstance(node, Mapping) and node.get("class_type") == "EmptyLatentImage":
            b = (node.get("inputs") or {}).get("batch_size")
            if isinstance(b, int) and not isinstance(b, bool) and 1 <= b <= 16:
                batch = b
    savers = sum(
        1
        for node in prompt.values()
        if isinstance(node, Mapping)
        and isinstance(node.get("class_type"), str)
        and node["class_type"].startswith("Save")
        and "images" in (node.get("inputs") or {})
    )
    return min(64, savers * batch)
