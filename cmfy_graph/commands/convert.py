"""``cmfy-graph convert --to api|python|ui FILE...``: convert between ComfyUI's formats.

Each input's format is recognised by content: an editor-saved UI workflow, an API prompt (or a
request body ``{"prompt": ...}``), a PNG carrying ComfyUI metadata, or a ``.py`` workflow
script. With ``-o OUT_DIR`` each result is written to ``OUT_DIR/<input file name>`` (for
``--to python`` the last suffix becomes ``.py``; a ``.py`` or ``.png`` input converted to JSON
gets ``.json``); without it the single result goes to stdout.

Exit codes: 0 converted; 1 with ``--strict`` when a conversion reported a warning (something
the JSON cannot say exactly); 2 usage error or an input that cannot be read or converted (the
other inputs are still converted).
"""

from __future__ import annotations

import argparse
from typing import Any

HELP = "convert workflows between the UI, API and Python formats"


def register(sub: Any) -> None:
    """Add the ``convert`` sub-command."""
    p = sub.add_parser(
        "convert",
        help=HELP,
        description=HELP + ". Input formats are recognised by content.",
        epilog="exit codes: 0 ok, 1 warnings with --strict, 2 usage or unreadable input",
    )
    p.add_argument(
        "--to", required=True, choices=["api", "python", "ui"], help="the format to write"
    )
    p.add_argument(
        "--spec",
        metavar="FILE_OR_URL",
        action="append",
        help="node spec (/object_info JSON file or server URL); repeatable; default: core "
        "(today's ComfyUI); core-2025: ComfyUI of October 2025",
    )
    p.add_argument(
        "-o",
        "--out-dir",
        metavar="OUT_DIR",
        help="write each result to OUT_DIR/<input file name> (required for several files)",
    )
    p.add_argument(
        "--dynamic-prompts",
        metavar="SEED",
        type=int,
        default=None,
        help="UI->API: resolve {a|b} choices and strip comments in dynamic-prompt text "
        "widgets, as the editor does, with this random seed (default: off)",
    )
    p.add_argument(
        "--all-values",
        action="store_true",
        help="--to python: write every value, also those equal to the class's default, "
        "and the node packs of _meta (the script builds exactly the prompt)",
    )
    p.add_argument("--indent", type=int, default=2, help="JSON indent (default 2; -1: compact)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a warning was reported")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print warnings")
    p.add_argument("files", nargs="+", metavar="FILE", help="UI/API JSON, PNG or .py files")
    p.set_defaults(func=run)


def _out_name(src: str, kind: str, to: str) -> str:
    from pathlib import Path

    name = Path(src).name
    if to == "python":
        return str(Path(name).with_suffix(".py")) if Path(name).suffix else name + ".py"
    if kind == "python" or not name.lower().endswith(".json"):
        return str(Path(name).with_suffix(".json")) if Path(name).suffix else name + ".json"
    return name


def run(args: argparse.Namespace) -> int:
    """Convert every file; see the module docstring for exit codes."""
    import os
    import sys

    from ..convert import load_any
    from ..errors import CmfyGraphError

    if len(args.files) > 1 and not args.out_dir:
        print(
            "cmfy-graph convert: error: several files need -o OUT_DIR (stdout takes one result)",
            file=sys.stderr,
        )
        return 2
    from ..config import project_spec

    spec = project_spec(args.spec)
    if args.out_dir:
        try:
            os.makedirs(args.out_dir, exist_ok=True)
        except OSError as exc:
            print(
                f"cmfy-graph convert: error: {args.out_dir}: cannot create: {exc.strerror}",
                file=sys.stderr,
            )
            return 2
    indent = None if args.indent < 0 else args.indent
    status = 0
    warned = False
    for path in args.files:
        warnings: list[str] = []
        try:
            loaded = load_any(path)
            text = _convert(
                loaded, args.to, spec, args.dynamic_prompts, warnings, indent, args.all_values
            )
        except CmfyGraphError as exc:
            msg = str(exc)
            if not msg.startswith((str(path), "<stdin>")):
                msg = f"{path}: {msg}"
            print(f"cmfy-graph convert: error: {msg}", file=sys.stderr)
            status = 2
            continue
        if warnings:
            warned = True
            if not args.quiet:
                for w in warnings:
                    print(f"{path}: warning: {w}", file=sys.stderr)
        if args.out_dir:
            dest = os.path.join(args.out_dir, _out_name(path, loaded.kind, args.to))
            try:
                with open(dest, "w", encoding="utf-8") as fh:
                    fh.write(text)
            except OSError as exc:
                print(
                    f"cmfy-graph convert: error: {dest}: cannot write: {exc.strerror}",
                    file=sys.stderr,
                )
                status = 2
        else:
            sys.stdout.write(text)
    if status == 0 and warned and args.strict:
        return 1
    return status


def _convert(
    loaded: Any,
    to: str,
    spec: Any,
    seed: int | None,
    warnings: list[str],
    indent: int | None,
    all_values: bool = False,
) -> str:
    import json
    from pathlib import Path

    prompt: Any
    if loaded.kind == "ui" and to == "ui":
        return json.dumps(loaded.data, indent=indent, ensure_ascii=False) + "\n"
    if loaded.kind == "ui":
        from ..convert.ui import ui_to_api

        prompt = ui_to_api(loaded.data, spec, dynamic_prompts_seed=seed, warnings=warnings)
    elif loaded.kind == "python":
        from ..script import load_workflow

        prompt = load_workflow(loaded.data).to_prompt()
    else:
        prompt = loaded.data
    if to == "api":
        return json.dumps(prompt, indent=indent, ensure_ascii=False) + "\n"
    if to == "python":
        from ..convert.python import prompt_to_python

        return prompt_to_python(prompt, spec, name=Path(loaded.path).name, all_values=all_values)
    from ..convert.layout import to_ui

    return (
        json.dumps(to_ui(prompt, spec, warnings=warnings), indent=indent, ensure_ascii=False) + "\n"
    )
