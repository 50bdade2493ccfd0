"""Import cost of ``cmfy_graph`` plus the core node classes, over the interpreter's own start.

Target (issue 2): at most 80 ms over ``python -c pass``. Each figure is the best of N fresh
interpreters (``-X importtime`` not used: it slows the import itself).
Run: ``python bench/bench_import.py [N]``.
"""

from __future__ import annotations

import subprocess
import sys
import time

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
}


def best(code: str, n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
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
