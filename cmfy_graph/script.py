"""Running a workflow script (a ``.py`` file that builds a :class:`~cmfy_graph.graph.Workflow`).

The script is run with :func:`runpy.run_path` under the name ``"__cmfy_graph__"`` (so an
``if __name__ == "__main__":`` block does not run), its standard output sent to stderr; the workflow is the one ``Workflow`` in its
globals, or the one named ``wf`` / ``workflow``, or the one ``--var`` names. An exception in the
script becomes a :class:`ScriptError` that names the script's file and line, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import runpy
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import graph
from .errors import CmfyGraphError
from .graph import Workflow

__all__ = ["ScriptError", "load_workflow", "load_workflow_lines", "load_workflow_script"]


class ScriptError(CmfyGraphError):
    """A workflow script failed to run or defines no workflow; ``line`` is the line of the
    script where it failed, when known."""

    exit_code = 2

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def _line(exc: BaseException, path: Path) -> int | None:
    frames = traceback.extract_tb(exc.__traceback__)
    target = str(path.resolve())
    for fr in reversed(frames):
        try:
            if str(Path(fr.filename).resolve()) == target:
                return fr.lineno
        except OSError:  # pragma: no cover
            continue
    return None


def load_workflow(path: str | os.PathLike[str], var: str | None = None) -> Workflow:
    """Run the script at ``path`` and return the workflow it builds."""
    return _load(Path(path), var, None)


def load_workflow_lines(
    path: str | os.PathLike[str], var: str | None = None
) -> tuple[Workflow, dict[str, int]]:
    """Like :func:`load_workflow`, and also the line of the script that created each node
    (node id -> line; a node made by a helper module gets the line of the script that called
    into it)."""
    lines: dict[int, int] = {}
    wf = _load(Path(path), var, lines)
    return wf, {nid: lines[id(n)] for nid, n in wf.nodes.items() if id(n) in lines}


def _load(p: Path, var: str | None, lines: dict[int, int] | None) -> Workflow:
    if not p.is_file():
        raise ScriptError(f"{p}: no such file")
    if b"\0" in p.read_bytes():
        raise ScriptError(f"{p}: not a Python script (binary data)")
    script_dir = str(p.resolve().parent)
    added = script_dir not in sys.path
    if added:
        sys.path.insert(0, script_dir)
    try:
        # what the script prints goes to stderr: stdout carries the command's own output
        # (``cmfy-graph compile wf.py | curl -d @- ...``)
        with contextlib.redirect_stdout(sys.stderr), _recording(str(p), lines):
            ns: dict[str, Any] = runpy.run_path(str(p), run_name="__cmfy_graph__")
    except SystemExit as exc:
        raise ScriptError(f"{p}: the script called exit({exc.code!r})") from None
    except SyntaxError as exc:
        where = f"{p}:{exc.lineno}" if exc.lineno else str(p)
        raise ScriptError(f"{where}: not a Python script: {exc.msg}", exc.lineno) from None
    except Exception as exc:  # noqa: BLE001 - a user's script: report, never a traceback
        line = _line(exc, p)
        where = f"{p}:{line}" if line else str(p)
        raise ScriptError(f"{where}: {type(exc).__name__}: {exc}", line) from None
    finally:
        if added:
            try:
                sys.path.remove(script_dir)
            except ValueError:  # pragma: no cover
                pass
    if var is not None:
        wf = ns.get(var)
        if not isinstance(wf, Workflow):
            raise ScriptError(f"{p}: {var!r} is not a Workflow defined by the script")
        return wf
    found = {k: v for k, v in ns.items() if isinstance(v, Workflow) and not k.startswith("_")}
    if len(found) == 1:
        return next(iter(found.values()))
    for name in ("wf", "workflow"):
        if isinstance(found.get(name), Workflow):
            return found[name]
    if not found:
        raise ScriptError(
            f"{p}: the script defines no Workflow; build one with `with Workflow() as wf:`"
        )
    raise ScriptError(
        f"{p}: the script defines {len(found)} workflows ({', '.join(sorted(found))}); "
        "choose one with --var NAME"
    )


@contextlib.contextmanager
def _recording(filename: str, lines: dict[int, int] | None) -> Iterator[None]:
    if lines is None:
        yield
        return
    keep: list[Any] = []  # the nodes, so that their ids stay unique while recording

    def record(n: Any) -> None:
        f = sys._getframe(1)
        while f is not None and f.f_code.co_filename != filename:
            f = f.f_back  # type: ignore[assignment]
        if f is not None:
            keep.append(n)
            lines[id(n)] = f.f_lineno

    old = graph._on_register
    graph._on_register = record
    try:
        yield
    finally:
        graph._on_register = old


def load_workflow_script(path: str | os.PathLike[str], var: str | None = None) -> dict[str, Any]:
    """Run a workflow script and return its compiled API prompt."""
    return load_workflow(path, var).to_prompt()
