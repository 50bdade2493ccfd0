"""A small fake ComfyUI server on loopback, to test :class:`~cmfy_graph.client.comfyui.ComfyUIClient`.

It runs no model. It reproduces the parts of ComfyUI's HTTP API that a client can trip on
(``../shared/comfyui/FORMATS.md`` sections 1.3-1.4):

- ``POST /prompt``: 400 ``no_prompt`` without a prompt; a UI workflow posted as a prompt gives a
  **non-JSON HTTP 500** (as ComfyUI's ``TypeError`` does); validation with cmfy_graph's linter
  (profile ``comfyui``) gives 400 ``{"error", "node_errors"}`` when no output validates, and
  **200 with non-empty node_errors** when one output validates and another does not (the failing
  outputs are dropped);
- one worker runs prompts one at a time in ``number`` order; ``GET /history/{id}`` is ``{}``
  while the prompt is queued or running; ``GET /queue`` lists ``queue_running``/``queue_pending``
  as ``[number, prompt_id, prompt, extra_data, outputs_to_execute]``;
- the history entry has ``outputs`` (``{"images": [{"filename", "subfolder", "type"}]}``) and
  ``status`` (``status_str``, ``completed``, ``messages`` with ``execution_start``/
  ``execution_success``/``execution_error``/``execution_interrupted``);
- ``GET /view`` serves placeholder PNGs; ``POST /interrupt``; ``POST /queue {"delete"|"clear"}``;
  ``GET /object_info`` serves the spec.

A prompt whose node class is listed in ``fail_classes`` fails at run time with an
``execution_error``. With ``hold=True`` the running prompt does not finish until
:meth:`FakeComfyUI.release` (or an interrupt), so tests can look at a queue that stands still. ``max_depth`` records the most prompts it ever held at once.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .emulator import placeholder_png

__all__ = ["FakeComfyUI"]


class FakeComfyUI:
    """A fake ComfyUI server; ``with FakeComfyUI() as srv: ComfyUIClient(srv.url)``."""

    def __init__(
        self,
        *,
        run_seconds: float = 0.05,
        spec: Any = None,
        validate: bool = True,
        fail_classes: Iterable[str] = (),
        hold: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.run_seconds = run_seconds
        self.held = hold
        self.validate = validate
        self.fail_classes = set(fail_classes)
        self._spec_arg = spec
        self._spec: Any = None
        self.host = host
        self.port = port
        self._lock = threading.Condition()
        self._number = 0
        self._pending: list[list[Any]] = []
        self._running: list[Any] | None = None
        self._interrupt = False
        self.history: dict[str, dict[str, Any]] = {}
        self._files: dict[str, str] = {}
        self._counter = 0
        self.max_depth = 0
        self.received: list[str] = []
        self.client_ids: set[str] = set()
        self._stop = False
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeComfyUI:
        """Start the HTTP server and the worker in background threads."""
        if self.validate or self._spec_arg is not None:
            from ..spec import core_spec

            self._spec = self._spec_arg if self._spec_arg is not None else core_spec()
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._threads = [
            threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            ),
            threading.Thread(target=self._work, daemon=True),
        ]
        for t in self._threads:
            t.start()
        return self

    def release(self) -> None:
        """Let held prompts finish (see ``hold``)."""
        self.held = False

    def stop(self) -> None:
        """Stop serving and the worker."""
        with self._lock:
            self._stop = True
            self._lock.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for t in self._threads:
            t.join(5)
        self._server = None

    def __enter__(self) -> FakeComfyUI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the worker ------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._stop:
                    self._lock.wait(0.1)
                if self._stop:
                    return
                self._pending.sort(key=lambda item: item[0])
                item = self._pending.pop(0)
                self._running = item
                self._interrupt = False
            start = time.time()
            deadline = time.monotonic() + self.run_seconds
            while time.monotonic() < deadline or self.held:
                with self._lock:
                    if self._interrupt or self._stop:
                        break
                time.sleep(0.005)
            with self._lock:
                self._finish(item, start)
                self._running = None

    def _finish(self, item: list[Any], start: float) -> None:
        number, pid, prompt, _extra, outputs = item
        messages: list[list[Any]] = [
            ["execution_start", {"prompt_id": pid, "timestamp": int(start * 1000)}]
        ]
        now_ms = int(time.time() * 1000)
        failing = [nid for nid, n in prompt.items() if n.get("class_type") in self.fail_classes]
        node_outputs: dict[str, Any] = {}
        if self._interrupt:
            status = "error"
            messages.append(["execution_interrupted", {"prompt_id": pid, "timestamp": now_ms}])
        elif failing:
            status = "error"
            nid = failing[0]
            messages.append(
                [
                    "execution_error",
                    {
                        "prompt_id": pid,
                        "node_id": nid,
                        "node_type": prompt[nid]["class_type"],
                        "executed": [],
                        "exception_message": "fake failure",
                        "exception_type": "RuntimeError",
                        "traceback": [],
                        "timestamp": now_ms,
                    },
                ]
            )
        else:
            status = "success"
            messages.append(["execution_success", {"prompt_id": pid, "timestamp": now_ms}])
            for nid in outputs:
                node = prompt.get(nid) or {}
                cls = node.get("class_type", "")
                if "images" not in (node.get("inputs") or {}):
                    continue
                kind = "output" if cls.startswith("Save") else "temp"
                prefix = str((node.get("inputs") or {}).get("filename_prefix", "ComfyUI"))
                self._counter += 1
                name = f"{prefix.replace('/', '_')}_{self._counter:05d}_.png"
                self._files[f"{kind}/{name}"] = pid
                node_outputs[nid] = {"images": [{"filename": name, "subfolder": "", "type": kind}]}
        self.history[pid] = {
            "prompt": item,
            "outputs": node_outputs,
            "status": {
                "status_str": status,
                "completed": status == "success",
                "messages": messages,
            },
            "meta": {},
        }

    # -- request handling (called from handler threads) ------------------------------------

    def _queue_prompt(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, Mapping) or "prompt" not in body:
            err = {
                "type": "no_prompt",
                "message": "No prompt provided",
                "details": "No prompt provided",
                "extra_info": {},
            }
            return 400, {"error": err, "node_errors": {}}
        prompt = body["prompt"]
        if not isinstance(prompt, dict):
            return 500, None
        for node in prompt.values():
            if not isinstance(node, dict):  # a UI workflow: 'last_node_id': 5 -> TypeError -> 500
                return 500, None
        outputs, result = self._validate(prompt)
        if result is not None and not result.get("valid", False):
            return 400, {
                "error": result.get("error") or {},
                "node_errors": result.get("node_errors") or {},
            }
        node_errors = (result or {}).get("node_errors") or {}
        with self._lock:
            self._number += 1
            pid = str(uuid.uuid4())
            client_id = body.get("client_id")
            if isinstance(client_id, str):
                self.client_ids.add(client_id)
            extra = dict(body.get("extra_data") or {})
            if client_id:
                extra["client_id"] = client_id
            self._pending.append([self._number, pid, prompt, extra, outputs])
            self.received.append(pid)
            depth = len(self._pending) + (1 if self._running else 0)
            self.max_depth = max(self.max_depth, depth)
            self._lock.notify_all()
        return 200, {"prompt_id": pid, "number": self._number, "node_errors": node_errors}

    def _validate(self, prompt: dict[str, Any]) -> tuple[list[str], dict[str, Any] | None]:
        all_outputs = [
            nid
            for nid, n in prompt.items()
            if isinstance(n.get("class_type"), str)
            and n["class_type"] in ("SaveImage", "PreviewImage")
        ]
        if not self.validate:
            return all_outputs, None
        from ..validate import validate_prompt

        report = validate_prompt(prompt, self._spec, profile="comfyui")
        comfy = report.to_comfyui()
        bad_outputs = {
            o
            for entry in (comfy.get("node_errors") or {}).values()
            if isinstance(entry, Mapping)
            for o in entry.get("dependent_outputs") or []
        }
        outs = [o for o in report.good_outputs if o not in bad_outputs] or [
            o for o in report.outputs if o not in bad_outputs
        ]
        return outs, comfy

    def _queue_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "queue_running": [self._running] if self._running else [],
                "queue_pending": sorted(self._pending, key=lambda i: i[0]),
            }

    def _queue_edit(self, body: Any) -> None:
        with self._lock:
            if isinstance(body, Mapping) and body.get("clear"):
                self._pending.clear()
            if isinstance(body, Mapping) and isinstance(body.get("delete"), list):
                ids = set(body["delete"])
                self._pending = [i for i in self._pending if i[1] not in ids]

    def _interrupt_req(self, body: Any) -> None:
        with self._lock:
            if self._running is None:
                return
            pid = body.get("prompt_id") if isinstance(body, Mapping) else None
            if pid is None or pid == self._running[1]:
                self._interrupt = True

    def _object_info(self) -> dict[str, Any]:
        spec = self._spec
        if spec is None:
            return {}
        return {name: dict(getattr(ns, "raw", {}) or {}) for name, ns in spec.items()}


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeComfyUI
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in separate writes

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _body(self) -> Any:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _send(self, status: int, data: Any, ctype: str = "application/json") -> None:
        if isinstance(data, bytes):
            payload = data
        elif data is None:
            payload = b"500: Internal Server Error"
            ctype = "text/plain"
        else:
            payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        fake = self.server_fake
        path = urlsplit(self.path).path
        body = self._body()
        if path == "/prompt":
            status, data = fake._queue_prompt(body)
            self._send(status, data)
        elif path == "/interrupt":
            fake._interrupt_req(body)
            self._send(200, b"", "text/plain")
        elif path == "/queue":
            fake._queue_edit(body)
            self._send(200, b"", "text/plain")
        else:
            self._send(404, b"404: Not Found", "text/plain")

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        fake = self.server_fake
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/queue":
            self._send(200, fake._queue_json())
        elif path.startswith("/history/"):
            pid = path[len("/history/") :]
            with fake._lock:
                entry = fake.history.get(pid)
            self._send(200, {pid: entry} if entry else {})
        elif path == "/history":
            with fake._lock:
                self._send(200, dict(fake.history))
        elif path == "/object_info":
            self._send(200, fake._object_info())
        elif path == "/view":
            q = parse_qs(parts.query)
            name = (q.get("filename") or [""])[0]
            kind = (q.get("type") or ["output"])[0]
            with fake._lock:
                owner = fake._files.get(f"{kind}/{name}")
            if owner is None:
                self._send(404, b"404: Not Found", "text/plain")
                return
            png = placeholder_png(
                32,
                32,
                {
                    "Comment": "PLACEHOLDER image from the cmfy-graph fake ComfyUI server",
                    "prompt_id": owner,
                },
                seed=name,
            )
            self._send(200, png, "image/png")
        else:
            self._send(404, b"404: Not Found", "text/plain")
