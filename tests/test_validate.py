"""Unit tests of validate_prompt: ComfyUI's rules (FORMATS.md section 2) on small prompts."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from cmfy_graph import validate as _validate
from cmfy_graph.errors import ValidationError
from cmfy_graph.spec import core_spec
from cmfy_graph.validate import (
    Report,
    check_webhook_url,
    find_cycles,
    prompt_graph,
    reachable_from_outputs,
)

# these are ComfyUI 2025's rules (BE-2025-10): judged with the spec of that server
SPEC_2025 = core_spec("core-2025")


def validate_prompt(prompt: Any, spec: Any = None, **kw: Any) -> Report:
    return _validate.validate_prompt(prompt, spec or SPEC_2025, **kw)


def check_prompt(prompt: Any, spec: Any = None, **kw: Any) -> Report:
    return _validate.check_prompt(prompt, spec or SPEC_2025, **kw)


def _choice(core: Any, ct: str, name: str) -> Any:
    return core[ct].inputs[name].choices[0]


@pytest.fixture()
def t2i(core: Any) -> dict[str, Any]:
    """A text-to-image prompt built from the core spec's own choices."""
    return {
        "4": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": _choice(core, "CheckpointLoaderSimple", "ckpt_name")},
        },
        "5": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": 512, "height": 512, "batch_size": 1},
        },
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "3": {
            "class_type": "KSampler",
            "_meta": {"title": "My sampler"},
            "inputs": {
                "seed": 1,
                "steps": 20,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1.0,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "x"}},
    }


def _types(report: Report, node: str) -> list[str]:
    entry = report.to_comfyui()["node_errors"].get(node)
    return [e["type"] for e in entry["errors"]] if entry else []


def test_valid_prompt_has_no_errors(t2i: dict[str, Any]) -> None:
    r = validate_prompt(t2i)
    assert (
        r.valid
        and r.errors == []
        and r.to_comfyui()
        == {
            "valid": True,
            "error": None,
            "node_errors": {},
        }
    )


def test_out_of_range_value_is_reported_in_comfyui_shape(t2i: dict[str, Any]) -> None:
    t2i["3"]["inputs"]["steps"] = 10001
    r = validate_prompt(t2i)
    c = r.to_comfyui()
    assert c["valid"] is False
    assert c["error"]["type"] == "prompt_outputs_failed_validation"
    err = c["node_errors"]["3"]["errors"][0]
    assert err["type"] == "value_bigger_than_max"
    assert err["message"] == "Value 10001 bigger than max of 10000"
    assert err["details"] == "steps"
    assert c["node_errors"]["3"]["dependent_outputs"] == ["9"]
    assert c["node_errors"]["3"]["class_type"] == "KSampler"
    f = r.errors[0]
    assert (f.node_id, f.input_name, f.class_type, f.title) == (
        "3",
        "steps",
        "KSampler",
        "My sampler",
    )
    assert str(f).startswith("3:steps: value_bigger_than_max")


def test_two_outputs_one_broken_is_still_queued(t2i: dict[str, Any]) -> None:
    t2i["10"] = {"class_type": "PreviewImage", "inputs": {"images": ["11", 0]}}
    t2i["11"] = {
        "class_type": "ImageScaleBy",
        "inputs": {"image": ["8", 0], "upscale_method": "nope", "scale_by": 1.0},
    }
    r = validate_prompt(t2i)
    assert r.valid is True
    assert _types(r, "11") == ["value_not_in_list"]
    assert r.to_comfyui()["node_errors"]["11"]["dependent_outputs"] == ["10"]
    assert [f.code for f in r.errors] == ["value_not_in_list"]


def test_unreachable_broken_node_is_ignored_but_warned(t2i: dict[str, Any]) -> None:
    t2i["50"] = {"class_type": "VAEDecode", "inputs": {"samples": ["999", 0]}}
    r = validate_prompt(t2i)
    assert r.valid and r.errors == []
    codes = {(f.node_id, f.code) for f in r.warnings}
    assert ("50", "unreachable_node") in codes
    assert ("50", "link_missing_node") in codes


def test_no_output_node(t2i: dict[str, Any]) -> None:
    del t2i["9"]
    r = validate_prompt(t2i)
    assert r.to_comfyui()["error"]["type"] == "prompt_no_outputs"
    assert not r.valid


def test_missing_and_unknown_class_type(t2i: dict[str, Any]) -> None:
    p = copy.deepcopy(t2i)
    del p["5"]["class_type"]
    c = validate_prompt(p).to_comfyui()
    assert c["error"]["type"] == "invalid_prompt" and c["error"]["details"] == "Node ID '#5'"
    p = copy.deepcopy(t2i)
    p["8"]["class_type"] = "VAEDecod"
    r = validate_prompt(p)
    assert (
        r.to_comfyui()["error"]["message"] == "Cannot execute because node VAEDecod does not exist."
    )
    f = [f for f in r.errors if f.code == "unknown_class_type"][0]
    assert f.hint == "did you mean 'VAEDecode'?"


@pytest.mark.parametrize(
    ("link", "comfy_type", "ours"),
    [
        (["999", 0], "KeyError", "link_missing_node"),
        ([4, 1], "KeyError", "link_node_id_not_string"),
        (["4", 7], "IndexError", "link_output_out_of_range"),
        (["4", 1.0], "TypeError", "link_slot_not_integer"),
    ],
)
def test_bad_links_raise_like_comfyui_with_a_precise_finding(
    t2i: dict[str, Any], link: list[Any], comfy_type: str, ours: str
) -> None:
    t2i["6"]["inputs"]["clip"] = link
    r = validate_prompt(t2i)
    errs = r.to_comfyui()["node_errors"]["6"]["errors"]
    # ComfyUI stores the exception on the node whose link is bad (the caller's "inner" node)
    assert errs[0]["type"] == "exception_during_inner_validation"
    assert errs[0]["extra_info"]["exception_type"] == comfy_type
    assert errs[0]["extra_info"]["linked_node"] == ["6", 0]
    assert ours in [e["type"] for e in errs[1:]]
    assert [f.code for f in r.errors] == [ours]
    assert r.errors[0].node_id == "6" and r.errors[0].input_name == "clip"


def test_bad_link_on_the_output_node_is_exception_during_validation(t2i: dict[str, Any]) -> None:
    t2i["9"]["inputs"]["images"] = ["404", 0]
    r = validate_prompt(t2i)
    assert _types(r, "9")[:1] == ["exception_during_validation"]
    assert r.to_comfyui()["error"]["details"] == "Exception when validating node: '404'"


def test_negative_and_bool_slots_are_accepted(t2i: dict[str, Any]) -> None:
    t2i["8"]["inputs"]["vae"] = ["4", -1]  # Python indexing: the last output, VAE
    t2i["6"]["inputs"]["clip"] = ["4", True]  # True is 1: CLIP
    r = validate_prompt(t2i)
    assert r.valid and r.errors == []
    assert "negative_link_slot" in {f.code for f in r.warnings}


def test_coercions_are_warnings_not_errors(t2i: dict[str, Any]) -> None:
    t2i["3"]["inputs"]["seed"] = 3.7
    t2i["3"]["inputs"]["steps"] = "20"
    t2i["3"]["inputs"]["cfg"] = float("nan")
    t2i["6"]["inputs"]["text"] = {"a": 1}
    r = validate_prompt(t2i)
    assert r.valid and r.errors == []
    codes = {(f.input_name, f.code) for f in r.warnings}
    assert {("seed", "float_truncated"), ("steps", "value_coerced"), ("cfg", "nan_value")} <= codes
    assert ("text", "value_coerced") in codes


def test_unconvertible_values(t2i: dict[str, Any]) -> None:
    t2i["3"]["inputs"]["steps"] = "3.5"
    t2i["3"]["inputs"]["cfg"] = None
    r = validate_prompt(t2i)
    errs = r.to_comfyui()["node_errors"]["3"]["errors"]
    by = {e["extra_info"]["input_name"]: e for e in errs}
    assert by["steps"]["type"] == "invalid_input_type"
    assert by["steps"]["message"] == "Failed to convert an input value to a INT value"
    assert by["steps"]["details"] == "steps, 3.5, invalid literal for int() with base 10: '3.5'"
    assert by["cfg"]["type"] == "invalid_input_type"


def test_combo_is_type_sensitive_and_lists_short_choices(t2i: dict[str, Any]) -> None:
    t2i["11"] = {
        "class_type": "ImageScaleBy",
        "inputs": {"image": ["8", 0], "upscale_method": 1, "scale_by": 1.0},
    }
    t2i["12"] = {"class_type": "PreviewImage", "inputs": {"images": ["11", 0]}}
    t2i["3"]["inputs"]["sampler_name"] = "eulr"
    r = validate_prompt(t2i)
    e11 = r.to_comfyui()["node_errors"]["11"]["errors"][0]
    assert e11["details"].startswith("upscale_method: '1' not in ['nearest-exact'")
    e3 = r.to_comfyui()["node_errors"]["3"]["errors"][0]
    assert e3["details"] == "sampler_name: 'eulr' not in (list of length 42)"
    assert e3["extra_info"]["input_config"] is None
    f = [f for f in r.errors if f.node_id == "3"][0]
    assert f.hint == "did you mean 'euler'?"


def test_string_into_boolean_and_list_literal(core: Any) -> None:
    p = {
        "1": {"class_type": "PrimitiveBoolean", "inputs": {"value": "false"}},
        "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}},
    }
    if "PrimitiveBoolean" not in core:
        pytest.skip("no PrimitiveBoolean in the spec")
    r = validate_prompt(p)
    assert r.valid
    assert [f.code for f in r.warnings] == ["string_as_boolean"]
    p["1"]["inputs"]["value"] = [1, 2, 3]
    r = validate_prompt(p)
    assert _types(r, "1") == ["bad_linked_input"]


def test_return_type_mismatch_with_hint(t2i: dict[str, Any]) -> None:
    t2i["8"]["inputs"]["vae"] = ["4", 0]
    r = validate_prompt(t2i)
    e = r.to_comfyui()["node_errors"]["8"]["errors"][0]
    assert e["details"] == "vae, received_type(MODEL) mismatch input_type(VAE)"
    assert r.errors[0].hint == "did you mean output 2 (VAE): ['4', 2]?"


def test_wildcard_input_accepts_anything(core: Any) -> None:
    p = {
        "1": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": 64, "height": 64, "batch_size": 1},
        },
        "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}},
    }
    assert validate_prompt(p).valid


def test_load_image_file_checks(core: Any) -> None:
    img = _choice(core, "LoadImage", "image")
    p = {
        "1": {"class_type": "LoadImage", "inputs": {"image": img}},
        "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
    }
    assert validate_prompt(p).valid
    p["1"]["inputs"]["image"] = "ComfyUI_00001_.png [output]"  # annotated: not a combo check
    assert validate_prompt(p).valid
    p["1"]["inputs"]["image"] = "no_such_file.png"
    r = validate_prompt(p)
    e = r.to_comfyui()["node_errors"]["1"]["errors"][0]
    assert e["type"] == "custom_validation_failed"
    assert e["details"] == "image - Invalid image file: no_such_file.png"
    p["1"]["inputs"] = {}
    r = validate_prompt(p)  # ComfyUI calls VALIDATE_INPUTS() without the argument: TypeError
    errs = r.to_comfyui()["node_errors"]["1"]["errors"]
    assert errs[0]["type"] == "exception_during_inner_validation"
    assert "missing 1 required positional argument: 'image'" in errs[0]["details"]
    assert "required_input_missing" in [e["type"] for e in errs[1:]]


def test_validate_inputs_args_skip_min_max(core: Any) -> None:
    """An input the node's VALIDATE_INPUTS takes is not range-checked by ComfyUI."""
    assert core["LoadImage"].validate_inputs == ("image",)


def test_new_style_combo_is_not_validated_by_be_2025(core: Any) -> None:
    ct = next(
        (
            k
            for k, ns in core.items()
            if any(
                i.type == "COMBO" and not i.legacy_combo and i.choices and not i.file_kind
                for i in ns.inputs.values()
            )
            and not ns.output_node
        ),
        None,
    )
    assert ct is not None
    inp = next(
        i
        for i in core[ct].inputs.values()
        if i.type == "COMBO" and not i.legacy_combo and i.choices
    )
    r = validate_prompt({"1": {"class_type": ct, "inputs": {inp.name: "surely not a choice"}}})
    assert any(f.code == "combo_not_validated" for f in r.findings)


def test_cycle_is_reported_with_its_path(t2i: dict[str, Any]) -> None:
    t2i["3"]["inputs"]["latent_image"] = ["12", 0]
    t2i["12"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["8", 0], "vae": ["4", 2]}}
    r = validate_prompt(t2i)
    assert not r.valid
    cyc = [f for f in r.errors if f.code == "dependency_cycle"]
    assert {f.node_id for f in cyc} == {"3", "8", "12"}
    assert "dependency cycle: " in cyc[0].message and "KSampler" in cyc[0].message
    c = r.to_comfyui()
    assert c["error"]["details"] == ""  # ComfyUI 2025's own answer
    assert {
        k for k, v in c["node_errors"].items() if v["errors"][0]["type"] == "dependency_cycle"
    } == {"3", "8", "12"}
    assert sorted(map(sorted, find_cycles(t2i))) == [["12", "3", "8"]]


def test_deep_chain(core: Any) -> None:
    p: dict[str, Any] = {
        "0": {
            "class_type": "EmptyImage",
            "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0},
        }
    }
    for i in range(1, 1200):
        p[str(i)] = {"class_type": "ImageInvert", "inputs": {"image": [str(i - 1), 0]}}
    p["out"] = {"class_type": "PreviewImage", "inputs": {"images": ["1199", 0]}}
    r = validate_prompt(p)
    codes = {f.code for f in r.findings}
    assert "deep_chain" in codes and "recursion_limit" in codes and not r.valid
    p2 = {k: v for k, v in p.items() if k == "0" or (k != "out" and int(k) < 600)}
    p2["out"] = {"class_type": "PreviewImage", "inputs": {"images": ["599", 0]}}
    r2 = validate_prompt(p2)
    assert r2.valid and "deep_chain" in {f.code for f in r2.warnings}


def test_partial_execution_targets(t2i: dict[str, Any]) -> None:
    assert validate_prompt(t2i, partial_execution_targets=["9"]).valid
    r = validate_prompt(t2i, partial_execution_targets=["3"])
    assert r.to_comfyui()["error"]["type"] == "prompt_no_outputs"


@pytest.mark.parametrize(
    "bad",
    [None, 3, "text", [], [1, 2], {"1": 5}, {"1": "class_type"}, {"1": {"class_type": ["x"]}}],
)
def test_any_json_value_is_a_finding_not_an_exception(bad: Any) -> None:
    r = validate_prompt(bad)
    assert r.valid is False and r.errors
    json.dumps(r.to_comfyui())


def test_inputs_not_an_object(t2i: dict[str, Any]) -> None:
    t2i["8"]["inputs"] = ["a"]
    r = validate_prompt(t2i)
    assert _types(r, "8") == ["required_input_missing", "required_input_missing"]
    assert "inputs_not_object" in {f.code for f in r.errors}


def test_unknown_input_did_you_mean(t2i: dict[str, Any]) -> None:
    t2i["3"]["inputs"]["stepz"] = 3
    r = validate_prompt(t2i)
    f = [f for f in r.warnings if f.code == "unknown_input"][0]
    assert f.hint == "did you mean 'steps'?" and r.valid


def test_check_prompt_raises_with_count(t2i: dict[str, Any]) -> None:
    assert check_prompt(t2i).valid
    t2i["3"]["inputs"]["steps"] = 0
    t2i["3"]["inputs"]["cfg"] = -1
    with pytest.raises(ValidationError, match=r"^2 errors: 3:cfg: value_smaller_than_min") as ei:
        check_prompt(t2i)
    assert len([f for f in ei.value.findings if f.severity == "error"]) == 2


def test_findings_are_sorted(t2i: dict[str, Any]) -> None:
    t2i["10"] = {"class_type": "PreviewImage", "inputs": {"images": ["8", 0], "zz": 1}}
    t2i["3"]["inputs"]["zz"] = 1
    t2i["9"]["inputs"]["zz"] = 1
    r = validate_prompt(t2i)
    assert [f.node_id for f in r.findings] == ["3", "9", "10"]


def test_cmfy_profile_model_urls(t2i: dict[str, Any]) -> None:
    url = "https://huggingface.co/org/repo/resolve/main/model.safetensors"
    t2i["4"]["inputs"]["ckpt_name"] = url
    assert not validate_prompt(t2i).valid
    r = validate_prompt(t2i, profile="cmfy")
    assert r.valid
    assert [f.code for f in r.warnings] == ["hf_unpinned_revision"]
    t2i["4"]["inputs"]["ckpt_name"] = "http://example.com/m.safetensors"
    assert "model_url_not_allowed" in {f.code for f in validate_prompt(t2i, profile="cmfy").errors}


def test_cmfy_profile_two_spellings(t2i: dict[str, Any]) -> None:
    t2i["4"]["inputs"]["ckpt_name"] = "https://civitai.com/api/download/models/123"
    t2i["40"] = {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "https://CIVITAI.com/api/download/models/123/"},
    }
    t2i["8"]["inputs"]["vae"] = ["40", 2]
    r = validate_prompt(t2i, profile="cmfy")
    assert [f.code for f in r.warnings] == ["model_url_spellings"]


@pytest.mark.parametrize(
    ("url", "codes"),
    [
        ("https://example.com/hook", []),
        ("http://example.com/hook", ["webhook_not_https"]),
        ("https://localhost/hook", ["webhook_private"]),
        ("https://192.168.1.5/x", ["webhook_private"]),
        ("https://10.0.0.1/x", ["webhook_private"]),
        ("http://127.0.0.1:8080/x", ["webhook_not_https", "webhook_private"]),
        ("ftp://example.com", ["webhook_invalid"]),
        (42, ["webhook_invalid"]),
    ],
)
def test_webhook_check(url: Any, codes: list[str]) -> None:
    assert [f.code for f in check_webhook_url(url)] == codes
    if codes and codes != ["webhook_invalid"]:
        assert check_webhook_url(url, allow_insecure=True) == []


def test_graph_helpers(t2i: dict[str, Any]) -> None:
    g = prompt_graph(t2i)
    assert g.has_edge("4", "3") and g.edges["4", "3"]["input"] == "model"
    t2i["77"] = {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": 64, "height": 64, "batch_size": 1},
    }
    assert reachable_from_outputs(t2i) == {"3", "4", "5", "6", "7", "8", "9"}


def test_custom_spec_without_cmfy_extension_uses_core_facts(
    t2i: dict[str, Any], custom_spec: Any
) -> None:
    """A server's /object_info does not say which nodes have VALIDATE_INPUTS: the bundled
    facts are used for known classes, so annotated file names still pass."""
    p = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "x.png [output]"}},
        "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
    }
    assert validate_prompt(p, custom_spec).valid


def test_emulated_node_validators(core: Any) -> None:
    """FluxProUltraImageNode.validate_inputs (comfy_api_nodes/nodes_bfl.py) accepts X:Y
    ratios between 1:4 and 4:1; anything else is ComfyUI's custom_validation_failed."""
    ns = core["FluxProUltraImageNode"]
    inputs = {n: i.default for n, i in ns.inputs.items() if i.has_default}
    p = {
        "1": {"class_type": "FluxProUltraImageNode", "inputs": inputs},
        "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
    }
    assert validate_prompt(p).valid
    for bad in ("10:1", "16/9", "a:b", 42):
        inputs["aspect_ratio"] = bad
        r = validate_prompt(p)
        assert _types(r, "1") == ["custom_validation_failed"], bad
    inputs["aspect_ratio"] = "4:1"
    assert validate_prompt(p).valid


def test_a_missing_node_is_missing_node_type_for_a_2026_spec() -> None:
    """FORMATS.md 2.2 rows 1' and 2': ComfyUI 2026 (PR #12194) reports an unknown or missing
    class_type as ``missing_node_type``, naming the node by its title; 2025 said
    ``invalid_prompt``."""
    from cmfy_graph.spec import core_spec
    from cmfy_graph.validate import validate_prompt

    save = {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}}
    unknown = {"1": {"class_type": "Nope", "inputs": {}, "_meta": {"title": "My node"}}, "9": save}
    err = validate_prompt(unknown, core_spec()).to_comfyui()["error"]
    assert err == {
        "type": "missing_node_type",
        "message": "Node 'My node' not found. The custom node may not be installed.",
        "details": "Node ID '#1'",
        "extra_info": {"node_id": "1", "class_type": "Nope", "node_title": "My node"},
    }
    untitled = {"1": {"inputs": {}}, "9": save}
    err = validate_prompt(untitled, core_spec()).to_comfyui()["error"]
    assert err["type"] == "missing_node_type" and err["extra_info"]["class_type"] is None
    assert err["message"] == (
        "Node 'ID #1' has no class_type. The workflow may be corrupted or a custom node is "
        "missing."
    )
    old = validate_prompt(unknown, core_spec("core-2025")).to_comfyui()["error"]
    assert old["type"] == "invalid_prompt"
    assert old["message"] == "Cannot execute because node Nope does not exist."
