"""The sweep runner against an in-process fake backend: concurrency, 429s, uncertain
submissions, resume after an interruption, results files."""

from __future__ import annotations

import asyncio
import csv
import json
import random
from pathlib import Path
from typing import Any

import pytest

from cmfy_graph.journal import JOURNAL_NAME, JournalState
from cmfy_graph.runner import BackendError, JobOutcome, Limits, SweepRunner, run_sweep
from cmfy_graph.sweep import canonical_json, sweep

from conftest import quickstart_body


class FakeBackend:
    """Jobs in memory. Faults are drawn from a seeded RNG:

    - ``p_uncertain_after``: the job is created, then the submission fails as uncertain;
    - ``p_uncertain_before``: the submission fails as uncertain without creating a job;
    - ``p_rate``: 429 rate_limit_exceeded; jobs over ``server_limit`` in flight: 429
      concurrent_limit_reached;
    - ``p_job_fail``: the job ends failed.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        p_uncertain_after: float = 0.0,
        p_uncertain_before: float = 0.0,
        p_rate: float = 0.0,
        p_job_fail: float = 0.0,
        server_limit: int | None = None,
        job_delay: float = 0.001,
        fail_seeds: frozenset[int] = frozenset(),
    ) -> None:
        self.rng = random.Random(seed)
        self.p_uncertain_after = p_uncertain_after
        self.p_uncertain_before = p_uncertain_before
        self.p_rate = p_rate
        self.p_job_fail = p_job_fail
        self.server_limit = server_limit
        self.job_delay = job_delay
        self.fail_seeds = fail_seeds
        self.jobs: dict[str, dict[str, Any]] = {}
        self.created_by_prompt: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.submit_calls = 0
        self.downloads = 0

    async def submit(self, prompt: dict[str, Any]) -> str:
        self.submit_calls += 1
        await asyncio.sleep(0)
        if self.server_limit is not None and self.in_flight >= self.server_limit:
            raise BackendError("busy", code="concurrent_limit_reached", transient=True)
        r = self.rng.random()
        if r < self.p_rate:
            raise BackendError(
                "slow down", code="rate_limit_exceeded", retry_after=0.01, transient=True
            )
        if r < self.p_rate + self.p_uncertain_before:
            raise BackendError("reset", code="uncertain_io", uncertain=True)
        key = canonical_json(prompt)
        job_id = f"job-{len(self.jobs) + 1}"
        seed = prompt["5"]["inputs"]["seed"]
        fail = seed in self.fail_seeds or self.rng.random() < self.p_job_fail
        self.jobs[job_id] = {"key": key, "status": "queued", "fail": fail}
        self.created_by_prompt[key] = self.created_by_prompt.get(key, 0) + 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if self.rng.random() < self.p_uncertain_after:
            raise BackendError("reset after send", code="uncertain_io", uncertain=True)
        return job_id

    async def wait(self, job_id: str) -> JobOutcome:
        job = self.jobs.get(job_id)
        if job is None:
            raise BackendError("no such job", code="not_found")
        if job["status"] not in ("completed", "failed"):
            await asyncio.sleep(self.job_delay)
            job["status"] = "failed" if job["fail"] else "completed"
            self.in_flight -= 1
        if job["status"] == "failed":
            return JobOutcome("failed", error_code="execution_error", error_message="boom")
        return JobOutcome("completed", [f"https://cdn.test/{job_id}/0.png"], execution_ms=5)

    async def download(self, job_id: str, outcome: JobOutcome, dest: Path, stem: str) -> list[Path]:
        self.downloads += 1
        d = dest / stem
        d.mkdir(parents=True, exist_ok=True)
        p = d / "0.png"
        p.write_bytes(job_id.encode())
        return [p]

    def limits(self) -> Limits:
        return Limits(concurrent=self.server_limit)

    async def aclose(self) -> None:
        pass


@pytest.fixture()
def body() -> dict[str, Any]:
    return quickstart_body()


def rows(out: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in (out / "results.jsonl").read_text().splitlines()]


def test_run_all_complete_with_results(tmp_path: Path, body: dict[str, Any]) -> None:
    s = sweep(body, {"KSampler.seed": range(6), "KSampler.cfg": [5.0, 7.0]})
    be = FakeBackend()
    report = run_sweep(s, tmp_path, be, concurrency=3, progress=False)
    assert report.ok and report.completed == 12 and report.submitted == 12
    assert be.max_in_flight <= 3
    rs = rows(tmp_path)
    assert [r["index"] for r in rs] == list(range(12))
    assert all(r["status"] == "completed" and r["job_id"] for r in rs)
    assert all((tmp_path / r["files"][0]).exists() for r in rs)
    assert rs[3]["params"] == {"KSampler.seed": 1, "KSampler.cfg": 7.0}
    with open(tmp_path / "results.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 12
    assert table[3]["KSampler.seed"] == "1" and table[3]["KSampler.cfg"] == "7.0"
    assert table[3]["status"] == "completed" and table[3]["outputs"].startswith("https://")


def test_rerun_submits_nothing(tmp_path: Path, body: dict[str, Any]) -> None:
    s = sweep(body, {"KSampler.seed": range(5)})
    run_sweep(s, tmp_path, FakeBackend(), concurrency=2, progress=False)
    be = FakeBackend()
    report = run_sweep(s, tmp_path, be, concurrency=2, progress=False)
    assert be.submit_calls == 0 and report.skipped == 5 and report.ok


def test_missing_output_refetched_without_resubmit(tmp_path: Path, body: dict[str, Any]) -> None:
    s = sweep(body, {"KSampler.seed": range(3)})
    be = FakeBackend()
    run_sweep(s, tmp_path, be, concurrency=2, progress=False)
    first = rows(tmp_path)[1]
    (tmp_path / first["files"][0]).unlink()
    report = run_sweep(s, tmp_path, be, concurrency=2, progress=False)
    assert report.ok and be.submit_calls == 3 and be.downloads == 4
    assert (tmp_path / rows(tmp_path)[1]["files"][0]).exists()


def test_failed_jobs_reported_then_retried(tmp_path: Path, body: dict[str, Any]) -> None:
    s = sweep(body, {"KSampler.seed": range(4)})
    report = run_sweep(s, tmp_path, FakeBackend(fail_seeds=frozenset({2})), progress=False)
    assert report.completed == 3 and report.failed == 1
    assert report.failures == {"execution_error": 1}
    failed = [r for r in rows(tmp_path) if r["status"] == "failed"]
    assert [r["params"]["KSampler.seed"] for r in failed] == [2]
    assert failed[0]["error_code"] == "execution_error"
    # rerun without retry: reported again, nothing submitted
    be = FakeBackend()
    report = run_sweep(s, tmp_path, be, progress=False)
    assert be.submit_calls == 0 and report.failed == 1
    # with retry_failed: submitted again, now completes
    report = run_sweep(s, tmp_path, be, retry_failed=True, progress=False)
    assert be.submit_calls == 1 and report.ok


def test_capacity_429_shrinks_concurrency(tmp_path: Path, body: dict[str, Any]) -> None:
    s = sweep(body, {"KSampler.seed": range(30)})
    be = FakeBackend(server_limit=3, job_delay=0.002)
    report = SweepRunner(s, tmp_path, be, concurrency=8, progress=False, backoff=0.001)
    rep = asyncio.run(report.run())
    assert rep.ok and be.max_in_flight <= 3
    assert sum(be.created_by_prompt.values()) == 30


def test_limit_learnt_from_backend(tmp_path: Path, body: dict[str, Any]) -> None:
    s = sweep(body, {"KSampler.seed": range(20)})
    be = FakeBackend(server_limit=2)
    rep = run_sweep(s, tmp_path, be, progress=False)
    assert rep.ok and be.max_in_flight <= 2
    assert be.submit_calls == 20  # never refused: the limit came from the backend


def test_faults_every_variant_completes(tmp_path: Path, body: dict[str, Any]) -> None:
    s = sweep(body, {"KSampler.seed": range(40), "KSampler.cfg": [4.0, 6.0]})
    be = FakeBackend(seed=3, p_rate=0.1, p_uncertain_before=0.1, p_uncertain_after=0.1)
    rep = run_sweep(s, tmp_path, be, concurrency=6, progress=False, backoff=0.001, max_attempts=10)
    assert rep.ok, rep.summary()
    # a prompt with more than one job on the server is always reported as possibly duplicated
    dup_keys = {k for k, n in be.created_by_prompt.items() if n > 1}
    by_key = {canonical_json(v.prompt): v.id for v in s}
    assert {by_key[k] for k in dup_keys} <= set(rep.possibly_duplicated)
    assert dup_keys  # the fault rate makes some
    flagged = {r["id"] for r in rows(tmp_path) if r["possibly_duplicated"]}
    assert flagged == set(rep.possibly_duplicated)


def test_interrupted_run_resumes(tmp_path: Path, body: dict[str, Any]) -> None:
    """Cancel the run midway (jobs in flight), then resume: every variant completes once
    more at most per submission that was in flight."""
    s = sweep(body, {"KSampler.seed": range(60)})
    be = FakeBackend(job_delay=0.003)

    async def partial() -> None:
        runner = SweepRunner(s, tmp_path, be, concurrency=8, progress=False)
        task = asyncio.ensure_future(runner.run())
        while len(JournalState.load(tmp_path / JOURNAL_NAME).variants) < 25:
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(partial())
    state = JournalState.load(tmp_path / JOURNAL_NAME)
    done_before = sum(1 for v in state if v.status == "completed")
    assert 0 < done_before < 60
    rep = run_sweep(s, tmp_path, be, concurrency=8, progress=False)
    assert rep.ok
    extra = sum(n - 1 for n in be.created_by_prompt.values())
    assert extra <= 8
    assert len(be.created_by_prompt) == 60


def test_fatal_error_stops_and_writes_results(tmp_path: Path, body: dict[str, Any]) -> None:
    class Refusing(FakeBackend):
        async def submit(self, prompt: dict[str, Any]) -> str:
            raise BackendError("bad key", code="invalid_api_key", fatal=True)

    s = sweep(body, {"KSampler.seed": range(5)})
    with pytest.raises(BackendError) as ei:
        run_sweep(s, tmp_path, Refusing(), concurrency=2, progress=False)
    assert ei.value.code == "invalid_api_key"
    rs = rows(tmp_path)
    assert len(rs) == 5 and {r["status"] for r in rs} <= {"failed", "pending"}


def test_progress_bar_on_stderr(tmp_path: Path, body: dict[str, Any], capsys: Any) -> None:
    s = sweep(body, {"KSampler.seed": range(4)})
    run_sweep(s, tmp_path, FakeBackend(), concurrency=2, progress=True)
    err = capsys.readouterr().err
    assert "4/4" in err and "done=" in err and "failed=0" in err


def test_comfyui_pool_backend(tmp_path: Path, body: dict[str, Any]) -> None:
    """The same runner over two fake ComfyUI servers through the client's pool."""
    from cmfy_graph.client.comfyui import AsyncComfyUIPool
    from cmfy_graph.client.fake_comfyui import FakeComfyUI
    from cmfy_graph.runner import ComfyUIBackend

    with (
        FakeComfyUI(run_seconds=0.01, validate=False) as a,
        FakeComfyUI(run_seconds=0.01, validate=False) as b,
    ):
        pool = AsyncComfyUIPool([a.url, b.url], 1, validate=False, max_threads=8)
        backend = ComfyUIBackend(pool, poll_interval=0.01)
        assert backend.limits().concurrent == 2
        s = sweep(body, {"KSampler.seed": range(6)})
        report = run_sweep(s, tmp_path, backend, progress=False)
        served = len(a.received) + len(b.received)
        assert a.received and b.received  # both servers took jobs
    assert report.ok and served == 6
    for r in rows(tmp_path):
        assert (tmp_path / r["files"][0]).read_bytes().startswith(b"\x89PNG")
