"""``cmfy-graph compile FILE.py``: run a workflow script and print the request body."""

from __future__ import annotations

import argparse
from typing import Any

HELP = 'run a workflow script and print the request body {"prompt": {...}}'


def register(sub: Any) -> None:
    """Add the ``compile`` sub-command."""
    p = sub.add_parser("compile", help=HELP, description=HELP)
    p.add_argument("file", metavar="FILE.py", help="a Python script that builds a Workflow")
    p.add_argument("--var", help="the variable holding the workflow, when the script has several")
    p.add_argument("-o", "--output", metavar="OUT", help="write the JSON here instead of stdout")
    p.add_argument("--prompt-only", action="store_true", help="print the bare prompt, no body")
    p.add_argument("--indent", type=int, default=2, help="JSON indent (default 2; -1: compact)")
    p.add_argument(
        "--check",
        choices=["none", "comfyui", "cmfy"],
        default="none",
        help="also lint the prompt with this profile (errors: exit 1)",
    )
    p.add_argument("--spec", metavar="FILE_OR_URL", help="node spec for --check")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compile the script; 0 ok, 1 lint errors (with --check), 2 bad script."""
    import json
    import sys

    from ..script import load_workflow, load_workflow_lines

    lines: dict[str, int] = {}
    if args.check != "none":
        wf, lines = load_workflow_lines(args.file, args.var)
    else:
        wf = load_workflow(args.file, args.var)
    data = wf.to_prompt() if args.prompt_only else wf.to_body()
    indent = None if args.indent < 0 else args.indent
    text = json.dumps(data, indent=indent, ensure_ascii=False) + "\n"
    status = 0
    if args.check != "none":
        from ..config import project_spec
        from ..lint import text_line
        from ..validate import validate_prompt

        spec = project_spec(args.spec)
        report = validate_prompt(wf.to_prompt(), spec, profile=args.check)
        for f in report.findings:
            line = lines.get(f.node_id, 1) if f.node_id is not None else 1
            print(text_line(f, args.file, line, 1), file=sys.stderr)
        status = 0 if report.valid else 1
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return status
