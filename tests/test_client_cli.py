"""``cmfy-graph submit`` / ``status`` against the emulator, and the key-leak audit."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from client_helpers import broken_prompt, client_for, quickstart_prompt

from cmfy_graph.cli import main
from cmfy_graph.client import FaultRule

from conftest import DEVSET, ROOT, quickstart_body


@pytest.fixture
def env(emulator, monkeypatch):
    monkeypatch.setenv("CMFY_API_KEY", emulator.test_key)
    monkeypatch.setenv("CMFY_API_URL", emulator.url)
    return emulator


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(p)


def test_submit_script_wait_download(env, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "submit",
            str(ROOT / "examples" / "quickstart.py"),
            "--wait",
            "--download",
            str(out),
            "--poll-interval",
            "0.02",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    job = json.loads(captured.out)
    assert job["status"] == "completed"
    assert (out / "image_0.png").read_bytes().startswith(b"\x89PNG")
    assert "saved" in captured.err and "Traceback" not in captured.err
    assert env.job(job["job_id"]).prompt == quickstart_body()["prompt"]


@pytest.mark.parametrize(
    "content",
    [
        quickstart_body(),
        quickstart_body()["prompt"],
        "ui",
    ],
    ids=["body", "api-prompt", "ui-workflow"],
)
def test_submit_json_kinds(env, tmp_path, capsys, content):
    if content == "ui":
        content = json.loads((DEVSET / "ui2api" / "sdxl_simple_example.ui.json").read_text("utf-8"))
    code = main(["submit", write(tmp_path, "wf.json", content)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    job = json.loads(captured.out)
    assert job["status"] == "queued" and set(job) >= {"job_id", "queue_position"}


def test_status(env, capsys):
    with client_for(env) as client:
        job = client.wait(client.submit(quickstart_prompt()), 10, 0.02)
    assert main(["status", job.job_id]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "completed"


def test_failed_job_exit_1(make_emulator, monkeypatch, tmp_path, capsys):
    emu = make_emulator(failure_rate=1.0)
    monkeypatch.setenv("CMFY_API_KEY", emu.test_key)
    monkeypatch.setenv("CMFY_API_URL", emu.url)
    code = main(
        [
            "submit",
            write(tmp_path, "wf.json", quickstart_body()),
            "--wait",
            "--poll-interval",
            "0.02",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["error"]["code"] == "execution_error"
    assert "failed: execution_error" in captured.err
    job_id = json.loads(captured.out)["job_id"]
    assert main(["status", job_id]) == 1


@pytest.mark.parametrize(
    "make_file, fragment",
    [
        (lambda t: write(t, "bad.json", {"prompt": broken_prompt()}), "steps"),
        (lambda t: write(t, "bad.json", "{oops"), "bad.json: not valid JSON"),
        (lambda t: str(t / "missing.json"), "missing.json: no such file"),
        (lambda t: write(t, "list.json", [1, 2]), "list.json: not a workflow"),
        (lambda t: write(t, "bad.py", "raise ValueError('nope')\n"), "bad.py:1: ValueError: nope"),
    ],
)
def test_usage_and_invalid_workflow_exit_2(env, tmp_path, capsys, make_file, fragment):
    code = main(["submit", make_file(tmp_path)])
    captured = capsys.readouterr()
    assert code == 2
    assert fragment in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert list(env.requests) == []


def test_api_errors_exit_3(env, tmp_path, capsys, monkeypatch):
    wf = write(tmp_path, "wf.json", quickstart_body())
    monkeypatch.setenv("CMFY_API_KEY", env.revoked_key)
    assert main(["submit", wf]) == 3
    assert "revoked_api_key" in capsys.readouterr().err
    monkeypatch.setenv("CMFY_API_KEY", env.test_key)
    env.inject(FaultRule("status", status=500, count=1, method="POST"))
    assert main(["submit", wf]) == 3
    err = capsys.readouterr().err
    assert "may or may not have been created" in err and err.count("\n") == 1
    assert main(["status", "no-such-job"]) == 3


def test_bad_key_format_exit_2(env, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CMFY_API_KEY", "sk_live_short")
    assert main(["submit", write(tmp_path, "wf.json", quickstart_body())]) == 2
    assert "a cmfy.cloud key has 51" in capsys.readouterr().err


def test_wait_timeout_exit_3_prints_last_state(make_emulator, monkeypatch, tmp_path, capsys):
    emu = make_emulator(queue_seconds=30)
    monkeypatch.setenv("CMFY_API_KEY", emu.test_key)
    monkeypatch.setenv("CMFY_API_URL", emu.url)
    code = main(
        [
            "submit",
            write(tmp_path, "wf.json", quickstart_body()),
            "--wait",
            "--timeout",
            "0.1",
            "--poll-interval",
            "0.02",
        ]
    )
    captured = capsys.readouterr()
    assert code == 3
    assert json.loads(captured.out)["status"] == "queued"
    assert "left running" in captured.err


def test_key_never_leaks(env, tmp_path, capsys, caplog):
    """The key appears in no output, no log record (at DEBUG, httpx included), no exception
    and no file, across success, errors, retries and webhooks."""
    key = env.test_key
    caplog.set_level(logging.DEBUG)
    texts = []
    out = tmp_path / "out"
    assert (
        main(
            [
                "submit",
                str(ROOT / "examples" / "quickstart.py"),
                "--download",
                str(out),
                "--poll-interval",
                "0.02",
            ]
        )
        == 0
    )
    with client_for(env) as client:
        texts.append(repr(client))
        job = client.submit(quickstart_prompt())
        texts.append(repr(job))
        env.inject(FaultRule("status", status=503, count=1, method="GET"))
        env.inject(FaultRule("reset", count=1, method="GET"))
        client.get(job)
        for rule in (
            FaultRule("reset_after", count=1, method="POST"),
            FaultRule("status", status=500, count=1),
        ):
            env.inject(rule)
            try:
                client.submit(quickstart_prompt())
            except Exception as exc:  # noqa: BLE001
                texts += [str(exc), repr(exc), repr(exc.__dict__)]
        try:
            client.submit(broken_prompt())
        except Exception as exc:  # noqa: BLE001
            texts += [str(exc), repr(exc)]
        client.download(client.wait(job, 10, 0.02), tmp_path / "more")
    captured = capsys.readouterr()
    texts += [captured.out, captured.err]
    texts += [r.getMessage() for r in caplog.records]
    texts += [repr(r.args) for r in caplog.records]
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx did log
    for t in texts:
        assert key not in t
        assert key[8:] not in t
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 2
    for p in files:
        assert key.encode() not in p.read_bytes()


def test_end_to_end_subprocesses(tmp_path):
    """The documented demo: `cmfy-graph emulator` and `cmfy-graph submit ... --wait --download`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    emu = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cmfy_graph",
            "emulator",
            "--port",
            "0",
            "--queue-seconds",
            "0.05",
            "--run-seconds",
            "0.1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert emu.stdout is not None
        url = emu.stdout.readline().split()[4]
        key = emu.stdout.readline().split()[2]
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "cmfy_graph",
                "submit",
                "examples/quickstart.py",
                "--wait",
                "--download",
                str(tmp_path / "out"),
                "--poll-interval",
                "0.05",
            ],
            cwd=ROOT,
            env={**env, "CMFY_API_URL": url, "CMFY_API_KEY": key},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        emu.terminate()
        emu.communicate(timeout=20)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == "completed"
    assert (tmp_path / "out" / "image_0.png").exists()
    assert emu.returncode == 0
