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

It also has ComfyUI's live side: a websocket at ``/ws?clientId=`` (a minimal RFC 6455 server)
that gets the prompt's ``execution_start``, ``execution_cached``, ``executing``, ``progress``
(one per sampler step: ``steps`` of the node that has them), ``executed`` and
``execution_success``/``execution_error``/``execution_interrupted`` messages, sent to the
socket of the prompt's ``client_id`` only; ``POST /upload/image`` (multipart, kept in
``inputs``, each upload logged in ``uploads``) and ``GET``/``HEAD /view?type=input``. Faults:
``websocket=False`` refuses the socket (404), ``drop_ws_after=N`` cuts every socket once after
N messages.

A prompt whose node class is listed in ``fail_classes`` fails at run time with an
``execution_error``. With ``hold=True`` the running prompt does not finish until
:meth:`FakeComfyUI.release` (or an interrupt), so tests can look at a queue that stands still. ``max_depth`` records the most prompts it ever held at once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._forms import parse_form
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
        websocket: bool = True,
        drop_ws_after: int | None = None,
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
        self.websocket = websocket
        self.drop_ws_after = drop_ws_after
        self.ws_sent = 0  # messages sent on websockets
        self.ws_connections = 0
        self._sockets: dict[str, list[_WsConn]] = {}
        #: files of the input folder (name -> bytes) and the names of every upload received
        self.inputs: dict[str, bytes] = {}
        self.uploads: list[str] = []
        #: ids of prompts that were interrupted while running
        self.interrupted: list[str] = []

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
            self._run(item)
            with self._lock:
                self._finish(item, start)
                self._running = None
            self._announce_end(item)

    def _run(self, item: list[Any]) -> None:
        """Run time, with the live messages: the nodes in order, the sampler's steps."""
        _number, pid, prompt, extra, _outputs = item
        cid = extra.get("client_id")
        self._send_ws(cid, "execution_start", {"prompt_id": pid, "timestamp": _ms()})
        self._send_ws(cid, "execution_cached", {"nodes": [], "prompt_id": pid})
        steps_of = {
            nid: n["inputs"]["steps"]
            for nid, n in prompt.items()
            if isinstance(n.get("inputs"), dict) and isinstance(n["inputs"].get("steps"), int)
        }
        total_steps = sum(max(1, s) for s in steps_of.values()) or 1
        tick = self.run_seconds / total_steps
        for nid in prompt:
            self._send_ws(cid, "executing", {"node": nid, "display_node": nid, "prompt_id": pid})
            for step in range(1, steps_of.get(nid, 0) + 1):
                if not self._pause(tick, hold=step == 1):
                    return
                self._send_ws(
                    cid,
                    "progress",
                    {"value": step, "max": steps_of[nid], "prompt_id": pid, "node": nid},
                )
            if self._stopped():
                return
        if not steps_of:
            self._pause(self.run_seconds, hold=True)

    def _stopped(self) -> bool:
        with self._lock:
            return self._interrupt or self._stop

    def _pause(self, seconds: float, *, hold: bool) -> bool:
        """Let ``seconds`` pass (longer while held, with ``hold``); False when the prompt was
        interrupted or the server stops meanwhile."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline or (hold and self.held):
            if self._stopped():
                return False
            time.sleep(0.002)
        return not self._stopped()

    def _announce_end(self, item: list[Any]) -> None:
        pid, extra = item[1], item[3]
        cid = extra.get("client_id")
        entry = self.history.get(pid) or {}
        for nid, out in (entry.get("outputs") or {}).items():
            self._send_ws(cid, "executed", {"node": nid, "output": out, "prompt_id": pid})
        self._send_ws(cid, "executing", {"node": None, "prompt_id": pid})
        for kind, data in (entry.get("status") or {}).get("messages") or []:
            if kind != "execution_start":
                self._send_ws(cid, kind, data)

    # -- websockets -------------------------------------------------------------------------

    def _send_ws(self, client_id: Any, kind: str, data: dict[str, Any]) -> None:
        if not isinstance(client_id, str):
            return
        payload = json.dumps({"type": kind, "data": data}).encode()
        with self._lock:
            conns = list(self._sockets.get(client_id) or [])
        for conn in conns:
            if conn.send(payload):
                with self._lock:
                    self.ws_sent += 1
                    cut = self.drop_ws_after is not None and self.ws_sent >= self.drop_ws_after
                    if cut:
                        self.drop_ws_after = None
                if cut:
                    self.drop_sockets()

    def drop_sockets(self) -> None:
        """Cut every websocket (no close frame): what a proxy or a network fault does."""
        with self._lock:
            conns = [c for cs in self._sockets.values() for c in cs]
        for c in conns:
            c.kill()

    def _ws_opened(self, client_id: str, conn: _WsConn) -> None:
        with self._lock:
            self._sockets.setdefault(client_id, []).append(conn)
            self.ws_connections += 1
        status = {
            "status": {"exec_info": {"queue_remaining": len(self._pending)}},
            "sid": client_id,
        }
        conn.send(json.dumps({"type": "status", "data": status}).encode())

    def _ws_closed(self, client_id: str, conn: _WsConn) -> None:
        with self._lock:
            conns = self._sockets.get(client_id) or []
            if conn in conns:
                conns.remove(conn)

    # -- uploads ----------------------------------------------------------------------------

    def _upload(self, content_type: str, raw: bytes) -> tuple[int, Any]:
        fields = parse_form(content_type, raw)
        image = fields.get("image")
        if not isinstance(image, tuple) or not image[0]:
            return 400, None
        fname, data = str(image[0]), image[1]
        sub = str(fields.get("subfolder") or "")
        target = f"{sub}/{fname}" if sub else fname
        with self._lock:
            if target in self.inputs and fields.get("overwrite") != "true":
                stem, dot, ext = fname.rpartition(".")
                i = 1
                while f"{stem} ({i}){dot}{ext}" in self.inputs:
                    i += 1
                fname = f"{stem} ({i}){dot}{ext}"
                target = f"{sub}/{fname}" if sub else fname
            self.inputs[target] = data
            self.uploads.append(target)
        return 200, {"name": fname, "subfolder": sub, "type": "input"}

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
            self.interrupted.append(pid)
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

        with self._lock:
            files = list(self.inputs)
        report = validate_prompt(prompt, self._spec, profile="comfyui", input_files=files)
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


def _ms() -> int:
    return int(time.time() * 1000)


class _WsConn:
    """The server end of one websocket: frames out (from any thread), frames in (pings,
    close) read by the handler thread that owns the connection."""

    def __init__(self, sock: socket.socket, rfile: Any) -> None:
        self.sock = sock
        self.rfile = rfile
        self._lock = threading.Lock()
        self.alive = True

    def send(self, payload: bytes, opcode: int = 1) -> bool:
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([n])
        elif n < 65536:
            head += bytes([126]) + n.to_bytes(2, "big")
        else:
            head += bytes([127]) + n.to_bytes(8, "big")
        with self._lock:
            if not self.alive:
                return False
            try:
                self.sock.sendall(head + payload)
            except OSError:
                self.alive = False
                return False
        return True

    def kill(self) -> None:
        with self._lock:
            self.alive = False
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def serve(self) -> None:
        """Read the client's frames until it closes: answer pings, echo the close."""
        while self.alive:
            try:
                head = self.rfile.read(2)
                if len(head) < 2:
                    return
                opcode, n = head[0] & 0x0F, head[1] & 0x7F
                if n == 126:
                    n = int.from_bytes(self.rfile.read(2), "big")
                elif n == 127:
                    n = int.from_bytes(self.rfile.read(8), "big")
                mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
            except (OSError, ValueError):
                return
            if opcode == 8:
                self.send(data[:2], 8)
                return
            if opcode == 9:
                self.send(data, 10)


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
        if path == "/upload/image":
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            status, data = fake._upload(self.headers.get("Content-Type") or "", raw)
            self._send(status, data if data is not None else b"bad upload", "application/json")
            return
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

    def _websocket(self, query: str) -> None:
        fake = self.server_fake
        key = self.headers.get("Sec-WebSocket-Key")
        cid = (parse_qs(query).get("clientId") or [""])[0] or uuid.uuid4().hex
        if (
            not fake.websocket
            or not key
            or "websocket" not in (self.headers.get("Upgrade") or "").lower()
        ):
            self._send(404, b"404: Not Found", "text/plain")
            return
        accept = base64.b64encode(
            hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
        ).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        conn = _WsConn(self.connection, self.rfile)
        fake._ws_opened(cid, conn)
        try:
            conn.serve()
        finally:
            fake._ws_closed(cid, conn)
            self.close_connection = True

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        parts = urlsplit(self.path)
        q = parse_qs(parts.query)
        if parts.path == "/view" and (q.get("type") or [""])[0] == "input":
            name = (q.get("filename") or [""])[0]
            sub = (q.get("subfolder") or [""])[0]
            with self.server_fake._lock:
                data = self.server_fake.inputs.get(f"{sub}/{name}" if sub else name)
            self.send_response(200 if data is not None else 404)
            self.send_header("Content-Length", str(len(data) if data is not None else 0))
            self.end_headers()
            return
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        fake = self.server_fake
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/ws":
            self._websocket(parts.query)
        elif path == "/view" and (parse_qs(parts.query).get("type") or [""])[0] == "input":
            q = parse_qs(parts.query)
            name, sub = (q.get("filename") or [""])[0], (q.get("subfolder") or [""])[0]
            with fake._lock:
                data = fake.inputs.get(f"{sub}/{name}" if sub else name)
            if data is None:
                self._send(404, b"404: Not Found", "text/plain")
            else:
                self._send(200, data, "application/octet-stream")
        elif path == "/queue":
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
