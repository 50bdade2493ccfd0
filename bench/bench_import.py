"""Import cost of ``cmfy_graph`` plus the core node classes, over the interpreter's own start.

Target (issue 2): at most 80 ms over ``python -c pass``. Each figure is the best of N fresh
interpreters (``-X importtime`` not used: it slows the import itself). Also: a whole
``cmfy-graph lint`` of one UI workflow (a devset file, with the bundled spec), what a user
or an editor hook waits for on every save.
Run: ``python bench/bench_import.py [N]``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASES = {
    "interpreter start (baseline)": "pass",
    "import cmfy_graph": "import cmfy_graph",
    "import cmfy_graph + core node classes": (
        "import cmfy_graph\n"
        "from cmfy_graph.nodes import CheckpointLoaderSimple, CLIPTextEncode, EmptyLatentImage, "
        "KSampler, SaveImage, VAEDecode"
    ),
    "quickstart built and compiled": (
        "import runpy, json; ns = runpy.run_path('examples/quickstart.py'); "
        "json.dumps(ns['wf'].to_body())"
    ),
    "cmfy-graph lint of one UI workflow": (
        "import sys, io, contextlib; from cmfy_graph.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()): rc = main(['lint', sys.argv[1]])\n"
        "assert rc in (0, 1), rc  # a verdict, not a usage error"
    ),
}
LINTED = (
    ROOT.parent
    / "shared"
    / "comfyui"
    / "devset"
    / "ui2api"
    / "image_qwen_image_instantx_controlnet.ui.json"
)


def best(code: str, n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, str(LINTED)], check=True, cwd=ROOT)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    base = None
    for label, code in CASES.items():
        t = best(code, n)
        if base is None:
            base = t
            print(f"{label}: {t * 1e3:.1f} ms")
        else:
            print(
                f"{label}: {t * 1e3:.1f} ms (+{(t - base) * 1e3:.1f} ms over start; "
                f"{t / base:.2f}x the start)"
            )
    heavy = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, cmfy_graph, cmfy_graph.nodes as n; n.KSampler; "
            "print(sorted(m for m in ('networkx', 'httpx', 'jinja2', 'PIL') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"heavy modules imported by that: {heavy.stdout.strip()} (target: [])")


if __name__ == "__main__":
    main()
