"""``cmfy-graph lint [--spec FILE_OR_URL] [--profile P] [--format F] PATH...``."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "check workflow files as ComfyUI would (and more): API prompts, request bodies, UI workflows, PNGs"

EPILOG = """\
PATH may be a file, a directory (recursed: *.json and *.png), a glob, or - for stdin; a .py
workflow script is compiled and its prompt linted. Defaults for --spec and --profile come
from [tool.cmfy-graph] in the nearest pyproject.toml (flags win).
Formats: text (path:LINE:COL: error|warning CODE message [node N Class.input], then a
summary), json (one document),
sarif (SARIF 2.1.0), comfyui (JSON Lines: {"file", "valid", "error", "node_errors"} in
ComfyUI's own shapes). Exit codes: 0 no errors, 1 errors found, 2 usage error or an
unreadable input."""


def register(sub: Any) -> None:
    """Add the ``lint`` sub-command."""
    p = sub.add_parser(
        "lint",
        help=HELP,
        description=HELP,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, directories, globs or -")
    p.add_argument(
        "--spec",
        metavar="FILE_OR_URL",
        action="append",
        help="node spec: an /object_info JSON file or a ComfyUI server URL (repeatable; "
        "default: the bundled core spec of today's ComfyUI; core-2025: that of October 2025)",
    )
    p.add_argument(
        "--profile",
        choices=["comfyui", "cmfy"],
        default=None,
        help="comfyui: ComfyUI's rules (default for API prompts); cmfy: cmfy.cloud's "
        "(model URLs; default for request bodies with a webhook_url)",
    )
    p.add_argument(
        "--format",
        choices=["text", "json", "sarif", "comfyui"],
        default="text",
        help="output format (default: text)",
    )
    p.add_argument("--no-warnings", action="store_true", help="text format: show errors only")
    p.add_argument(
        "--only-workflows",
        action="store_true",
        help="skip, silently, files that are not a prompt, request body, UI workflow or PNG "
        "with one (package.json, broken JSON): what the pre-commit hook uses",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Lint the paths; returns 0 (no errors), 1 (errors) or 2 (unreadable input)."""
    import sys
    import warnings

    from ..config import find_config, project_spec
    from ..lint import exit_code, lint_paths, write
    from ..spec import core_spec

    cfg = find_config()
    profile = args.profile or cfg.profile
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = project_spec(args.spec, cfg) or core_spec()
    for w in caught[:5]:
        print(f"cmfy-graph lint: spec warning: {w.message}", file=sys.stderr)
    if len(caught) > 5:
        print(f"cmfy-graph lint: ... and {len(caught) - 5} more spec warnings", file=sys.stderr)
    results = list(lint_paths(args.paths, spec, profile, only_workflows=args.only_workflows))
    write(results, sys.stdout, args.format, warnings=not args.no_warnings)
    sys.stdout.flush()
    return exit_code(results)
