"""``cmfy-graph sweep FILE --set NODE.INPUT=VALUES ... --out DIR``: run a parameter sweep.

Rerunning the same command resumes: the journal in DIR says what is done. Exit codes: 0 every
variant completed, 1 some failed or did not finish, 2 bad input (a DIR of another sweep, or in
use), 3 API or network error, 130 interrupted.
"""

from __future__ import annotations

import argparse
from typing import Any

HELP = "run a workflow over many parameter values (grid, zip or random), resumable"

EPILOG = """\
VALUES: a comma list (5,7.5,9), an inclusive range (1..40, 1..40:2, 0..1:0.25), a JSON list
('["a, b", "c"]') or @FILE (one value per line). NODE is a node id, a node title or a class
type that appears once. Several --set make a grid; --zip pairs them; --random N draws N.

Backends: cloud (CMFY_API_KEY, CMFY_API_URL or --api-url), comfyui (--server URL, repeatable)
or comfy-api (COMFY_API_KEY, COMFY_BASE_URL or --api-url: every create carries an
idempotency key, journaled, so a submission lost in a crash is never run twice).
Rerun the same command to resume; results in DIR/results.jsonl and DIR/results.csv.
DIR holds one sweep: a different one is refused unless --force, and two sweeps cannot run
into it at once (DIR/.lock names the one that holds it). Ctrl-C stops submitting, cancels the
jobs in flight where the backend can (ComfyUI, Comfy API; journaled, so the next run submits
them again), says which jobs are still on the server and how to resume (exit code 130).
"""


def register(sub: Any) -> None:
    """Add the ``sweep`` sub-command."""
    p = sub.add_parser(
        "sweep",
        help=HELP,
        description=HELP,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="workflow: .py script, API prompt, body or UI JSON")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NODE.INPUT=VALUES",
        help="an input to vary and its values (repeatable)",
    )
    p.add_argument(
        "--out", "-o", metavar="DIR", help="results directory (required unless --dry-run)"
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--zip", action="store_true", help="pair the --set lists instead of a grid")
    mode.add_argument("--random", type=int, metavar="N", help="N random points of the grid")
    p.add_argument(
        "--seed", type=int, default=0, metavar="S", help="random seed for --random (default 0)"
    )
    p.add_argument("--concurrency", "-j", type=int, metavar="N", help="jobs in flight at most")
    p.add_argument(
        "--backend",
        choices=["cloud", "comfyui", "comfy-api"],
        action="append",
        default=None,
        help="cmfy.cloud jobs API (default), self-hosted ComfyUI servers (the default "
        "when --server is given) or the Comfy API v2 (COMFY_BASE_URL, --api-url); "
        "repeat it for a pool that mixes them",
    )
    p.add_argument("--api-url", metavar="URL", help="cmfy.cloud API base URL (cloud backend)")
    p.add_argument(
        "--server",
        action="append",
        default=[],
        metavar="URL",
        help="a ComfyUI server (comfyui backend; repeatable: a pool)",
    )
    p.add_argument(
        "--per-server",
        type=int,
        default=2,
        metavar="N",
        help="jobs in flight per ComfyUI server (2)",
    )
    p.add_argument("--retry-failed", action="store_true", help="submit failed variants again")
    p.add_argument(
        "--force",
        action="store_true",
        help="run into an --out that holds a different sweep (variants both share are reused)",
    )
    p.add_argument(
        "--max-attempts", type=int, default=5, metavar="N", help="submissions per variant (5)"
    )
    p.add_argument(
        "--poll-interval", type=float, default=1.0, metavar="S", help="seconds between polls (1)"
    )
    p.add_argument(
        "--timeout", type=float, default=3600.0, metavar="S", help="seconds to wait per job (3600)"
    )
    p.add_argument("--no-download", action="store_true", help="do not download outputs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--dry-run", action="store_true", help="print the variants, submit nothing")
    p.add_argument("--var", help="the workflow variable, when a script defines several")
    p.add_argument("--spec", metavar="FILE_OR_URL", help="node spec for checking values")
    p.add_argument("--no-validate", action="store_true", help="do not lint the workflow first")
    p.add_argument("--json", action="store_true", help="print the final report as JSON")
    p.set_defaults(func=run)


def _load(args: argparse.Namespace, spec: Any) -> dict[str, Any]:
    """The base API prompt from FILE."""
    import json
    from pathlib import Path

    from ..sweep import SweepError

    path = Path(args.file)
    if path.suffix == ".py":
        from ..script import load_workflow_script

        return load_workflow_script(path, args.var)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SweepError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepError(f"{path}: cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SweepError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if isinstance(data, dict) and isinstance(data.get("prompt"), dict):
        return dict(data["prompt"])
    from ..convert.ui import is_ui_workflow

    if is_ui_workflow(data):
        from ..convert.ui import ui_to_api

        return ui_to_api(data, spec)
    if not isinstance(data, dict) or not data:
        raise SweepError(f"{path}: expected an API prompt, a request body or a UI workflow")
    return data


def _backend(args: argparse.Namespace, spec: Any, cfg: Any) -> Any:
    """The backend of ``--backend`` (repeated: a pool that mixes them)."""
    from ..sweep import SweepError

    kinds = list(dict.fromkeys(args.backend or ["comfyui" if args.server else "cloud"]))
    if len(kinds) == 1:
        return _one_backend(args, spec, kinds[0], cfg)
    if args.api_url and {"cloud", "comfy-api"} <= set(kinds):
        raise SweepError(
            "--api-url is ambiguous with both cloud and comfy-api: set CMFY_API_URL and "
            "COMFY_BASE_URL instead"
        )
    from ..runner import MixedBackend

    backends = [_one_backend(args, spec, k, cfg) for k in kinds]
    return MixedBackend(backends, kinds, per_backend=args.per_server)


def _one_backend(args: argparse.Namespace, spec: Any, backend: str, cfg: Any) -> Any:
    from ..config import api_url
    from ..runner import CloudBackend, ComfyUIBackend

    url = args.api_url
    if backend == "comfyui":
        servers = args.server or list(cfg.server)
        if not servers:
            from ..sweep import SweepError

            raise SweepError(
                "--backend comfyui needs at least one --server URL (or server in "
                "[tool.cmfy-graph] of pyproject.toml)"
            )
        from ..client.comfyui import AsyncComfyUIPool

        pool = AsyncComfyUIPool(
            servers, args.per_server, validate=False, max_threads=max(8, args.concurrency or 0)
        )
        return ComfyUIBackend(pool, wait_timeout=args.timeout, poll_interval=args.poll_interval)
    if backend == "comfy-api":
        from ..runner.backends import ComfyApiBackend

        return ComfyApiBackend.create(
            url, spec=spec, wait_timeout=args.timeout, poll_interval=args.poll_interval
        )
    return CloudBackend.create(
        base_url=api_url(url, cfg),
        spec=spec,
        wait_timeout=args.timeout,
        poll_interval=args.poll_interval,
        max_connections=max(100, 2 * (args.concurrency or 0)),
    )


def _report_stop(runner: Any, out: str) -> None:
    """Ctrl-C: say what is still on the server and how to pick it up."""
    import shlex
    import sys

    left, uncertain = runner.left_on_server, runner.left_uncertain
    err = sys.stderr
    print(f"cmfy-graph sweep: interrupted; the journal in {out} has every job", file=err)
    if runner.cancelled_jobs:
        n = len(runner.cancelled_jobs)
        print(
            f"  {n} job(s) in flight were cancelled on the server (journaled: the next run "
            "submits those variants again)",
            file=err,
        )
    if left:
        ids = ", ".join(job for _v, job, _s in left[:5]) + (" ..." if len(left) > 5 else "")
        print(
            f"  {len(left)} job(s) are still queued or running on the server ({ids}); they "
            "were not cancelled",
            file=err,
        )
    if uncertain:
        print(
            f"  {len(uncertain)} submission(s) were in flight: the server may have their jobs; "
            "resuming submits them again (possibly duplicated)",
            file=err,
        )
    argv = [a for a in sys.argv[1:] if a != "--force"]
    again = "cmfy-graph " + " ".join(shlex.quote(a) for a in argv) if argv else "the same command"
    print(
        f"  resume with: {again}  (the same command: it waits for those jobs, downloads "
        "their outputs and submits the rest)",
        file=err,
    )


def _build(args: argparse.Namespace, cfg: Any) -> tuple[Any, Any]:
    """The sweep the arguments describe, and the spec it was checked against."""
    from pathlib import Path

    from ..config import project_spec
    from ..sweep import SweepError, parse_set, sweep

    if not args.sets:
        raise SweepError("give at least one --set NODE.INPUT=VALUES")
    if args.concurrency is not None and args.concurrency < 1:
        raise SweepError("--concurrency must be at least 1")
    spec = project_spec(args.spec, cfg)
    base = _load(args, spec)
    params: dict[Any, Any] = {}
    for item in args.sets:
        target, values = parse_set(item, base_dir=Path.cwd())
        if target in params:
            raise SweepError(f"--set {target} is given twice")
        params[target] = values
    mode = "zip" if args.zip else "random" if args.random is not None else "grid"
    s = sweep(base, params, mode=mode, samples=args.random, seed=args.seed, spec=spec)
    if not args.no_validate:
        from ..client._base import lint_prompt

        lint_prompt(s[0].prompt, spec)  # once: the values were checked one by one
    return s, spec


def _print_report(args: argparse.Namespace, report: Any) -> None:
    import json
    import sys

    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(report.summary())
    if report.possibly_duplicated:
        shown = ", ".join(report.possibly_duplicated[:10])
        more = " ..." if len(report.possibly_duplicated) > 10 else ""
        print(
            f"warning: {len(report.possibly_duplicated)} variant(s) possibly duplicated (a "
            f"submission in flight at a crash may have reached the server without its job id "
            f"being recorded, or its job is on a ComfyUI server not in this run; there is no "
            f"idempotency key): {shown}{more}",
            file=sys.stderr,
        )


def run(args: argparse.Namespace) -> int:
    """Build the sweep, then run it (or print it with --dry-run)."""
    import asyncio
    import json
    import sys

    from ..config import find_config
    from ..sweep import SweepError

    cfg = find_config()  # [tool.cmfy-graph], read once for the spec and the backends
    s, spec = _build(args, cfg)
    if args.dry_run:
        out = sys.stdout
        for v in s:
            out.write(json.dumps({"index": v.index, "id": v.id, "params": v.params}) + "\n")
        print(f"{len(s)} variants", file=sys.stderr)
        return 0
    if args.out is None:
        raise SweepError("--out DIR is required (where the journal, results and images go)")
    from ..runner import SweepRunner

    backend = _backend(args, spec, cfg)
    runner = SweepRunner(
        s,
        args.out,
        backend,
        concurrency=args.concurrency,
        retry_failed=args.retry_failed,
        max_attempts=args.max_attempts,
        progress=not args.no_progress,
        download=not args.no_download,
        force=args.force,
    )

    async def main() -> Any:
        try:
            return await runner.run()
        finally:
            await backend.aclose()

    try:
        report = asyncio.run(main())
    except KeyboardInterrupt:
        _report_stop(runner, args.out)
        return 130
    _print_report(args, report)
    return 0 if report.ok else 1
