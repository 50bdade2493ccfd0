"""The project's own checks: ruff and mypy clean, import stays light, generated code typed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from conftest import ROOT

HEAVY = ("networkx", "httpx", "jinja2", "PIL", "tqdm")


def test_import_does_not_pull_heavy_modules():
    code = (
        "import sys, cmfy_graph\n"
        "from cmfy_graph.nodes import KSampler, CheckpointLoaderSimple\n"
        "from cmfy_graph import Workflow\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff not installed")
def test_ruff_clean():
    for args in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        r = subprocess.run(
            [sys.executable, "-m", "ruff", *args], capture_output=True, text=True, cwd=ROOT
        )
        assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed")
def test_mypy_clean():
    env = dict(os.environ, MYPYPATH=str(ROOT))
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "cmfy_graph"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert r.returncode == 0, r.stdout[-5000:] + r.stderr
