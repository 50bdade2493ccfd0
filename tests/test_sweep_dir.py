"""Issue 12 item 8: one sweep per output directory (a different one refused unless --force, a
lock against two at once) and Ctrl-C that says what is left on the server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmfy_graph.client.emulator import Emulator, EmulatorConfig
from cmfy_graph.journal import JOURNAL_NAME, read_journal
from cmfy_graph.runner.lock import DirLock
from cmfy_graph.sweep import SweepError

from conftest import ROOT, quickstart_body


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(queue_seconds=0.0, run_seconds=0.05, seed=3)) as e:
        yield e


def _cmd(wf: Path, out: Path, *sets: str, extra: tuple[str, ...] = ()) -> list[str]:
    argv = [sys.executable, "-m", "cmfy_graph", "sweep", str(wf), "--out", str(out)]
    for s in sets:
        argv += ["--set", s]
    return [*argv, "--poll-interval", "0.02", "--no-progress", *extra]


def _env(emu: Emulator) -> dict[str, str]:
    return {**os.environ, "CMFY_API_URL": emu.url, "CMFY_API_KEY": emu.test_key}


def _run(argv: list[str], emu: Emulator) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=ROOT, env=_env(emu), capture_output=True, text=True, timeout=120
    )


@pytest.fixture()
def wf(tmp_path: Path) -> Path:
    f = tmp_path / "wf.json"
    f.write_text(json.dumps(quickstart_body()))
    return f


def test_a_different_sweep_into_the_same_out_is_refused_unless_forced(
    tmp_path: Path, wf: Path, emu: Emulator
) -> None:
    out = tmp_path / "out"
    first = _run(_cmd(wf, out, "KSampler.seed=1..3"), emu)
    assert first.returncode == 0, first.stderr
    rows_before = (out / "results.jsonl").read_text()
    # the same command again: a resume, nothing submitted
    again = _run(_cmd(wf, out, "KSampler.seed=1..3"), emu)
    assert again.returncode == 0 and len(emu.jobs()) == 3
    # other values: refused, the results untouched, nothing submitted
    other = _run(_cmd(wf, out, "KSampler.seed=1..4"), emu)
    assert other.returncode == 2
    assert "holds the results of a different sweep" in other.stderr and "--force" in other.stderr
    assert "Traceback" not in other.stderr
    assert (out / "results.jsonl").read_text() == rows_before and len(emu.jobs()) == 3
    # --force: runs, and the three variants both share are not run again
    forced = _run(_cmd(wf, out, "KSampler.seed=1..4", extra=("--force",)), emu)
    assert forced.returncode == 0, forced.stderr
    assert len(emu.jobs()) == 4
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["params"]["KSampler.seed"] for r in rows) == [1, 2, 3, 4]


def test_two_sweeps_cannot_share_a_directory(tmp_path: Path, wf: Path, emu: Emulator) -> None:
    out = tmp_path / "out"
    with DirLock(out):
        r = _run(_cmd(wf, out, "KSampler.seed=1..2"), emu)
        assert r.returncode == 2
        assert f"is in use by another sweep (process {os.getpid()} on " in r.stderr
        assert "another --out" in r.stderr and not emu.jobs()
        with pytest.raises(SweepError, match=f"process {os.getpid()}"):
            with DirLock(out):
                pass
    # released with its holder: the sweep runs now
    r = _run(_cmd(wf, out, "KSampler.seed=1..2"), emu)
    assert r.returncode == 0, r.stderr


def test_a_lock_dies_with_its_process(tmp_path: Path) -> None:
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from cmfy_graph.runner.lock import DirLock\n"
            f"with DirLock({str(out)!r}):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(SweepError, match=f"process {holder.pid} on "):
            with DirLock(out):
                pass
    finally:
        holder.kill()
        holder.wait(10)
    with DirLock(out):  # no stale lock after a kill -9
        pass


def test_ctrl_c_reports_the_jobs_left_on_the_server_and_how_to_resume(
    tmp_path: Path, wf: Path
) -> None:
    with Emulator(EmulatorConfig(queue_seconds=0.0, run_seconds=3.0, seed=5)) as emu:
        out = tmp_path / "out"
        argv = _cmd(wf, out, "KSampler.seed=1..6", extra=("--concurrency", "3"))
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=_env(emu), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                records, _ = read_journal(out / JOURNAL_NAME)
                if sum(1 for r in records if r["ev"] == "accepted") >= 3:
                    break
                time.sleep(0.02)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 130, err
        assert "Traceback" not in err
        assert "3 job(s) are still queued or running on the server" in err
        records, _ = read_journal(out / JOURNAL_NAME)
        for job in (r["job"] for r in records if r["ev"] == "accepted"):
            assert job in err or " ..." in err
        assert "resume with: cmfy-graph sweep " in err and "KSampler.seed=1..6" in err
        # the resume adopts those three jobs: six jobs in all, none duplicated
        again = subprocess.run(argv, cwd=ROOT, env=_env(emu), capture_output=True, text=True)
        assert again.returncode == 0, again.stderr
        assert len(emu.jobs()) == 6
