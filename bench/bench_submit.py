"""Submissions per second to the cmfy.cloud emulator on loopback, 64 in flight (AsyncClient).

Runs the emulator in a child process (so client and server do not share one interpreter lock),
submits the quickstart prompt N times with 64 concurrent submissions and prints the rate; then
the same with the emulator in a thread of this process (as the pytest fixture runs it). The
target the sweep benchmark depends on is 500 submissions/s. Baseline, measured in the same run:
the same POSTs sent with one bare httpx.AsyncClient of 64 connections (no validation, no retry
logic); AsyncClient spreads its connections over small pools, as httpcore's pool slows down
with many connections.

    python bench/bench_submit.py [N] [--no-validate]
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

IN_FLIGHT = 64
TARGET = 500.0

SERVER = r"""
import sys, time
from cmfy_graph.client.emulator import Emulator, EmulatorConfig
cfg = EmulatorConfig(rate_limit=10**9, concurrent_limit=10**9, queue_limit=10**9,
                     queue_seconds=0.05, run_seconds=0.1)
emu = Emulator(cfg).start()
print(emu.url, flush=True)
sys.stdin.read()
emu.stop()
"""


def quickstart_body() -> dict:
    text = (ROOT.parent / "shared" / "seeds" / "cmfy_cloud_quickstart.txt").read_text("utf-8")
    start = text.index("-d '") + 4
    return json.loads(text[start : text.index("}'", start) + 1])


async def run_client(url: str, key: str, n: int, validate: bool) -> float:
    from cmfy_graph.client import AsyncClient

    body = quickstart_body()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    async with AsyncClient(key, url, validate=validate, max_connections=IN_FLIGHT) as client:
        await client.submit(body)  # warm up: spec, linter, connection

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                await client.submit(body)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        return n / (time.perf_counter() - t0)


async def run_bare(url: str, key: str, n: int) -> float:
    import httpx

    content = json.dumps(quickstart_body()).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(limits=limits) as http:
        await http.post(url + "/v1/jobs", content=content, headers=headers)
        remaining = [n]

        async def worker() -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                r = await http.post(url + "/v1/jobs", content=content, headers=headers)
                assert r.status_code == 202, r.text

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        return n / (time.perf_counter() - t0)


def run_in_process(n: int, validate: bool) -> float:
    """The emulator in a thread of this process (as the test fixture runs it)."""
    from cmfy_graph.client.emulator import TEST_KEY, Emulator, EmulatorConfig

    cfg = EmulatorConfig(
        rate_limit=10**9,
        concurrent_limit=10**9,
        queue_limit=10**9,
        queue_seconds=0.05,
        run_seconds=0.1,
    )
    with Emulator(cfg) as emu:
        return asyncio.run(run_client(emu.url, TEST_KEY, n, validate))


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 3000
    validate = "--no-validate" not in sys.argv
    from cmfy_graph.client.emulator import TEST_KEY

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        bare = asyncio.run(run_bare(url, TEST_KEY, n))
        ours = asyncio.run(run_client(url, TEST_KEY, n, validate))
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(30)
    inproc = run_in_process(n, validate)
    print(
        f"submissions: {n}, in flight: {IN_FLIGHT}, client validation: {'on' if validate else 'off'}"
    )
    print(f"AsyncClient.submit -> emulator (child process): {ours:8.0f} submissions/s")
    print(f"AsyncClient.submit -> emulator (same process):  {inproc:8.0f} submissions/s")
    print(f"baseline: one httpx.AsyncClient, bare POSTs:    {bare:8.0f} submissions/s")
    print(f"ratio AsyncClient / baseline: {ours / bare:.2f}")
    worst = min(ours, inproc)
    print(f"target {TARGET:.0f}/s: " + ("PASS" if worst >= TARGET else "BELOW TARGET"))


if __name__ == "__main__":
    main()
