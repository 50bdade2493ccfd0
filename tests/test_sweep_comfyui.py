"""Resuming a sweep on self-hosted ComfyUI servers (fake servers over loopback): a job that was
in flight when the sweep died is waited for on the server the journal names, never queued again;
a job on a server the new run does not use is queued again and flagged."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from cmfy_graph.client.comfyui import AsyncComfyUIPool, ComfyUIClient
from cmfy_graph.client.fake_comfyui import FakeComfyUI
from cmfy_graph.journal import JOURNAL_NAME, Journal, JournalState, read_journal
from cmfy_graph.runner import ComfyUIBackend, SweepReport, run_sweep
from cmfy_graph.sweep import Sweep, sweep

from conftest import quickstart_body

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def rows(out: Path) -> dict[str, dict[str, Any]]:
    lines = (out / "results.jsonl").read_text().splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


def crashed_journal(out: Path, s: Sweep, accepted: dict[int, tuple[str, str | None]]) -> None:
    """The journal a sweep leaves when it dies with these variants' jobs accepted and not
    ended: variant index -> (job id, server URL or None as older versions wrote)."""
    recs: list[dict[str, Any]] = [
        {"ev": "run", "t": 1.0, "sweep": s.base_digest, "n": len(s), "mode": s.mode}
    ]
    for index, (job_id, server) in accepted.items():
        v = s[index]
        recs.append({"ev": "submit", "v": v.id, "i": v.index, "t": 1.0, "p": v.params})
        rec: dict[str, Any] = {"ev": "accepted", "v": v.id, "job": job_id, "t": 1.1}
        if server is not None:
            rec["server"] = server
        recs.append(rec)
    with Journal.open(out / JOURNAL_NAME) as journal:
        journal.append_many(recs)


def backend_for(*urls: str) -> ComfyUIBackend:
    pool = AsyncComfyUIPool(list(urls), 1, validate=False, max_threads=8, poll_interval=0.02)
    return ComfyUIBackend(pool, poll_interval=0.01)


def test_submissions_journal_their_server(tmp_path: Path) -> None:
    with (
        FakeComfyUI(run_seconds=0.01, validate=False) as a,
        FakeComfyUI(run_seconds=0.01, validate=False) as b,
    ):
        s = sweep(quickstart_body(), {"KSampler.seed": range(4)})
        secret_a = a.url.replace("http://", "http://user:s3cret@")  # a proxy's credentials
        report = run_sweep(s, tmp_path, backend_for(secret_a, b.url + "/"), progress=False)
        on_a, on_b = set(a.received), set(b.received)
    assert report.ok
    records, _ = read_journal(tmp_path / JOURNAL_NAME)
    accepted = [r for r in records if r["ev"] == "accepted"]
    assert len(accepted) == 4
    for rec in accepted:
        assert rec["job"] in (on_a if rec["server"] == a.url else on_b)
    assert {r["server"] for r in rows(tmp_path).values()} == {a.url, b.url}
    for name in (JOURNAL_NAME, "results.jsonl", "results.csv"):
        assert "s3cret" not in (tmp_path / name).read_text()


def test_resume_waits_for_the_job_in_flight_on_its_server(tmp_path: Path) -> None:
    s = sweep(quickstart_body(), {"KSampler.seed": range(4)})
    first = s[0]
    with (
        FakeComfyUI(run_seconds=0.01, validate=False) as a,
        FakeComfyUI(run_seconds=0.01, validate=False, hold=True) as b,
    ):
        # the crashed run had queued variant 0 on server B; B is still running it
        with ComfyUIClient(b.url, validate=False) as client:
            old = client.submit(first.prompt)
            deadline = time.monotonic() + 10
            while client.get(old).status != "running":
                assert time.monotonic() < deadline
                time.sleep(0.01)
        crashed_journal(tmp_path, s, {0: (old.job_id, b.url + "/")})

        backend = backend_for(a.url, b.url)
        out: dict[str, SweepReport] = {}
        runner = threading.Thread(
            target=lambda: out.setdefault("r", run_sweep(s, tmp_path, backend, progress=False))
        )
        runner.start()
        try:
            # B's one slot is the adopted job's, so the three other variants run on A; once
            # they are done, the resumed run is waiting for variant 0 and has not queued it
            deadline = time.monotonic() + 20
            while (
                sum(v.status == "completed" for v in JournalState.load(tmp_path / JOURNAL_NAME)) < 3
            ):
                assert time.monotonic() < deadline and runner.is_alive()
                time.sleep(0.02)
            assert backend.client.in_flight() == {a.url: 0, b.url: 1}
            assert b.received == [old.job_id]
        finally:
            b.release()
            runner.join(30)
        assert not runner.is_alive()
        assert b.received == [old.job_id] and len(a.received) == 3
    report = out["r"]
    assert report.ok and report.resumed == 1 and report.submitted == 3
    assert report.possibly_duplicated == []
    row = rows(tmp_path)[first.id]
    assert row["status"] == "completed" and row["jobs"] == [old.job_id]
    assert row["job_id"] == old.job_id and row["server"] == b.url + "/"
    assert row["attempts"] == 1 and not row["possibly_duplicated"]
    assert (tmp_path / row["files"][0]).read_bytes().startswith(PNG_MAGIC)


def test_job_on_a_server_not_in_the_pool_is_submitted_again_and_flagged(tmp_path: Path) -> None:
    s = sweep(quickstart_body(), {"KSampler.seed": range(3)})
    with (
        FakeComfyUI(run_seconds=0.01, validate=False) as a,
        FakeComfyUI(run_seconds=0.01, validate=False) as gone,
    ):
        with ComfyUIClient(gone.url, validate=False) as client:
            old = client.submit(s[0].prompt)
        # variant 0: on a server this run does not use; variant 1: a journal of an older
        # version, without the server
        unknown = "00000000-0000-4000-8000-000000000001"
        crashed_journal(tmp_path, s, {0: (old.job_id, gone.url), 1: (unknown, None)})
        report = run_sweep(s, tmp_path, backend_for(a.url), progress=False)
        assert len(a.received) == 3 and gone.received == [old.job_id]
    assert report.ok and report.resumed == 0 and report.submitted == 3
    assert sorted(report.possibly_duplicated) == sorted([s[0].id, s[1].id])
    table = rows(tmp_path)
    assert table[s[0].id]["jobs"][0] == old.job_id and len(table[s[0].id]["jobs"]) == 2
    assert table[s[1].id]["jobs"][0] == unknown
    assert table[s[0].id]["server"] == a.url and table[s[0].id]["possibly_duplicated"]
    assert not table[s[2].id]["possibly_duplicated"]
    records, _ = read_journal(tmp_path / JOURNAL_NAME)
    codes = {r["v"]: r["code"] for r in records if r["ev"] == "rejected"}
    assert codes == {s[0].id: "server_not_in_pool", s[1].id: "server_unknown"}
    assert all(r.get("dup") is True for r in records if r["ev"] == "rejected")


def test_replay_keeps_the_server_of_the_current_job() -> None:
    recs: list[dict[str, Any]] = [
        {"ev": "submit", "v": "x", "i": 0, "t": 1.0},
        {"ev": "accepted", "v": "x", "job": "j1", "server": "http://gpu1:8188", "t": 1.1},
        {"ev": "done", "v": "x", "job": "j1", "status": "completed", "t": 2.0},
        {"ev": "submit", "v": "y", "i": 1, "t": 1.0},
        {"ev": "accepted", "v": "y", "job": "j2", "server": "http://gpu2:8188", "t": 1.1},
        {"ev": "rejected", "v": "y", "code": "server_not_in_pool", "dup": True, "t": 3.0},
        {"ev": "submit", "v": "y", "i": 1, "t": 3.1},
        {"ev": "accepted", "v": "y", "job": "j3", "t": 3.2},
        {"ev": "submit", "v": "z", "i": 2, "t": 1.0},
        {"ev": "rejected", "v": "z", "code": "invalid_workflow", "t": 1.1},
    ]
    state = JournalState.replay(recs)
    x, y, z = state.get("x"), state.get("y"), state.get("z")
    assert x is not None and y is not None and z is not None
    assert (x.status, x.job_id, x.server) == ("completed", "j1", "http://gpu1:8188")
    assert (y.status, y.job_id, y.server, y.jobs) == ("accepted", "j3", None, ["j2", "j3"])
    assert y.possibly_duplicated and not x.possibly_duplicated
    assert z.status == "rejected" and not z.possibly_duplicated
