"""Round trips on every devset workflow: API -> graph -> API, API -> Python -> API,
API -> UI -> API (JSON values equal, node ids included)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmfy_graph.convert.layout import to_ui
from cmfy_graph.convert.python import prompt_to_python
from cmfy_graph.convert.ui import ui_to_api
from cmfy_graph.graph import Workflow
from cmfy_graph.script import load_workflow
from cmfy_graph.spec import Spec

from conftest import DEVSET

UI2API = DEVSET / "ui2api"
NAMES = sorted(p.name[: -len(".api.json")] for p in UI2API.glob("*.api.json"))


def _prompt(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((UI2API / f"{name}.api.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("name", NAMES)
def test_api_graph_api(name: str, core: Spec) -> None:
    p = _prompt(name)
    assert Workflow.from_prompt(p, core).to_prompt() == p


@pytest.mark.parametrize("name", NAMES)
def test_api_python_api(name: str, core: Spec, tmp_path: Path) -> None:
    p = _prompt(name)
    src = prompt_to_python(p, core, name=f"{name}.api.json")
    ast.parse(src)
    script = tmp_path / f"{name.replace('.', '_')}.py"
    script.write_text(src, encoding="utf-8")
    assert load_workflow(script).to_prompt() == p


@pytest.mark.parametrize("name", NAMES)
def test_api_ui_api(name: str, core: Spec) -> None:
    p = _prompt(name)
    ui = to_ui(p, core, warnings=[])
    ui = json.loads(json.dumps(ui))  # what a file holds
    assert ui_to_api(ui, core, warnings=[]) == p
    _assert_no_overlap(ui)


def _assert_no_overlap(ui: dict[str, Any]) -> None:
    boxes = [(n["pos"][0], n["pos"][1], n["size"][0], n["size"][1]) for n in ui["nodes"]]
    for i, a in enumerate(boxes):
        assert a[2] > 0 and a[3] > 0
        for b in boxes[i + 1 :]:
            apart = (
                a[0] + a[2] <= b[0]
                or b[0] + b[2] <= a[0]
                or a[1] + a[3] <= b[1]
                or b[1] + b[3] <= a[1]
            )
            assert apart, (a, b)


def test_ui_layout_flows_left_to_right(core: Spec) -> None:
    p = _prompt("sdxlturbo_example")
    ui = to_ui(p, core, warnings=[])
    pos = {str(n["id"]): n["pos"] for n in ui["nodes"]}
    for ln in ui["links"]:
        assert pos[str(ln[1])][0] < pos[str(ln[3])][0]
    assert ui["last_node_id"] == max(n["id"] for n in ui["nodes"])
    assert ui["last_link_id"] == len(ui["links"])
    ks = next(n for n in ui["nodes"] if n["type"] == "SamplerCustom")
    assert ks["widgets_values"] == [True, 0, "fixed", 1]  # control_after_generate after noise_seed


def test_python_script_reads_well(core: Spec) -> None:
    src = prompt_to_python(_prompt("lora"), core, name="lora.api.json")
    assert "from cmfy_graph.nodes import" in src
    assert "with Workflow() as wf:" in src
    assert "load_lora = LoraLoader(" in src
    assert "model=load_checkpoint.model" in src
    assert "clip=load_lora.clip" in src
    assert "denoise=" not in src and "batch_size=" not in src  # defaults are left out
    assert "steps=30" in src
    assert " = node(" not in src


def test_python_keeps_ids_only_when_needed(core: Spec) -> None:
    p = {
        "1": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": 512, "height": 512, "batch_size": 1},
        },
        "2": {"class_type": "VAELoader", "inputs": {"vae_name": "v.safetensors"}},
        "3": {"class_type": "VAEDecode", "inputs": {"samples": ["1", 0], "vae": ["2", 0]}},
    }
    src = prompt_to_python(p, core)
    assert "node_id" not in src
    assert "EmptyLatentImage()" in src  # every value is the default
    ns: dict[str, Any] = {}
    exec(compile(src, "<converted>", "exec"), ns)
    assert ns["wf"].to_prompt() == p


def test_python_escape_hatch_for_unknown_classes_and_cycles(core: Spec) -> None:
    p = {
        "7": {
            "class_type": "MyCustomNode",
            "inputs": {"image": ["8", 0], "my value": 3, "odd": {"__value__": [1, 2]}},
        },
        "8": {
            "class_type": "ImageInvert",
            "inputs": {"image": ["7", 0]},
            "_meta": {"title": "x", "k": 1},
        },
        "9": {"class_type": "LoadAudio", "inputs": {"audio": "a.mp3", "audioUI": ""}},
    }
    w: list[str] = []
    src = prompt_to_python(p, core, warnings=w)
    assert '"MyCustomNode"' in src and "= node(" in src
    assert ".set_input(" in src  # the cycle is closed after both nodes exist
    # audioUI is not an input the class declares: typed class, then a raw set_input
    assert "LoadAudio(" in src and '.set_input("audioUI", "", raw=True)' in src
    assert w == []
    ns: dict[str, Any] = {}
    exec(compile(src, "<converted>", "exec"), ns)
    assert ns["wf"].to_prompt() == p


def test_python_broken_links_are_kept_as_written_with_a_warning(core: Spec) -> None:
    p = {
        "1": {"class_type": "SaveImage", "inputs": {"images": ["99", 0], "filename_prefix": "p"}},
        "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 5]}},
        "3": {"class_type": "PreviewImage", "inputs": {"images": [1, 0]}},
    }
    w: list[str] = []
    src = prompt_to_python(p, core, warnings=w)
    assert len(w) == 3 and "node 1 (SaveImage)" in w[0] and "'images'" in w[0]
    assert '.set_input("images", ["99", 0], raw=True)' in src
    ns: dict[str, Any] = {}
    exec(compile(src, "<converted>", "exec"), ns)
    assert ns["wf"].to_prompt() == p  # the linter still sees exactly what was written


names = st.sampled_from(["EmptyLatentImage", "VAEDecode", "ImageInvert", "Mystery", "SaveImage"])


@st.composite
def prompts(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 8))
    ids = draw(st.lists(st.integers(1, 40).map(str), min_size=n, max_size=n, unique=True))
    classes = {nid: draw(names) for nid in ids}
    sources = [nid for nid in ids if classes[nid] != "SaveImage"]  # nodes with an output
    out: dict[str, Any] = {}
    for nid in ids:
        ct = classes[nid]
        ins: dict[str, Any] = {}
        if ct == "EmptyLatentImage":
            ins = {
                "width": draw(st.integers(16, 4096)),
                "height": 512,
                "batch_size": draw(st.integers(1, 8)),
            }
        elif ct == "Mystery":
            ins = {"value": draw(st.one_of(st.integers(), st.text(max_size=5), st.booleans()))}
        elif sources:
            key = {"VAEDecode": "samples", "ImageInvert": "image", "SaveImage": "images"}[ct]
            ins[key] = [draw(st.sampled_from(sources)), 0]
        entry: dict[str, Any] = {"class_type": ct, "inputs": ins}
        if draw(st.booleans()):
            entry["_meta"] = {"title": draw(st.text(max_size=10))}
        out[nid] = entry
    return out


@settings(max_examples=60, deadline=None)
@given(prompts())
def test_random_prompts_python_round_trip(p: dict[str, Any]) -> None:
    from cmfy_graph.spec import core_spec

    src = prompt_to_python(p, core_spec(), warnings=[])
    ns: dict[str, Any] = {}
    exec(compile(src, "<converted>", "exec"), ns)
    assert ns["wf"].to_prompt() == p
