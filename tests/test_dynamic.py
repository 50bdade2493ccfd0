"""V3 dynamic inputs (Autogrow, DynamicCombo, MatchType): spec, validation, UI -> API, DSL.

The recent spec (``object_info_recent.json``, 887 classes) is today's ComfyUI; the official
templates (``comfyui-workflow-templates-json``) are what today's editor saves.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmfy_graph import Workflow
from cmfy_graph.codegen.generator import generate
from cmfy_graph.convert.python import prompt_to_python
from cmfy_graph.convert.ui import ui_to_api
from cmfy_graph.dynamic import finalize_inputs, possible_inputs
from cmfy_graph.errors import NodeInputError, NodeValueError
from cmfy_graph.graph import DynamicOption
from cmfy_graph.lint import SPEC_DRIFT_HINT, lint_paths
from cmfy_graph.spec import (
    AutogrowSpec,
    DynamicComboSpec,
    MatchTypeSpec,
    Spec,
    load_spec,
)
from cmfy_graph.validate import validate_prompt

from conftest import COMFYUI, ROOT

RECENT = COMFYUI / "object_info_recent.json"

# the classes the DSL tests generate (a small package, quick to import and type-check)
DSL_CLASSES = [
    "LoadImage",
    "LoadAudio",
    "EmptyLatentImage",
    "BatchImagesNode",
    "ResizeImageMaskNode",
    "ComfySwitchNode",
    "ImageInvert",
    "SaveImage",
    "TextGenerate",
    "SaveVideo",
]


@pytest.fixture(scope="module")
def recent() -> Spec:
    return load_spec(RECENT)


def _templates_dir() -> Path | None:
    try:
        import comfyui_workflow_templates_json as t
    except ImportError:
        return None
    return Path(t.__file__).parent / "templates"


def _templates() -> list[Path]:
    d = _templates_dir()
    if d is None:
        return []
    return [p for p in sorted(d.glob("*.json")) if not p.name.startswith(("index", "fuse_options"))]


needs_templates = pytest.mark.skipif(
    not _templates(), reason="comfyui-workflow-templates-json is not installed"
)


# -- spec ----------------------------------------------------------------------------------------


def test_spec_reads_each_v3_type(recent):
    assert recent.generation == 2026
    batch = recent["BatchImagesNode"].inputs["images"].dynamic
    assert isinstance(batch, AutogrowSpec)
    assert batch.names[:2] == ("image0", "image1") and batch.max == 50 and batch.min == 1
    assert batch.prefix == "image" and batch.template.type == "IMAGE"
    math = recent["ComfyMathExpression"].inputs["values"].dynamic
    assert isinstance(math, AutogrowSpec) and math.names[:3] == ("a", "b", "c")
    assert math.prefix is None and math.template.type == "FLOAT,INT,BOOLEAN"
    resize = recent["ResizeImageMaskNode"]
    combo = resize.inputs["resize_type"].dynamic
    assert isinstance(combo, DynamicComboSpec)
    assert combo.keys[0] == "scale dimensions"
    assert list(combo.option("scale dimensions").inputs) == ["width", "height", "crop"]
    assert combo.option("nope") is None
    mt = resize.inputs["input"].dynamic
    assert isinstance(mt, MatchTypeSpec)
    assert mt.template_id == "input_type" and mt.allowed_types == {"IMAGE", "MASK"}
    assert resize.outputs[0].matchtype == "input_type"
    switch = recent["ComfySwitchNode"].inputs["on_false"].dynamic
    assert isinstance(switch, MatchTypeSpec) and switch.allowed_types is None
    # nesting: an autogrow inside a dynamic combo option, combos inside combos
    grok = recent["GrokImageEditNodeV2"].inputs["model"].dynamic
    assert isinstance(grok.options[0].inputs["images"].dynamic, AutogrowSpec)
    video = recent["SaveVideo"].inputs["format"].dynamic
    codec = video.option("auto").inputs["codec"].dynamic
    assert isinstance(codec, DynamicComboSpec)
    assert isinstance(codec.option("h264").inputs["encoding"].dynamic, DynamicComboSpec)
    # the new node fields are kept
    assert recent["BatchImagesNode"].search_aliases[:2] == ("batch", "image batch")
    assert recent["BatchImagesNode"].essentials_category == "Image Tools"
    assert any(ns.api_node for ns in recent.values())


def test_old_spec_is_2025(core):
    assert core.generation == 2025


def test_finalize_inputs_as_the_2026_backend(recent):
    ns = recent["ResizeImageMaskNode"]
    keys = finalize_inputs(ns, {"resize_type": "scale longer dimension"})
    assert "resize_type.longer_size" in keys and keys["resize_type.longer_size"].required
    assert "resize_type.width" not in keys
    # an unknown or missing combo is not validated at all (nor its sub-inputs)
    assert "resize_type" not in finalize_inputs(ns, {"resize_type": "bogus"})
    assert "resize_type" not in finalize_inputs(ns, {})
    batch = finalize_inputs(recent["BatchImagesNode"], {})
    assert batch["images.image0"].required and not batch["images.image1"].required
    assert len(batch) == 50 and "images" not in batch
    nested = finalize_inputs(
        recent["SaveVideo"],
        {"format": "auto", "format.codec": "h264", "format.codec.encoding": "re-encode"},
    )
    assert {"format.codec.encoding.crf", "format.codec.encoding.color_space"} <= set(nested)
    assert "format.codec.encoding.crf" in possible_inputs(recent["SaveVideo"])


# -- lint ----------------------------------------------------------------------------------------


def _prompt(**nodes):
    return {k: {"class_type": ct, "inputs": ins} for k, (ct, ins) in nodes.items()}


def _codes(report, node=None):
    return sorted(
        (f.code, f.input_name) for f in report.findings if node is None or f.node_id == node
    )


def _base():
    return {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0},
        },
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}},
    }


def test_lint_autogrow(recent):
    p = _base()
    p["3"] = {
        "class_type": "BatchImagesNode",
        "inputs": {"images.image0": ["1", 0], "images.image1": ["1", 0]},
    }
    r = validate_prompt(p, recent)
    assert r.valid and not r.errors, r.findings
    # a bare key is not an input: the required slot is missing (ComfyUI's own verdict)
    p["3"]["inputs"] = {"images": ["1", 0]}
    r = validate_prompt(p, recent)
    assert not r.valid
    assert ("required_input_missing", "images.image0") in _codes(r, "3")
    assert ("unknown_input", "images") in _codes(r, "3")
    # over max: the extra slot is ignored by ComfyUI, and said
    p["3"]["inputs"] = {"images.image0": ["1", 0], "images.image50": ["1", 0]}
    r = validate_prompt(p, recent)
    assert r.valid and ("unknown_input", "images.image50") in _codes(r, "3")
    # a slot fed the wrong type
    p["2"] = {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": 64, "height": 64, "batch_size": 1},
    }
    p["3"]["inputs"] = {"images.image0": ["2", 0]}
    r = validate_prompt(p, recent)
    assert ("return_type_mismatch", "images.image0") in _codes(r, "3")


def test_lint_dynamic_combo(recent):
    p = _base()
    p["3"] = {
        "class_type": "ResizeImageMaskNode",
        "inputs": {
            "input": ["1", 0],
            "resize_type": "scale longer dimension",
            "resize_type.longer_size": 2048,
            "scale_method": "area",
        },
    }
    r = validate_prompt(p, recent)
    assert r.valid and not r.errors, r.findings
    # a nested required input missing
    del p["3"]["inputs"]["resize_type.longer_size"]
    r = validate_prompt(p, recent)
    assert not r.valid
    assert ("required_input_missing", "resize_type.longer_size") in _codes(r, "3")
    # nested range check
    p["3"]["inputs"]["resize_type.longer_size"] = 99999
    r = validate_prompt(p, recent)
    assert ("value_bigger_than_max", "resize_type.longer_size") in _codes(r, "3")
    # an unknown option: ComfyUI queues it (and the node fails at run time); we say so
    p["3"]["inputs"] = {"input": ["1", 0], "resize_type": "scale longest", "scale_method": "area"}
    r = validate_prompt(p, recent)
    assert r.valid
    f = [f for f in r.findings if f.code == "dynamic_option_unknown"]
    assert len(f) == 1 and f[0].input_name == "resize_type" and f[0].is_error
    assert "scale longer dimension" in (f[0].hint or "")
    # a sub-input of another option is an unknown input
    p["3"]["inputs"] = {
        "input": ["1", 0],
        "resize_type": "scale longer dimension",
        "resize_type.longer_size": 64,
        "resize_type.width": 5,
        "scale_method": "area",
    }
    assert ("unknown_input", "resize_type.width") in _codes(validate_prompt(p, recent), "3")


def test_lint_matchtype(recent):
    p = _base()
    p["2"] = {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": 64, "height": 64, "batch_size": 1},
    }
    p["3"] = {
        "class_type": "ComfySwitchNode",
        "inputs": {"switch": True, "on_false": ["1", 0], "on_true": ["1", 0]},
    }
    r = validate_prompt(p, recent)
    assert r.valid and not r.errors, r.findings  # MatchType passes ComfyUI's type check
    p["3"]["inputs"]["on_true"] = ["2", 0]
    r = validate_prompt(p, recent)
    assert r.valid and ("matchtype_mismatch", "on_true") in _codes(r, "3")
    p["4"] = {
        "class_type": "ResizeImageMaskNode",
        "inputs": {
            "input": ["2", 0],
            "resize_type": "scale by multiplier",
            "resize_type.multiplier": 2.0,
            "scale_method": "area",
        },
    }
    p["9"]["inputs"]["images"] = ["4", 0]
    r = validate_prompt(p, recent)
    assert ("matchtype_mismatch", "input") in _codes(r, "4")


def test_lint_new_style_combo_is_checked_on_2026(recent, core):
    p = {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0},
        },
        "2": {
            "class_type": "Morphology",
            "inputs": {"image": ["1", 0], "operation": "erod", "kernel_size": 3},
        },
        "3": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}},
    }
    r = validate_prompt(p, recent)
    assert not r.valid and ("value_not_in_list", "operation") in _codes(r, "2")
    r = validate_prompt(p, core)
    assert r.valid and ("combo_not_validated", "operation") in _codes(r, "2")


# -- UI -> API ---------------------------------------------------------------------------------


def test_positional_dynamic_widgets_are_spliced(recent):
    node = {
        "id": 5,
        "type": "TextGenerate",
        "mode": 0,
        "pos": [0, 0],
        "size": [1, 1],
        "flags": {},
        "order": 0,
        "properties": {},
        "inputs": [{"name": "clip", "type": "CLIP", "link": None}],
        "widgets_values": ["hi", 256, "on", 0.7, 64, 0.95, 0.05, 1.05, 7, 0.5, False, True],
    }
    wf = {"last_node_id": 5, "last_link_id": 0, "nodes": [node], "links": [], "version": 0.4}
    p = ui_to_api(wf, recent, warnings=[])
    ins = p["5"]["inputs"]
    assert ins["sampling_mode"] == "on"
    assert ins["sampling_mode.seed"] == 7  # no control widget after a dotted seed
    assert ins["sampling_mode.presence_penalty"] == 0.5
    assert ins["thinking"] is False and ins["use_default_template"] is True
    node["widgets_values"] = ["hi", 256, "off", True, False]
    p = ui_to_api(wf, recent, warnings=[])
    assert p["5"]["inputs"] == {
        "prompt": "hi",
        "max_length": 256,
        "sampling_mode": "off",
        "thinking": True,
        "use_default_template": False,
    }


def test_named_values_win_and_older_named_forms_fall_back(recent):
    node = {
        "id": 2,
        "type": "SaveVideo",
        "mode": 0,
        "pos": [0, 0],
        "size": [1, 1],
        "flags": {},
        "order": 0,
        "properties": {},
        "inputs": [{"name": "video", "type": "VIDEO", "link": None}],
        "widgets_values": ["v/x", "auto", "h264", "re-encode", 20, "sRGB"],
        "widgets_values_named": {
            "filename_prefix": "v/x",
            "format": "auto",
            "format.codec": "h264",
            "format.codec.encoding": "re-encode",
            "format.codec.encoding.crf": 20,
            "format.codec.encoding.color_space": "sRGB",
        },
    }
    wf = {"last_node_id": 2, "last_link_id": 0, "nodes": [node], "links": [], "version": 0.4}
    ins = ui_to_api(wf, recent, warnings=[])["2"]["inputs"]
    assert ins["format.codec.encoding.crf"] == 20
    assert ins["format.codec.encoding.color_space"] == "sRGB"
    # a value the named form lacks is read from the positional form when that fits the spec
    # (SaveVideo keeps a hidden top-level ``codec`` for old workflows, last)
    node["widgets_values"] = ["v/x", "auto", "h264", "auto", "auto"]
    node["widgets_values_named"] = {"filename_prefix": "v/x", "format": "auto"}
    ins = ui_to_api(wf, recent, warnings=[])["2"]["inputs"]
    assert ins == {
        "filename_prefix": "v/x",
        "format": "auto",
        "format.codec": "h264",
        "format.codec.encoding": "auto",
        "codec": "auto",
    }
    # and is the editor's default when it does not fit
    node["widgets_values"] = ["v/x", "auto", "h264"]
    ins = ui_to_api(wf, recent, warnings=[])["2"]["inputs"]
    assert ins == {
        "filename_prefix": "v/x",
        "format": "auto",
        "format.codec": "auto",
        "codec": "auto",
    }


def _one_node_wf(node):
    base = {
        "mode": 0,
        "pos": [0, 0],
        "size": [1, 1],
        "flags": {},
        "order": 0,
        "properties": {},
        "inputs": [],
    }
    return {
        "last_node_id": 9,
        "last_link_id": 0,
        "nodes": [{**base, **node}],
        "links": [],
        "version": 0.4,
    }


def test_an_unknown_option_does_not_shift_the_widgets_after_it(latest):
    """A template newer than the spec saves an option the spec lacks: its sub-widget values
    cannot be named, but the widgets after them are read from the end, not shifted."""
    wf = _one_node_wf(
        {
            "id": 9,
            "type": "MinimaxHailuo03TextToVideoNode",
            "widgets_values": [
                "MiniMax H3 Max",
                "a cat",
                "2K",
                "16:9",
                6,
                "x",
                123,
                "randomize",
                True,
            ],
        }
    )
    w: list[str] = []
    ins = ui_to_api(wf, latest, warnings=w)["9"]["inputs"]
    assert ins == {"model": "MiniMax H3 Max", "seed": 123, "watermark": True}
    assert any("'model'" in m and "5 widget values" in m for m in w), w
    # a known option that gained a widget since the spec: the tail is aligned the same way
    wf["nodes"][0]["widgets_values"] = [
        "MiniMax H3",
        "a cat",
        "2K",
        "16:9",
        6,
        "new",
        7,
        "fixed",
        False,
    ]
    w = []
    ins = ui_to_api(wf, latest, warnings=w)["9"]["inputs"]
    assert ins["model.duration"] == 6 and ins["seed"] == 7 and ins["watermark"] is False
    assert any("1 more widget value" in m for m in w), w


@needs_templates
def test_templates_keep_every_named_value(recent):
    """Over all official templates: no value the editor saved by name for an input of the
    spec (dynamic sub-inputs included) is dropped or changed in the conversion."""
    bad = []
    n_values = 0
    for path in _templates():
        wf = json.loads(path.read_text(encoding="utf-8"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prompt = ui_to_api(wf, recent, warnings=[])
        by_id: dict[str, list[dict]] = {}
        for k, v in prompt.items():
            by_id.setdefault(k.split(":")[-1], []).append(v)
        nodes = list(wf.get("nodes", []))
        for sg in (wf.get("definitions") or {}).get("subgraphs", []):
            nodes += sg.get("nodes", [])
        for n in nodes:
            named = n.get("widgets_values_named")
            ns = recent.get(n.get("type"))
            if not isinstance(named, dict) or ns is None or n.get("mode") in (2, 4):
                continue
            outs = [v for v in by_id.get(str(n["id"]), []) if v["class_type"] == n["type"]]
            linked = {i.get("name") for i in n.get("inputs") or [] if i.get("link") is not None}
            for out in outs:
                inputs = finalize_inputs(ns, out["inputs"])
                for key, val in named.items():
                    if key not in inputs or key in linked:
                        continue
                    n_values += 1
                    got = out["inputs"].get(key)
                    if isinstance(got, list) and len(got) == 2 and isinstance(got[0], str):
                        continue  # linked through a subgraph input
                    if isinstance(got, dict) and "__value__" in got:
                        got = got["__value__"]
                    if got != val:
                        bad.append((path.name, n["id"], key, val, got))
    assert n_values > 3500
    assert not bad, bad[:10]


@needs_templates
def test_templates_round_trip_through_python(latest):
    """convert --to python, then compile, gives back the same prompt for every template;
    dynamic inputs are written in their typed forms."""
    from cmfy_graph.convert.python import prompt_to_python as to_python

    def without_packs(p: dict) -> dict:
        return {
            k: {**e, "_meta": {m: v for m, v in e["_meta"].items() if m == "title"}}
            for k, e in p.items()
        }

    n_option = n_list = n_packs = 0
    for i, path in enumerate(_templates()):
        wf = json.loads(path.read_text(encoding="utf-8"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prompt = ui_to_api(wf, latest, warnings=[])
            src = to_python(prompt, latest, warnings=[])
        ns: dict = {}
        exec(compile(src, path.name, "exec"), ns)
        # the node packs the editor of 2026 puts in _meta are left out of the script
        assert ns["wf"].to_prompt() == without_packs(prompt), path.name
        n_packs += "cnr_id" in json.dumps(prompt)
        n_option += len(re.findall(r"\b[A-Z]\w*\.[A-Z]\w*\.[A-Z]\w*\(", src))
        n_list += src.count("images=[")
        if i % 8 == 0:  # --all-values: exactly the prompt, node packs included
            src = to_python(prompt, latest, warnings=[], all_values=True)
            ns = {}
            exec(compile(src, path.name, "exec"), ns)
            assert ns["wf"].to_prompt() == prompt, path.name
    assert n_option > 300 and n_list > 30 and n_packs > 400


@needs_templates
@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed")
def test_templates_converted_to_python_type_check(tmp_path, latest):
    """The scripts ``convert --to python`` writes for the templates pass ``mypy --strict``:
    typed classes, option classes, generic MatchType nodes; a required input an incomplete
    prompt lacks is written ``OMIT``, on purpose."""
    from cmfy_graph.convert.python import prompt_to_python as to_python

    for i, path in enumerate(_templates()):
        wf = json.loads(path.read_text(encoding="utf-8"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            src = to_python(ui_to_api(wf, latest, warnings=[]), latest, warnings=[])
        (tmp_path / f"t{i}.py").write_text(src, encoding="utf-8")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--follow-imports=silent",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            ".",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=dict(os.environ, MYPYPATH=str(ROOT)),
    )
    errors = [ln for ln in r.stdout.splitlines() if ": error:" in ln]
    assert r.returncode == 0 and not errors, (r.stdout + r.stderr)[:3000]


# What the linter still reports on the templates (beyond missing model/input files and classes
# absent from the spec), by (code, class, input), each explained in the issue-10 note:
# - the template's node is newer than the spec's server: a model, option or value the server
#   does not offer yet, an input that changed type, an output that did not exist;
_NEWER_THAN_SPEC = {
    ("dynamic_option_unknown", ct, "model")
    for ct in (
        "ByteDance2FirstLastFrameNode",
        "ByteDance2ReferenceNodeV2",
        "ByteDance2TextToVideoNode",
        "ByteDanceSeedreamNodeV3",
        "ClaudeNode",
        "ElevenLabsTextToSpeech",
        "FishAudioTextToSpeech",
        "GeminiNanoBanana2V2",
        "MinimaxHailuo03FirstLastFrameNode",
        "MinimaxHailuo03ReferenceNode",
        "MinimaxHailuo03TextToVideoNode",
        "OpenAIGPTImageNodeV2",
        "RecraftV4TextToImageNode",
    )
} | {
    ("dynamic_option_unknown", "RemeshMesh", "sign_mode"),
    ("value_not_in_list", "ByteDanceSeedreamNodeV3", "model.size_preset"),
    ("value_not_in_list", "CLIPLoader", "type"),
    ("value_not_in_list", "ElevenLabsTextToDialogue", "model"),
    ("value_not_in_list", "GrokVideoNode", "model"),
    ("value_not_in_list", "MeshyImageToModelNode", "model"),
    ("value_not_in_list", "MeshyMultiImageToModelNode", "model"),
    ("value_not_in_list", "MeshyTextToModelNode", "model"),
    ("value_not_in_list", "OpenAIChatNode", "model"),
    ("invalid_input_type", "CreateVideo", "bit_depth"),
    ("link_output_out_of_range", "SaveGLB", "mesh"),
    ("link_output_out_of_range", "SaveText", "text"),
}
# - a choice that depends on the server's installation (optional attention backends);
# - real defects of the templates: a scheduler of a custom node pack (beta57), a subgraph
#   output whose link id does not exist in the definition (video_ltx2_i2v_lora).
_EXPLAINED = _NEWER_THAN_SPEC | {
    ("value_not_in_list", "ModelAttentionBackend", "attention"),
    ("value_not_in_list", "KSampler", "scheduler"),
    ("required_input_missing", "SaveVideo", "video"),
}


def _file_or_class_finding(f, spec) -> bool:
    if f.code in ("unknown_class_type", "invalid_prompt"):
        return True
    ns = spec.get(f.class_type) if f.class_type else None
    inp = ns.inputs.get(f.input_name) if ns is not None and f.input_name else None
    return (
        f.code in ("value_not_in_list", "custom_validation_failed")
        and inp is not None
        and inp.file_kind is not None
    )


@needs_templates
def test_templates_lint_without_false_findings(latest):
    unexplained: list[str] = []
    files_with_errors = set()
    # files whose errors all carry the evidence that the template is newer than the spec
    drift_only: set[str] = set()
    drift_codes: set[tuple[str, str | None, str | None]] = set()
    results = list(lint_paths([str(p) for p in _templates()], latest))
    for r in results:
        name = Path(r.file).name
        errors = [f for f in r.findings if f.is_error and not _file_or_class_finding(f, latest)]
        for f in errors:
            files_with_errors.add(name)
            if f.hint and SPEC_DRIFT_HINT in f.hint:
                drift_codes.add((f.code, f.class_type, f.input_name))
            if (f.code, f.class_type, f.input_name) not in _EXPLAINED:
                unexplained.append(f"{name}: {f}")
        if errors and all(f.hint and SPEC_DRIFT_HINT in f.hint for f in errors):
            drift_only.add(name)
    # no MatchType, autogrow or dynamic-combo false alarms (801 + 230 before this work)
    assert not unexplained, unexplained[:10]
    assert len(files_with_errors) <= 68
    # the drift is shown where the file proves it: values for inputs the spec lacks
    # (CreateVideo's color_space), a link from an output it lacks (Tripo's FBX), an option
    # saved with values of its own; only findings of the spec's drift carry that hint
    assert drift_codes <= _NEWER_THAN_SPEC, drift_codes - _NEWER_THAN_SPEC
    assert {
        ("invalid_input_type", "CreateVideo", "bit_depth"),
        ("link_output_out_of_range", "SaveGLB", "mesh"),
        ("link_output_out_of_range", "SaveText", "text"),
        ("dynamic_option_unknown", "ClaudeNode", "model"),
    } <= drift_codes
    assert len(drift_only) >= 48
    # what is left: values alone newer than the spec (no evidence in the file), an
    # installation-dependent list, and the two real defects
    assert len(files_with_errors - drift_only) <= 20, sorted(files_with_errors - drift_only)

    # By the templates' own index (minComfyUIVersion), the spec's server runs what needs
    # ComfyUI 0.33.3 and not what needs 0.33.4: 13 of the 487 templates that declare 0.33.3
    # or less use a class absent from the spec, 101 of the 157 that declare more do. Of the
    # templates the server should run, these have errors, each explained:
    minimum = _declared_minimum_versions()
    runnable = {f"{name}.json" for name, v in minimum.items() if v <= _RECENT_SPEC_COMFYUI}
    assert len(runnable) >= 480
    unknown_class = {
        Path(r.file).name
        for r in results
        if any(f.code == "unknown_class_type" for f in r.findings)
    }
    assert len(unknown_class & runnable) <= 13
    assert len(unknown_class - runnable) >= 100
    assert files_with_errors & runnable == set(_RUNNABLE_WITH_ERRORS), sorted(
        files_with_errors & runnable
    )
    # those whose index understates the node versions they need show it in the file
    assert set(_STALE_MINIMUM) <= drift_only
    for name, declared in _STALE_MINIMUM.items():
        assert minimum[name.removesuffix(".json")] == tuple(map(int, declared.split(".")))


# The ComfyUI of object_info_recent.json, as the templates' index places it (see above).
_RECENT_SPEC_COMFYUI = (0, 33, 3)
# Templates that declare a minimum ComfyUI the spec's server meets, yet their nodes were saved
# by a newer one (the file proves it: values for inputs or sub-inputs the spec lacks): the
# index's minimum is out of date, a defect of the template's metadata.
_STALE_MINIMUM = {
    # CreateVideo saved with bit_depth 'auto', color_space and codec (0.33.4+ templates)
    "templates_mjm_looped_restyler.json": "0.3.53",
    "templates-car_product.json": "0.8.0",
    "video_ltx2_3_ia2v.json": "0.16.4",
    "video_ltx2_3_t2v.json": "0.16.4",
    "video_ltx2_3_ic_lora.json": "0.22.0",
    # Meshy nodes saved with model 'meshy-6' and sub-inputs the spec's nodes lack
    "api_meshy_image_to_model.json": "0.9.2",
    "api_meshy_text_to_model.json": "0.9.2",
    "api_meshy_multi_image_to_model.json": "0.23.0",
    # Seedream's 'seedream 5.0 lite' saved with prompt_optimization and a 1K size preset
    "api_bytedance_seedream_5_0_lite_image_edit.json": "0.31.0",
}
_RUNNABLE_WITH_ERRORS = {
    **_STALE_MINIMUM,
    # real defects: KSampler's 'beta57' is a scheduler of a custom node pack, not core's
    "template_rob_realistic_2k_images_quick_variations.json": "beta57",
    "templates_rob_realistic_2k_images_quick_variations.app.json": "beta57",
    # a subgraph output whose link id is not in the definition: SaveVideo gets no video
    "video_ltx2_i2v_lora.json": "linkIds",
    # 'comfy kitchen attention' is offered where the comfy-kitchen package is installed
    "image_minimax_h3_t2i.json": "installation",
}


def _declared_minimum_versions() -> dict[str, tuple[int, ...]]:
    """The templates' minimum ComfyUI versions as their package's index declares them."""
    d = _templates_dir()
    assert d is not None
    out: dict[str, tuple[int, ...]] = {}
    for category in json.loads((d / "index.json").read_text(encoding="utf-8")):
        for t in category["templates"]:
            v = t.get("minComfyUIVersion") or "0"
            out[t["name"]] = tuple(int(x) for x in v.split("."))
    return out


# -- DSL and codegen -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dyn_nodes(tmp_path_factory, recent):
    out = tmp_path_factory.mktemp("gen") / "dyn_nodes"
    sub = Spec({k: recent[k] for k in DSL_CLASSES}, source="recent subset")
    generate(sub, out)
    sys.path.insert(0, str(out.parent))
    try:
        importlib.invalidate_caches()
        yield importlib.import_module("dyn_nodes")
    finally:
        sys.path.remove(str(out.parent))


def test_dsl_compiles_exactly_the_editor_keys(dyn_nodes, recent):
    m = dyn_nodes
    with Workflow() as wf:
        a = m.LoadImage(image="a.png")
        b = m.LoadImage(image="b.png")
        batch = m.BatchImagesNode(images=[a.image, b.image])
        big = m.ResizeImageMaskNode(
            input=batch,
            resize_type=DynamicOption("scale longer dimension", longer_size=2048),
        )
        dflt = m.ResizeImageMaskNode(input=a.image, resize_type="scale dimensions")
        sw = m.ComfySwitchNode(switch=True, on_false=big, on_true=dflt)
        m.SaveImage(images=m.ImageInvert(image=sw))
        m.BatchImagesNode(images={"image0": b.image, "image3": a.image})
    p = wf.to_prompt()
    assert p[batch.id]["inputs"] == {"images.image0": [a.id, 0], "images.image1": [b.id, 0]}
    assert p[big.id]["inputs"]["resize_type.longer_size"] == 2048
    assert "resize_type.width" not in p[big.id]["inputs"]
    assert p[dflt.id]["inputs"]["resize_type.width"] == 512  # the editor's default
    assert p[dflt.id]["inputs"]["resize_type.crop"] == "center"
    # the MatchType output follows what was plugged in
    assert sw.type == "IMAGE" and big.type == "IMAGE"
    r = validate_prompt(p, recent)
    assert not [f for f in r.errors if f.code != "custom_validation_failed"], r.findings
    # API -> Python -> API gives the same prompt back, with the typed forms
    src = prompt_to_python(p, recent, warnings=[])
    assert "images=[load_image.image, load_image_2.image]" in src
    assert "ResizeImageMaskNode.ResizeType.ScaleLongerDimension(longer_size=2048)" in src
    ns: dict = {}
    exec(compile(src, "<converted>", "exec"), ns)
    assert ns["wf"].to_prompt() == p


def test_dsl_rejects_bad_dynamic_values(dyn_nodes):
    m = dyn_nodes
    with Workflow():
        img = m.LoadImage(image="a.png").image
        with pytest.raises(TypeError, match="unexpected input 'width'"):
            m.ResizeImageMaskNode(
                input=img, resize_type=DynamicOption("scale longer dimension", width=3)
            )
        with pytest.raises(NodeValueError, match="did you mean 'scale longer dimension'"):
            m.ResizeImageMaskNode(input=img, resize_type="scale longest")
        with pytest.raises(NodeInputError, match="at least 1"):
            m.BatchImagesNode(images=[])
        with pytest.raises(NodeInputError, match="image0 missing"):
            m.BatchImagesNode(images={"image2": img})
        with pytest.raises(NodeValueError, match="50 slots"):
            m.BatchImagesNode(images=[img] * 51)
        with pytest.raises(NodeInputError, match="IMAGE or MASK, got LATENT"):
            m.ResizeImageMaskNode(input=m.EmptyLatentImage(), resize_type="scale width")
        with pytest.raises(NodeInputError, match="share one type"):
            m.ComfySwitchNode(switch=True, on_false=img, on_true=m.LoadAudio(audio="x.wav"))
        with pytest.raises(NodeValueError, match="must be <= 16384"):
            m.ResizeImageMaskNode(input=img, resize_type=DynamicOption("scale width", width=99999))


TYPED_SNIPPET = """\
from cmfy_graph import Workflow
from dyn_nodes import (
    BatchImagesNode, ComfySwitchNode, ImageInvert, LoadAudio, LoadImage, ResizeImageMaskNode
)

R = ResizeImageMaskNode.ResizeType
with Workflow() as wf:
    a = LoadImage(image="a.png")
    batch = BatchImagesNode(images=[a.image, ImageInvert(image=a.image)])
    ResizeImageMaskNode(input=batch, resize_type=R.ScaleWidth(width=64))
    BatchImagesNode(images=[LoadAudio(audio="x.wav")])
    ResizeImageMaskNode(input=batch, resize_type="bogus")
    ResizeImageMaskNode(input=LoadAudio(audio="x.wav"), resize_type="scale width")
    ResizeImageMaskNode(input=batch, resize_type=R.ScaleWidth(longer_size=64))
    reveal_type(ResizeImageMaskNode(input=batch).resize_type)
    reveal_type(ComfySwitchNode(switch=True, on_false=a.image, on_true=a.image))
    ImageInvert(image=ComfySwitchNode(switch=True, on_false=a.mask, on_true=a.mask))
"""


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed")
def test_mypy_types_dynamic_inputs(tmp_path, recent):
    out = tmp_path / "dyn_nodes"
    generate(Spec({k: recent[k] for k in DSL_CLASSES}, source="recent subset"), out)
    f = tmp_path / "snippet.py"
    f.write_text(TYPED_SNIPPET)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--follow-imports=silent",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            str(f),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=dict(os.environ, MYPYPATH=os.pathsep.join([str(ROOT), str(tmp_path)])),
    )
    errors = [ln for ln in r.stdout.splitlines() if ln.startswith(f.name) and ": error:" in ln]
    assert not any(":9:" in ln or ":10:" in ln for ln in errors), r.stdout
    assert any(":11:" in ln and "LoadAudio" in ln for ln in errors), r.stdout
    assert any(":12:" in ln and "resize_type" in ln for ln in errors), r.stdout
    # MatchType: the node is generic in the allowed types (IMAGE, MASK)
    assert any(":13:" in ln and "cannot be \"Literal['AUDIO']\"" in ln for ln in errors), r.stdout
    # a sub-input of another option is refused by the option's class
    assert any(
        ":14:" in ln and 'Unexpected keyword argument "longer_size"' in ln for ln in errors
    ), r.stdout
    assert 'snippet.py:15: note: Revealed type is "cmfy_graph.graph.InputRef"' in r.stdout
    # ... and its output is typed as what was plugged in
    assert "snippet.py:16: note: Revealed type is" in r.stdout
    assert "ComfySwitchNode[Literal['IMAGE']]" in r.stdout
    assert any(":17:" in ln and "MASK" in ln for ln in errors), r.stdout
    assert len(errors) == 6, r.stdout  # line 17 twice: on_false and on_true


# -- round trips (hypothesis) -------------------------------------------------------------------

_OPTIONS = [
    (
        "scale dimensions",
        {
            "width": st.integers(0, 16384),
            "height": st.integers(0, 16384),
            "crop": st.sampled_from(["disabled", "center"]),
        },
    ),
    ("scale by multiplier", {"multiplier": st.floats(0.01, 8.0, allow_nan=False)}),
    ("scale longer dimension", {"longer_size": st.integers(0, 16384)}),
    ("scale to multiple", {"multiple": st.integers(1, 16384)}),
]


@st.composite
def _dynamic_prompts(draw):
    n_img = draw(st.integers(1, 4))
    p: dict = {}
    for i in range(n_img):
        p[str(i + 1)] = {"class_type": "LoadImage", "inputs": {"image": f"img{i}.png"}}
    slots = ["image0"] + draw(
        st.lists(st.sampled_from([f"image{j}" for j in range(1, 6)]), max_size=4, unique=True)
    )
    p["20"] = {
        "class_type": "BatchImagesNode",
        "inputs": {f"images.{s}": [str(draw(st.integers(1, n_img))), 0] for s in slots},
    }
    key, subs = draw(st.sampled_from(_OPTIONS))
    ins: dict = {"resize_type": key}
    for name, strat in subs.items():
        ins[f"resize_type.{name}"] = draw(strat)
    ins["scale_method"] = draw(st.sampled_from(["area", "lanczos", "bilinear"]))
    ins["input"] = ["20", 0]
    p["21"] = {"class_type": "ResizeImageMaskNode", "inputs": ins}
    p["22"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": "x", "images": ["21", 0]}}
    return p


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_dynamic_prompts())
def test_dynamic_prompts_round_trip_api_python_api(recent, prompt):
    src = prompt_to_python(copy.deepcopy(prompt), recent, warnings=[])
    ns: dict = {}
    exec(compile(src, "<converted>", "exec"), ns)
    assert ns["wf"].to_prompt() == prompt
    # and the linter agrees with itself on what it accepts
    r = validate_prompt(prompt, recent)
    assert not [f for f in r.errors if f.code not in ("custom_validation_failed",)]


# -- a workflow newer than the spec: the drift is shown where the file proves it -------------


def _wf(nodes: list[dict], links: list[list]) -> dict:
    return {"last_node_id": 9, "last_link_id": 9, "nodes": nodes, "links": links, "version": 0.4}


def _lint_one(tmp_path: Path, wf: dict, spec: Spec):
    p = tmp_path / "wf.json"
    p.write_text(json.dumps(wf), encoding="utf-8")
    (result,) = lint_paths([str(p)], spec)
    return result


def _load_and_create_video(named: dict) -> list[dict]:
    load = {
        "id": 1,
        "type": "LoadImage",
        "mode": 0,
        "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [1]}],
        "widgets_values": ["a.png", "image"],
    }
    create = {
        "id": 2,
        "type": "CreateVideo",
        "mode": 0,
        "inputs": [{"name": "images", "type": "IMAGE", "link": 1}],
        "outputs": [{"name": "VIDEO", "type": "VIDEO", "links": [2]}],
        "widgets_values": list(named.values()),
        "widgets_values_named": named,
    }
    save = {
        "id": 3,
        "type": "SaveVideo",
        "mode": 0,
        "inputs": [{"name": "video", "type": "VIDEO", "link": 2}],
        "widgets_values_named": {"filename_prefix": "v", "format": "auto", "codec": "auto"},
    }
    return [load, create, save]


def test_values_for_inputs_the_spec_lacks_explain_the_error_on_that_node(tmp_path, recent):
    nodes = _load_and_create_video(
        {"fps": 24, "bit_depth": "auto", "color_space": "bt709", "codec": "h264"}
    )
    wf = _wf(nodes, [[1, 1, 0, 2, 0, "IMAGE"], [2, 2, 0, 3, 0, "VIDEO"]])
    r = _lint_one(tmp_path, wf, recent)
    (f,) = [f for f in r.findings if f.is_error and f.class_type == "CreateVideo"]
    assert f.code == "invalid_input_type" and f.input_name == "bit_depth"
    assert "values for inputs the spec's lacks (color_space, codec)" in f.hint
    assert f.hint.endswith(SPEC_DRIFT_HINT)
    # the evidence alone (a node with no error) is no finding: editors keep such values
    nodes = _load_and_create_video({"fps": 24, "bit_depth": 8, "color_space": "bt709"})
    r = _lint_one(
        tmp_path, _wf(nodes, [[1, 1, 0, 2, 0, "IMAGE"], [2, 2, 0, 3, 0, "VIDEO"]]), recent
    )
    assert not [f for f in r.findings if f.class_type == "CreateVideo"], r.findings
    # a value that does not fit, with no sign of a newer node: no drift hint
    nodes = _load_and_create_video({"fps": 24, "bit_depth": "auto"})
    r = _lint_one(
        tmp_path, _wf(nodes, [[1, 1, 0, 2, 0, "IMAGE"], [2, 2, 0, 3, 0, "VIDEO"]]), recent
    )
    (f,) = [f for f in r.findings if f.is_error and f.class_type == "CreateVideo"]
    assert SPEC_DRIFT_HINT not in (f.hint or "")


def test_a_link_from_an_output_the_spec_lacks_is_explained_at_its_target(tmp_path, recent):
    tripo = {
        "id": 1,
        "type": "TripoTextToModelNode",
        "mode": 0,
        "outputs": [
            {"name": "model_file", "type": "STRING", "links": []},
            {"name": "model task_id", "type": "MODEL_TASK_ID", "links": []},
            {"name": "GLB", "type": "FILE_3D_GLB", "links": []},
            {"name": "FBX", "type": "FILE_3D_FBX", "links": [1]},
        ],
        "widgets_values_named": {"prompt": "a chair"},
    }
    save = {
        "id": 2,
        "type": "SaveGLB",
        "mode": 0,
        "inputs": [{"name": "mesh", "type": "FILE_3D_FBX", "link": 1}],
        "widgets_values_named": {"filename_prefix": "mesh/x"},
    }
    r = _lint_one(tmp_path, _wf([tripo, save], [[1, 1, 3, 2, 0, "FILE_3D_FBX"]]), recent)
    (f,) = [f for f in r.findings if f.code == "link_output_out_of_range"]
    assert (f.node_id, f.input_name) == ("2", "mesh")
    assert "the saved TripoTextToModelNode (node 1) has 4 outputs, the spec's 3" in f.hint
    assert "output 3 (FBX)" in f.hint and SPEC_DRIFT_HINT in f.hint
    # the same link with the node saved as the spec has it: a broken link, no drift
    tripo["outputs"] = tripo["outputs"][:3]
    r = _lint_one(tmp_path, _wf([tripo, save], [[1, 1, 3, 2, 0, "FILE_3D_FBX"]]), recent)
    (f,) = [f for f in r.findings if f.code == "link_output_out_of_range"]
    assert SPEC_DRIFT_HINT not in (f.hint or "")


def test_an_unknown_option_saved_with_values_of_its_own_is_drift(tmp_path, recent):
    ns = recent["ResizeImageMaskNode"]
    load = {
        "id": 1,
        "type": "LoadImage",
        "mode": 0,
        "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [1]}],
        "widgets_values": ["a.png", "image"],
    }
    resize = {
        "id": 2,
        "type": "ResizeImageMaskNode",
        "mode": 0,
        "inputs": [{"name": "input", "type": "IMAGE", "link": 1}],
        "outputs": [{"name": "resized", "type": "IMAGE", "links": [2]}],
        "widgets_values_named": {
            "resize_type": "scale to area",
            "resize_type.megapixels": 1.0,
            "scale_method": "area",
        },
    }
    save = {
        "id": 3,
        "type": "SaveImage",
        "mode": 0,
        "inputs": [{"name": "images", "type": "IMAGE", "link": 2}],
        "widgets_values": ["x"],
    }
    assert ns.inputs["resize_type"].dynamic.option("scale to area") is None
    links = [[1, 1, 0, 2, 0, "IMAGE"], [2, 2, 0, 3, 0, "IMAGE"]]
    r = _lint_one(tmp_path, _wf([load, resize, save], links), recent)
    (f,) = [f for f in r.findings if f.code == "dynamic_option_unknown"]
    assert "saved option 'scale to area' of 'resize_type' with values of its own" in f.hint
    assert "resize_type.megapixels" in f.hint and SPEC_DRIFT_HINT in f.hint
    # a misspelt option with no values of its own: a did-you-mean, no drift
    del resize["widgets_values_named"]["resize_type.megapixels"]
    r = _lint_one(tmp_path, _wf([load, resize, save], links), recent)
    (f,) = [f for f in r.findings if f.code == "dynamic_option_unknown"]
    assert SPEC_DRIFT_HINT not in (f.hint or "")


def test_a_known_option_saved_with_sub_inputs_it_lacks_is_drift(tmp_path, recent):
    # the editor saves exactly the widgets a node has: 'scale width' with a 'crop' (which the
    # spec's option lacks) was saved by another version of the node
    load = {
        "id": 1,
        "type": "LoadImage",
        "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [1]}],
        "widgets_values": ["a.png", "image"],
    }
    resize = {
        "id": 2,
        "type": "ResizeImageMaskNode",
        "inputs": [{"name": "input", "type": "IMAGE", "link": 1}],
        "outputs": [{"name": "resized", "type": "IMAGE", "links": [2]}],
        "widgets_values_named": {
            "resize_type": "scale width",
            "resize_type.width": "wide",
            "resize_type.crop": "center",
            "scale_method": "area",
        },
    }
    save = {
        "id": 3,
        "type": "SaveImage",
        "inputs": [{"name": "images", "type": "IMAGE", "link": 2}],
        "widgets_values": ["x"],
    }
    links = [[1, 1, 0, 2, 0, "IMAGE"], [2, 2, 0, 3, 0, "IMAGE"]]
    wf = _wf([{"mode": 0, **n} for n in (load, resize, save)], links)
    drift: list[str] = []
    prompt = ui_to_api(wf, recent, warnings=[], drift=drift)
    assert "resize_type.crop" not in prompt["2"]["inputs"]  # the spec's option has none
    (d,) = drift
    assert (d.node_id, d.input_name) == ("2", "resize_type")
    assert "option 'scale width' of 'resize_type'" in d and "(resize_type.crop)" in d
    # lint gives it as the hint of the error on a sub-input of that combo
    r = _lint_one(tmp_path, wf, recent)
    (f,) = [f for f in r.findings if f.is_error and f.node_id == "2"]
    assert (f.code, f.input_name) == ("invalid_input_type", "resize_type.width")
    assert "(resize_type.crop)" in f.hint and f.hint.endswith(SPEC_DRIFT_HINT)
    # the option's own sub-inputs only: no evidence
    del resize["widgets_values_named"]["resize_type.crop"]
    wf = _wf([{"mode": 0, **n} for n in (load, resize, save)], links)
    drift = []
    ui_to_api(wf, recent, warnings=[], drift=drift)
    assert not drift


def test_a_subgraph_output_wired_by_a_missing_link_is_said(recent):
    # a definition whose output names a link id the definition does not have (a defect the
    # official template video_ltx2_i2v_lora ships with): nothing reaches the consumer
    sub_id = "0d6c0b2e-2b7a-4c1e-9a51-7f1f3b7f0a11"
    definition = {
        "id": sub_id,
        "name": "Make image",
        "inputs": [],
        "outputs": [{"id": "o1", "name": "IMAGE", "type": "IMAGE", "linkIds": [7]}],
        "nodes": [
            {
                "id": 1,
                "type": "EmptyImage",
                "mode": 0,
                "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [5]}],
                "widgets_values": [64, 64, 1, 0],
            }
        ],
        "links": [],
    }
    inst = {
        "id": 4,
        "type": sub_id,
        "mode": 0,
        "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [1]}],
    }
    save = {
        "id": 5,
        "type": "SaveImage",
        "mode": 0,
        "inputs": [{"name": "images", "type": "IMAGE", "link": 1}],
        "widgets_values": ["x"],
    }
    wf = _wf([inst, save], [[1, 4, 0, 5, 0, "IMAGE"]])
    wf["definitions"] = {"subgraphs": [definition]}
    notes: list[str] = []
    prompt = ui_to_api(wf, recent, warnings=notes)
    assert "images" not in prompt["5"]["inputs"]
    assert [str(n) for n in notes] == [
        "node 4 (subgraph 'Make image'): output 0 'IMAGE' is wired by link 7, which the "
        "definition lacks: nothing is sent through it"
    ]
    # an output not wired inside at all
    definition["outputs"][0]["linkIds"] = []
    notes = []
    ui_to_api(wf, recent, warnings=notes)
    assert [str(n) for n in notes] == [
        "node 4 (subgraph 'Make image'): output 0 'IMAGE' is not wired to anything inside "
        "the definition: nothing is sent through it"
    ]
    # wired as saved: no note, the image arrives
    definition["outputs"][0]["linkIds"] = [5]
    definition["links"] = [
        {
            "id": 5,
            "origin_id": 1,
            "origin_slot": 0,
            "target_id": -20,
            "target_slot": 0,
            "type": "IMAGE",
        }
    ]
    notes = []
    prompt = ui_to_api(wf, recent, warnings=notes)
    assert prompt["5"]["inputs"]["images"] == ["4:1", 0] and not notes


def test_drift_evidence_is_collected_apart_from_warnings(recent):
    nodes = _load_and_create_video(
        {"fps": 24, "bit_depth": 8, "color_space": "bt709", "codec": "h264"}
    )
    wf = _wf(nodes, [[1, 1, 0, 2, 0, "IMAGE"], [2, 2, 0, 3, 0, "VIDEO"]])
    notes: list[str] = []
    drift: list[str] = []
    with_drift = ui_to_api(wf, recent, warnings=notes, drift=drift)
    assert with_drift == ui_to_api(wf, recent, warnings=[])  # the prompt does not change
    assert not notes
    (d,) = drift
    assert (d.node_id, d.input_name) == ("2", None) and "color_space, codec" in d


# -- the editor of ComfyUI 2026 (frontend 1.58.1) against that of October 2025 (1.27.10) ------


def _one_node_wf(node: dict) -> dict:
    return _wf([{"mode": 0, **node}], [])


def test_the_2026_editor_sends_the_node_pack_in_meta(latest, core):
    props = {"cnr_id": "comfy-core", "ver": "v0.3.64", "Node name for S&R": "EmptyImage"}
    node = {
        "id": 1,
        "type": "EmptyImage",
        "title": "Blank",
        "properties": props,
        "widgets_values": [8, 8, 1, 0],
    }
    assert ui_to_api(_one_node_wf(node), latest)["1"]["_meta"] == {
        "title": "Blank",
        "cnr_id": "comfy-core",
        "ver": "0.3.64",  # the leading v stripped, as the editor's schema does
    }
    # October 2025's editor sends the title alone
    assert ui_to_api(_one_node_wf(node), core)["1"]["_meta"] == {"title": "Blank"}
    # fields the editor's schema refuses are left out; aux_id is kept as written
    node["properties"] = {"cnr_id": "-bad", "aux_id": "some-user/some.repo", "ver": "latest"}
    assert ui_to_api(_one_node_wf(node), latest)["1"]["_meta"] == {
        "title": "Blank",
        "aux_id": "some-user/some.repo",
    }
    node["properties"] = {"aux_id": "a/b/c", "ver": "unknown"}
    assert ui_to_api(_one_node_wf(node), latest)["1"]["_meta"]["ver"] == "unknown"
    assert "aux_id" not in ui_to_api(_one_node_wf(node), latest)["1"]["_meta"]


@given(
    st.dictionaries(
        st.sampled_from(["cnr_id", "aux_id", "ver", "other"]),
        st.one_of(st.text(max_size=12), st.integers(), st.none()),
    )
)
def test_node_pack_fields_are_only_ever_valid_copies(props):
    from cmfy_graph.convert.ui._model import pack_metadata

    meta: dict = {}
    pack_metadata(props, meta)
    assert set(meta) <= {"cnr_id", "aux_id", "ver"}
    for k, v in meta.items():
        assert isinstance(v, str) and v
        assert v == props[k] or (k == "ver" and props[k] == "v" + v)
        assert "/" not in v or k == "aux_id"


def test_the_2026_editor_neither_saves_nor_sends_players_and_previews(latest, core):
    audio = {"id": 1, "type": "LoadAudio", "widgets_values": ["a.mp3", None, None]}
    preview = {"id": 2, "type": "PreviewAny", "widgets_values": [None, None, None]}
    wf = _wf([{"mode": 0, **audio}, {"mode": 0, **preview}], [])
    notes: list[str] = []
    new = ui_to_api(wf, latest, warnings=notes)
    assert new["1"]["inputs"] == {"audio": "a.mp3"}  # audioUI: serialize false (1.58.1)
    assert new["2"]["inputs"] == {}  # preview_text, preview_mode: serialize false
    assert not notes  # empty previews saved by an editor in between carry nothing
    old = ui_to_api(wf, core, warnings=[])
    assert old["1"]["inputs"]["audioUI"] == "" and old["2"]["inputs"]["preview"] == ""


def test_the_2026_editor_sends_an_unsaved_image_compare_view(latest):
    node = {"id": 1, "type": "ImageCompare", "widgets_values": []}
    notes: list[str] = []
    out = ui_to_api(_one_node_wf(node), latest, warnings=notes)
    # useImageCompareWidget: value ['', ''], sent (a list travels wrapped), never saved
    assert out["1"]["inputs"] == {"compare_view": {"__value__": ["", ""]}}
    assert not notes  # nothing saved is nothing missing


def test_the_2026_editor_titles_nodes_the_server_leaves_unnamed(latest):
    # a V3 class with an empty display name: the editor's bundled English name
    assert not latest["EmptyLTXVLatentVideo"].raw.get("display_name")
    node = {"id": 1, "type": "EmptyLTXVLatentVideo", "widgets_values": [768, 512, 97, 1]}
    assert ui_to_api(_one_node_wf(node), latest)["1"]["_meta"]["title"] == (
        "Empty LTXV Latent Video"
    )


def test_the_2026_editor_sends_custom_combo_options_and_index(tmp_path, latest):
    # customWidgets.ts: choice, a hidden index (sent: the choice's place among the options),
    # option1..N restored up to the first empty one, which stays last
    node = {"id": 1, "type": "CustomCombo", "widgets_values": ["b", 0, "a", "b", ""]}
    notes: list[str] = []
    got = ui_to_api(_one_node_wf(node), latest, warnings=notes)["1"]["inputs"]
    assert got == {"choice": "b", "index": 1, "option1": "a", "option2": "b", "option3": ""}
    # a value after the first empty option has no widget to go to
    node["widgets_values"] = ["b", 0, "a", "b", "", "zzz"]
    later: list[str] = []
    assert ui_to_api(_one_node_wf(node), latest, warnings=later)["1"]["inputs"] == got
    assert "extra values ignored" in later[0]
    named = {"choice": "c", "index": 0, "option1": "a", "option2": "c", "option3": ""}
    node = {"id": 1, "type": "CustomCombo", "widgets_values_named": named}
    got = ui_to_api(_one_node_wf(node), latest, warnings=notes)["1"]["inputs"]
    assert got == {**named, "index": 1}  # recomputed, not the saved 0
    assert not notes
    # the linter knows these inputs come from the editor
    node["outputs"] = [{"name": "STRING", "type": "STRING", "links": [1]}]
    prev = {"id": 2, "type": "PreviewAny", "inputs": [{"name": "source", "type": "*", "link": 1}]}
    r = _lint_one(
        tmp_path, _wf([{"mode": 0, **node}, {"mode": 0, **prev}], [[1, 1, 0, 2, 0, "*"]]), latest
    )
    assert not [f for f in r.findings if f.code == "unknown_input"], r.findings


# -- one cause, one line, on today's templates ---------------------------------------------


def test_nodes_behind_an_unknown_class_are_not_called_unreachable(latest):
    p = {
        "1": {"class_type": "NoSuchNode", "inputs": {"image": ["2", 0]}},
        "2": {
            "class_type": "EmptyImage",
            "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0},
        },
        "3": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}},
        "4": {
            "class_type": "EmptyImage",
            "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0},
        },
    }
    r = validate_prompt(p, latest)
    assert [f.code for f in r.findings if f.node_id == "1"] == ["unknown_class_type"]
    # node 2 feeds the unknown node: fixing that class is what makes it run
    assert [f.node_id for f in r.findings if f.code == "unreachable_node"] == ["4"]


def test_the_sub_inputs_of_an_unknown_option_are_not_unknown_inputs_too(latest):
    load = {"class_type": "LoadImage", "inputs": {"image": "a.png"}}
    save = {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "x"}}
    resize = {
        "class_type": "ResizeImageMaskNode",
        "inputs": {
            "input": ["1", 0],
            "resize_type": "bogus",
            "resize_type.width": 5,
            "scale_method": "area",
        },
    }
    r = validate_prompt({"1": load, "2": resize, "3": save}, latest)
    assert [(f.code, f.input_name) for f in r.findings if f.node_id == "2"] == [
        ("dynamic_option_unknown", "resize_type")
    ]
    # under a known option, a sub-input of another option is ignored by ComfyUI: said
    resize["inputs"]["resize_type"] = "scale by multiplier"
    resize["inputs"]["resize_type.multiplier"] = 2.0
    r = validate_prompt({"1": load, "2": resize, "3": save}, latest)
    assert [(f.code, f.input_name) for f in r.findings if f.node_id == "2"] == [
        ("unknown_input", "resize_type.width")
    ]


def test_widgets_newer_than_the_file_get_their_defaults_without_a_word(tmp_path, latest):
    model = {
        "id": 1,
        "type": "UNETLoader",
        "mode": 0,
        "outputs": [{"name": "MODEL", "type": "MODEL", "links": [1]}],
        "widgets_values": ["m.safetensors", "default"],
    }
    norm = {
        "id": 2,
        "type": "CFGNorm",
        "mode": 0,
        "inputs": [{"name": "model", "type": "MODEL", "link": 1}],
        "outputs": [{"name": "patched_model", "type": "MODEL", "links": []}],
        "widgets_values": [1.0],  # saved before CFGNorm had pre_cfg
    }
    wf = _wf([model, norm], [[1, 1, 0, 2, 0, "MODEL"]])
    notes: list[str] = []
    ui_to_api(wf, latest, warnings=notes)
    assert any("using defaults for pre_cfg" in n for n in notes)  # convert says it
    r = _lint_one(tmp_path, wf, latest)
    assert not [f for f in r.findings if f.code == "conversion_warning"], r.findings
    # where the node has a finding, the note becomes its hint
    norm["widgets_values"] = ["strong"]
    r = _lint_one(tmp_path, wf, latest)
    (f,) = [f for f in r.findings if f.node_id == "2" and f.code == "invalid_input_type"]
    assert "using defaults for pre_cfg" in f.hint


def test_the_2026_editor_replaces_text_in_more_save_nodes(latest, core):
    img = {
        "id": 1,
        "type": "EmptyImage",
        "mode": 0,
        "widgets_values": [640, 8, 1, 0],
        "properties": {"Node name for S&R": "EmptyImage"},
    }
    save = {
        "id": 2,
        "type": "SaveVideo",
        "mode": 0,
        "widgets_values": ["v/%EmptyImage.width%", "auto", "auto"],
    }
    got = ui_to_api(_wf([img, save], []), latest, warnings=[])
    # saveImageExtraOutput.ts of 1.58.1 lists SaveVideo among the save nodes
    assert got["2"]["inputs"]["filename_prefix"] == "v/640"


def test_the_2026_editor_sends_load3d_buttons_and_renders_its_scene(latest, core):
    node = {
        "id": 1,
        "type": "Load3D",
        "widgets_values": ["toy.glb", "upload3dmodel", "uploadExtraResources", "clear", "", 64, 48],
    }
    notes: list[str] = []
    got = ui_to_api(_one_node_wf(node), latest, warnings=notes)["1"]["inputs"]
    # load3d.ts: buttons named for people, valued with the old names, sent
    assert got == {
        "model_file": "toy.glb",
        "upload 3d model": "upload3dmodel",
        "upload extra resources": "uploadExtraResources",
        "clear": "clear",
        "image": "",
        "width": 64,
        "height": 48,
    }
    # the scene is rendered and uploaded in the browser when queueing: said, not faked
    assert len(notes) == 1 and "renders the 3D scene" in notes[0]
    old = ui_to_api(_one_node_wf(node), core, warnings=[])["1"]["inputs"]
    assert "clear" not in old and old["width"] == 64


def test_positional_restore_as_the_2026_editor_does_by_default(latest):
    # a node saved when EmptyImage had its widgets in another order: the named form says
    # what was meant, the positional one is what the default editor restores
    node = {
        "id": 1,
        "type": "EmptyImage",
        "widgets_values": [16, 640, 1, 0],
        "widgets_values_named": {"height": 16, "width": 640, "batch_size": 1, "color": 0},
    }
    by_name = ui_to_api(_one_node_wf(node), latest)["1"]["inputs"]
    by_position = ui_to_api(_one_node_wf(node), latest, named_values=False)["1"]["inputs"]
    assert (by_name["width"], by_name["height"]) == (640, 16)
    assert (by_position["width"], by_position["height"]) == (16, 640)


_JUNK = [None, 1, -1, 2.5, "x", "", [], {}, [1, 2], {"a": 1}, True, "4294967295", "01"]


def _mutated(wf: object, rng) -> None:
    """Replace or drop about 3% of the fields of a workflow, at every depth."""
    if isinstance(wf, dict):
        for k in list(wf):
            r = rng.random()
            if r < 0.03:
                wf[k] = rng.choice(_JUNK)
            elif r < 0.05:
                del wf[k]
            else:
                _mutated(wf[k], rng)
    elif isinstance(wf, list):
        for i in range(len(wf)):
            if rng.random() < 0.03:
                wf[i] = rng.choice(_JUNK)
            else:
                _mutated(wf[i], rng)


@needs_templates
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**9))
def test_broken_templates_convert_and_lint_without_a_crash(latest, pick, seed):
    import random

    from cmfy_graph.errors import ConversionError

    paths = _templates()
    wf = json.loads(paths[pick % len(paths)].read_text(encoding="utf-8"))
    _mutated(wf, random.Random(seed))
    try:
        prompt = ui_to_api(wf, latest, warnings=[], drift=[])
    except ConversionError:
        return  # a clear refusal: not a UI workflow any more
    validate_prompt(prompt, latest)


def test_api_to_ui_places_dynamic_sub_widgets_where_the_editor_restores_them(latest):
    from cmfy_graph.convert.layout import to_ui

    load = {"class_type": "LoadImage", "inputs": {"image": "a.png"}}
    resize = {
        "class_type": "ResizeImageMaskNode",
        "inputs": {
            "input": ["1", 0],
            "resize_type": "scale longer dimension",
            "resize_type.longer_size": 2048,
            "scale_method": "lanczos",
        },
    }
    combo = {
        "class_type": "CustomCombo",
        "inputs": {"choice": "b", "index": 1, "option1": "a", "option2": "b", "option3": ""},
    }
    prompt = {"1": load, "2": resize, "3": combo}
    ui = to_ui(prompt, latest, warnings=[])
    node = next(n for n in ui["nodes"] if n["type"] == "ResizeImageMaskNode")
    # the option's sub-widget right after its combo (dynamicWidgets.ts), then the rest
    assert node["widgets_values"][:3] == ["scale longer dimension", 2048, "lanczos"]
    for named in (True, False):  # by name, and by position as the editor does by default
        back = ui_to_api(ui, latest, warnings=[], named_values=named)
        for k in ("2", "3"):
            assert back[k]["inputs"] == prompt[k]["inputs"], (named, k)
    # values under an option the spec does not know are kept by name
    resize["inputs"] = {**resize["inputs"], "resize_type": "scale to area", "resize_type.mp": 1.0}
    del resize["inputs"]["resize_type.longer_size"]
    ui = to_ui(prompt, latest, warnings=[])
    node = next(n for n in ui["nodes"] if n["type"] == "ResizeImageMaskNode")
    assert node["widgets_values_named"]["resize_type.mp"] == 1.0
    assert ui_to_api(ui, latest, warnings=[])["2"]["inputs"]["resize_type.mp"] == 1.0


@needs_templates
def test_templates_survive_api_to_ui_to_api(latest):
    """API -> UI -> API gives the prompt back for the official templates; what a flat UI
    workflow cannot hold (a constant that reached a socket through a subgraph) is warned."""
    from cmfy_graph.convert.layout import to_ui

    def titles_only(p: dict) -> dict:
        return {k: {**e, "_meta": {"title": e["_meta"]["title"]}} for k, e in p.items()}

    lossy = 0
    for path in _templates():
        wf = json.loads(path.read_text(encoding="utf-8"))
        prompt = titles_only(ui_to_api(wf, latest, warnings=[]))
        notes: list[str] = []
        back = titles_only(ui_to_api(to_ui(prompt, latest, warnings=notes), latest, warnings=[]))
        if back == prompt:
            continue
        lossy += 1
        for k, entry in prompt.items():
            for name, v in entry["inputs"].items():
                if back[k]["inputs"].get(name, "absent") != v:
                    assert any(f"input {name!r}" in n and f"node {k} " in n for n in notes), (
                        path.name,
                        k,
                        name,
                    )
    assert lossy <= 10
