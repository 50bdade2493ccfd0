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
from pathlib import Path
from typing import Any

from .errors import CmfyGraphError
from .graph import Workflow

__all__ = ["ScriptError", "load_workflow", "load_workflow_script"]


class ScriptError(CmfyGraphError):
    """A workflow script failed to run or defines no workflow."""

    exit_code = 2


def _where(exc: BaseException, path: Path) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    target = str(path.resolve())
    for fr in reversed(frames):
        try:
            if str(Path(fr.filename).resolve()) == target:
                return f"{path}:{fr.lineno}"
        except OSError:  # pragma: no cover
            continue
    return str(path)


def load_workflow(path: str | os.PathLike[str], var: str | None = None) -> Workflow:
    """Run the script at ``path`` and return the workflow it builds."""
    p = Path(path)
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
        with contextlib.redirect_stdout(sys.stderr):
            ns: dict[str, Any] = runpy.run_path(str(p), run_name="__cmfy_graph__")
    except SystemExit as exc:
        raise ScriptError(f"{p}: the script called exit({exc.code!r})") from None
    except SyntaxError as exc:
        where = f"{p}:{exc.lineno}" if exc.lineno else str(p)
        raise ScriptError(f"{where}: not a Python script: {exc.msg}") from None
    except Exception as exc:  # noqa: BLE001 - a user's script: report, never a traceback
        raise ScriptError(f"{_where(exc, p)}: {type(exc).__name__}: {exc}") from None
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


def load_workflow_script(path: str | os.PathLike[str], var: str | None = None) -> dict[str, Any]:
    """Run a workflow script and return its compiled API prompt."""
    return load_workflow(path, var).to_prompt()
