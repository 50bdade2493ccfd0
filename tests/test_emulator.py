"""The cmfy.cloud emulator itself, spoken to with raw HTTP over loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from client_helpers import broken_prompt, quickstart_prompt

from cmfy_graph.client.emulator import (
    PLANS,
    TEST_KEY,
    Emulator,
    EmulatorConfig,
    FaultRule,
    placeholder_png,
)

from conftest import ROOT

LIMIT_HEADERS = [
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-Concurrent-Limit",
    "X-Concurrent-Current",
    "X-Queue-Limit",
    "X-Queue-Current",
]


def auth(key=TEST_KEY):
    return {"Authorization": f"Bearer {key}"}


def assert_envelope(r, status, code):
    assert r.status_code == status
    err = r.json()["error"]
    assert err["code"] == code
    assert isinstance(err["message"], str) and err["message"]
    assert isinstance(err["details"], dict)
    assert err["request_id"].startswith("req_emu_")
    return err


@pytest.mark.parametrize(
    "headers, status, code",
    [
        ({}, 401, "missing_auth"),
        ({"Authorization": TEST_KEY}, 401, "invalid_auth_format"),
        ({"Authorization": f"Basic {TEST_KEY}"}, 401, "invalid_auth_format"),
        ({"Authorization": "Bearer sk_test_" + "n" * 43}, 401, "invalid_api_key"),
    ],
)
def test_auth_codes(emulator, headers, status, code):
    r = httpx.post(emulator.url + "/v1/jobs", json={"prompt": quickstart_prompt()}, headers=headers)
    assert_envelope(r, status, code)
    for h in LIMIT_HEADERS:
        assert h in r.headers


def test_key_in_query_string_is_not_accepted(emulator):
    r = httpx.get(emulator.url + "/v1/jobs/x", params={"api_key": TEST_KEY})
    assert_envelope(r, 401, "missing_auth")


def test_202_shape_and_headers_and_states(emulator):
    with httpx.Client(base_url=emulator.url, headers=auth()) as http:
        r = http.post("/v1/jobs", json={"prompt": quickstart_prompt()})
        assert r.status_code == 202
        body = r.json()
        assert set(body) == {"job_id", "status", "queue_position", "estimated_wait_seconds"}
        assert body["status"] == "queued" and body["queue_position"] == 1
        rpm, conc, queue = PLANS["pro"]
        assert r.headers["X-RateLimit-Limit"] == str(rpm)
        assert r.headers["X-Concurrent-Limit"] == str(conc)
        assert r.headers["X-Queue-Limit"] == str(queue)
        assert int(r.headers["X-RateLimit-Reset"]) >= int(time.time())
        seen = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            g = http.get(f"/v1/jobs/{body['job_id']}")
            assert g.status_code == 200 and all(h in g.headers for h in LIMIT_HEADERS)
            data = g.json()
            if not seen or seen[-1] != data["status"]:
                seen.append(data["status"])
            if data["status"] == "completed":
                break
            time.sleep(0.005)
    assert seen[-1] == "completed" and seen == [
        s for s in ("queued", "running", "completed") if s in seen
    ]
    assert set(data) == {
        "job_id",
        "status",
        "created_at",
        "started_at",
        "completed_at",
        "execution_time_ms",
        "outputs",
    }
    assert data["created_at"].endswith("Z")
    png = httpx.get(data["outputs"]["images"][0])
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert b"PLACEHOLDER" in png.content


def test_400_node_errors_from_the_linter(emulator):
    r = httpx.post(emulator.url + "/v1/jobs", json={"prompt": broken_prompt()}, headers=auth())
    err = assert_envelope(r, 400, "invalid_workflow")
    ne = err["details"]["node_errors"]
    assert ne["5"]["errors"][0]["type"] == "value_smaller_than_min"
    assert ne["5"]["dependent_outputs"] == ["7"]


@pytest.mark.parametrize(
    "content, code",
    [
        (b"{not json", "invalid_json"),
        (b"[]", "invalid_request"),
        (b'{"prompt": 3}', "invalid_request"),
    ],
)
def test_400_bad_bodies(emulator, content, code):
    r = httpx.post(emulator.url + "/v1/jobs", content=content, headers=auth())
    assert_envelope(r, 400, code)


def test_model_urls_allowed_by_cmfy_profile(emulator):
    # the quickstart's checkpoint is a Hugging Face URL: valid for cmfy.cloud
    r = httpx.post(emulator.url + "/v1/jobs", json={"prompt": quickstart_prompt()}, headers=auth())
    assert r.status_code == 202


def test_routes(emulator):
    assert_envelope(httpx.get(emulator.url + "/v2/x", headers=auth()), 404, "not_found")
    assert_envelope(httpx.get(emulator.url + "/v1/jobs", headers=auth()), 405, "method_not_allowed")
    assert httpx.get(emulator.cdn_url + "/outputs/nope/image_0.png").status_code == 404


def test_429_rate_limit_body_and_header(make_emulator):
    emu = make_emulator(rate_limit=1, rate_window=30)
    with httpx.Client(base_url=emu.url, headers=auth()) as http:
        assert http.post("/v1/jobs", json={"prompt": quickstart_prompt()}).status_code == 202
        r = http.get("/v1/jobs/x")
    err = assert_envelope(r, 429, "rate_limit_exceeded")
    assert 1 <= err["retry_after"] <= 30 and r.headers["Retry-After"] == str(err["retry_after"])
    assert r.headers["X-RateLimit-Remaining"] == "0"


def test_429_concurrent_and_queue_have_no_retry_hint(make_emulator):
    emu = make_emulator(concurrent_limit=1, queue_limit=1, queue_seconds=0, run_seconds=30)
    with httpx.Client(base_url=emu.url, headers=auth()) as http:
        assert http.post("/v1/jobs", json={"prompt": quickstart_prompt()}).status_code == 202
        r = http.post("/v1/jobs", json={"prompt": quickstart_prompt()})
        err = assert_envelope(r, 429, "concurrent_limit_reached")
        assert "retry_after" not in err and "Retry-After" not in r.headers
        assert r.headers["X-Concurrent-Current"] == "1"
    emu2 = make_emulator(queue_limit=1, queue_seconds=30)
    with httpx.Client(base_url=emu2.url, headers=auth()) as http:
        http.post("/v1/jobs", json={"prompt": quickstart_prompt()})
        r = http.post("/v1/jobs", json={"prompt": quickstart_prompt()})
    assert_envelope(r, 429, "queue_full")
    assert r.headers["X-Queue-Current"] == "1"


def test_faults_are_deterministic_with_a_seed():
    def pattern(seed):
        cfg = EmulatorConfig(seed=seed, faults=[FaultRule("status", status=503, rate=0.5)])
        with Emulator(cfg) as emu, httpx.Client(base_url=emu.url, headers=auth()) as http:
            return [http.get("/v1/jobs/x").status_code for _ in range(24)], emu.job_ids()

    a, b, c = pattern(7), pattern(7), pattern(8)
    assert a == b and a != c
    assert {503, 404} == set(a[0])


def test_job_ids_repeat_with_the_seed():
    def ids():
        with Emulator(EmulatorConfig(seed=3)) as emu:
            with httpx.Client(base_url=emu.url, headers=auth()) as http:
                return [
                    http.post("/v1/jobs", json={"prompt": quickstart_prompt()}).json()["job_id"]
                    for _ in range(3)
                ]

    assert ids() == ids()


def test_fault_count_and_method_filters(emulator):
    rule = emulator.inject(FaultRule("status", status=500, count=2, method="POST"))
    with httpx.Client(base_url=emulator.url, headers=auth()) as http:
        assert http.get("/v1/jobs/x").status_code == 404  # GET unaffected
        codes = [
            http.post("/v1/jobs", json={"prompt": quickstart_prompt()}).status_code
            for _ in range(3)
        ]
    assert codes == [500, 500, 202] and rule.applied == 2


def test_reset_fault_drops_the_connection(emulator):
    emulator.inject(FaultRule("reset", count=1))
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.get(emulator.url + "/v1/jobs/x", headers=auth())
    assert httpx.get(emulator.url + "/v1/jobs/x", headers=auth()).status_code == 404


def test_keep_alive_and_pipelined_requests(emulator):
    import socket

    req = f"GET /v1/jobs/x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {TEST_KEY}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", emulator.port)) as s:
        s.sendall(req * 3)
        data = b""
        deadline = time.monotonic() + 5
        while data.count(b"HTTP/1.1 404") < 3 and time.monotonic() < deadline:
            data += s.recv(65536)
    assert data.count(b"HTTP/1.1 404") == 3


def test_placeholder_png_is_a_real_png():
    from io import BytesIO

    from PIL import Image

    data = placeholder_png(20, 10, {"Comment": "placeholder"}, seed="x")
    with Image.open(BytesIO(data)) as im:
        im.load()
        assert im.size == (20, 10) and im.mode == "RGB" and im.info["Comment"] == "placeholder"


def test_emulator_command_prints_url_and_key_and_stops_on_ctrl_c():
    proc = subprocess.Popen(
        [sys.executable, "-m", "cmfy_graph", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        key_line = proc.stdout.readline()
        assert first.startswith("cmfy.cloud emulator listening on http://127.0.0.1:")
        assert key_line.strip() == f"test key: {TEST_KEY}"
        url = first.split()[4]
        r = httpx.post(url + "/v1/jobs", json={"prompt": quickstart_prompt()}, headers=auth())
        assert r.status_code == 202
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_requests_split_anywhere_are_parsed():
    """However the bytes of pipelined requests are cut into TCP writes, each gets its answer."""
    import json as _json
    import re
    import socket

    from hypothesis import given, settings
    from hypothesis import strategies as st

    body = _json.dumps({"prompt": quickstart_prompt()}).encode()
    post = (
        f"POST /v1/jobs HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {TEST_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    get = f"GET /v1/jobs/x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {TEST_KEY}\r\n\r\n".encode()
    stream = post + get + post

    big = 10**6
    with Emulator(EmulatorConfig(rate_limit=big, concurrent_limit=big, queue_limit=big)) as emu:

        @settings(max_examples=25, deadline=None)
        @given(st.lists(st.integers(1, len(stream) - 1), max_size=6, unique=True))
        def check(cuts):
            bounds = [0, *sorted(cuts), len(stream)]
            with socket.create_connection(("127.0.0.1", emu.port)) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                for a, b in zip(bounds, bounds[1:], strict=False):
                    s.sendall(stream[a:b])
                data = b""
                deadline = time.monotonic() + 5
                while data.count(b"HTTP/1.1 ") < 3 and time.monotonic() < deadline:
                    data += s.recv(65536)
            statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", data)
            assert statuses == [b"202", b"404", b"202"]

        check()


def test_old_jobs_are_forgotten_past_max_jobs(make_emulator):
    emu = make_emulator(max_jobs=2)
    with httpx.Client(base_url=emu.url, headers=auth()) as http:
        ids = [
            http.post("/v1/jobs", json={"prompt": quickstart_prompt()}).json()["job_id"]
            for _ in range(3)
        ]
        assert [http.get(f"/v1/jobs/{i}").status_code for i in ids] == [404, 200, 200]
    assert [j.job_id for j in emu.jobs()] == ids[1:]
    assert emu.job(ids[0]) is None


def test_jobs_lists_snapshots_without_keys(make_emulator):
    other = "sk_test_" + "c" * 43
    emu = make_emulator(queue_seconds=0.0, run_seconds=0.0)
    emu.add_key(other, label="team b")
    first = quickstart_prompt()
    second = quickstart_prompt()
    second["5"]["inputs"]["seed"] = 7
    hook = "http://127.0.0.1:9/hook"  # never called: the job does not end during the test
    with httpx.Client(base_url=emu.url) as http:
        a = http.post("/v1/jobs", json={"prompt": first}, headers=auth()).json()["job_id"]
        done = time.monotonic() + 10
        while http.get(f"/v1/jobs/{a}", headers=auth()).json()["status"] != "completed":
            assert time.monotonic() < done
            time.sleep(0.01)
        emu.config.run_seconds = 600.0  # the second job stays running
        b = http.post(
            "/v1/jobs", json={"prompt": second, "webhook_url": hook}, headers=auth(other)
        ).json()["job_id"]
    jobs = emu.jobs()
    assert [j.job_id for j in jobs] == [a, b] == emu.job_ids()
    ja, jb = jobs
    assert (ja.status, ja.key_label, ja.webhook_url) == ("completed", "test", None)
    assert (jb.status, jb.key_label, jb.webhook_url) == ("running", "team b", hook)
    assert ja.prompt == first and jb.prompt == second
    assert ja.created_at.tzinfo is not None and ja.created_at <= jb.created_at
    # a snapshot is a copy: changing it changes nothing in the emulator
    jb.prompt["5"]["inputs"]["seed"] = 99
    again = emu.job(b)
    assert again is not None and again.prompt["5"]["inputs"]["seed"] == 7
    # never a key, whatever the way a job is shown
    import attrs

    shown = repr(jobs) + str(attrs.asdict(ja)) + str(attrs.asdict(jb))
    assert TEST_KEY not in shown and other not in shown
    third = "sk_test_" + "d" * 43
    emu.add_key(third)  # no label: numbered
    with httpx.Client(base_url=emu.url) as http:
        r = http.post("/v1/jobs", json={"prompt": first}, headers=auth(third))
    job = emu.job(r.json()["job_id"])
    assert job is not None and job.key_label == "key 2"


def test_jobs_is_safe_while_jobs_are_created(make_emulator):
    """Listing jobs from another thread while the server creates them never sees the table
    change under it, and every snapshot is a prefix of the final list."""
    import threading

    emu = make_emulator(plan="enterprise", queue_seconds=0.0, run_seconds=0.0)
    stop = threading.Event()
    seen: list[list[str]] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                seen.append([j.job_id for j in emu.jobs()])
                time.sleep(0.001)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    try:
        with httpx.Client(base_url=emu.url, headers=auth()) as http:
            for _ in range(40):
                assert (
                    http.post("/v1/jobs", json={"prompt": quickstart_prompt()}).status_code == 202
                )
    finally:
        stop.set()
        t.join(10)
    assert not errors
    final = [j.job_id for j in emu.jobs()]
    assert len(final) == 40
    assert seen and all(ids == final[: len(ids)] for ids in seen)
