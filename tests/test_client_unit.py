"""Narrow unit tests of the client's parsing and policies (MockTransport, hypothesis)."""

from __future__ import annotations

import json
import string
from pathlib import Path

import httpx
import pytest
from client_helpers import fast_policy, quickstart_prompt
from hypothesis import given, settings
from hypothesis import strategies as st

from cmfy_graph.client import (
    AuthenticationError,
    Client,
    ConfigurationError,
    InvalidWorkflowError,
    Job,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RateLimits,
    ServerError,
    SubmitUncertainError,
    UnexpectedResponseError,
)
from cmfy_graph.client._base import (
    check_api_key,
    check_base_url,
    error_from_response,
    output_filenames,
    parse_job,
    parse_retry_after,
)
from cmfy_graph.errors import CmfyGraphError

KEY = "sk_live_" + "K" * 43
URL = "https://api.cmfy.cloud"


def mock_client(handler, **kw):
    kw.setdefault("retry_policy", fast_policy())
    return Client(KEY, URL, transport=httpx.MockTransport(handler), validate=False, **kw)


def accepted(request):
    return httpx.Response(202, json={"job_id": "j1", "status": "queued", "queue_position": 1})


# -- keys and URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, fragment",
    [
        (None, "no API key"),
        ("", "no API key"),
        ("pk_live_" + "a" * 43, "must start with"),
        ("sk_live_" + "a" * 42, "has 50 characters"),
        ("sk_test_" + "a" * 44, "has 52 characters"),
        (" sk_live_" + "a" * 43, "whitespace"),
        ("sk_live_" + "a" * 42 + "é", "printable ASCII"),
    ],
)
def test_key_format_checked_locally(key, fragment, monkeypatch):
    monkeypatch.delenv("CMFY_API_KEY", raising=False)
    with pytest.raises(ConfigurationError) as info:
        Client(key, URL)
    assert fragment in str(info.value)
    assert info.value.exit_code == 2
    if key and len(key) > 8:
        assert key[8:] not in str(info.value)


def test_valid_keys():
    assert check_api_key("sk_live_" + "a" * 43) == "sk_live_" + "a" * 43
    assert check_api_key("sk_test_" + "Z9_-" * 10 + "abc")


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://api.cmfy.cloud", True),
        ("https://api.cmfy.cloud/", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:9000", True),
        ("http://[::1]:9000", True),
        ("http://api.cmfy.cloud", False),
        ("http://192.168.1.4:8080", False),
        ("ftp://api.cmfy.cloud", False),
        ("https://user:pw@api.cmfy.cloud", False),
        ("api.cmfy.cloud", False),
    ],
)
def test_base_url_rules(url, ok):
    if ok:
        assert not check_base_url(url).endswith("/")
    else:
        with pytest.raises(ConfigurationError):
            check_base_url(url)


def test_default_base_url(monkeypatch):
    monkeypatch.delenv("CMFY_API_URL", raising=False)
    assert Client(KEY).base_url == "https://api.cmfy.cloud"


def test_repr_hides_key():
    client = Client(KEY, URL)
    assert KEY not in repr(client) and KEY[8:] not in repr(vars(client))


def test_key_only_sent_to_the_api_host(tmp_path):
    seen = []

    def handler(request):
        seen.append((request.url.host, request.headers.get("authorization")))
        if request.url.host == "api.cmfy.cloud":
            return httpx.Response(
                200,
                json={
                    "job_id": "j1",
                    "status": "completed",
                    "outputs": {"images": ["https://cdn.cmfy.cloud/outputs/j1/a.png"]},
                },
            )
        return httpx.Response(200, content=b"\x89PNG fake")

    with mock_client(handler) as client:
        paths = client.download("j1", tmp_path)
    assert paths[0].read_bytes() == b"\x89PNG fake"
    assert seen[0] == ("api.cmfy.cloud", f"Bearer {KEY}")
    assert seen[1] == ("cdn.cmfy.cloud", None)


# -- retries ----------------------------------------------------------------------------------------


def test_connect_error_before_sending_is_retried_for_post():
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) < 3:
            raise httpx.ConnectError("connection refused", request=request)
        return accepted(request)

    with mock_client(handler) as client:
        assert client.submit(quickstart_prompt()).job_id == "j1"
    assert len(calls) == 3


@pytest.mark.parametrize(
    "exc, code",
    [
        (httpx.ReadTimeout, "uncertain_timeout"),
        (httpx.WriteTimeout, "uncertain_timeout"),
        (httpx.ReadError, "uncertain_io"),
        (httpx.RemoteProtocolError, "uncertain_io"),
    ],
)
def test_post_failure_after_sending_is_never_retried(exc, code):
    calls = []

    def handler(request):
        calls.append(1)
        raise exc("boom", request=request)

    with mock_client(handler) as client, pytest.raises(SubmitUncertainError) as info:
        client.submit(quickstart_prompt())
    assert info.value.code == code
    assert calls == [1]


def test_get_read_timeout_is_retried():
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200, json={"job_id": "j1", "status": "running"})

    with mock_client(handler) as client:
        assert client.get("j1").status == "running"
    assert len(calls) == 2


def test_202_without_job_id_is_uncertain():
    with mock_client(lambda r: httpx.Response(202, json={"status": "queued"})) as client:
        with pytest.raises(SubmitUncertainError):
            client.submit(quickstart_prompt())


def test_rate_limit_uses_reset_header_without_retry_after():
    import time

    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(
                429,
                json={"error": {"code": "rate_limit_exceeded", "message": "slow down"}},
                headers={"X-RateLimit-Reset": str(int(time.time()) + 3600)},
            )
        return accepted(request)

    with mock_client(handler, retry_policy=fast_policy(budget=5)) as client:
        with pytest.raises(RateLimitError):
            client.submit(quickstart_prompt())  # the window resets in an hour: beyond budget
    assert calls == [1]
    assert client.rate_limits.reset is not None


# -- parsing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, code, cls",
    [
        (401, "missing_auth", AuthenticationError),
        (401, "invalid_auth_format", AuthenticationError),
        (401, "invalid_api_key", AuthenticationError),
        (401, "revoked_api_key", AuthenticationError),
        (403, "account_suspended", PermissionDeniedError),
        (403, "insufficient_permissions", PermissionDeniedError),
        (429, "rate_limit_exceeded", RateLimitError),
        (429, "concurrent_limit_reached", RateLimitError),
        (429, "queue_full", RateLimitError),
        (400, "anything", InvalidWorkflowError),
        (404, "not_found", NotFoundError),
        (500, "internal", ServerError),
        (418, "teapot", UnexpectedResponseError),
    ],
)
def test_error_from_envelope(status, code, cls):
    body = {
        "error": {
            "code": code,
            "message": "m",
            "details": {"x": 1},
            "retry_after": 7,
            "request_id": "req_1",
        }
    }
    err = error_from_response(status, {}, json.dumps(body).encode())
    assert type(err) is cls
    assert (err.code, err.message, err.status, err.request_id) == (code, "m", status, "req_1")
    assert err.retry_after == 7 and err.details == {"x": 1}
    assert isinstance(err, CmfyGraphError)


def test_error_node_errors_top_level_and_header_retry_after():
    body = {
        "error": {
            "type": "prompt_outputs_failed_validation",
            "message": "Prompt outputs failed validation",
        },
        "node_errors": {"3": {"errors": [{"type": "x", "message": "bad"}], "class_type": "K"}},
    }
    err = error_from_response(400, {"Retry-After": "3"}, json.dumps(body).encode())
    assert isinstance(err, InvalidWorkflowError)
    assert err.code == "prompt_outputs_failed_validation"
    assert err.node_errors["3"]["class_type"] == "K"
    assert err.retry_after == 3.0


def test_error_non_json_body():
    err = error_from_response(502, {}, b"<html>Bad gateway</html>")
    assert isinstance(err, ServerError) and "HTTP 502" in err.message


def test_retry_after_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("soon") is None


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(list(RateLimits.HEADERS.values()) + ["x-other"]),
        st.one_of(st.integers(-5, 10**10).map(str), st.text(max_size=5)),
    )
)
def test_rate_limit_headers_roundtrip(headers):
    limits = RateLimits.from_headers({k.upper(): v for k, v in headers.items()})
    for field, name in RateLimits.HEADERS.items():
        value = headers.get(name)
        expected = int(value.strip()) if value is not None and _is_int(value) else None
        assert getattr(limits, field) == expected


def _is_int(v: str) -> bool:
    try:
        int(v.strip())
    except ValueError:
        return False
    return True


job_dicts = st.fixed_dictionaries(
    {
        "job_id": st.text(min_size=1, max_size=20),
        "status": st.sampled_from(["queued", "running", "completed", "failed"]),
    },
    optional={
        "queue_position": st.integers(0, 1000),
        "estimated_wait_seconds": st.integers(0, 10**6),
        "created_at": st.datetimes(timezones=st.just(__import__("datetime").timezone.utc)).map(
            lambda d: d.isoformat().replace("+00:00", "Z")
        ),
        "execution_time_ms": st.integers(0, 10**9),
        "outputs": st.fixed_dictionaries({"images": st.lists(st.text(max_size=30), max_size=4)}),
        "error": st.fixed_dictionaries(
            {"code": st.text(min_size=1, max_size=10), "message": st.text(max_size=20)}
        ),
    },
)


@settings(max_examples=80, deadline=None)
@given(job_dicts)
def test_parse_job_keeps_every_field(data):
    job = parse_job(data)
    assert job.job_id == data["job_id"] and job.status == data["status"]
    assert job.to_dict() == data
    assert job.queue_position == data.get("queue_position")
    assert list(job.outputs) == data.get("outputs", {}).get("images", [])
    if "created_at" in data:
        assert job.created_at is not None
        assert job.created_at.isoformat().replace("+00:00", "Z") == data["created_at"]
    assert job.failed == (data["status"] == "failed")


@pytest.mark.parametrize(
    "bad", [[], "x", {"status": "queued"}, {"job_id": "a"}, {"job_id": 3, "status": "queued"}]
)
def test_parse_job_rejects(bad):
    with pytest.raises(UnexpectedResponseError):
        parse_job(bad)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet=string.printable, max_size=30), max_size=5))
def test_output_filenames_stay_inside_dest(tmp_path_factory, names):
    dest = tmp_path_factory.mktemp("d")
    urls = [f"https://cdn.example/outputs/{n}" for n in names]
    job = Job(job_id="j/../1", status="completed", outputs=tuple(urls))
    paths = output_filenames(job, dest)
    assert len(paths) == len(urls) and len(set(paths)) == len(paths)
    for p in paths:
        assert p.parent == dest and p.name not in ("", ".", "..") and not p.name.startswith(".")


def test_output_filenames_do_not_overwrite(tmp_path: Path):
    (tmp_path / "image_0.png").write_bytes(b"old")
    job = Job(job_id="abc", status="completed", outputs=("https://c/x/image_0.png",))
    assert output_filenames(job, tmp_path) == [tmp_path / "abc_image_0.png"]
    comfy = Job(
        job_id="p",
        status="completed",
        outputs=("http://h/view?filename=ComfyUI_00001_.png&type=output",),
    )
    assert output_filenames(comfy, tmp_path)[0].name == "ComfyUI_00001_.png"


def test_jobs_compare_by_value_and_hash():
    a = parse_job({"job_id": "j", "status": "completed", "outputs": {"images": ["u"]}, "x": 1})
    b = parse_job({"job_id": "j", "status": "completed", "outputs": {"images": ["u"]}})
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != parse_job({"job_id": "j", "status": "failed"})
