"""The sync cmfy.cloud client against the emulator, over real loopback sockets."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from client_helpers import broken_prompt, client_for, fast_policy, quickstart_prompt

from cmfy_graph.client import (
    ApiConnectionError,
    AuthenticationError,
    Client,
    FaultRule,
    InvalidWorkflowError,
    JobFailedError,
    JobNotReadyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SubmitUncertainError,
    WaitTimeout,
)
from cmfy_graph.client.emulator import Emulator, EmulatorConfig

from conftest import DEVSET, ROOT, quickstart_body


def _records(emu, method=None, status=None):
    return [
        r
        for r in list(emu.requests)
        if (method is None or r.method == method) and (status is None or r.status == status)
    ]


def test_submit_wait_download(emulator, tmp_path):
    from PIL import Image

    with client_for(emulator) as client:
        job = client.submit(quickstart_body())
        assert job.status == "queued" and job.queue_position == 1
        assert job.estimated_wait_seconds is not None
        done = client.wait(job, timeout=10, poll_interval=0.02)
        assert done.status == "completed" and done.completed
        assert done.created_at and done.started_at and done.completed_at
        assert done.execution_time_ms == 50
        assert len(done.outputs) == 1 and done.outputs[0].startswith(emulator.cdn_url)
        paths = client.download(done, tmp_path / "out")
        limits = client.rate_limits
    assert [p.name for p in paths] == ["image_0.png"]
    with Image.open(paths[0]) as im:
        im.load()
        assert im.format == "PNG"
        assert "PLACEHOLDER" in im.info["Comment"]
        assert json.loads(im.info["prompt"]) == quickstart_body()["prompt"]
    # the CDN is another origin: the key never went there
    assert emulator.cdn_requests and not any(r["authorization"] for r in emulator.cdn_requests)
    assert (limits.limit, limits.concurrent_limit, limits.queue_limit) == (300, 10, 100)
    assert limits.remaining is not None and limits.remaining < 300
    assert not list((tmp_path / "out").glob("*.part"))


def test_prompt_sent_byte_for_byte(emulator):
    """Model URLs reach the service exactly as written (the workers' cache key)."""
    prompt = quickstart_prompt()
    prompt["1"]["inputs"]["ckpt_name"] = (
        "https://huggingface.co/Org/Repo/resolve/0123456789abcdef0123456789abcdef01234567/"
        "a%20b/model.safetensors?download=true"
    )
    with client_for(emulator) as client:
        job = client.submit(prompt)
    assert emulator.job(job.job_id).prompt == prompt


def test_submit_workflow_object_and_ui_workflow(emulator):
    from cmfy_graph.script import load_workflow

    wf = load_workflow(ROOT / "examples" / "quickstart.py")
    ui = json.loads((DEVSET / "ui2api" / "sdxl_simple_example.ui.json").read_text("utf-8"))
    api = json.loads((DEVSET / "ui2api" / "sdxl_simple_example.api.json").read_text("utf-8"))
    with client_for(emulator) as client:
        a = client.submit(wf)
        b = client.submit(ui)
        c = client.submit({"prompt": quickstart_prompt()})
    assert emulator.job(a.job_id).prompt == quickstart_body()["prompt"]
    # the editor's own conversion; today's editor (the default spec is 2026's) also sends
    # the node pack of each node in _meta
    sent = emulator.job(b.job_id).prompt
    assert {k: {**e, "_meta": {"title": e["_meta"]["title"]}} for k, e in sent.items()} == api
    assert sent["19"]["_meta"]["cnr_id"] == "comfy-core"
    assert emulator.job(c.job_id).prompt == quickstart_body()["prompt"]


def test_env_vars(emulator, monkeypatch):
    monkeypatch.setenv("CMFY_API_KEY", emulator.test_key)
    monkeypatch.setenv("CMFY_API_URL", emulator.url)
    with Client(retry_policy=fast_policy()) as client:
        assert client.base_url == emulator.url
        job = client.submit(quickstart_prompt())
        assert client.get(job.job_id).job_id == job.job_id


@pytest.mark.parametrize(
    "which, cls, code",
    [
        ("unknown", AuthenticationError, "invalid_api_key"),
        ("revoked_key", AuthenticationError, "revoked_api_key"),
        ("suspended_key", PermissionDeniedError, "account_suspended"),
        ("restricted_key", PermissionDeniedError, "insufficient_permissions"),
    ],
)
def test_auth_errors(emulator, which, cls, code):
    key = "sk_live_" + "x" * 43 if which == "unknown" else getattr(emulator, which)
    with client_for(emulator, key) as client, pytest.raises(cls) as info:
        client.submit(quickstart_prompt())
    err = info.value
    assert err.code == code
    assert err.status == (401 if cls is AuthenticationError else 403)
    assert err.request_id and err.request_id.startswith("req_emu_")
    assert err.exit_code == 3
    assert key not in str(err) and key not in repr(err)
    assert len(_records(emulator, "POST")) == 1  # not retried


def test_invalid_workflow_refused_locally_before_any_request(emulator):
    with client_for(emulator) as client, pytest.raises(InvalidWorkflowError) as info:
        client.submit(broken_prompt())
    err = info.value
    assert err.exit_code == 2
    assert "5" in err.node_errors
    assert err.node_errors["5"]["errors"][0]["type"] == "value_smaller_than_min"
    assert err.report is not None and not err.report.valid
    assert "steps" in str(err)
    assert list(emulator.requests) == []


def test_400_with_node_errors_from_the_service(emulator):
    with (
        client_for(emulator, validate=False) as client,
        pytest.raises(InvalidWorkflowError) as info,
    ):
        client.submit(broken_prompt())
    err = info.value
    assert err.status == 400 and err.code == "invalid_workflow"
    assert err.node_errors["5"]["class_type"] == "KSampler"
    assert err.node_errors["5"]["errors"][0]["extra_info"]["input_name"] == "steps"
    assert "node 5 (KSampler)" in err.message
    assert err.request_id


def test_structural_checks_without_linter(emulator):
    with client_for(emulator, validate=False) as client:
        with pytest.raises(InvalidWorkflowError, match="node 3 has no class_type"):
            client.submit({"3": {"inputs": {}}})
        with pytest.raises(InvalidWorkflowError, match="not a string or path|not a string"):
            client.submit("workflow.json")
    assert list(emulator.requests) == []


def test_rate_limit_exceeded_honours_retry_after(make_emulator):
    emu = make_emulator(rate_limit=1, rate_window=1.0)
    with client_for(emu) as client:
        client.submit(quickstart_prompt())
        client.submit(quickstart_prompt())  # 429 rate_limit_exceeded, then accepted
    limited = [r for r in emu.requests if r.code == "rate_limit_exceeded"]
    assert limited, "the third submission should have been rate limited"
    accepted = _records(emu, "POST", 202)
    assert len(accepted) == 2
    # the retry came after the advertised Retry-After (1 s), measured on the server's clock
    assert accepted[-1].time - limited[0].time >= 1.0


def test_rate_limit_error_when_retry_after_exceeds_budget(make_emulator):
    emu = make_emulator(rate_limit=1, rate_window=60.0)
    with client_for(emu, retry_policy=fast_policy(budget=2.0)) as client:
        client.submit(quickstart_prompt())
        with pytest.raises(RateLimitError) as info:
            client.submit(quickstart_prompt())
    err = info.value
    assert err.code == "rate_limit_exceeded" and err.status == 429
    assert err.retry_after is not None and 50 <= err.retry_after <= 60
    assert len([r for r in emu.requests if r.status == 429]) == 1  # no pointless retry


@pytest.mark.parametrize(
    "config, code",
    [
        (
            {"concurrent_limit": 1, "queue_seconds": 0.0, "run_seconds": 0.3},
            "concurrent_limit_reached",
        ),
        ({"queue_limit": 1, "queue_seconds": 0.3, "run_seconds": 0.05}, "queue_full"),
    ],
)
def test_capacity_429s_retried_while_capacity_frees(make_emulator, config, code):
    emu = make_emulator(**config)
    with client_for(emu) as client:
        first = client.submit(quickstart_prompt())
        second = client.submit(quickstart_prompt())
        assert client.rate_limits.concurrent_limit == config.get("concurrent_limit", 10)
    assert first.job_id != second.job_id
    refused = [r for r in emu.requests if r.status == 429]
    assert refused and all(r.code == code for r in refused)
    assert len(_records(emu, "POST", 202)) == 2


@pytest.mark.parametrize("code", ["concurrent_limit_reached", "queue_full"])
def test_capacity_429_gives_up_after_budget(make_emulator, code):
    config = (
        {"concurrent_limit": 1, "queue_seconds": 0.0, "run_seconds": 30}
        if code == "concurrent_limit_reached"
        else {"queue_limit": 1, "queue_seconds": 30}
    )
    emu = make_emulator(**config)
    with client_for(emu, retry_policy=fast_policy(budget=0.3)) as client:
        client.submit(quickstart_prompt())
        with pytest.raises(RateLimitError) as info:
            client.submit(quickstart_prompt())
    assert info.value.code == code
    assert emu.job_count() == 1


def test_5xx_on_get_is_retried(emulator):
    with client_for(emulator) as client:
        job = client.submit(quickstart_prompt())
        rule = emulator.inject(FaultRule("status", status=503, count=2, method="GET"))
        got = client.get(job.job_id)
    assert got.job_id == job.job_id
    assert rule.applied == 2
    assert [r.status for r in _records(emulator, "GET")] == [503, 503, 200]


def test_5xx_on_get_gives_up_after_attempts(emulator):
    with client_for(emulator, retry_policy=fast_policy(max_attempts=3)) as client:
        job = client.submit(quickstart_prompt())
        emulator.inject(FaultRule("status", status=502, method="GET"))
        with pytest.raises(ServerError) as info:
            client.get(job.job_id)
    assert info.value.status == 502
    assert len(_records(emulator, "GET")) == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_on_submit_is_never_retried(emulator, status):
    emulator.inject(FaultRule("status", status=status, count=1, method="POST"))
    with client_for(emulator) as client, pytest.raises(SubmitUncertainError) as info:
        client.submit(quickstart_prompt())
    assert info.value.status == status
    assert len(_records(emulator, "POST")) == 1


def test_reset_on_get_is_retried(emulator):
    with client_for(emulator) as client:
        job = client.submit(quickstart_prompt())
        rule = emulator.inject(FaultRule("reset", count=1, method="GET"))
        assert client.get(job).job_id == job.job_id
    assert rule.applied == 1


def test_reset_after_submit_is_uncertain_and_not_repeated(emulator):
    rule = emulator.inject(FaultRule("reset_after", count=1, method="POST"))
    with client_for(emulator) as client, pytest.raises(SubmitUncertainError) as info:
        client.submit(quickstart_prompt())
    assert rule.applied == 1
    assert info.value.code.startswith("uncertain_")
    assert emulator.job_count() == 1  # the job exists: exactly one, no duplicate
    assert len(_records(emulator, "POST")) == 1


def test_slow_get_times_out_and_is_retried(emulator):
    with client_for(emulator, timeout=0.2) as client:
        job = client.submit(quickstart_prompt())
        rule = emulator.inject(FaultRule("slow", delay=0.6, count=1, method="GET"))
        assert client.get(job).job_id == job.job_id
    assert rule.applied == 1
    gets = _records(emulator, "GET")
    assert gets[0].fault == "slow" and gets[-1].status == 200


def test_slow_submit_times_out_uncertain(emulator):
    emulator.inject(FaultRule("slow", delay=0.6, count=1, method="POST"))
    with client_for(emulator, timeout=0.2) as client, pytest.raises(SubmitUncertainError) as info:
        client.submit(quickstart_prompt())
    assert info.value.code == "uncertain_timeout"
    assert emulator.job_count() == 1
    assert len(_records(emulator, "POST")) == 1


def test_slow_response_within_timeout_succeeds(emulator):
    emulator.inject(FaultRule("slow", delay=0.2, count=1, method="POST"))
    with client_for(emulator, timeout=5) as client:
        job = client.submit(quickstart_prompt())
    assert job.status == "queued"


def test_malformed_bodies(emulator):
    emulator.inject(FaultRule("malformed", count=1, method="POST"))
    with client_for(emulator) as client:
        with pytest.raises(SubmitUncertainError):
            client.submit(quickstart_prompt())
        job_id = emulator.job_ids()[0]
        emulator.inject(FaultRule("malformed", count=1, method="GET"))
        assert client.get(job_id).job_id == job_id  # a GET is simply repeated


def test_connection_refused_before_sending_is_retried():
    """Nothing listens at first; the emulator comes up on that port a little later."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    emu = Emulator(EmulatorConfig(queue_seconds=0.01, run_seconds=0.01), port=port)
    timer = threading.Timer(0.3, emu.start)
    timer.start()
    try:
        policy = fast_policy(backoff_initial=0.1, backoff_max=0.2, max_attempts=30)
        with Client(emu.test_key, f"http://127.0.0.1:{port}", retry_policy=policy) as client:
            job = client.submit(quickstart_prompt())
        assert job.status == "queued"
        assert emu.job_count() == 1
    finally:
        timer.join()
        emu.stop()


def test_connection_refused_gives_up():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    policy = fast_policy(max_attempts=2)
    with Client("sk_test_" + "a" * 43, f"http://127.0.0.1:{port}", retry_policy=policy) as client:
        with pytest.raises(ApiConnectionError) as info:
            client.get("some-job")
    assert info.value.exit_code == 3


def test_wait_timeout_leaves_the_job_alone(make_emulator):
    emu = make_emulator(queue_seconds=0.0, run_seconds=0.5)
    with client_for(emu) as client:
        job = client.submit(quickstart_prompt())
        with pytest.raises(WaitTimeout) as info:
            client.wait(job, timeout=0.1, poll_interval=0.02)
        assert info.value.job is not None and info.value.job.status in ("queued", "running")
        assert not any(r.method not in ("GET", "POST") for r in emu.requests)
        final = client.wait(job, timeout=10, poll_interval=0.05)
    assert final.status == "completed"


def test_failed_job(make_emulator, tmp_path):
    emu = make_emulator(failure_rate=1.0)
    with client_for(emu) as client:
        job = client.wait(client.submit(quickstart_prompt()), timeout=10, poll_interval=0.02)
        assert job.failed and job.error is not None
        assert job.error.code == "execution_error"
        assert job.outputs == ()
        with pytest.raises(JobFailedError) as info:
            client.wait(job.job_id, timeout=10, poll_interval=0.02, raise_on_failure=True)
        assert info.value.code == "execution_error" and info.value.exit_code == 1
        with pytest.raises(JobFailedError):
            client.download(job, tmp_path)


def test_download_before_completion(make_emulator, tmp_path):
    emu = make_emulator(queue_seconds=5)
    with client_for(emu) as client:
        job = client.submit(quickstart_prompt())
        with pytest.raises(JobNotReadyError):
            client.download(job, tmp_path)


def test_unknown_job(emulator):
    with client_for(emulator) as client, pytest.raises(NotFoundError) as info:
        client.get("00000000-0000-4000-8000-000000000000")
    assert info.value.status == 404


def test_jobs_are_private_to_their_key(emulator):
    other = "sk_test_" + "b" * 43
    emulator.add_key(other)
    with client_for(emulator) as a, client_for(emulator, other) as b:
        job = a.submit(quickstart_prompt())
        with pytest.raises(NotFoundError):
            b.get(job.job_id)


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802
        n = int(self.headers.get("Content-Length") or 0)
        type(self).bodies.append(self.rfile.read(n))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_webhook_delivery_confirmed_and_deduplicated(emulator):
    from cmfy_graph.client import SeenJobs, parse_webhook

    class Receiver(_Receiver):
        bodies: list[bytes] = []

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
        with client_for(emulator) as client:
            job = client.submit(quickstart_prompt(), webhook_url=hook)
            deadline = time.monotonic() + 10
            while not Receiver.bodies and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(Receiver.bodies) == 1
            body = Receiver.bodies[0]
            seen = SeenJobs()
            confirmed = parse_webhook(body, client, seen=seen)
            assert confirmed is not None and confirmed.job_id == job.job_id
            assert confirmed.status == "completed" and confirmed.outputs
            assert parse_webhook(body, client, seen=seen) is None  # a repeat is dropped
        assert json.loads(body)["job_id"] == job.job_id
        assert emulator.webhook_deliveries[0]["status"] == 204
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://localhost/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.5/hook",
        "https://[::1]/hook",
        "ftp://example.com/hook",
    ],
)
def test_webhook_url_refused_before_sending(emulator, url):
    from cmfy_graph.client import ConfigurationError

    with client_for(emulator, allow_private_webhooks=False) as client:
        with pytest.raises(ConfigurationError) as info:
            client.submit(quickstart_prompt(), webhook_url=url)
    assert info.value.code == "invalid_webhook_url"
    assert list(emulator.requests) == []


def test_public_https_webhook_is_sent(emulator):
    # the emulator cannot deliver to it (no network), but accepts and records it
    with client_for(emulator, allow_private_webhooks=False) as client:
        job = client.submit(
            {"prompt": quickstart_prompt(), "webhook_url": "https://hooks.example.com/cmfy"}
        )
    assert emulator.job(job.job_id).webhook_url == "https://hooks.example.com/cmfy"


def test_emulator_refuses_private_webhook_unless_configured(make_emulator):
    emu = make_emulator(allow_private_webhooks=False)
    with client_for(emu, validate=False) as client, pytest.raises(InvalidWorkflowError) as info:
        client.submit(quickstart_prompt(), webhook_url="http://127.0.0.1:9/hook")
    assert info.value.code == "invalid_webhook_url" and info.value.status == 400


@pytest.mark.parametrize("kind", ["status", "reset"])
def test_download_retries_cdn_faults(emulator, tmp_path, kind):
    with client_for(emulator) as client:
        job = client.wait(client.submit(quickstart_prompt()), 10, 0.02)
        rule = emulator.inject(FaultRule(kind, status=503, count=1, path="/outputs/"))
        paths = client.download(job, tmp_path)
    assert rule.applied == 1
    data = paths[0].read_bytes()
    assert data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82")
    assert len(emulator.cdn_requests) == 2
