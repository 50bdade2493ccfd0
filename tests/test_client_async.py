"""The async twin: AsyncClient against the emulator over real loopback sockets."""

from __future__ import annotations

import asyncio

import pytest
from client_helpers import async_client_for, broken_prompt, fast_policy, quickstart_prompt

from cmfy_graph.client import (
    AuthenticationError,
    FaultRule,
    InvalidWorkflowError,
    JobFailedError,
    PermissionDeniedError,
    RateLimitError,
    SubmitUncertainError,
    WaitTimeout,
)


def run(coro):
    return asyncio.run(coro)


def test_async_submit_wait_download(emulator, tmp_path):
    async def go():
        async with async_client_for(emulator) as client:
            job = await client.submit(quickstart_prompt())
            done = await client.wait(job, timeout=10, poll_interval=0.02)
            paths = await client.download(done, tmp_path)
            return done, paths, client.rate_limits

    done, paths, limits = run(go())
    assert done.completed and len(paths) == 1
    assert paths[0].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert limits.limit == 300
    assert not any(r["authorization"] for r in emulator.cdn_requests)


def test_async_many_in_flight(emulator):
    async def go():
        async with async_client_for(emulator) as client:
            jobs = await asyncio.gather(*(client.submit(quickstart_prompt()) for _ in range(40)))
            return {j.job_id for j in jobs}

    ids = run(go())
    assert len(ids) == 40 and emulator.job_count() == 40


@pytest.mark.parametrize(
    "which, cls, code",
    [
        ("revoked_key", AuthenticationError, "revoked_api_key"),
        ("suspended_key", PermissionDeniedError, "account_suspended"),
        ("restricted_key", PermissionDeniedError, "insufficient_permissions"),
    ],
)
def test_async_auth_errors(emulator, which, cls, code):
    async def go():
        async with async_client_for(emulator, getattr(emulator, which)) as client:
            await client.submit(quickstart_prompt())

    with pytest.raises(cls) as info:
        run(go())
    assert info.value.code == code


def test_async_400_node_errors(emulator):
    async def go():
        async with async_client_for(emulator, validate=False) as client:
            await client.submit(broken_prompt())

    with pytest.raises(InvalidWorkflowError) as info:
        run(go())
    assert "5" in info.value.node_errors and info.value.status == 400


def test_async_rate_limit_retry_after(make_emulator):
    emu = make_emulator(rate_limit=1, rate_window=1.0)

    async def go():
        async with async_client_for(emu) as client:
            await client.submit(quickstart_prompt())
            await client.submit(quickstart_prompt())

    run(go())
    limited = [r for r in emu.requests if r.code == "rate_limit_exceeded"]
    accepted = [r for r in emu.requests if r.status == 202]
    assert limited and len(accepted) == 2
    assert accepted[-1].time - limited[0].time >= 1.0


def test_async_concurrent_limit_gives_up(make_emulator):
    emu = make_emulator(concurrent_limit=1, queue_seconds=0.0, run_seconds=30)

    async def go():
        async with async_client_for(emu, retry_policy=fast_policy(budget=0.3)) as client:
            await client.submit(quickstart_prompt())
            await client.submit(quickstart_prompt())

    with pytest.raises(RateLimitError) as info:
        run(go())
    assert info.value.code == "concurrent_limit_reached"


def test_async_faults(emulator):
    async def go():
        async with async_client_for(emulator, timeout=0.2) as client:
            job = await client.submit(quickstart_prompt())
            emulator.inject(FaultRule("status", status=500, count=1, method="GET"))
            emulator.inject(FaultRule("reset", count=1, method="GET"))
            emulator.inject(FaultRule("slow", delay=0.5, count=1, method="GET"))
            got = await client.get(job)
            emulator.inject(FaultRule("reset_after", count=1, method="POST"))
            with pytest.raises(SubmitUncertainError):
                await client.submit(quickstart_prompt())
            return got

    got = run(go())
    assert got.job_id == emulator.job_ids()[0]
    assert emulator.job_count() == 2
    faults = [r.fault for r in emulator.requests if r.method == "GET"]
    assert faults[:3] == ["status", "reset", "slow"] and faults[-1] is None


def test_async_failed_job_and_wait_timeout(make_emulator):
    emu = make_emulator(failure_rate=1.0, queue_seconds=0.0, run_seconds=0.3)

    async def go():
        async with async_client_for(emu) as client:
            job = await client.submit(quickstart_prompt())
            with pytest.raises(WaitTimeout):
                await client.wait(job, timeout=0.05, poll_interval=0.01)
            with pytest.raises(JobFailedError) as info:
                await client.wait(job, timeout=10, poll_interval=0.02, raise_on_failure=True)
            return info.value

    err = run(go())
    assert err.code == "execution_error" and err.job is not None and err.job.failed


def test_async_webhook_parse(emulator):
    from cmfy_graph.client import SeenJobs, aparse_webhook

    async def go():
        async with async_client_for(emulator) as client:
            job = await client.wait(await client.submit(quickstart_prompt()), 10, 0.02)
            body = {"job_id": job.job_id, "status": "completed"}  # a forged, thin payload
            seen = SeenJobs()
            first = await aparse_webhook(body, client, seen=seen)
            second = await aparse_webhook(body, client, seen=seen)
            return job, first, second

    job, first, second = run(go())
    assert first is not None and first.outputs == job.outputs  # confirmed via GET
    assert second is None
