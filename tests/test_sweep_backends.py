"""Issue 11, sweeps on every backend: a local input uploaded once for a whole sweep, Ctrl-C
cancels the jobs in flight (journaled, resubmitted by the next run), the Comfy API backend
under injected 429/503, and its journaled idempotency key after a crash."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from test_comfyui_live import PHOTO, img2img

from cmfy_graph.client.comfyui import AsyncComfyUIPool
from cmfy_graph.client.fake_comfy_api import FakeComfyApi
from cmfy_graph.client.fake_comfyui import FakeComfyUI
from cmfy_graph.journal import JOURNAL_NAME, Journal, read_journal
from cmfy_graph.runner import ComfyUIBackend, run_sweep
from cmfy_graph.runner.backends import ComfyApiBackend
from cmfy_graph.sweep import sweep

from conftest import ROOT, quickstart_body


def rows(out: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]


def test_a_sweep_uploads_its_local_input_once(tmp_path: Path) -> None:
    base = img2img(PHOTO, steps=2).to_prompt()
    s = sweep(base, {"5.seed": [1, 2, 3, 4, 5, 6]})
    with (
        FakeComfyUI(run_seconds=0.02, validate=False) as a,
        FakeComfyUI(run_seconds=0.02, validate=False) as b,
    ):
        pool = AsyncComfyUIPool([a.url, b.url], 2, validate=False, poll_interval=0.02)
        report = run_sweep(s, tmp_path / "out", ComfyUIBackend(pool), progress=False)
        assert report.completed == 6
        # once per server, whatever the number of variants
        assert len(a.uploads) == 1 and len(b.uploads) == 1
        assert a.inputs[a.uploads[0]] == PHOTO.read_bytes()
        assert len(a.received) + len(b.received) == 6


def test_ctrl_c_cancels_the_jobs_in_flight_and_the_next_run_finishes(tmp_path: Path) -> None:
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps(quickstart_body()))
    out = tmp_path / "out"
    with FakeComfyUI(run_seconds=30, validate=False) as srv:
        argv = [
            sys.executable,
            "-m",
            "cmfy_graph",
            "sweep",
            str(wf),
            "--server",
            srv.url,
            "--set",
            "KSampler.seed=1..4",
            "--out",
            str(out),
            "--per-server",
            "2",
            "--poll-interval",
            "0.02",
            "--no-progress",
            "--no-validate",
        ]
        proc = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            records, _ = read_journal(out / JOURNAL_NAME)
            if sum(1 for r in records if r["ev"] == "accepted") >= 2:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "2 job(s) in flight were cancelled on the server" in err
        records, _ = read_journal(out / JOURNAL_NAME)
        cancelled = [r for r in records if r["ev"] == "cancelled"]
        assert len(cancelled) == 2
        # on the server: each interrupted while running, or deleted from the queue
        jobs = {r["job"] for r in cancelled}
        assert set(srv.interrupted) <= jobs and not srv._pending
        ran = {pid for pid, e in srv.history.items() if e["status"]["status_str"] == "success"}
        assert not (ran & jobs)
        srv.run_seconds = 0.02
        again = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert all(r["status"] == "completed" for r in rows(out)) and len(rows(out)) == 4
        assert len(srv.received) == 6  # 2 cancelled + 4 in the second run


def test_a_comfy_api_sweep_under_429_and_503(tmp_path: Path) -> None:
    s = sweep(quickstart_body(), {"KSampler.seed": list(range(12))})
    faults = ["429", "503", None, "429", None, "503"] * 4
    with FakeComfyApi(run_seconds=0.02, create_faults=faults) as srv:
        backend = ComfyApiBackend.create(srv.url, poll_interval=0.02)
        backend.client.sync.max_backoff = 0.02
        report = run_sweep(s, tmp_path / "out", backend, progress=False)
        assert report.completed == 12 and len(srv.jobs) == 12
        assert {"429", "503"} <= set(srv.faults_served)
        keys = [
            r["key"]
            for r in read_journal(tmp_path / "out" / JOURNAL_NAME)[0]
            if r["ev"] == "submit"
        ]
        assert len(set(keys)) == 12 and set(srv.keys) == set(keys)


def test_a_submission_lost_in_a_crash_is_not_run_twice(tmp_path: Path) -> None:
    """The journal of a process that died with a create in flight (its job was created, its
    answer never arrived): the next run sends the same key, the server refuses to run it again,
    and the variant is reported, not duplicated."""
    s = sweep(quickstart_body(), {"KSampler.seed": [1, 2]})
    out = tmp_path / "out"
    with FakeComfyApi(run_seconds=0.02) as srv:
        v = s[0]
        key = "k-" + v.id
        status, _, _ = srv.create({"workflow": v.prompt}, key)
        assert status == 201
        out.mkdir()
        with Journal.open(out / JOURNAL_NAME) as j:
            j.append_many(
                [
                    {"ev": "run", "t": 1.0, "sweep": s.base_digest, "n": len(s), "mode": s.mode},
                    {"ev": "submit", "v": v.id, "i": v.index, "t": 1.0, "p": v.params, "key": key},
                ]
            )
        backend = ComfyApiBackend.create(srv.url, poll_interval=0.02)
        backend.client.sync.max_backoff = 0.02
        report = run_sweep(s, out, backend, progress=False, max_attempts=2)
        assert len(srv.jobs) == 2  # the lost one and the other variant: nothing twice
        by_id = {r["id"]: r for r in rows(out)}
        assert by_id[s[1].id]["status"] == "completed"
        lost = by_id[v.id]
        assert lost["status"] != "completed" and lost["possibly_duplicated"]
        assert report.completed == 1


def test_a_pool_that_mixes_comfyui_and_the_comfy_api(tmp_path: Path) -> None:
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps(img2img(str(PHOTO), steps=2).to_prompt()))
    out = tmp_path / "out"
    with (
        FakeComfyUI(run_seconds=0.05, validate=False) as comfy,
        FakeComfyApi(run_seconds=0.05) as api,
    ):
        argv = [
            sys.executable,
            "-m",
            "cmfy_graph",
            "sweep",
            str(wf),
            "--set",
            "5.seed=1..10",
            "--backend",
            "comfyui",
            "--backend",
            "comfy-api",
            "--server",
            comfy.url,
            "--api-url",
            api.url,
            "--per-server",
            "2",
            "--out",
            str(out),
            "--poll-interval",
            "0.02",
            "--no-progress",
            "--no-validate",
        ]
        r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        got = rows(out)
        assert len(got) == 10 and all(x["status"] == "completed" and x["files"] for x in got)
        # both backends took work; the photo went to each once (an upload, an asset)
        assert comfy.received and api.jobs and len(comfy.received) + len(api.jobs) == 10
        assert len(comfy.uploads) == 1 and len(api.asset_names) == 1
        # the journal says which backend holds each job
        records, _ = read_journal(out / JOURNAL_NAME)
        servers = {r["server"].split("::")[0] for r in records if r["ev"] == "accepted"}
        assert servers == {"comfyui", "comfy-api"}
        # a rerun resumes: nothing submitted again
        again = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert len(comfy.received) + len(api.jobs) == 10


def test_a_sweep_shows_the_progress_of_each_running_job(tmp_path: Path) -> None:
    import threading

    from cmfy_graph.runner.scheduling import _steps

    base = img2img(PHOTO, steps=20).to_prompt()
    s = sweep(base, {"5.seed": [1, 2]})
    with FakeComfyUI(run_seconds=1.0, validate=False) as srv:
        pool = AsyncComfyUIPool([srv.url], 1, validate=False, poll_interval=0.02)
        backend = ComfyUIBackend(pool, poll_interval=0.02)
        seen: list[dict[str, Any]] = []
        t = threading.Thread(target=lambda: run_sweep(s, tmp_path / "out", backend, progress=False))
        t.start()
        deadline = time.monotonic() + 20
        while t.is_alive() and time.monotonic() < deadline:
            p = backend.progress()
            if p:
                seen.append(p)
            time.sleep(0.01)
        t.join(30)
    assert seen, "no progress was seen while the jobs ran"
    values = {v for p in seen for (v, m) in p.values() if m == 20}
    assert len(values) > 5 and values <= set(range(1, 21))
    assert set().union(*seen) <= set(srv.received)  # keyed by the jobs' ids
    # what the bar shows
    assert _steps(backend) in ("", *(f" steps {v}/20" for v in range(1, 21)))

    class Fake:
        def progress(self) -> dict[str, tuple[int, int]]:
            return {"a": (3, 20), "b": (7, 30)}

    assert _steps(Fake()) == " steps 3/20 7/30"
