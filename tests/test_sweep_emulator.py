"""Sweeps against the cmfy.cloud emulator over real loopback sockets: injected faults, a
SIGKILL of the sweep process midway and a rerun, and a many-variant sweep."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cmfy_graph.client.emulator import Emulator, EmulatorConfig, FaultRule
from cmfy_graph.journal import JOURNAL_NAME, read_journal
from cmfy_graph.runner import CloudBackend, run_sweep
from cmfy_graph.sweep import sweep

from conftest import ROOT, quickstart_body

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def seeds_of_jobs(emu: Emulator) -> Counter[int]:
    """How many jobs the emulator created per KSampler seed (each variant has its own seed)."""
    return Counter(int(job.prompt["5"]["inputs"]["seed"]) for job in emu.jobs())


def read_rows(out: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in (out / "results.jsonl").read_text().splitlines()]


@pytest.fixture()
def faulty_emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(
        plan="enterprise",
        queue_seconds=0.0,
        run_seconds=0.15,
        concurrent_limit=3,  # below the sweep's --concurrency: concurrent_limit_reached bursts
        rate_limit=40,
        rate_window=1.0,  # rate_limit_exceeded bursts with Retry-After
        seed=11,
        faults=[
            FaultRule("status", status=503, rate=0.05),  # 5xx (GET retried, POST uncertain)
            FaultRule("reset", rate=0.05),  # connection resets
            FaultRule("status", status=502, rate=0.1, path="/outputs/"),  # CDN errors
            FaultRule("reset", rate=0.05, path="/outputs/"),
        ],
    )
    with Emulator(config) as emu:
        yield emu


def sweep_cmd(wf: Path, out: Path, n: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "cmfy_graph",
        "sweep",
        str(wf),
        "--set",
        f"KSampler.seed=1..{n}",
        "--out",
        str(out),
        "--concurrency",
        "4",
        "--poll-interval",
        "0.02",
        "--max-attempts",
        "20",
        "--no-progress",
    ]


def test_sigkill_midway_then_resume(tmp_path: Path, faulty_emulator: Emulator) -> None:
    emu = faulty_emulator
    n = 36
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps(quickstart_body()))
    out = tmp_path / "out"
    env = {**os.environ, "CMFY_API_URL": emu.url, "CMFY_API_KEY": emu.test_key}
    proc = subprocess.Popen(
        sweep_cmd(wf, out, n),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        done = 0
        while time.monotonic() < deadline and proc.poll() is None:
            records, _ = read_journal(out / JOURNAL_NAME)
            done = sum(1 for r in records if r["ev"] == "done")
            if done >= 8:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    records, _ = read_journal(out / JOURNAL_NAME)
    finished_before = {r["v"] for r in records if r["ev"] == "done"}
    assert 8 <= len(finished_before) < n
    submitted_before = Counter(r["v"] for r in records if r["ev"] == "submit")

    rerun = subprocess.run(
        sweep_cmd(wf, out, n), cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    assert f"{n}/{n} completed" in rerun.stdout.decode()

    rows = read_rows(out)
    assert len(rows) == n and all(r["status"] == "completed" for r in rows)
    for r in rows:
        assert r["job_id"] and r["outputs"] and r["files"]
        assert (out / r["files"][0]).read_bytes().startswith(PNG_MAGIC)
    assert sorted(r["params"]["KSampler.seed"] for r in rows) == list(range(1, n + 1))
    # completed variants of the first run were not submitted again
    records, _ = read_journal(out / JOURNAL_NAME)
    submitted_after = Counter(r["v"] for r in records if r["ev"] == "submit")
    for vid in finished_before:
        assert submitted_after[vid] == submitted_before[vid]
    # no variant lost; duplicates only from submissions in flight at the kill, and flagged
    jobs = seeds_of_jobs(emu)
    assert set(jobs) == set(range(1, n + 1))
    duplicates = sum(c - 1 for c in jobs.values())
    assert duplicates <= 4
    flagged = {r["params"]["KSampler.seed"] for r in rows if r["possibly_duplicated"]}
    assert {seed for seed, c in jobs.items() if c > 1} <= flagged
    # the injected faults happened
    codes = Counter(rec.code for rec in list(emu.requests))
    assert codes["concurrent_limit_reached"] > 0 and codes["rate_limit_exceeded"] > 0
    assert sum(1 for rec in list(emu.requests) if rec.fault == "reset") > 0


def test_reset_after_creating_job_is_flagged(tmp_path: Path) -> None:
    """A POST that created its job and then lost the connection: the variant is submitted
    again and reported as possibly duplicated."""
    config = EmulatorConfig(
        plan="enterprise",
        queue_seconds=0.0,
        run_seconds=0.02,
        faults=[FaultRule("reset_after", method="POST", count=2)],
    )
    with Emulator(config) as emu:
        s = sweep(quickstart_body(), {"KSampler.seed": range(1, 9)})
        backend = CloudBackend.create(emu.test_key, emu.url, poll_interval=0.01)
        report = run_sweep(s, tmp_path, backend, concurrency=2, progress=False, backoff=0.01)
        jobs = seeds_of_jobs(emu)
    assert report.ok
    dup_seeds = {seed for seed, c in jobs.items() if c > 1}
    assert len(dup_seeds) == 2
    flagged = {
        r["params"]["KSampler.seed"] for r in read_rows(tmp_path) if r["possibly_duplicated"]
    }
    assert flagged == dup_seeds
    assert len(report.possibly_duplicated) == 2


def test_many_variants_with_progress(tmp_path: Path, capsys: Any) -> None:
    config = EmulatorConfig(
        plan="enterprise",
        queue_seconds=0.0,
        run_seconds=0.02,
        rate_limit=10**6,
        concurrent_limit=64,
        queue_limit=10**4,
    )
    n = 300
    with Emulator(config) as emu:
        s = sweep(
            quickstart_body(), {"KSampler.seed": range(n // 3), "KSampler.cfg": [5.0, 6.0, 7.0]}
        )
        backend = CloudBackend.create(emu.test_key, emu.url, poll_interval=0.01)
        report = run_sweep(s, tmp_path, backend, progress=True)
        created = emu.job_count()
    assert report.ok and report.completed == n and created == n
    err = capsys.readouterr().err
    assert f"{n}/{n}" in err and "running=" in err and "queued=" in err and "failed=0" in err
    rows = read_rows(tmp_path)
    assert len(rows) == n and all(r["status"] == "completed" for r in rows)
    assert len((tmp_path / "results.csv").read_text().splitlines()) == n + 1
    assert len(list((tmp_path / "outputs").iterdir())) == n
