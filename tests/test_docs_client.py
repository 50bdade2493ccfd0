"""docs/client.md shows each backend with a runnable example: each block marked
``<!-- runnable: BACKEND -->`` runs, as written, against the project's own server for it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cmfy_graph.client.emulator import Emulator, EmulatorConfig
from cmfy_graph.client.fake_comfy_api import FakeComfyApi
from cmfy_graph.client.fake_comfyui import FakeComfyUI

from conftest import ROOT

DOC = (ROOT / "docs" / "client.md").read_text()
BLOCKS = dict(re.findall(r"<!-- runnable: ([\w-]+) -->\n```python\n(.*?)```", DOC, flags=re.S))


def test_every_backend_has_a_runnable_example() -> None:
    assert set(BLOCKS) == {"cloud", "comfyui", "comfy-api"}


@pytest.mark.parametrize("backend", sorted(BLOCKS))
def test_the_example_runs(backend: str, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    code = BLOCKS[backend]
    env = dict(os.environ)
    if backend == "cloud":
        server: object = Emulator(EmulatorConfig(queue_seconds=0, run_seconds=0.05))
    elif backend == "comfyui":
        server = FakeComfyUI(run_seconds=0.05)
    else:
        server = FakeComfyApi(run_seconds=0.05)
    with server as srv:  # type: ignore[attr-defined]
        if backend == "cloud":
            env.update(CMFY_API_URL=srv.url, CMFY_API_KEY=srv.test_key)
        code = code.replace("http://127.0.0.1:8188", srv.url).replace(
            "http://127.0.0.1:8189", srv.url
        )
        script = tmp_path / "example.py"
        script.write_text(code)
        r = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "completed" in r.stdout
    assert any(p.read_bytes().startswith(b"\x89PNG") for p in (tmp_path / "out").iterdir())
