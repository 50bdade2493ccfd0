"""Sweep benchmarks: generating variants, submitting them, and a whole sweep end to end.

1. Generating 100,000 variants of the quickstart workflow (prompt and id of each): variants/s
   and peak traced memory (targets: >= 50,000/s, < 100 MB). Baseline, same run: a naive
   generator that deep-copies the base prompt per variant.
2. The runner's submission path against the emulator on loopback (emulator in a child process),
   64 in flight: journal ``submit`` record (fsync, group commit) -> POST -> journal ``accepted``
   record; jobs/s (target >= 500). Baseline, same run: the bare client's POSTs, no journal.
3. A 10,000-variant sweep end to end against the emulator (submit, wait, download, results),
   64 in flight.

    python bench/bench_sweep.py [--variants N] [--submits N] [--sweep N]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import itertools
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

IN_FLIGHT = 64

SERVER = r"""
import sys
from cmfy_graph.client.emulator import Emulator, EmulatorConfig
cfg = EmulatorConfig(rate_limit=10**9, concurrent_limit=10**9, queue_limit=10**9,
                     queue_seconds=0.0, run_seconds=float(sys.argv[1]), validate=sys.argv[2] == "1",
                     max_jobs=200_000)
emu = Emulator(cfg).start()
print(emu.url, emu.test_key, flush=True)
sys.stdin.read()
emu.stop()
"""


def quickstart_body() -> dict[str, Any]:
    text = (ROOT.parent / "shared" / "seeds" / "cmfy_cloud_quickstart.txt").read_text("utf-8")
    start = text.index("-d '") + 4
    body: dict[str, Any] = json.loads(text[start : text.index("}'", start) + 1])
    return body


def base_workflow() -> Any:
    """The quickstart as a Workflow (examples/quickstart.py), else the seed's prompt."""
    try:
        from cmfy_graph.script import load_workflow

        return load_workflow(ROOT / "examples" / "quickstart.py")
    except Exception:  # noqa: BLE001 - the example may not exist in a partial checkout
        return quickstart_body()


PARAMS = {
    "KSampler.seed": range(5000),
    "KSampler.cfg": [4.0, 5.5, 7.0, 8.5, 10.0],
    "KSampler.sampler_name": ["euler", "euler_ancestral", "dpmpp_2m", "dpmpp_sde"],
}  # 100,000 variants


def bench_generate(n: int) -> None:
    from cmfy_graph.sweep import canonical_json, sweep

    wf = base_workflow()
    t0 = time.perf_counter()
    s = sweep(wf, PARAMS)
    build = time.perf_counter() - t0
    assert len(s) >= n
    t0 = time.perf_counter()
    count = 0
    for v in itertools.islice(s, n):
        _ = v.prompt["5"]["inputs"]["seed"], v.id
        count += 1
    dt = time.perf_counter() - t0
    rate = count / dt
    import resource

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    s2 = sweep(wf, PARAMS)  # traced from the start: building the sweep and iterating it
    kept = []
    for v in itertools.islice(s2, n):
        _ = v.prompt, v.id
        if v.index % 1000 == 0:
            kept.append(v.id)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    del kept, s2
    # baseline: deep-copy the base prompt per variant, hash its canonical JSON
    import hashlib

    base = s.base
    labels = [(k.node_id, k.input) for k in s.keys]
    values = [list(PARAMS[k]) for k in PARAMS]
    t0 = time.perf_counter()
    m = min(n, 20_000)
    for combo in itertools.islice(itertools.product(*values), m):
        p = copy.deepcopy(base)
        for (nid, name), val in zip(labels, combo, strict=True):
            p[nid]["inputs"][name] = val
        hashlib.blake2b(canonical_json(p).encode(), digest_size=8).hexdigest()
    naive = m / (time.perf_counter() - t0)
    print(f"generate: sweep of {len(s):,} variants built in {build * 1000:.1f} ms")
    print(
        f"generate: {count:,} variants (prompt + id) in {dt:.2f} s = {rate:,.0f} variants/s "
        f"(target >= 50,000); peak traced memory {peak / 1e6:.3f} MB (target < 100 MB); "
        f"process max RSS {rss / 1024:.0f} MB (grew {max(0, rss - rss0) / 1024:.1f} MB)"
    )
    print(f"generate: baseline deepcopy + hash: {naive:,.0f} variants/s; ratio {rate / naive:.1f}x")


def start_emulator(run_seconds: float, validate: bool) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(run_seconds), "1" if validate else "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    url, key = proc.stdout.readline().split()
    return proc, url, key


def stop_emulator(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(30)


async def submit_path(url: str, key: str, n: int, journal_dir: Path | None) -> float:
    """n submissions, 64 in flight, each journaled before and after like the runner does."""
    from cmfy_graph.journal import AsyncJournal, Journal, now
    from cmfy_graph.runner import CloudBackend
    from cmfy_graph.sweep import sweep

    s = sweep(quickstart_body(), {"KSampler.seed": range(n + 1)})
    backend = CloudBackend.create(key, url, max_connections=IN_FLIGHT)
    journal = AsyncJournal(Journal.open(journal_dir / "journal.jsonl")) if journal_dir else None
    it = iter(s)
    await backend.submit(next(it).prompt)  # warm up

    async def worker() -> None:
        for v in it:
            if journal is not None:
                await journal.write(
                    {"ev": "submit", "v": v.id, "i": v.index, "t": now(), "p": v.params}
                )
            job = await backend.submit(v.prompt)
            if journal is not None:
                await journal.write({"ev": "accepted", "v": v.id, "job": job, "t": now()})

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    dt = time.perf_counter() - t0
    await backend.aclose()
    if journal is not None:
        journal.close()
    return n / dt


def bench_submit(n: int) -> None:
    for validate in (False, True):
        rates = {}
        for journaled_run in (False, True):  # a fresh emulator for each measurement
            proc, url, key = start_emulator(60.0, validate)
            try:
                with tempfile.TemporaryDirectory() as d:
                    rates[journaled_run] = asyncio.run(
                        submit_path(url, key, n, Path(d) if journaled_run else None)
                    )
            finally:
                stop_emulator(proc)
        journaled, bare = rates[True], rates[False]
        label = "emulator validating each prompt" if validate else "emulator without validation"
        print(
            f"submit ({label}): {n:,} jobs, {IN_FLIGHT} in flight: runner path (journal fsync "
            f"before+after) {journaled:,.0f} jobs/s; bare client {bare:,.0f} jobs/s; ratio "
            f"{journaled / bare:.2f} (target >= 500 jobs/s)"
        )


def bench_sweep(n: int) -> None:
    from cmfy_graph.runner import CloudBackend, run_sweep
    from cmfy_graph.sweep import sweep

    proc, url, key = start_emulator(0.05, False)
    try:
        s = sweep(
            quickstart_body(),
            {"KSampler.seed": range(n // 4), "KSampler.cfg": [5.0, 6.0, 7.0, 8.0]},
        )
        with tempfile.TemporaryDirectory() as d:
            backend = CloudBackend.create(
                key, url, poll_interval=0.02, max_connections=2 * IN_FLIGHT
            )
            t0 = time.perf_counter()
            report = run_sweep(s, d, backend, concurrency=IN_FLIGHT, progress=False)
            dt = time.perf_counter() - t0
            files = sum(1 for _ in (Path(d) / "outputs").rglob("*.png"))
            rows = len((Path(d) / "results.jsonl").read_text().splitlines())
            t1 = time.perf_counter()
            backend = CloudBackend.create(key, url, poll_interval=0.02)
            again = run_sweep(s, d, backend, concurrency=IN_FLIGHT, progress=False)
            resume = time.perf_counter() - t1
    finally:
        stop_emulator(proc)
    print(
        f"sweep: {len(s):,} variants end to end ({IN_FLIGHT} in flight, jobs of 50 ms): "
        f"{dt:.1f} s = {len(s) / dt:,.0f} variants/s; {report.completed:,} completed, "
        f"{files:,} images, {rows:,} result rows"
    )
    print(
        f"sweep: rerun of the finished sweep (resume, nothing to submit): {resume:.2f} s, {again.submitted} submitted"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=100_000)
    ap.add_argument("--submits", type=int, default=5_000)
    ap.add_argument("--sweep", type=int, default=10_000)
    args = ap.parse_args()
    bench_generate(args.variants)
    bench_submit(args.submits)
    bench_sweep(args.sweep)


if __name__ == "__main__":
    main()
