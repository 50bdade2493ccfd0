"""The self-hosted ComfyUI client and pool, against the fake ComfyUI server on loopback."""

from __future__ import annotations

import functools
import logging
import time

import httpx
import pytest
from client_helpers import local_prompt

from cmfy_graph.client import (
    ComfyUIClient,
    ComfyUIPool,
    ConfigurationError,
    InvalidWorkflowError,
    JobFailedError,
    NotFoundError,
    ServerError,
    WaitTimeout,
)
from cmfy_graph.client.fake_comfyui import FakeComfyUI as _FakeComfyUI
from cmfy_graph.spec import core_spec

# a ComfyUI server of October 2025, as the devset's prompts were made for
FakeComfyUI = functools.partial(_FakeComfyUI, spec=core_spec("core-2025"))


@pytest.fixture(scope="module")
def ckpt(core):
    return core["CheckpointLoaderSimple"].inputs["ckpt_name"].choices[0]


@pytest.fixture
def fake():
    with FakeComfyUI(run_seconds=0.05) as srv:
        yield srv


def two_outputs_one_bad(ckpt):
    """A second SaveImage without its filename_prefix: ComfyUI queues the prompt (200) and drops
    that output, reporting it in node_errors."""
    p = local_prompt(ckpt)
    p["8"] = {"class_type": "SaveImage", "inputs": {"images": ["6", 0]}}
    return p


def test_submit_wait_download(fake, ckpt, core, tmp_path):
    from PIL import Image

    with ComfyUIClient(fake.url, spec=core) as client:
        job = client.submit(local_prompt(ckpt))
        assert job.status == "queued" and job.server == fake.url
        done = client.wait(job, timeout=10, poll_interval=0.02)
        assert done.completed and len(done.outputs) == 1
        assert "/view?filename=output_" in done.outputs[0]
        assert done.execution_time_ms is not None
        paths = client.download(done, tmp_path)
    with Image.open(paths[0]) as im:
        assert im.format == "PNG" and "PLACEHOLDER" in im.info["Comment"]
    assert paths[0].name.startswith("output_")
    assert client.client_id in fake.client_ids


def test_spec_fetched_from_object_info(fake, ckpt):
    with ComfyUIClient(fake.url) as client:
        assert client.wait(client.submit(local_prompt(ckpt)), 10, 0.02).completed
        assert "KSampler" in client.spec


def test_200_with_node_errors(fake, ckpt, core, caplog):
    caplog.set_level(logging.WARNING)
    with ComfyUIClient(fake.url, spec=core) as client:
        job = client.submit(two_outputs_one_bad(ckpt))
        ne = job.raw["node_errors"]
        assert set(ne) == {"8"} and ne["8"]["errors"][0]["type"] == "required_input_missing"
        done = client.wait(job, 10, 0.02)
    assert done.completed and len(done.outputs) == 1  # only the good output ran
    assert any("dropped outputs" in r.getMessage() for r in caplog.records)


def test_400_with_node_errors(fake, ckpt, core):
    bad = local_prompt(ckpt)
    bad["5"]["inputs"]["steps"] = 0
    with ComfyUIClient(fake.url, spec=core, validate=False) as client:
        with pytest.raises(InvalidWorkflowError) as info:
            client.submit(bad)
    err = info.value
    assert err.status == 400 and err.code == "prompt_outputs_failed_validation"
    assert err.node_errors["5"]["errors"][0]["type"] == "value_smaller_than_min"
    with ComfyUIClient(fake.url, spec=core) as client:
        with pytest.raises(InvalidWorkflowError):
            client.submit(bad)  # refused locally: nothing sent
    assert len(fake.received) == 0


def test_comfyui_profile_refuses_model_urls(fake, core, ckpt):
    p = local_prompt(ckpt)
    p["1"]["inputs"]["ckpt_name"] = "https://huggingface.co/a/b/resolve/main/c.safetensors"
    with ComfyUIClient(fake.url, spec=core) as client, pytest.raises(InvalidWorkflowError):
        client.submit(p)


def test_ui_workflow_posted_as_prompt_gives_500(fake):
    r = httpx.post(fake.url + "/prompt", json={"prompt": {"last_node_id": 5, "nodes": []}})
    assert r.status_code == 500 and not r.headers["content-type"].startswith("application/json")
    err = __import__("cmfy_graph.client._base", fromlist=["x"]).error_from_response(
        r.status_code, dict(r.headers), r.content
    )
    assert isinstance(err, ServerError) and "HTTP 500" in err.message


def test_history_empty_while_queued_or_running(ckpt, core):
    with FakeComfyUI(hold=True) as fake, ComfyUIClient(fake.url, spec=core) as client:
        jobs = [client.submit(local_prompt(ckpt)) for _ in range(3)]
        deadline = time.monotonic() + 10
        while client.get(jobs[0]).status != "running" and time.monotonic() < deadline:
            time.sleep(0.01)
        for job in jobs:
            assert httpx.get(f"{fake.url}/history/{job.job_id}").json() == {}
        states = [client.get(j) for j in jobs]
        assert [s.status for s in states] == ["running", "queued", "queued"]
        assert [s.queue_position for s in states[1:]] == [1, 2]
        fake.release()
        assert client.wait(jobs[2], 10, 0.02).completed


def test_failed_prompt(core, ckpt, tmp_path):
    with (
        FakeComfyUI(fail_classes={"KSampler"}) as fake,
        ComfyUIClient(fake.url, spec=core) as client,
    ):
        job = client.wait(client.submit(local_prompt(ckpt)), 10, 0.02)
        assert job.failed and job.error is not None
        assert job.error.code == "execution_error" and "node 5 (KSampler)" in job.error.message
        with pytest.raises(JobFailedError):
            client.download(job, tmp_path)


def test_cancel_interrupt_and_wait_timeout(core, ckpt):
    with FakeComfyUI(run_seconds=5) as fake, ComfyUIClient(fake.url, spec=core) as client:
        running = client.submit(local_prompt(ckpt))
        pending = client.submit(local_prompt(ckpt))
        deadline = time.monotonic() + 5
        while client.get(running).status != "running" and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(WaitTimeout):
            client.wait(pending, timeout=0.05, poll_interval=0.01)
        client.cancel(pending)
        with pytest.raises(NotFoundError):
            client.get(pending)
        client.interrupt(running)
        job = client.wait(running, 10, 0.02)
    assert job.failed and job.error is not None and job.error.code == "execution_interrupted"


def test_pool_round_robin_with_per_server_limit(core, ckpt):
    with FakeComfyUI(run_seconds=0.05) as a, FakeComfyUI(run_seconds=0.05) as b:
        with ComfyUIPool([a.url, b.url], per_server_limit=2, spec=core, poll_interval=0.02) as pool:
            jobs = pool.map([local_prompt(ckpt) for _ in range(8)], timeout=30)
            assert pool.in_flight() == {a.url: 0, b.url: 0}
    assert all(j.completed for j in jobs)
    assert [j.server for j in jobs[:4]] == [a.url, b.url, a.url, b.url]
    assert len(a.received) == 4 and len(b.received) == 4
    assert a.max_depth <= 2 and b.max_depth <= 2


def test_pool_skips_a_dead_server(core, ckpt):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with FakeComfyUI() as live:
        with ComfyUIPool([dead, live.url], spec=core, max_attempts=1) as pool:
            job = pool.submit(local_prompt(ckpt))
            assert job.server == live.url
            assert pool.wait(job, 10, poll_interval=0.02).completed


def test_async_pool(core, ckpt, tmp_path):
    import asyncio

    from cmfy_graph.client import AsyncComfyUIPool

    async def go(a, b):
        async with AsyncComfyUIPool(
            [a.url, b.url], per_server_limit=1, spec=core, poll_interval=0.02
        ) as pool:
            jobs = await asyncio.gather(*(pool.submit(local_prompt(ckpt)) for _ in range(4)))
            done = await asyncio.gather(
                *(pool.wait(j.job_id, 10, poll_interval=0.02) for j in jobs)
            )
            paths = await pool.download(done[0], tmp_path)
            return done, paths

    with FakeComfyUI() as a, FakeComfyUI() as b:
        done, paths = asyncio.run(go(a, b))
    assert all(j.completed for j in done) and len(paths) == 1
    assert len(a.received) == 2 and len(b.received) == 2
    assert a.max_depth == 1 and b.max_depth == 1


def test_pool_adopts_a_job_queued_by_another_process(core, ckpt, tmp_path):
    with FakeComfyUI(run_seconds=0.05) as a, FakeComfyUI(run_seconds=0.05) as b:
        with ComfyUIClient(b.url, spec=core) as other:
            job = other.submit(local_prompt(ckpt))
        with ComfyUIPool([a.url, b.url], spec=core, poll_interval=0.02) as pool:
            with pytest.raises(NotFoundError):
                pool.get(job.job_id)  # a prompt id alone does not say which server has it
            # the server's URL as written elsewhere: scheme case, trailing slash
            adopted = pool.adopt(job.job_id, b.url.replace("http://", "HTTP://") + "/")
            assert adopted.server == b.url and adopted.job_id == job.job_id
            assert pool.server_url(b.url + "/") == b.url and pool.server_url("http://x:1") is None
            assert pool.in_flight() == {a.url: 0, b.url: 1}
            pool.adopt(job.job_id, b.url)  # again: nothing changes
            assert pool.in_flight() == {a.url: 0, b.url: 1}
            done = pool.wait(job.job_id, 10, poll_interval=0.02)
            assert done.completed and done.server == b.url
            assert pool.in_flight() == {a.url: 0, b.url: 0}
            paths = pool.download(job.job_id, tmp_path)
            assert len(paths) == 1 and paths[0].read_bytes().startswith(b"\x89PNG")
            with pytest.raises(NotFoundError) as info:
                pool.adopt(job.job_id, "http://127.0.0.1:1")
            assert "not in this pool" in info.value.message
            # a job its server does not know (e.g. restarted since): the slot is freed
            lost = "00000000-0000-4000-8000-000000000000"
            pool.adopt(lost, a.url)
            assert pool.in_flight()[a.url] == 1
            with pytest.raises(NotFoundError):
                pool.wait(lost, 10, poll_interval=0.02)
            assert pool.in_flight()[a.url] == 0
    assert b.received == [job.job_id] and a.received == []


def test_pool_counts_an_adopted_job_against_its_server_limit(core, ckpt):
    with FakeComfyUI(hold=True) as a, FakeComfyUI(run_seconds=0.02) as b:
        with ComfyUIClient(a.url, spec=core) as other:
            held = other.submit(local_prompt(ckpt))
        with ComfyUIPool([a.url, b.url], 1, spec=core, poll_interval=0.02) as pool:
            pool.adopt(held.job_id, a.url)
            jobs = [pool.submit(local_prompt(ckpt)) for _ in range(2)]
            assert [j.server for j in jobs] == [b.url, b.url]  # A's one slot stays taken
            a.release()
            assert all(pool.wait(j, 10, poll_interval=0.02).completed for j in jobs)
            assert pool.wait(held.job_id, 10, poll_interval=0.02).completed
    assert a.received[0] == held.job_id


def test_credentials_in_the_url_become_a_header_for_that_server_only(tmp_path):
    import base64

    seen = []

    def handler(request):
        seen.append((str(request.url), request.headers.get("authorization")))
        if request.url.path == "/prompt":
            return httpx.Response(200, json={"prompt_id": "p1", "number": 1, "node_errors": {}})
        if request.url.path == "/history/p1":
            outputs = {"9": {"images": [{"filename": "a.png", "subfolder": "", "type": "output"}]}}
            return httpx.Response(200, json={"p1": {"outputs": outputs, "status": {}}})
        return httpx.Response(200, content=b"\x89PNG\r\n\x1a\n")

    url = "http://alice:p%40ss@gpu1.test:8188/"
    transport = httpx.MockTransport(handler)
    with ComfyUIClient(url, transport=transport, validate=False) as client:
        job = client.submit({"1": {"class_type": "SaveImage", "inputs": {}}})
        done = client.get(job)
        client.download(done, tmp_path)
        shown = repr(client) + client.base_url + str(job.server) + " ".join(done.outputs)
    assert client.base_url == "http://gpu1.test:8188" and "p%40ss" not in shown
    expected = "Basic " + base64.b64encode(b"alice:p@ss").decode()
    assert seen and all(auth == expected for _, auth in seen)
    assert all(u.startswith("http://gpu1.test:8188/") for u, _ in seen)
    with pytest.raises(ConfigurationError) as info:
        ComfyUIClient("ftp://bob:hunter2@gpu1.test/")
    assert "hunter2" not in str(info.value) and "ftp://gpu1.test/" in str(info.value)
