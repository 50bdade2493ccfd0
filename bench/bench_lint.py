"""Benchmark: ``cmfy-graph lint --format comfyui DIR`` over the whole lint devset.

Writes every prompt of ``../shared/comfyui/devset/lint_cases.jsonl`` into a temporary
directory as a file, then times the command end to end (interpreter start-up, imports, spec
load, reading, validating and printing), best of a few runs. Prints ms per prompt and the
ratio to ComfyUI's own ``validate_prompt`` (about 1.9 ms per prompt on this corpus, measured
by the issue's author on a machine like this one; ComfyUI is not installed here, so that
baseline cannot be re-measured in the same run) and to the 0.5 ms target. Also times the
library call alone (``validate_prompt`` per prompt, spec already loaded).

Run: ``python bench/bench_lint.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEVSET = ROOT.parent / "shared" / "comfyui" / "devset" / "lint_cases.jsonl"
COMFYUI_MS = 1.9
TARGET_MS = 0.5


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    cases = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines() if line]
    n = len(cases)
    with tempfile.TemporaryDirectory() as tmp:
        for c in cases:
            Path(tmp, f"{c['case']}.json").write_text(json.dumps(c["prompt"]), encoding="utf-8")
        # the devset's prompts were judged by ComfyUI of October 2025: lint with that spec
        cmd = [sys.executable, "-m", "cmfy_graph", "lint", "--spec", "core-2025"]
        cmd += ["--format", "comfyui", tmp]
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        best = float("inf")
        best_cpu = float("inf")
        lines = 0
        for _ in range(max(1, args.runs)):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            dt = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            best = min(best, dt)
            best_cpu = min(best_cpu, cpu)
            lines = proc.stdout.count("\n")
            if proc.returncode not in (0, 1):
                print(proc.stderr, file=sys.stderr)
                return 1
        t_start = float("inf")
        for _ in range(max(1, args.runs)):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            t_start = min(t_start, time.perf_counter() - t0)

    sys.path.insert(0, str(ROOT))
    from cmfy_graph.spec import core_spec
    from cmfy_graph.validate import validate_prompt

    spec = core_spec("core-2025")
    prompts = [c["prompt"] for c in cases]
    t0 = time.perf_counter()
    for p in prompts:
        validate_prompt(json.loads(json.dumps(p)), spec)
    lib = time.perf_counter() - t0

    ms = best * 1000 / n
    print(f"prompts: {n} (output lines: {lines})")
    print(f"end to end, best of {args.runs}: {best * 1000:.0f} ms total, {ms:.3f} ms/prompt")
    print(f"  CPU time of the command (user+sys), best: {best_cpu * 1000 / n:.3f} ms/prompt")
    print(f"  of which a bare 'python -c pass' start-up: {t_start * 1000:.0f} ms")
    print(f"  ratio to ComfyUI's validate_prompt ({COMFYUI_MS} ms/prompt): {ms / COMFYUI_MS:.2f}x")
    print(f"  target {TARGET_MS} ms/prompt: {'met' if ms < TARGET_MS else 'NOT met'}")
    print(f"library validate_prompt alone: {lib * 1000 / n:.3f} ms/prompt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
