"""Issue 11, ComfyUI: uploads of local input files, live events over the websocket (drops,
no websocket), cancel, one ``submit`` for every backend, results in Python. Everything runs
over real loopback sockets against the project's fake ComfyUI server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from cmfy_graph import Workflow
from cmfy_graph.client import AsyncComfyUIClient, ComfyUIClient, JobEvent
from cmfy_graph.client.emulator import Emulator, EmulatorConfig
from cmfy_graph.client.fake_comfyui import FakeComfyUI
from cmfy_graph.client.uploads import content_name
from cmfy_graph.nodes import (
    CheckpointLoaderSimple,
    CLIPTextEncode,
    KSampler,
    LoadImage,
    SaveImage,
    VAEDecode,
    VAEEncode,
)

from conftest import ROOT

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PHOTO = ROOT / "examples" / "photo.png"


def img2img(image: Any, steps: int = 6) -> Workflow:
    with Workflow() as wf:
        ckpt = CheckpointLoaderSimple(ckpt_name="sd_xl_base_1.0.safetensors")
        photo = LoadImage(image=image)
        pos = CLIPTextEncode(text="a harbour", clip=ckpt.clip)
        k = KSampler(
            model=ckpt.model,
            positive=pos,
            negative=pos,
            latent_image=VAEEncode(pixels=photo.image, vae=ckpt.vae),
            steps=steps,
            denoise=0.5,
        )
        SaveImage(images=VAEDecode(samples=k, vae=ckpt.vae), filename_prefix="t")
    return wf


def cli(*argv: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "cmfy_graph", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_the_readme_img2img_runs_end_to_end_with_one_upload(tmp_path: Path) -> None:
    """Done when: the img2img example with a local PNG runs on a fake ComfyUI server from the
    README; the server sees exactly one upload of those bytes across two runs, progress
    events arrive for every sampler step, outputs are downloaded."""
    readme = (ROOT / "README.md").read_text()
    assert "cmfy-graph submit examples/img2img_local.py --server" in readme
    script = ROOT / "examples" / "img2img_local.py"
    steps = next(
        int(ln.split("=")[1].strip(" ,"))
        for ln in script.read_text().splitlines()
        if ln.strip().startswith("steps=")
    )
    with FakeComfyUI(run_seconds=0.3) as srv:  # validating as ComfyUI does
        for run in range(2):
            out = tmp_path / f"out{run}"
            r = cli("submit", str(script), "--server", srv.url, "--events", "--download", str(out))
            assert r.returncode == 0, r.stderr
            lines = [json.loads(x) for x in r.stdout.splitlines()]
            events, final = lines[:-1], lines[-1]
            progress = [e for e in events if e["event"] == "progress"]
            assert [e["value"] for e in progress] == list(range(1, steps + 1))
            assert all(e["max"] == steps and e["node"] for e in progress)
            assert events[-1]["event"] == "completed"
            assert final["status"]["status_str"] == "success"  # the final job, last
            files = list(out.iterdir())
            assert len(files) == 1 and files[0].read_bytes().startswith(PNG_MAGIC)
            assert "saved " in r.stderr
        assert len(srv.uploads) == 1  # two runs, one upload
        assert srv.inputs[srv.uploads[0]] == PHOTO.read_bytes()
        assert srv.uploads[0] == content_name(PHOTO)
        # the prompts the server ran name the uploaded file, not the local path
        for entry in srv.history.values():
            assert entry["prompt"][2]["2"]["inputs"]["image"] == srv.uploads[0]


def test_uploads_path_objects_and_leaves_server_files_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = tmp_path / "a.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(a)
    monkeypatch.chdir(tmp_path)
    with FakeComfyUI(validate=False) as srv, ComfyUIClient(srv.url, validate=False) as c:
        prompt, names = c.upload_inputs(img2img(a).to_prompt())
        assert names == [content_name(a)] and prompt["2"]["inputs"]["image"] == names[0]
        # a relative path with a directory part, and a bare relative Path (written "./a.png")
        for value in ("./a.png", Path("a.png")):
            wf = img2img(value)
            if isinstance(value, Path):
                assert wf.to_prompt()["2"]["inputs"]["image"] == "./a.png"
            prompt, names = c.upload_inputs(wf.to_prompt())
            assert names == [content_name(a)]
        assert c.uploads == 1 and len(srv.uploads) == 1
        # a bare name is a file of the server's input folder, even when the current
        # directory holds a file of that name: never uploaded
        prompt, names = c.upload_inputs(img2img("a.png").to_prompt())
        assert names == [] and prompt["2"]["inputs"]["image"] == "a.png"
        # two different files never share a name
        b = tmp_path / "b.png"
        Image.new("RGB", (8, 8), (3, 2, 1)).save(b)
        assert content_name(b) != content_name(a)


def test_lint_tells_a_local_file_from_a_server_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cmfy_graph.validate import validate_prompt

    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    monkeypatch.chdir(tmp_path)
    local = validate_prompt(img2img("./a.png").to_prompt())
    assert [f.code for f in local.findings if f.input_name == "image"] == ["local_input_file"]
    cloud = validate_prompt(img2img("./a.png").to_prompt(), profile="cmfy")
    assert "local_input_file_no_upload" in {f.code for f in cloud.errors}
    bare = validate_prompt(img2img("a.png").to_prompt())  # the server's input folder
    assert [f.code for f in bare.findings if f.input_name == "image"] == [
        "custom_validation_failed"
    ]


def test_events_survive_a_dropped_websocket() -> None:
    with FakeComfyUI(run_seconds=0.4, validate=False, drop_ws_after=6) as srv:
        with ComfyUIClient(srv.url, validate=False) as c:
            events: list[JobEvent] = []
            with c.live() as live:
                job = c.submit(img2img(PHOTO, steps=10))
                done = c.wait(job, on_event=events.append, live=live)
        kinds = [e.event for e in events]
        assert done.completed and kinds[-1] == "completed"
        assert "reconnecting" in kinds and srv.ws_connections >= 2
        after = kinds[kinds.index("reconnecting") :]
        assert "progress" in after or "completed" in after


def test_without_a_websocket_the_client_polls() -> None:
    with FakeComfyUI(run_seconds=0.2, validate=False, websocket=False) as srv:
        with ComfyUIClient(srv.url, validate=False) as c:
            events: list[JobEvent] = []
            job = c.submit(img2img(PHOTO))
            done = c.wait(job, poll_interval=0.02, on_event=events.append)
        assert done.completed and events[-1].event == "completed"
        assert srv.ws_connections == 0


def test_a_failing_node_is_a_failed_event_and_exit_1(tmp_path: Path) -> None:
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps(img2img(str(PHOTO)).to_prompt()))
    with FakeComfyUI(run_seconds=0.1, validate=False, fail_classes=["VAEDecode"]) as srv:
        r = cli("submit", str(wf), "--server", srv.url, "--events", "--no-validate")
    assert r.returncode == 1, r.stderr
    events = [json.loads(x) for x in r.stdout.splitlines()][:-1]
    assert events[-1]["event"] == "failed" and "fake failure" in events[-1]["message"]
    assert "failed: execution_error" in r.stderr


def test_cancel_command_interrupts_a_running_job(tmp_path: Path) -> None:
    with FakeComfyUI(run_seconds=30, validate=False) as srv:
        with ComfyUIClient(srv.url, validate=False) as c:
            job = c.submit(img2img(PHOTO, steps=50))
            deadline = time.monotonic() + 10
            while c.get(job).status != "running" and time.monotonic() < deadline:
                time.sleep(0.02)
            r = cli("cancel", job.job_id, "--server", srv.url)
            assert r.returncode == 0, r.stderr
            assert f"job {job.job_id} failed" in r.stderr or "cancel" in r.stderr
            final = c.wait(job, timeout=10, poll_interval=0.02)
        assert srv.interrupted == [job.job_id]
        assert final.failed and final.error is not None
        assert final.error.code == "execution_interrupted"


def test_ctrl_c_during_submit_wait_cancels_the_job(tmp_path: Path) -> None:
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps(img2img(str(PHOTO), steps=200).to_prompt()))
    with FakeComfyUI(run_seconds=60, validate=False) as srv:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cmfy_graph",
                "submit",
                str(wf),
                "--server",
                srv.url,
                "--events",
                "--no-validate",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:  # wait for the sampler to start
            if json.loads(line)["event"] == "progress":
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        job_id = srv.received[0]
        assert f"job {job_id} cancelled" in err and "Traceback" not in err
        deadline = time.monotonic() + 10
        while not srv.interrupted and time.monotonic() < deadline:
            time.sleep(0.02)
        assert srv.interrupted == [job_id]


def test_cloud_refuses_a_local_file_clearly(tmp_path: Path) -> None:
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps(img2img(str(PHOTO)).to_prompt()))
    with Emulator(EmulatorConfig(queue_seconds=0, run_seconds=0.05)) as emu:
        env = {**os.environ, "CMFY_API_URL": emu.url, "CMFY_API_KEY": emu.test_key}
        r = cli("submit", str(wf), env=env)
        assert r.returncode == 2 and not emu.jobs()
    assert "documents no upload endpoint" in r.stderr and "URL" in r.stderr
    assert "LoadImage.image" in r.stderr and "Traceback" not in r.stderr


def test_results_in_python_and_jupyter(tmp_path: Path) -> None:
    with FakeComfyUI(run_seconds=0.05, validate=False) as srv:
        with ComfyUIClient(srv.url, validate=False) as c:
            job = c.wait(c.submit(img2img(PHOTO)), poll_interval=0.02)
            images = c.images(job)
            assert len(images) == 1 and images[0].size == (32, 32)
            html = job._repr_html_()
            assert job.job_id in html and "<img src='http://127.0.0.1" in html
            paths = c.download(job, tmp_path)
    from cmfy_graph.client.results import load_images

    assert [im.size for im in load_images(paths)] == [(32, 32)]


def test_async_client_streams_events() -> None:
    async def main(url: str) -> list[str]:
        async with AsyncComfyUIClient(url, validate=False) as c:
            job = await c.submit(img2img(PHOTO, steps=4))
            kinds = [ev.event async for ev in c.events(job)]
            final = await c.get(job)
            assert final.completed
            return kinds

    with FakeComfyUI(run_seconds=0.3, validate=False) as srv:
        kinds = asyncio.run(main(srv.url))
    assert kinds[-1] == "completed"


def test_event_lines_and_the_terminal_progress_line() -> None:
    """The ``--events`` line format of the issue, and the live line a terminal gets."""
    import io

    from cmfy_graph.client.events import ProgressLine

    ev = JobEvent("progress", "1a2b3c4d5e", "3", 5, 20)
    assert json.dumps(ev.to_dict()) == '{"event": "progress", "node": "3", "value": 5, "max": 20}'
    assert ev.to_dict(with_job=True)["job"] == "1a2b3c4d5e"
    assert JobEvent("completed", "j").to_dict() == {"event": "completed"}
    out = io.StringIO()
    line = ProgressLine(out, {"3": "KSampler"})
    line(JobEvent("executing", "1a2b3c4d5e", "3"))
    line(ev)
    line(JobEvent("cached", "1a2b3c4d5e", data={"nodes": []}))  # not shown
    line.close()
    text = out.getvalue()
    assert "\r1a2b3c4d: node 3 KSampler 5/20" in text and text.endswith("\r")


def test_cloud_events_are_its_status_changes(tmp_path: Path) -> None:
    from conftest import quickstart_body

    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps(quickstart_body()))
    with Emulator(EmulatorConfig(queue_seconds=0.2, run_seconds=0.2)) as emu:
        env = {**os.environ, "CMFY_API_URL": emu.url, "CMFY_API_KEY": emu.test_key}
        r = cli("submit", str(wf), "--events", "--poll-interval", "0.05", env=env)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    kinds = [x["event"] for x in lines[:-1]]
    assert kinds[-1] == "completed" and "running" in kinds
    assert lines[-1]["status"] == "completed" and lines[-1]["job_id"]
