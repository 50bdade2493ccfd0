"""Examples are tests are docs: every example compiles to its committed sibling JSON.

``CMFY_REGEN_EXAMPLES=1 python -m pytest tests/test_examples.py`` rewrites the siblings; it is
refused under CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cmfy_graph.script import load_workflow

from conftest import ROOT, quickstart_body

EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_matches_compiled_sibling(path):
    body = load_workflow(path).to_body()
    sibling = path.with_suffix(".json")
    text = json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("CMFY_REGEN_EXAMPLES"):
        if os.environ.get("CI"):
            pytest.fail("CMFY_REGEN_EXAMPLES is refused under CI: regenerate locally and commit")
        sibling.write_text(text, encoding="utf-8")
    assert sibling.is_file(), f"{sibling.name} missing: run CMFY_REGEN_EXAMPLES=1 pytest {__file__}"
    assert sibling.read_text(encoding="utf-8") == text


def test_quickstart_compiles_to_the_quickstart_body():
    r = subprocess.run(
        [sys.executable, "-m", "cmfy_graph", "compile", str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == quickstart_body()


def test_compile_bad_script_is_one_line_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from cmfy_graph import Workflow\nfrom cmfy_graph.nodes import EmptyLatentImage\n"
        "with Workflow() as wf:\n    EmptyLatentImage(width=3, height=512)\n"
    )
    r = subprocess.run(
        [sys.executable, "-m", "cmfy_graph", "compile", str(bad)], capture_output=True, text=True
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert f"{bad}:4: NodeValueError" in r.stderr and "'width' must be >= 16" in r.stderr
    none = tmp_path / "none.py"
    none.write_text("x = 1\n")
    r = subprocess.run(
        [sys.executable, "-m", "cmfy_graph", "compile", str(none)], capture_output=True, text=True
    )
    assert r.returncode == 2 and "defines no Workflow" in r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "cmfy_graph", "compile"], capture_output=True, text=True
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_compile_check_lints_with_the_chosen_profile():
    qs = str(ROOT / "examples" / "quickstart.py")
    r = subprocess.run(
        [sys.executable, "-m", "cmfy_graph", "compile", qs, "--check", "comfyui"],
        capture_output=True,
        text=True,
    )
    # a server file list does not have the quickstart's Hugging Face URL: ComfyUI would refuse it
    line = next(
        i
        for i, text in enumerate(Path(qs).read_text().splitlines(), 1)
        if "CheckpointLoaderSimple(" in text
    )
    # the line of the script that made the node
    assert r.returncode == 1
    assert f"{qs}:{line}:1: error value_not_in_list " in r.stderr
    assert r.stderr.rstrip().endswith("[node 1 CheckpointLoaderSimple.ckpt_name]")
    assert json.loads(r.stdout) == quickstart_body()
    r = subprocess.run(
        [sys.executable, "-m", "cmfy_graph", "compile", qs, "--check", "cmfy"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and "hf_unpinned_revision" in r.stderr  # a warning, not an error


def test_binary_junk_is_a_one_line_error(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 3)
    for args in (
        ["compile", str(junk)],
        ["codegen", "--spec", str(junk), "--out", str(tmp_path / "o")],
    ):
        r = subprocess.run(
            [sys.executable, "-m", "cmfy_graph", *args], capture_output=True, text=True
        )
        assert r.returncode == 2, (args, r.stderr)
        assert (
            "Traceback" not in r.stderr
            and "junk.bin" in r.stderr
            and len(r.stderr.splitlines()) == 1
        )


def test_script_output_goes_to_stderr_not_into_the_body(tmp_path):
    """Issue 12, item 1: ``print()`` in a workflow script must not corrupt the JSON that
    ``compile`` prints (``cmfy-graph compile wf.py | curl -d @- ...``)."""
    script = tmp_path / "chatty.py"
    script.write_text(
        "from cmfy_graph import Workflow\nfrom cmfy_graph.nodes import EmptyLatentImage\n"
        "print('building the workflow')\n"
        "with Workflow() as wf:\n    EmptyLatentImage(width=512, height=512)\n"
    )
    r = subprocess.run(
        [sys.executable, "-m", "cmfy_graph", "compile", str(script)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["prompt"]["1"]["class_type"] == "EmptyLatentImage"
    assert "building the workflow" in r.stderr
