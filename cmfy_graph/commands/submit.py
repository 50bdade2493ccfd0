"""``cmfy-graph submit FILE``, ``status JOB_ID`` and ``cancel JOB_ID``: one command for every
backend: cmfy.cloud (``CMFY_API_KEY``, ``CMFY_API_URL``; point it at ``cmfy-graph emulator`` to
try things locally), a ComfyUI server (``--server URL``) and the Comfy API v2
(``--backend comfy-api``, ``COMFY_API_KEY``, ``COMFY_BASE_URL``).

The job is printed as JSON on stdout; messages go to stderr. ``--events`` prints the job's
events as JSON lines while it waits, then the final job on one line. Exit codes: 0 accepted
(or completed with ``--wait``), 1 the job failed, 2 usage or invalid workflow, 3 API or
network error, 130 interrupted (Ctrl-C while waiting cancels the job it started, where the
backend can).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "load_submission", "BACKENDS"]

#: the backends ``submit``, ``status`` and ``cancel`` speak to
BACKENDS = ("cloud", "comfyui", "comfy-api")


def _backend_args(p: Any) -> None:
    p.add_argument(
        "--backend",
        choices=list(BACKENDS),
        default=None,
        help="cloud: cmfy.cloud (default); comfyui: a ComfyUI server (implied by --server); "
        "comfy-api: the Comfy API v2 (Comfy Cloud, serverless, comfy-api-proxy)",
    )
    p.add_argument("--server", metavar="URL", help="a ComfyUI server (implies --backend comfyui)")
    p.add_argument(
        "--api-url",
        metavar="URL",
        help="the API's base URL (cloud: CMFY_API_URL, default https://api.cmfy.cloud; "
        "comfy-api: COMFY_BASE_URL, default http://127.0.0.1:8189)",
    )


def register(subparsers: Any) -> None:
    """Add the ``submit``, ``status`` and ``cancel`` sub-commands."""
    p = subparsers.add_parser(
        "submit",
        help="run a workflow on cmfy.cloud, a ComfyUI server or the Comfy API, print the job",
        description="Submit a workflow and print the job as JSON. FILE is a workflow script "
        '(.py), an API prompt, a request body {"prompt": ...} or a UI workflow. Local input '
        "files (LoadImage and the other upload inputs) are uploaded to a ComfyUI server or "
        "the Comfy API first, once. Keys: CMFY_API_KEY (cloud), COMFY_API_KEY (comfy-api).",
        epilog="exit codes: 0 accepted (completed with --wait), 1 job failed or cancelled, "
        "2 usage or invalid workflow, 3 API or network error, 130 interrupted (the job "
        "started is cancelled where the backend can)",
    )
    p.add_argument(
        "file", metavar="FILE", help="workflow script, API prompt, request body or UI workflow"
    )
    _backend_args(p)
    p.add_argument(
        "--wait", action="store_true", help="wait for the job to end; print its final state"
    )
    p.add_argument(
        "--download", metavar="DIR", help="save the output images into DIR (implies --wait)"
    )
    p.add_argument(
        "--events",
        action="store_true",
        help="print the job's events as JSON lines on stdout while waiting, the final job "
        "last (implies --wait)",
    )
    p.add_argument(
        "--webhook-url", metavar="URL", help="HTTPS URL the service POSTs the job to when it ends"
    )
    p.add_argument(
        "--timeout", type=float, default=600.0, metavar="S", help="seconds to wait (default 600)"
    )
    p.add_argument(
        "--poll-interval",
        type=float,
        default=1.0,
        metavar="S",
        help="first poll interval (default 1)",
    )
    p.add_argument(
        "--no-validate",
        action="store_true",
        help="skip the local linter (structural checks remain)",
    )
    p.add_argument(
        "--allow-private-webhook",
        action="store_true",
        help="accept an http:// or loopback webhook URL (for the local emulator only)",
    )
    p.set_defaults(func=run_submit)

    s = subparsers.add_parser(
        "status",
        help="print a job as JSON",
        description="Print the current state of a job as JSON.",
        epilog="exit codes: 0 queued/running/completed, 1 job failed, 3 API or network error",
    )
    s.add_argument("job_id", metavar="JOB_ID")
    _backend_args(s)
    s.set_defaults(func=run_status)

    c = subparsers.add_parser(
        "cancel",
        help="cancel a job on a ComfyUI server or the Comfy API",
        description="Cancel a job: a ComfyUI prompt is removed from the queue or interrupted; "
        "a Comfy API job is asked to cancel. cmfy.cloud documents no way to cancel.",
        epilog="exit codes: 0 cancelled (or already ended), 2 usage (cmfy.cloud), "
        "3 API or network error",
    )
    c.add_argument("job_id", metavar="JOB_ID")
    _backend_args(c)
    c.set_defaults(func=run_cancel)


def _print_job(job: Any, *, compact: bool = False) -> None:
    text = json.dumps(job.to_dict(), indent=None if compact else 2, default=str)
    print(text, flush=True)


def load_submission(path: str) -> Any:
    """Read FILE into something ``Client.submit`` takes.

    A ``.py`` file is run as a workflow script (like ``cmfy-graph compile``); anything else is
    recognised by its content with :func:`cmfy_graph.inputs.read_input`: an API prompt, a
    request body (its ``webhook_url`` is kept), a UI workflow, or a PNG saved by ComfyUI.
    ``-`` reads standard input.
    """
    from ..errors import CmfyGraphError
    from ..inputs import read_input

    p = Path(path)
    if path != "-" and p.is_dir():
        raise CmfyGraphError(f"{path}: is a directory, expected a workflow file")
    if p.suffix == ".py":
        from ..script import load_workflow_script

        return load_workflow_script(p)
    if path != "-" and not p.exists():
        raise CmfyGraphError(f"{path}: no such file")
    loaded = read_input(path)
    if loaded.kind == "unreadable":
        raise CmfyGraphError(f"{path}: {loaded.error}")
    if loaded.kind == "unknown":
        why = f" ({loaded.error})" if loaded.error else ""
        raise CmfyGraphError(
            f"{path}: not a workflow{why}: expected an API prompt, a request body "
            '{"prompt": ...}, a UI workflow or a workflow script (.py)'
        )
    if loaded.kind == "request_body" and loaded.body is not None:
        return dict(loaded.body)
    return loaded.data


def _backend(args: argparse.Namespace) -> str:
    return str(args.backend or ("comfyui" if args.server else "cloud"))


def _client(args: argparse.Namespace, *, validate: bool = True) -> Any:
    """The client of the chosen backend (see :data:`BACKENDS`)."""
    from ..config import api_url, find_config
    from ..errors import CmfyGraphError

    backend = _backend(args)
    cfg = find_config()
    if backend == "comfyui":
        from ..client.comfyui import ComfyUIClient

        server = args.server or (cfg.server[0] if cfg.server else None)
        if not server:
            raise CmfyGraphError(
                "--backend comfyui needs --server URL (or server in [tool.cmfy-graph])"
            )
        return ComfyUIClient(server, validate=validate)
    if backend == "comfy-api":
        from ..client.comfy_api import ComfyApiClient

        return ComfyApiClient(args.api_url, validate=validate)
    if args.server:
        raise CmfyGraphError("--server is a ComfyUI server: use it with --backend comfyui")
    from ..client.cloud import Client

    return Client(
        base_url=api_url(args.api_url, cfg),
        validate=validate,
        allow_private_webhooks=getattr(args, "allow_private_webhook", False),
    )


def _handler(args: argparse.Namespace, submission: Any) -> tuple[Any, Any]:
    """What receives the events while waiting: JSON lines (--events), a live line on a
    terminal's stderr, or nothing; and what to close at the end."""
    from ..client.events import ProgressLine

    if args.events:

        def emit(ev: Any) -> None:
            sys.stdout.write(json.dumps(ev.to_dict(), ensure_ascii=False, default=str) + "\n")
            sys.stdout.flush()

        return emit, None
    if sys.stderr.isatty():
        prompt = submission.get("prompt", submission) if isinstance(submission, dict) else {}
        classes = {
            str(k): str(v.get("class_type"))
            for k, v in (prompt.items() if isinstance(prompt, dict) else [])
            if isinstance(v, dict)
        }
        line = ProgressLine(sys.stderr, classes)
        return line, line
    return None, None


def _poll_events(client: Any, job: Any, args: argparse.Namespace, on_event: Any) -> Any:
    """cmfy.cloud streams nothing: its events are the status changes seen by polling."""
    import time

    from ..client.events import poll_events

    events = poll_events(
        client.get, job.job_id, time.monotonic() + args.timeout, args.poll_interval, 10.0
    )
    while True:
        try:
            on_event(next(events))
        except StopIteration as end:
            return end.value  # the job as it ended


def _cancel_on_interrupt(client: Any, job: Any, backend: str) -> int:
    """Ctrl-C while waiting: cancel the job this command started, and say so."""
    err = sys.stderr
    if backend == "cloud":
        print(
            f"cmfy-graph submit: interrupted; job {job.job_id} keeps running on cmfy.cloud "
            "(it documents no way to cancel a job)",
            file=err,
        )
        return 130
    try:
        client.cancel(job)
    except Exception as exc:  # noqa: BLE001 - report, never a traceback
        print(
            f"cmfy-graph submit: interrupted; cancelling job {job.job_id} failed: {exc}",
            file=err,
        )
        return 130
    print(f"cmfy-graph submit: interrupted; job {job.job_id} cancelled", file=err)
    return 130


def run_submit(args: argparse.Namespace) -> int:
    """Handler of ``cmfy-graph submit``."""
    import contextlib

    from ..client.errors import WaitTimeout
    from ..errors import CmfyGraphError

    if args.timeout <= 0 or args.poll_interval <= 0:
        raise CmfyGraphError("--timeout and --poll-interval must be positive")
    backend = _backend(args)
    if args.webhook_url and backend != "cloud":
        raise CmfyGraphError("--webhook-url is a cmfy.cloud option")
    submission = load_submission(args.file)
    wait = args.wait or args.download is not None or args.events
    on_event, closer = _handler(args, submission) if wait else (None, None)
    with _client(args, validate=not args.no_validate) as client, contextlib.ExitStack() as stack:
        live = None
        if backend == "comfyui" and on_event is not None:
            live = stack.enter_context(client.live(poll_interval=args.poll_interval))
        if backend == "cloud":
            job = client.submit(submission, webhook_url=args.webhook_url)
        else:
            job = client.submit(submission)
        if not wait:
            _print_job(job)
            return 0
        print(f"cmfy-graph submit: job {job.job_id} {job.status}", file=sys.stderr)
        try:
            job = _wait(client, job, backend, args, on_event, live)
        except WaitTimeout as exc:
            if exc.job is not None:
                _print_job(exc.job, compact=args.events)
            raise
        except KeyboardInterrupt:
            if closer is not None:
                closer.close()
            return _cancel_on_interrupt(client, job, backend)
        finally:
            if closer is not None:
                closer.close()
        _print_job(job, compact=args.events)
        if job.failed:
            code = job.error.code if job.error else "execution_failed"
            msg = job.error.message if job.error else ""
            print(f"cmfy-graph submit: job {job.job_id} failed: {code}: {msg}", file=sys.stderr)
            return 1
        if args.download is not None:
            try:
                paths = client.download(job, args.download)
            except OSError as exc:
                raise CmfyGraphError(
                    f"cannot write to {args.download}: {exc.strerror or exc}"
                ) from None
            for path in paths:
                print(f"saved {path}", file=sys.stderr)
    return 0


def _wait(
    client: Any, job: Any, backend: str, args: argparse.Namespace, on_event: Any, live: Any
) -> Any:
    if backend == "cloud":
        if on_event is not None:
            return _poll_events(client, job, args, on_event)
        return client.wait(job, timeout=args.timeout, poll_interval=args.poll_interval)
    if backend == "comfyui":
        return client.wait(
            job,
            timeout=args.timeout,
            poll_interval=args.poll_interval,
            on_event=on_event,
            live=live,
        )
    return client.wait(
        job, timeout=args.timeout, poll_interval=args.poll_interval, on_event=on_event
    )


def run_status(args: argparse.Namespace) -> int:
    """Handler of ``cmfy-graph status``."""
    with _client(args, validate=False) as client:
        job = client.get(args.job_id)
    _print_job(job)
    if job.failed:
        code = job.error.code if job.error else "execution_failed"
        print(f"cmfy-graph status: job {job.job_id} failed: {code}", file=sys.stderr)
        return 1
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    """Handler of ``cmfy-graph cancel``."""
    from ..errors import CmfyGraphError

    if _backend(args) == "cloud":
        raise CmfyGraphError(
            "cmfy.cloud documents no way to cancel a job; --server URL (ComfyUI) or "
            "--backend comfy-api can cancel theirs"
        )
    with _client(args, validate=False) as client:
        client.cancel(args.job_id)
        job = client.get(args.job_id)
    _print_job(job)
    print(f"cmfy-graph cancel: job {args.job_id} {job.status}", file=sys.stderr)
    return 0
