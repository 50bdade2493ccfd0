"""``cmfy-graph submit FILE`` and ``cmfy-graph status JOB_ID``: run a workflow on cmfy.cloud.

The key comes from ``CMFY_API_KEY``, the API from ``CMFY_API_URL`` (default
``https://api.cmfy.cloud``; point it at ``cmfy-graph emulator`` to try things locally).
The job is printed as JSON on stdout; messages go to stderr. Exit codes: 0 accepted (or
completed with ``--wait``), 1 the job failed, 2 usage or invalid workflow, 3 API or network error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "load_submission"]


def register(subparsers: Any) -> None:
    """Add the ``submit`` and ``status`` sub-commands."""
    p = subparsers.add_parser(
        "submit",
        help="submit a workflow to cmfy.cloud (or the emulator) and print the job",
        description="Submit a workflow to the cmfy.cloud jobs API and print the job as JSON. "
        'FILE is a workflow script (.py), an API prompt, a request body {"prompt": ...} or a '
        "UI workflow. The key is read from CMFY_API_KEY, the API URL from CMFY_API_URL.",
        epilog="exit codes: 0 accepted (completed with --wait), 1 job failed, "
        "2 usage or invalid workflow, 3 API or network error",
    )
    p.add_argument(
        "file", metavar="FILE", help="workflow script, API prompt, request body or UI workflow"
    )
    p.add_argument(
        "--wait", action="store_true", help="wait for the job to end; print its final state"
    )
    p.add_argument(
        "--download", metavar="DIR", help="save the output images into DIR (implies --wait)"
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
        help="print a cmfy.cloud job as JSON",
        description="Print the current state of a job (GET /v1/jobs/JOB_ID) as JSON.",
        epilog="exit codes: 0 queued/running/completed, 1 job failed, 3 API or network error",
    )
    s.add_argument("job_id", metavar="JOB_ID")
    s.set_defaults(func=run_status)


def _print_job(job: Any) -> None:
    print(json.dumps(job.to_dict(), indent=2))


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


def run_submit(args: argparse.Namespace) -> int:
    """Handler of ``cmfy-graph submit``."""
    from ..client.cloud import Client
    from ..client.errors import WaitTimeout
    from ..errors import CmfyGraphError

    if args.timeout <= 0 or args.poll_interval <= 0:
        raise CmfyGraphError("--timeout and --poll-interval must be positive")
    submission = load_submission(args.file)
    wait = args.wait or args.download is not None
    from ..config import api_url, find_config

    with Client(
        base_url=api_url(None, find_config()),
        validate=not args.no_validate,
        allow_private_webhooks=args.allow_private_webhook,
    ) as client:
        job = client.submit(submission, webhook_url=args.webhook_url)
        if not wait:
            _print_job(job)
            return 0
        print(f"cmfy-graph submit: job {job.job_id} {job.status}", file=sys.stderr)
        try:
            job = client.wait(job, timeout=args.timeout, poll_interval=args.poll_interval)
        except WaitTimeout as exc:
            if exc.job is not None:
                _print_job(exc.job)
            raise
        _print_job(job)
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


def run_status(args: argparse.Namespace) -> int:
    """Handler of ``cmfy-graph status``."""
    from ..client.cloud import Client
    from ..config import api_url, find_config

    with Client(base_url=api_url(None, find_config())) as client:
        job = client.get(args.job_id)
    _print_job(job)
    if job.failed:
        code = job.error.code if job.error else "execution_failed"
        print(f"cmfy-graph status: job {job.job_id} failed: {code}", file=sys.stderr)
        return 1
    return 0
