"""``cmfy-graph grid DIR --x INPUT [--y INPUT] [-o out.png]``: a sweep's contact sheet."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "draw a contact sheet of a sweep's images, labelled with the parameter values"


def register(sub: Any) -> None:
    """Add the ``grid`` sub-command."""
    p = sub.add_parser("grid", help=HELP, description=HELP)
    p.add_argument("dir", metavar="DIR", help="a sweep's output directory (with results.jsonl)")
    p.add_argument("--x", required=True, metavar="INPUT", help="parameter along the top")
    p.add_argument("--y", metavar="INPUT", help="parameter down the side (default: one row)")
    p.add_argument("-o", "--output", metavar="OUT.png", help="the PNG to write (DIR/grid.png)")
    p.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="INPUT=VALUE",
        help="fix another parameter that varies (repeatable)",
    )
    p.add_argument("--cell", type=int, default=256, help="cell size in pixels (256)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Draw the sheet and print its path."""
    from pathlib import Path

    from ..grid import GridError, contact_sheet

    where: dict[str, str] = {}
    for item in args.where:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise GridError(f"bad --where {item!r}: expected INPUT=VALUE")
        where[name.strip()] = value
    out = Path(args.output) if args.output else Path(args.dir) / "grid.png"
    sheet = contact_sheet(args.dir, args.x, args.y, out=out, where=where, cell=args.cell)
    missing = f", {len(sheet.missing)} without an image" if sheet.missing else ""
    print(
        f"{out}: {len(sheet.columns)} x {max(1, len(sheet.rows))} cells, "
        f"{sheet.size[0]}x{sheet.size[1]} px{missing}"
    )
    return 0
