"""The ``cmfy-graph`` command line.

Each sub-command lives in its own module under :mod:`cmfy_graph.commands` with two functions:
``register(subparsers)`` adds its parser (and imports nothing heavy), and the handler it sets as
``func`` returns the exit code. This module only parses arguments and maps errors to exit codes.

Exit codes (every command):

- 0: success (no errors found; job accepted or completed);
- 1: the check found errors, or the job failed;
- 2: usage error, unreadable or invalid input;
- 3: API or network error;
- 130: interrupted (Ctrl-C).

An unexpected error (a bug) is reported in one line with exit code 2; set
``CMFY_GRAPH_DEBUG=1`` to see its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from . import __version__
from .errors import CmfyGraphError

__all__ = ["main", "console_main", "build_parser", "COMMANDS"]

#: sub-command name -> module under cmfy_graph.commands
COMMANDS: dict[str, str] = {
    "compile": "compile",
    "codegen": "codegen",
    "lint": "lint",
    "convert": "convert",
    "submit": "submit",
    "status": "submit",
    "cancel": "submit",
    "emulator": "emulator",
    "sweep": "sweep",
    "grid": "grid",
}

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_API = 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = _Parser(
        prog="cmfy-graph",
        description="ComfyUI workflows as code: compile, lint, convert, submit and sweep.",
        epilog="exit codes: 0 ok, 1 errors found or job failed, 2 usage or bad input, "
        "3 API or network error",
    )
    parser.add_argument("--version", action="version", version=f"cmfy-graph {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    seen: set[str] = set()
    for mod_name in COMMANDS.values():
        if mod_name in seen:
            continue
        seen.add(mod_name)
        try:
            mod = importlib.import_module(f"cmfy_graph.commands.{mod_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"cmfy_graph.commands.{mod_name}":
                continue  # command not built yet
            raise
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (also used as the console entry point)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("cmfy-graph: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except CmfyGraphError as exc:
        print(f"cmfy-graph {args.command}: error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", EXIT_USAGE)
    except Exception as exc:  # a bug: still one line, never a traceback (unless asked for)
        if os.environ.get("CMFY_GRAPH_DEBUG"):
            raise
        print(
            f"cmfy-graph {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(please report it; CMFY_GRAPH_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_USAGE


def console_main() -> int:
    """The ``cmfy-graph`` program (and ``python -m cmfy_graph``): :func:`main` in a process
    of its own, whose cyclic garbage collector runs less often. What a command holds (JSON
    documents, prompts, findings) is freed by reference counting; the collector's frequent
    passes over a growing heap cost a lint of many files about a sixth of its time.
    Library callers of :func:`main` keep their process's settings."""
    import gc

    gc.set_threshold(50_000, 20, 20)
    return main()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(console_main())
