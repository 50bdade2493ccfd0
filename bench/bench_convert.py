"""Convert the whole UI->API devset in one command, end to end, start-up included.

Target (issue 4): under 5 ms per workflow. Runs
``python -m cmfy_graph convert --to api -o TMP <every devset .ui.json>`` as a subprocess (the
best of several runs), checks the outputs against the editor's own ``.api.json`` files, and
prints ms per workflow next to the interpreter's bare start-up (``python -c pass``, the
baseline) measured in the same run. Also prints the in-process conversion time alone.

Run: ``python bench/bench_convert.py [REPEAT]``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UI2API = ROOT.parent / "shared" / "comfyui" / "devset" / "ui2api"


def best(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    files = sorted(UI2API.glob("*.ui.json"))
    if not files:
        sys.exit(f"no devset at {UI2API}")
    n = len(files)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "cmfy_graph", "convert", "--to", "api", "-q", "-o", tmp]
        cmd += [str(f) for f in files]
        t_cmd = best(cmd, repeat)
        same = sum(
            json.loads((Path(tmp) / f.name).read_text(encoding="utf-8"))
            == json.loads(f.with_name(f.name.replace(".ui.json", ".api.json")).read_text("utf-8"))
            for f in files
        )
    t_bare = best([sys.executable, "-c", "pass"], repeat)

    sys.path.insert(0, str(ROOT))
    from cmfy_graph.convert.ui import ui_to_api
    from cmfy_graph.spec import core_spec

    spec = core_spec()
    docs = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        for d in docs:
            ui_to_api(d, spec, warnings=[])
        runs.append(time.perf_counter() - t)
    t_conv = min(runs)

    print(f"workflows: {n} (outputs equal to the editor's: {same}/{n})")
    print(
        f"one command, start-up included: {t_cmd * 1e3:.1f} ms = {t_cmd / n * 1e3:.2f} ms/workflow"
    )
    print(f"bare interpreter start (baseline): {t_bare * 1e3:.1f} ms")
    print(f"ratio command / bare start: {t_cmd / t_bare:.2f}x")
    print(f"in-process ui_to_api only: {t_conv / n * 1e3:.3f} ms/workflow")
    print(f"target: < 5 ms/workflow -> {'met' if t_cmd / n * 1e3 < 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
