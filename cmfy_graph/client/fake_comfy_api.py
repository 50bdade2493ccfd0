"""A fake Comfy API v2 server on loopback, to test
:class:`~cmfy_graph.client.comfy_api.ComfyApiClient` (the contract of ``spec/openapi.yaml`` of
Comfy-Org/comfy-python-sdk; see that module).

It runs no model: a job waits ``run_seconds``, reporting ``progress`` per sampler step, then
succeeds with one PNG output per output node (or fails, when a node class is listed in
``fail_classes``). Idempotency keys are single-use as the spec says: claimed by a request that
reaches submission, released when it fails without creating a job, kept when the outcome is
unknown; a second request with a claimed key gets ``422 idempotency_key_reuse``.

Faults, for the tests: ``create_faults`` is a list consumed one per ``POST /api/v2/jobs``:
``"429"`` (``queue_full`` with ``Retry-After: 0``, key released), ``"503"`` (refused before
reaching submission: key never claimed), ``"500-after"`` (the job *is* created and the answer
lost as a 500: the key stays claimed), ``None`` (no fault). ``fault_rate`` draws those at
random (seeded). ``sse=False`` answers the event stream with ``501``; ``url_ttl`` makes output
URLs expire (then ``403``).
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._forms import parse_form
from .emulator import placeholder_png

__all__ = ["FakeComfyApi"]

_TERMINAL = ("succeeded", "failed", "canceled", "expired")


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat().replace("+00:00", "Z")


class FakeComfyApi:
    """``with FakeComfyApi() as srv: ComfyApiClient(srv.url)``."""

    def __init__(
        self,
        *,
        run_seconds: float = 0.05,
        fail_classes: Iterable[str] = (),
        api_key: str | None = None,
        create_faults: Iterable[str | None] = (),
        fault_rate: float = 0.0,
        seed: int = 0,
        sse: bool = True,
        url_ttl: float | None = None,
        workers: int = 4,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.run_seconds = run_seconds
        self.fail_classes = set(fail_classes)
        self.api_key = api_key
        self.create_faults = list(create_faults)
        self.fault_rate = fault_rate
        self._rng = random.Random(seed)
        self.sse = sse
        self.url_ttl = url_ttl
        self.workers = workers
        self.lock = threading.Condition()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.keys: dict[str, str | None] = {}  # claimed key -> job id (None: in progress)
        self.faults_served: list[str] = []
        self.assets: dict[str, bytes] = {}
        self.asset_names: dict[str, str] = {}
        self.create_requests = 0
        self._queue: list[str] = []
        self._stop = False
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> FakeComfyApi:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._threads = [
            threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        ]
        self._threads += [threading.Thread(target=self._work) for _ in range(self.workers)]
        for t in self._threads:
            t.daemon = True
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self._stop = True
            self.lock.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for t in self._threads:
            t.join(5)

    # -- jobs ------------------------------------------------------------------------------------

    def job_json(self, jid: str) -> dict[str, Any]:
        """The v2 job object of ``jid`` (output URLs signed for ``url_ttl`` from now)."""
        j = self.jobs[jid]
        now = time.time()
        outputs = []
        for out in j["outputs"]:
            exp = now + (self.url_ttl if self.url_ttl is not None else 3600)
            outputs.append(
                {
                    **out,
                    "url": f"{self.url}/files/{out['id']}?expires={exp:.3f}",
                    "url_expires_at": _iso(exp),
                }
            )
        pos = self._queue.index(jid) + 1 if jid in self._queue else None
        return {
            "id": jid,
            "status": j["status"],
            "created_at": _iso(j["created"]),
            "started_at": _iso(j["started"]),
            "completed_at": _iso(j["completed"]),
            "expires_at": _iso(j["created"] + 86400),
            "queue_position": pos,
            "progress": j["progress"],
            "outputs": outputs,
            "error": j["error"],
            "metrics": {"execution_ms": j["execution_ms"]},
            "urls": {
                "self": f"/api/v2/jobs/{jid}",
                "events": f"/api/v2/jobs/{jid}/events",
                "cancel": f"/api/v2/jobs/{jid}/cancel",
            },
        }

    def _next_fault(self) -> str | None:
        if self.create_faults:
            return self.create_faults.pop(0)
        if self.fault_rate and self._rng.random() < self.fault_rate:
            return self._rng.choice(["429", "503", "500-after"])
        return None

    def create(self, body: Any, key: str | None) -> tuple[int, Any, dict[str, str]]:
        """``POST /api/v2/jobs``: (status, body, headers), faults and key rules applied."""
        with self.lock:
            self.create_requests += 1
            fault = self._next_fault()
            if fault:
                self.faults_served.append(fault)
            if fault == "503":  # refused in front of the API: the key is never claimed
                return 503, _err("upstream_error", "service unavailable"), {}
            if key is not None and key in self.keys:
                return 422, _err("idempotency_key_reuse", "this key was used already"), {}
            if not isinstance(body, dict) or not isinstance(body.get("workflow"), dict):
                return 422, _err("invalid_workflow", "a workflow object is required"), {}
            wf = body["workflow"]
            if "nodes" in wf and "links" in wf:
                return 422, _err("workflow_format_ui", "a UI workflow; send the API format"), {}
            if fault == "429":  # an upstream reject: the key is released
                return 429, _err("queue_full", "the queue is full"), {"Retry-After": "0"}
            jid = str(uuid.uuid4())
            if key is not None:
                self.keys[key] = jid
            self.jobs[jid] = {
                "status": "queued",
                "workflow": wf,
                "created": time.time(),
                "started": None,
                "completed": None,
                "progress": None,
                "outputs": [],
                "error": None,
                "execution_ms": None,
                "cancel": False,
                "key": key,
            }
            self.order.append(jid)
            self._queue.append(jid)
            self.lock.notify_all()
            if fault == "500-after":  # created; the answer is lost
                return 500, _err("upstream_error", "an unexpected failure"), {}
            return 201, self.job_json(jid), {}

    def cancel(self, jid: str) -> dict[str, Any]:
        """``POST /api/v2/jobs/{id}/cancel``: the job as it is after the request."""
        with self.lock:
            j = self.jobs[jid]
            if j["status"] == "queued":
                self._queue.remove(jid)
                j["status"] = "canceled"
                j["completed"] = time.time()
            elif j["status"] == "running":
                j["status"] = "canceling"
                j["cancel"] = True
            self.lock.notify_all()
            return self.job_json(jid)

    def _work(self) -> None:
        while True:
            with self.lock:
                while not self._queue and not self._stop:
                    self.lock.wait(0.1)
                if self._stop:
                    return
                jid = self._queue.pop(0)
                j = self.jobs[jid]
                j["status"] = "running"
                j["started"] = time.time()
                self.lock.notify_all()
            self._run(jid, j)

    def _run(self, jid: str, j: dict[str, Any]) -> None:
        wf = j["workflow"]
        steps = {
            nid: n["inputs"]["steps"]
            for nid, n in wf.items()
            if isinstance(n, dict)
            and isinstance(n.get("inputs"), dict)
            and isinstance(n["inputs"].get("steps"), int)
        }
        total = sum(steps.values()) or 1
        done = 0
        for nid, n in steps.items():
            for step in range(1, n + 1):
                time.sleep(self.run_seconds / total)
                done += 1
                with self.lock:
                    if j["cancel"] or self._stop:
                        break
                    j["progress"] = {
                        "value": done / total,
                        "nodes_done": 0,
                        "nodes_total": len(wf),
                        "current_node": nid,
                        "current_node_class": wf[nid].get("class_type"),
                        "step": step,
                        "steps": n,
                        "message": f"{wf[nid].get('class_type')} {step}/{n}",
                    }
                    self.lock.notify_all()
        if not steps:
            time.sleep(self.run_seconds)
        with self.lock:
            j["completed"] = time.time()
            j["execution_ms"] = int((j["completed"] - j["started"]) * 1000)
            failing = [
                k
                for k, n in wf.items()
                if isinstance(n, dict) and n.get("class_type") in self.fail_classes
            ]
            if j["cancel"]:
                j["status"] = "canceled"
            elif failing:
                j["status"] = "failed"
                j["error"] = {
                    "code": "node_execution_error",
                    "message": "fake failure",
                    "node_id": failing[0],
                    "class_type": wf[failing[0]].get("class_type"),
                }
            else:
                j["status"] = "succeeded"
                for k, n in wf.items():
                    if isinstance(n, dict) and str(n.get("class_type", "")).startswith("Save"):
                        aid = str(uuid.uuid4())
                        png = placeholder_png(32, 32, {"job": jid}, seed=aid)
                        self.assets[aid] = png
                        j["outputs"].append(
                            {
                                "node_id": k,
                                "name": f"ComfyUI_{len(self.assets):05d}_.png",
                                "type": "image",
                                "content_type": "image/png",
                                "size_bytes": len(png),
                                "id": aid,
                                "hash": None,
                                "job_id": jid,
                            }
                        )
            self.lock.notify_all()

    def upload(self, content_type: str, raw: bytes) -> tuple[int, Any]:
        """``POST /api/v2/assets``: (status, asset JSON)."""
        fields = parse_form(content_type, raw)
        file = fields.get("file")
        if isinstance(file, tuple):
            fields["file"] = file[1]
        if not isinstance(fields.get("file"), bytes) or not fields.get("file_path"):
            return 422, _err("invalid_request", "file and file_path are required")
        aid = str(uuid.uuid4())
        with self.lock:
            self.assets[aid] = fields["file"]
            self.asset_names[aid] = str(fields["file_path"])
        now = time.time()
        return 201, {
            "id": aid,
            "hash": None,
            "size_bytes": len(fields["file"]),
            "content_type": fields.get("content_type") or "application/octet-stream",
            "file_path": fields["file_path"],
            "created_new": True,
            "created_at": _iso(now),
            "url": f"{self.url}/files/{aid}?expires={now + 3600:.3f}",
            "url_expires_at": _iso(now + 3600),
        }


def _err(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": None}}


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeComfyApi
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _send(
        self, status: int, data: Any, headers: dict[str, str] | None = None, ctype: str = ""
    ) -> None:
        payload = data if isinstance(data, bytes) else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype or "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    def _authorised(self) -> bool:
        key = self.server_fake.api_key
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        self._send(401, _err("unauthorized", "missing or invalid credentials"))
        return False

    def _job_id(self, path: str) -> str | None:
        parts = path.split("/")  # ['', 'api', 'v2', 'jobs', id, ...]
        jid = parts[4] if len(parts) > 4 else None
        if jid is None or jid not in self.server_fake.jobs:
            self._send(404, _err("not_found", "no such job"))
            return None
        return jid

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        fake = self.server_fake
        path = urlsplit(self.path).path
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not self._authorised():
            return
        if path == "/api/v2/jobs":
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            status, data, headers = fake.create(body, self.headers.get("Idempotency-Key"))
            self._send(status, data, headers)
        elif path == "/api/v2/assets":
            status, data = fake.upload(self.headers.get("Content-Type") or "", raw)
            self._send(status, data)
        elif path.startswith("/api/v2/jobs/") and path.endswith("/cancel"):
            jid = self._job_id(path)
            if jid is not None:
                self._send(200, fake.cancel(jid))
        else:
            self._send(404, _err("not_found", "no such route"))

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        fake = self.server_fake
        parts = urlsplit(self.path)
        path = parts.path
        if path.startswith("/files/"):
            aid = path[len("/files/") :]
            exp = float((parse_qs(parts.query).get("expires") or ["0"])[0])
            data = fake.assets.get(aid)
            if data is None:
                self._send(404, _err("not_found", "no such file"))
            elif exp < time.time():
                self._send(403, _err("forbidden", "the link expired"))
            else:
                self._send(200, data, ctype="image/png")
            return
        if not self._authorised():
            return
        if path.startswith("/api/v2/jobs/") and path.endswith("/events"):
            jid = self._job_id(path)
            if jid is not None:
                self._events(jid)
        elif path.startswith("/api/v2/jobs/"):
            jid = self._job_id(path)
            if jid is not None:
                with fake.lock:
                    self._send(200, fake.job_json(jid))
        else:
            self._send(404, _err("not_found", "no such route"))

    def _events(self, jid: str) -> None:
        fake = self.server_fake
        if not fake.sse:
            self._send(501, _err("not_implemented", "no live events here"))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        last: tuple[Any, ...] = ()
        while True:
            with fake.lock:
                j = fake.jobs[jid]
                state = (j["status"], json.dumps(j["progress"]), len(j["outputs"]))
                if state == last and j["status"] not in _TERMINAL:
                    fake.lock.wait(0.2)
                    continue
                doc = fake.job_json(jid)
            frames = []
            if doc["progress"] is not None and (not last or state[1] != last[1]):
                frames.append(("progress", doc["progress"]))
            for out in doc["outputs"][(last[2] if last else 0) :]:
                frames.append(("output", out))
            if not last or state[0] != last[0]:  # a terminal status comes last
                status = {"status": doc["status"], "queue_position": doc["queue_position"]}
                frames.append(("status", status))
            last = state
            try:
                for kind, data in frames:
                    self.wfile.write(f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()
            except OSError:
                return
            if doc["status"] in _TERMINAL:
                return
