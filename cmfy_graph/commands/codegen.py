"""``cmfy-graph codegen --spec FILE_OR_URL --out DIR``: typed node classes for a node spec."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "generate a package of typed node classes from a node spec"


def register(sub: Any) -> None:
    """Add the ``codegen`` sub-command."""
    p = sub.add_parser("codegen", help=HELP, description=HELP)
    p.add_argument(
        "--spec",
        metavar="FILE_OR_URL",
        action="append",
        required=True,
        help="an /object_info JSON file or a ComfyUI server URL; repeat to merge several",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        required=True,
        help="the package directory (its name is the package's)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate the package; 0 ok, 2 unreadable spec or bad output directory."""
    import sys
    import warnings
    from pathlib import Path

    from ..codegen.generator import generate
    from ..spec import load_spec

    out = Path(args.out)
    name = out.resolve().name
    if not name.isidentifier():
        print(
            f"cmfy-graph codegen: error: {name!r} (the last part of --out) is not a valid Python "
            "package name; use letters, digits and _",
            file=sys.stderr,
        )
        return 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = load_spec(*args.spec)
    for w in spec.warnings:
        print(f"warning: {w}", file=sys.stderr)
    written = generate(spec, out, package=name, source=" + ".join(args.spec))
    if not args.quiet:
        mods = sum(1 for p in written if p.name.startswith("_gen_"))
        print(f"wrote {len(spec)} node classes in {mods} modules to {out} (package {name})")
    return 0
