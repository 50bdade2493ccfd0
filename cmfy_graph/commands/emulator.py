"""``cmfy-graph emulator``: run the local cmfy.cloud API emulator until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import time
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``emulator`` sub-command."""
    p = subparsers.add_parser(
        "emulator",
        help="run a local emulator of the cmfy.cloud jobs API",
        description="Serve the cmfy.cloud jobs API on loopback (placeholder PNG outputs, no "
        "model runs). Prints the URL and the test key; runs until Ctrl-C.",
    )
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--plan", choices=["free", "pro", "enterprise"], default="pro", help="limits to apply"
    )
    p.add_argument("--queue-seconds", type=float, default=0.5, help="time a job stays queued")
    p.add_argument("--run-seconds", type=float, default=2.0, help="time a job runs")
    p.add_argument("--failure-rate", type=float, default=0.0, help="fraction of jobs that fail")
    p.add_argument("--seed", type=int, default=0, help="seed for job ids and random choices")
    p.add_argument(
        "--allow-private-webhooks",
        action="store_true",
        help="deliver webhooks to http:// and loopback URLs (local testing)",
    )
    kind = p.add_mutually_exclusive_group()
    kind.add_argument(
        "--comfyui",
        action="store_true",
        help="serve a fake ComfyUI server instead (HTTP, websocket, uploads; runs no model)",
    )
    kind.add_argument(
        "--comfy-api",
        action="store_true",
        help="serve a fake Comfy API v2 server instead (jobs, events, assets, cancel)",
    )
    p.set_defaults(func=run_emulator)


def run_emulator(args: argparse.Namespace) -> int:
    """Handler of ``cmfy-graph emulator``."""
    from ..client.emulator import Emulator, EmulatorConfig
    from ..errors import CmfyGraphError

    if not 0 <= args.port <= 65535:
        raise CmfyGraphError(f"--port {args.port} is not a port number")
    if args.comfyui or args.comfy_api:
        return _run_fake(args)
    config = EmulatorConfig(
        plan=args.plan,
        queue_seconds=args.queue_seconds,
        run_seconds=args.run_seconds,
        failure_rate=args.failure_rate,
        seed=args.seed,
        allow_private_webhooks=args.allow_private_webhooks,
    )
    emu = Emulator(config, host=args.host, port=args.port)
    try:
        emu.start()
    except OSError as exc:
        raise CmfyGraphError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    print(f"cmfy.cloud emulator listening on {emu.url} (outputs on {emu.cdn_url}); Ctrl-C to stop")
    print(f"test key: {emu.test_key}")
    print(f"  export CMFY_API_URL={emu.url}")
    print(f"  export CMFY_API_KEY={emu.test_key}", flush=True)

    _serve_until_stopped(emu.stop)
    return 0


def _serve_until_stopped(stop: Any) -> None:
    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("emulator stopped")
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop()


def _run_fake(args: argparse.Namespace) -> int:
    """``--comfyui`` / ``--comfy-api``: the fakes the tests use, on a port of your choice."""
    from ..errors import CmfyGraphError

    try:
        if args.comfyui:
            from ..client.fake_comfyui import FakeComfyUI

            srv: Any = FakeComfyUI(
                run_seconds=args.run_seconds, host=args.host, port=args.port, validate=False
            ).start()
            print(f"fake ComfyUI server listening on {srv.url} (no model runs); Ctrl-C to stop")
            print(f"  cmfy-graph submit WORKFLOW --server {srv.url} --wait", flush=True)
            _serve_until_stopped(srv.stop)
        else:
            from ..client.fake_comfy_api import FakeComfyApi

            api = FakeComfyApi(run_seconds=args.run_seconds, port=args.port, host=args.host)
            api.__enter__()
            print(f"fake Comfy API v2 server listening on {api.url}; Ctrl-C to stop")
            print(f"  export COMFY_BASE_URL={api.url}", flush=True)
            _serve_until_stopped(lambda: api.__exit__(None, None, None))
    except OSError as exc:
        raise CmfyGraphError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    return 0
