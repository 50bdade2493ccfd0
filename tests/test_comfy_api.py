"""Issue 11, the Comfy API v2 backend, over real loopback sockets against the project's fake
of that API: idempotent creates under 429/503, the uncertain case, events (SSE and polling),
cancel, expiring output URLs, assets for local files, the error envelope, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from cmfy_graph.client import AsyncComfyApiClient, ComfyApiClient
from cmfy_graph.client.comfy_api import parse_v2_job
from cmfy_graph.client.errors import AuthenticationError, SubmitUncertainError
from cmfy_graph.client.fake_comfy_api import FakeComfyApi

from conftest import ROOT, quickstart_body

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def prompt(steps: int = 4, seed: int = 1) -> dict[str, Any]:
    p = json.loads(json.dumps(quickstart_body()["prompt"]))
    p["5"]["inputs"]["steps"] = steps
    p["5"]["inputs"]["seed"] = seed
    return p


def client(srv: FakeComfyApi, **kw: Any) -> ComfyApiClient:
    return ComfyApiClient(srv.url, validate=False, max_backoff=0.02, **kw)


def test_fifty_submissions_under_429_and_503_make_exactly_fifty_jobs() -> None:
    """Done when: against a v2 server injecting 429/503 on creates, 50 submissions make
    exactly 50 jobs."""
    with FakeComfyApi(run_seconds=0.01, fault_rate=0.0) as srv:
        srv._rng.seed(7)
        faults = [srv._rng.choice(["429", "503", None, None]) for _ in range(120)]
        srv.create_faults = faults
        with client(srv, max_attempts=60) as c, ThreadPoolExecutor(8) as pool:
            jobs = list(pool.map(lambda i: c.submit(prompt(seed=i)), range(50)))
        assert len(srv.jobs) == 50 and len({j.job_id for j in jobs}) == 50
        assert set(srv.jobs) == {j.job_id for j in jobs}
        served = Counter(srv.faults_served)
        assert served["429"] > 0 and served["503"] > 0
        assert srv.create_requests == 50 + served["429"] + served["503"]
        # one key per submission, the same on its retries
        assert len(srv.keys) == 50
        seeds = Counter(j["workflow"]["5"]["inputs"]["seed"] for j in srv.jobs.values())
        assert seeds == Counter(range(50))


def test_a_lost_answer_is_never_resubmitted() -> None:
    """A 500 after the job was created: the retry with the same key is refused
    ``idempotency_key_reuse``, so the job exists once; the client says it cannot know its id."""
    with FakeComfyApi(create_faults=["500-after"]) as srv, client(srv) as c:
        with pytest.raises(SubmitUncertainError) as exc:
            c.submit(prompt())
        assert len(srv.jobs) == 1 and srv.create_requests == 2
        assert exc.value.code == "uncertain_key_reuse" and "Idempotency-Key" in str(exc.value)


def test_events_progress_and_the_stream_falling_back_to_polling() -> None:
    for sse in (True, False):
        with FakeComfyApi(run_seconds=0.3, sse=sse) as srv, client(srv) as c:
            events: list[Any] = []
            job = c.wait(c.submit(prompt(steps=6)), on_event=events.append)
            assert job.completed and events[-1].event == "completed"
            if sse:
                steps = sorted({e.value for e in events if e.event == "progress"})
                assert steps[-1] == 6 and len(steps) >= 3
                assert all(e.max == 6 and e.node == "5" for e in events if e.event == "progress")
            else:
                assert "progress" not in {e.event for e in events}  # polling sees states only


def test_cancel_a_running_job_from_python_and_the_cli() -> None:
    with FakeComfyApi(run_seconds=20) as srv, client(srv) as c:
        job = c.submit(prompt(steps=100))
        deadline = time.monotonic() + 5
        while c.get(job).status != "running" and time.monotonic() < deadline:
            time.sleep(0.02)
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "cmfy_graph",
                "cancel",
                job.job_id,
                "--backend",
                "comfy-api",
                "--api-url",
                srv.url,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        final = c.wait(job, timeout=10)
        assert final.failed and final.error is not None and final.error.code == "canceled"
        assert srv.jobs[job.job_id]["status"] == "canceled"


def test_expired_output_urls_are_refreshed(tmp_path: Path) -> None:
    with FakeComfyApi(run_seconds=0.02, url_ttl=0.2) as srv, client(srv) as c:
        job = c.wait(c.submit(prompt()))
        time.sleep(0.4)  # the URLs in `job` have expired
        paths = c.download(job, tmp_path)
        assert len(paths) == 1 and paths[0].read_bytes().startswith(PNG_MAGIC)
        assert len(c.images(c.get(job))) == 1


def test_a_local_file_becomes_an_asset(tmp_path: Path) -> None:
    photo = ROOT / "examples" / "photo.png"
    with FakeComfyApi(run_seconds=0.01) as srv, client(srv) as c:
        from test_comfyui_live import img2img

        from cmfy_graph.graph import Workflow

        wf: Workflow = img2img(photo)
        job = c.submit(wf)
        c.submit(wf)
        sent = srv.jobs[job.job_id]["workflow"]["2"]["inputs"]["image"]
        assert sent["__type"] == "core/ASSET" and sent["info"]["id"] in srv.assets
        assert srv.assets[sent["info"]["id"]] == photo.read_bytes()
        assert len(srv.asset_names) == 1  # one upload for two jobs


def test_errors_come_from_the_envelope_and_never_show_the_key() -> None:
    with FakeComfyApi(api_key="right-key") as srv:
        with ComfyApiClient(srv.url, api_key="wrong-key-123456", validate=False) as c:
            with pytest.raises(AuthenticationError) as exc:
                c.submit(prompt())
            assert exc.value.code == "unauthorized" and "wrong-key" not in str(exc.value)
            assert "wrong-key" not in repr(c)
        with ComfyApiClient(srv.url, api_key="right-key", validate=False) as c:
            assert c.submit(prompt()).status == "queued"


def test_statuses_map_onto_jobs() -> None:
    base = {"id": "j", "outputs": [], "error": None}
    assert parse_v2_job({**base, "status": "succeeded"}).completed
    assert parse_v2_job({**base, "status": "canceling"}).status == "running"
    for st in ("canceled", "expired"):
        j = parse_v2_job({**base, "status": st})
        assert j.failed and j.error is not None and j.error.code == st


def test_submit_cli_with_events(tmp_path: Path) -> None:
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps(prompt(steps=3)))
    with FakeComfyApi(run_seconds=0.2, create_faults=["429"]) as srv:
        env = {**os.environ, "COMFY_BASE_URL": srv.url}
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "cmfy_graph",
                "submit",
                str(wf),
                "--backend",
                "comfy-api",
                "--events",
                "--no-validate",
                "--download",
                str(tmp_path / "out"),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            env=env,
        )
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert lines[-2]["event"] == "completed" and lines[-1]["status"] == "succeeded"
    assert any(e["event"] == "progress" for e in lines[:-1])
    assert len(list((tmp_path / "out").iterdir())) == 1


def test_async_client() -> None:
    import asyncio

    async def main(url: str) -> str:
        async with AsyncComfyApiClient(url, validate=False) as c:
            job = await c.submit(prompt())
            kinds = [ev.event async for ev in c.events(job)]
            assert kinds[-1] == "completed"
            return (await c.get(job)).status

    with FakeComfyApi(run_seconds=0.1) as srv:
        assert asyncio.run(main(srv.url)) == "completed"


def test_a_server_that_is_down_is_a_connection_error_not_an_uncertain_job() -> None:
    import socket

    from cmfy_graph.client.errors import ApiConnectionError

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    t = time.monotonic()
    with ComfyApiClient(url, validate=False) as c:
        with pytest.raises(ApiConnectionError) as exc:
            c.submit(prompt())
    assert not isinstance(exc.value, SubmitUncertainError)
    assert time.monotonic() - t < 10  # given up on soon
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "cmfy_graph",
            "submit",
            str(ROOT / "examples" / "quickstart.json"),
            "--server",
            url,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode == 3 and "Connection refused" in r.stderr and "Traceback" not in r.stderr
