"""UI workflow -> API prompt: the editor's own conversions (devset) and its rules one by one."""

from __future__ import annotations

import copy
import json
import warnings
from typing import Any

import pytest
from test_convert_helpers import ckpt, inp, node, out, workflow

from cmfy_graph.convert.ui import ConversionWarning, process_dynamic_prompt, ui_to_api
from cmfy_graph.errors import ConversionError
from cmfy_graph.spec import Spec

from conftest import DEVSET

UI2API = DEVSET / "ui2api"
PAIRS = sorted(p.name[: -len(".ui.json")] for p in UI2API.glob("*.ui.json"))


def _diff(got: dict[str, Any], exp: dict[str, Any]) -> str:
    lines = []
    for k in sorted(set(got) | set(exp)):
        g, e = got.get(k), exp.get(k)
        if g == e:
            continue
        if g is None or e is None:
            lines.append(f"node {k}: {'missing' if g is None else 'unexpected'}")
            continue
        for field in ("class_type", "_meta"):
            if g.get(field) != e.get(field):
                lines.append(f"node {k} {field}: got {g.get(field)!r}, expected {e.get(field)!r}")
        gi, ei = g.get("inputs", {}), e.get("inputs", {})
        for name in sorted(set(gi) | set(ei)):
            if gi.get(name, "<absent>") != ei.get(name, "<absent>"):
                lines.append(
                    f"node {k} input {name}: got {gi.get(name, '<absent>')!r}, "
                    f"expected {ei.get(name, '<absent>')!r}"
                )
    return "\n".join(lines)


def test_devset_is_there() -> None:
    assert len(PAIRS) >= 88


@pytest.mark.parametrize("name", PAIRS)
def test_devset_pair(name: str, core: Spec) -> None:
    ui = json.loads((UI2API / f"{name}.ui.json").read_text(encoding="utf-8"))
    exp = json.loads((UI2API / f"{name}.api.json").read_text(encoding="utf-8"))
    got = ui_to_api(ui, core, warnings=[])
    assert got == exp, f"{name}:\n{_diff(got, exp)}"


def test_input_is_not_modified(core: Spec) -> None:
    ui = json.loads((UI2API / "video_wan2_2_14B_s2v.ui.json").read_text(encoding="utf-8"))
    before = copy.deepcopy(ui)
    ui_to_api(ui, core, warnings=[])
    assert ui == before


# ---------------------------------------------------------------------------------------------
# the rules, on small graphs


def _sampler_graph(bypass_node: dict[str, Any] | None = None) -> dict[str, Any]:
    """ckpt(1) -> CLIPTextEncode(2) -> KSampler(4) <- EmptyLatentImage(3); KSampler -> VAEDecode(5)."""
    nodes = [
        ckpt(1, ([1], [2, 3], [7])),
        node(
            2,
            "CLIPTextEncode",
            [inp("clip", "CLIP", 2)],
            [out("CONDITIONING", "CONDITIONING", [4])],
            ["a cat"],
        ),
        node(
            6,
            "CLIPTextEncode",
            [inp("clip", "CLIP", 3)],
            [out("CONDITIONING", "CONDITIONING", [5])],
            ["bad"],
        ),
        node(3, "EmptyLatentImage", [], [out("LATENT", "LATENT", [6])], [512, 512, 1]),
        node(
            4,
            "KSampler",
            [
                inp("model", "MODEL", 1),
                inp("positive", "CONDITIONING", 4),
                inp("negative", "CONDITIONING", 5),
                inp("latent_image", "LATENT", 6),
            ],
            [out("LATENT", "LATENT", [8])],
            [12345, "randomize", 20, 7.5, "euler", "normal", 1],
        ),
        node(
            5,
            "VAEDecode",
            [inp("samples", "LATENT", 8), inp("vae", "VAE", 7)],
            [out("IMAGE", "IMAGE", [])],
        ),
    ]
    links = [
        [1, 1, 0, 4, 0, "MODEL"],
        [2, 1, 1, 2, 0, "CLIP"],
        [3, 1, 1, 6, 0, "CLIP"],
        [4, 2, 0, 4, 1, "CONDITIONING"],
        [5, 6, 0, 4, 2, "CONDITIONING"],
        [6, 3, 0, 4, 3, "LATENT"],
        [7, 1, 2, 5, 1, "VAE"],
        [8, 4, 0, 5, 0, "LATENT"],
    ]
    return workflow(nodes, links)


def test_basic_widgets_links_and_titles(core: Spec) -> None:
    got = ui_to_api(_sampler_graph(), core, warnings=[])
    ks = got["4"]
    assert ks["class_type"] == "KSampler"
    assert ks["_meta"] == {"title": "KSampler"}
    assert ks["inputs"] == {
        "seed": 12345,
        "steps": 20,
        "cfg": 7.5,
        "sampler_name": "euler",
        "scheduler": "normal",
        "denoise": 1,
        "model": ["1", 0],
        "positive": ["2", 0],
        "negative": ["6", 0],
        "latent_image": ["3", 0],
    }
    assert got["1"]["_meta"] == {"title": "Load Checkpoint"}  # display_name, no title saved
    assert got["5"]["inputs"] == {"samples": ["4", 0], "vae": ["1", 2]}


def test_custom_title_and_big_int(core: Spec) -> None:
    wf = _sampler_graph()
    ks = wf["nodes"][4]
    ks["title"] = "My sampler"
    ks["widgets_values"][0] = 0xFFFFFFFFFFFFFFFF
    got = ui_to_api(wf, core, warnings=[])
    assert got["4"]["_meta"] == {"title": "My sampler"}
    assert got["4"]["inputs"]["seed"] == 18446744073709551615
    assert type(got["4"]["inputs"]["seed"]) is int


def test_links_matched_by_id_not_target_slot(core: Spec) -> None:
    wf = _sampler_graph()
    for ln in wf["links"]:
        ln[4] = 99  # target slots are wrong everywhere: only link ids and names count
    got = ui_to_api(wf, core, warnings=[])
    assert got == ui_to_api(_sampler_graph(), core, warnings=[])


def test_version_1_object_links(core: Spec) -> None:
    wf = _sampler_graph()
    keys = ("id", "origin_id", "origin_slot", "target_id", "target_slot", "type")
    wf["links"] = [dict(zip(keys, ln, strict=True)) for ln in wf["links"]]
    wf["version"] = 1
    wf["state"] = {"lastNodeId": 6, "lastLinkId": 8}
    del wf["last_node_id"], wf["last_link_id"]
    assert ui_to_api(wf, core, warnings=[]) == ui_to_api(_sampler_graph(), core, warnings=[])


def test_string_slot_indexes_tolerated(core: Spec) -> None:
    wf = _sampler_graph()
    for ln in wf["links"]:
        ln[2] = str(ln[2])
    assert ui_to_api(wf, core, warnings=[]) == ui_to_api(_sampler_graph(), core, warnings=[])


def test_muted_and_bypassed_nodes_are_not_sent(core: Spec) -> None:
    wf = _sampler_graph()
    wf["nodes"][5]["mode"] = 2  # VAEDecode muted
    got = ui_to_api(wf, core, warnings=[])
    assert "5" not in got
    wf["nodes"][5]["mode"] = 4
    assert "5" not in ui_to_api(wf, core, warnings=[])
    for m in (1, 3):  # ON_EVENT / ON_TRIGGER are sent like ALWAYS
        wf["nodes"][5]["mode"] = m
        assert "5" in ui_to_api(wf, core, warnings=[])


def test_muted_source_drops_the_input_even_a_widget(core: Spec) -> None:
    # 1.27.10: a muted origin resolves to a link, which the final pruning removes (with the
    # widget value it replaced)
    nodes = [
        node(1, "PrimitiveInt", [], [out("INT", "INT", [1])], [7, "fixed"], mode=2),
        node(
            2,
            "EmptyLatentImage",
            [inp("width", "INT", 1, widget=True)],
            [out("LATENT", "LATENT")],
            [512, 512, 1],
        ),
    ]
    got = ui_to_api(workflow(nodes, [[1, 1, 0, 2, 0, "INT"]]), core, warnings=[])
    assert got["2"]["inputs"] == {"height": 512, "batch_size": 1}
    nodes[0]["mode"] = 0
    got = ui_to_api(workflow(nodes, [[1, 1, 0, 2, 0, "INT"]]), core, warnings=[])
    assert got["2"]["inputs"]["width"] == ["1", 0]
    assert got["1"]["inputs"] == {"value": 7}


def test_bypass_prefers_same_slot(core: Spec) -> None:
    # KSampler bypassed: its LATENT output passes through input latent_image (exact type)
    wf = _sampler_graph()
    wf["nodes"][4]["mode"] = 4
    got = ui_to_api(wf, core, warnings=[])
    assert got["5"]["inputs"]["samples"] == ["3", 0]


def test_bypass_without_match_drops_the_input(core: Spec) -> None:
    wf = _sampler_graph()
    wf["nodes"][1]["mode"] = 4  # CLIPTextEncode bypassed: CLIP input cannot give CONDITIONING
    got = ui_to_api(wf, core, warnings=[])
    assert "positive" not in got["4"]["inputs"]
    assert got["4"]["inputs"]["negative"] == ["6", 0]


def test_bypass_same_index_compatible_but_unlinked_gives_nothing(core: Spec) -> None:
    # ImageBatch(image1 unlinked, image2 linked) bypassed: slot 0 -> image1 (same index, valid
    # type) which has no link -> nothing, even though image2 is linked
    nodes = [
        node(
            1,
            "LoadImage",
            [],
            [out("IMAGE", "IMAGE", [1]), out("MASK", "MASK")],
            ["a.png", "image"],
        ),
        node(
            2,
            "ImageBatch",
            [inp("image1", "IMAGE"), inp("image2", "IMAGE", 1)],
            [out("IMAGE", "IMAGE", [2])],
            mode=4,
        ),
        node(3, "SaveImage", [inp("images", "IMAGE", 2)], [], ["x"]),
    ]
    links = [[1, 1, 0, 2, 1, "IMAGE"], [2, 2, 0, 3, 0, "IMAGE"]]
    got = ui_to_api(workflow(nodes, links), core, warnings=[])
    assert got["3"]["inputs"] == {"filename_prefix": "x"}
    assert got["1"]["inputs"] == {"image": "a.png"}  # the upload button's "image" is not sent


def test_bypass_chain_and_wildcard_consumer(core: Spec) -> None:
    nodes = [
        node(
            1,
            "LoadImage",
            [],
            [out("IMAGE", "IMAGE", [1]), out("MASK", "MASK")],
            ["a.png", "image"],
        ),
        node(2, "ImageInvert", [inp("image", "IMAGE", 1)], [out("IMAGE", "IMAGE", [2])], mode=4),
        node(3, "ImageInvert", [inp("image", "IMAGE", 2)], [out("IMAGE", "IMAGE", [3])], mode=4),
        node(4, "PreviewAny", [inp("source", "*", 3)], []),
    ]
    links = [[1, 1, 0, 2, 0, "IMAGE"], [2, 2, 0, 3, 0, "IMAGE"], [3, 3, 0, 4, 0, "*"]]
    got = ui_to_api(workflow(nodes, links), core, warnings=[])
    assert got["4"]["inputs"] == {"preview": "", "source": ["1", 0]}


def test_reroute_passes_through(core: Spec) -> None:
    wf = _sampler_graph()
    wf["nodes"].append(node(9, "Reroute", [inp("", "*", 20)], [out("", "LATENT", [8])]))
    for ln in wf["links"]:
        if ln[0] == 8:
            ln[1], ln[2] = 9, 0
    wf["links"].append([20, 4, 0, 9, 0, "LATENT"])
    wf["nodes"][4]["outputs"][0]["links"] = [20]
    got = ui_to_api(wf, core, warnings=[])
    assert "9" not in got
    assert got["5"]["inputs"]["samples"] == ["4", 0]


def test_primitive_node_writes_its_value_into_targets(core: Spec) -> None:
    nodes = [
        node(
            1,
            "PrimitiveNode",
            [],
            [{"name": "INT", "type": "INT", "links": [1, 2], "widget": {"name": "width"}}],
            [768, "fixed"],
        ),
        node(
            2,
            "EmptyLatentImage",
            [inp("width", "INT", 1, widget=True)],
            [out("LATENT", "LATENT")],
            [512, 512, 1],
        ),
        node(
            3,
            "EmptyLatentImage",
            [inp("height", "INT", 2, widget=True)],
            [out("LATENT", "LATENT")],
            [512, 512, 1],
        ),
        node(4, "Note", [], [], ["a note"]),
        node(5, "MarkdownNote", [], [], ["# note"]),
    ]
    links = [[1, 1, 0, 2, 0, "INT"], [2, 1, 0, 3, 0, "INT"]]
    got = ui_to_api(workflow(nodes, links), core, warnings=[])
    assert set(got) == {"2", "3"}
    assert got["2"]["inputs"] == {"width": 768, "height": 512, "batch_size": 1}
    assert got["3"]["inputs"] == {"width": 512, "height": 768, "batch_size": 1}


def test_named_and_dict_widget_values(core: Spec) -> None:
    named = node(2, "EmptyLatentImage", [], [out("LATENT", "LATENT")], [1, 2, 3])
    named["widgets_values_named"] = {"batch_size": 4, "height": 640, "width": 832}
    as_dict = node(
        3, "EmptyLatentImage", [], [out("LATENT", "LATENT")], {"width": 256, "height": 128}
    )
    got = ui_to_api(workflow([named, as_dict], []), core, warnings=[])
    assert got["2"]["inputs"] == {"width": 832, "height": 640, "batch_size": 4}
    assert got["3"]["inputs"] == {"width": 256, "height": 128, "batch_size": 1}


def test_list_values_are_wrapped() -> None:
    spec = Spec.from_dict(
        {
            "ListNode": {
                "input": {"required": {"points": ["STRING", {}], "n": ["INT", {}]}},
                "output": [],
            }
        }
    )
    got = ui_to_api(workflow([node(1, "ListNode", widgets=[[1, 2, 3], 5])], []), spec, warnings=[])
    assert got["1"]["inputs"] == {"points": {"__value__": [1, 2, 3]}, "n": 5}


def test_combo_control_after_generate_has_two_extra_values() -> None:
    spec = Spec.from_dict(
        {
            "Pick": {
                "input": {
                    "required": {
                        "choice": [["a", "b"], {"control_after_generate": True}],
                        "seed": ["INT", {}],
                        "count": ["INT", {"control_after_generate": False}],
                        "scale": ["FLOAT", {"control_after_generate": True}],
                        "last": ["STRING", {}],
                    }
                },
                "input_order": {"required": ["choice", "seed", "count", "scale", "last"]},
                "output": [],
            }
        }
    )
    values = ["b", "fixed", "", 5, "randomize", 3, 0.5, "fixed", "end"]
    got = ui_to_api(workflow([node(1, "Pick", widgets=values)], []), spec, warnings=[])
    assert got["1"]["inputs"] == {"choice": "b", "seed": 5, "count": 3, "scale": 0.5, "last": "end"}


def test_legacy_boolean_control_value_counts_as_one_widget(core: Spec) -> None:
    wf = _sampler_graph()
    wf["nodes"][4]["widgets_values"][1] = True  # old files saved control_after_generate as a bool
    assert ui_to_api(wf, core, warnings=[])["4"]["inputs"]["steps"] == 20


def test_missing_node_type_warns_and_names_the_node(core: Spec) -> None:
    nodes = [node(7, "SomeCustomNode", [], [out("IMAGE", "IMAGE")], [1, 2], title="Fancy")]
    w: list[str] = []
    got = ui_to_api(workflow(nodes, []), core, warnings=w)
    assert got["7"]["class_type"] == "SomeCustomNode"
    assert any("node 7" in m and "SomeCustomNode" in m and "not in the spec" in m for m in w)
    with pytest.warns(ConversionWarning, match="node 7"):
        ui_to_api(workflow(nodes, []), core)


def test_widget_count_drift_warns(core: Spec) -> None:
    wf = workflow(
        [node(3, "EmptyLatentImage", [], [out("LATENT", "LATENT")], [512, 512, 1, 99])], []
    )
    w: list[str] = []
    got = ui_to_api(wf, core, warnings=w)
    assert got["3"]["inputs"] == {"width": 512, "height": 512, "batch_size": 1}
    assert w and "node 3" in w[0] and "4 widget values" in w[0]
    w.clear()
    wf["nodes"][0]["widgets_values"] = ["wide", 512, 1]
    ui_to_api(wf, core, warnings=w)
    assert w and "do not fit" in w[0] and "width='wide'" in w[0]


def test_dangling_link_is_tolerated_with_a_warning(core: Spec) -> None:
    wf = _sampler_graph()
    wf["nodes"][5]["inputs"][1]["link"] = 999
    w: list[str] = []
    got = ui_to_api(wf, core, warnings=w)
    assert "vae" not in got["5"]["inputs"]
    assert any("999" in m for m in w)


def test_not_a_workflow() -> None:
    with pytest.raises(ConversionError):
        ui_to_api({"1": {"class_type": "KSampler", "inputs": {}}})


def test_dynamic_prompts_off_by_default_and_seeded(core: Spec) -> None:
    wf = _sampler_graph()
    wf["nodes"][1]["widgets_values"] = ["a {red|green|blue} cat // comment"]
    assert (
        ui_to_api(wf, core, warnings=[])["2"]["inputs"]["text"]
        == wf["nodes"][1]["widgets_values"][0]
    )
    a = ui_to_api(wf, core, dynamic_prompts_seed=3, warnings=[])["2"]["inputs"]["text"]
    b = ui_to_api(wf, core, dynamic_prompts_seed=3, warnings=[])["2"]["inputs"]["text"]
    assert a == b
    assert a in ("a red cat ", "a green cat ", "a blue cat ")


def test_process_dynamic_prompt_rules() -> None:
    import random

    rng = random.Random(0)
    assert process_dynamic_prompt("x /* gone */y", rng) == "x y"
    assert process_dynamic_prompt(r"\{kept\}", rng) == "{kept}"
    seen = {process_dynamic_prompt("{a|{b|c}}", rng) for _ in range(60)}
    assert seen == {"a", "b", "c"}


# ---------------------------------------------------------------------------------------------
# subgraphs


def _subgraph_def(sid: str, inner_mode: int = 0) -> dict[str, Any]:
    """A definition: input 'image' (IMAGE) and 'width' (INT widget) -> ImageScale -> output."""
    return {
        "id": sid,
        "version": 1,
        "state": {"lastNodeId": 11, "lastLinkId": 12},
        "name": "Scale",
        "inputNode": {"id": -10, "bounding": [0, 0, 10, 10]},
        "outputNode": {"id": -20, "bounding": [0, 0, 10, 10]},
        "inputs": [
            {"id": "i1", "name": "image", "type": "IMAGE", "linkIds": [10]},
            {"id": "i2", "name": "width", "type": "INT", "linkIds": [11]},
        ],
        "outputs": [{"id": "o1", "name": "IMAGE", "type": "IMAGE", "linkIds": [12]}],
        "widgets": [],
        "nodes": [
            node(
                11,
                "ImageScale",
                [inp("image", "IMAGE", 10), inp("width", "INT", 11, widget=True)],
                [out("IMAGE", "IMAGE", [12])],
                ["nearest-exact", 100, 200, "disabled"],
                mode=inner_mode,
            )
        ],
        "links": [
            {
                "id": 10,
                "origin_id": -10,
                "origin_slot": 0,
                "target_id": 11,
                "target_slot": 0,
                "type": "IMAGE",
            },
            {
                "id": 11,
                "origin_id": -10,
                "origin_slot": 1,
                "target_id": 11,
                "target_slot": 1,
                "type": "INT",
            },
            {
                "id": 12,
                "origin_id": 11,
                "origin_slot": 0,
                "target_id": -20,
                "target_slot": 0,
                "type": "IMAGE",
            },
        ],
    }


def _with_subgraph(
    instance_values: list[Any] | None, inner_mode: int = 0, width_link: bool = False
) -> dict[str, Any]:
    sid = "aaaaaaaa-0000-4000-8000-000000000001"
    inst_inputs = [inp("image", "IMAGE", 1)]
    nodes = [
        node(
            1,
            "LoadImage",
            [],
            [out("IMAGE", "IMAGE", [1]), out("MASK", "MASK")],
            ["a.png", "image"],
        ),
        node(5, sid, inst_inputs, [out("IMAGE", "IMAGE", [2])], instance_values),
        node(6, "SaveImage", [inp("images", "IMAGE", 2)], [], ["out"]),
    ]
    links: list[list[Any]] = [[1, 1, 0, 5, 0, "IMAGE"], [2, 5, 0, 6, 0, "IMAGE"]]
    if width_link:
        nodes.append(node(7, "PrimitiveInt", [], [out("INT", "INT", [3])], [640, "fixed"]))
        inst_inputs.append(inp("width", "INT", 3, widget=True))
        links.append([3, 7, 0, 5, 1, "INT"])
    return workflow(nodes, links, definitions={"subgraphs": [_subgraph_def(sid, inner_mode)]})


def test_subgraph_flattened_with_colon_ids_and_instance_value(core: Spec) -> None:
    got = ui_to_api(_with_subgraph([321]), core, warnings=[])
    assert set(got) == {"1", "5:11", "6"}
    assert got["5:11"]["inputs"] == {
        "upscale_method": "nearest-exact",
        "width": 321,  # the instance's value wins over the inner one (100)
        "height": 200,
        "crop": "disabled",
        "image": ["1", 0],
    }
    assert got["6"]["inputs"]["images"] == ["5:11", 0]


def test_subgraph_without_instance_value_uses_inner(core: Spec) -> None:
    got = ui_to_api(_with_subgraph(None), core, warnings=[])
    assert got["5:11"]["inputs"]["width"] == 100


def test_subgraph_input_linked_from_outside(core: Spec) -> None:
    got = ui_to_api(_with_subgraph([321], width_link=True), core, warnings=[])
    assert got["5:11"]["inputs"]["width"] == ["7", 0]


def test_bypassed_subgraph_passes_through(core: Spec) -> None:
    wf = _with_subgraph([321], inner_mode=4)
    wf["nodes"][1]["mode"] = 4
    got = ui_to_api(wf, core, warnings=[])
    assert set(got) == {"1", "6"}
    assert got["6"]["inputs"]["images"] == ["1", 0]


def test_nested_subgraphs(core: Spec) -> None:
    inner_id = "aaaaaaaa-0000-4000-8000-000000000001"
    outer_id = "bbbbbbbb-0000-4000-8000-000000000002"
    inner = _subgraph_def(inner_id)
    outer = {
        "id": outer_id,
        "version": 1,
        "state": {},
        "name": "Outer",
        "inputs": [{"id": "x", "name": "image", "type": "IMAGE", "linkIds": [30]}],
        "outputs": [{"id": "y", "name": "IMAGE", "type": "IMAGE", "linkIds": [31]}],
        "nodes": [
            node(3, inner_id, [inp("image", "IMAGE", 30)], [out("IMAGE", "IMAGE", [31])], [55])
        ],
        "links": [
            {
                "id": 30,
                "origin_id": -10,
                "origin_slot": 0,
                "target_id": 3,
                "target_slot": 0,
                "type": "IMAGE",
            },
            {
                "id": 31,
                "origin_id": 3,
                "origin_slot": 0,
                "target_id": -20,
                "target_slot": 0,
                "type": "IMAGE",
            },
        ],
    }
    nodes = [
        node(
            1,
            "LoadImage",
            [],
            [out("IMAGE", "IMAGE", [1]), out("MASK", "MASK")],
            ["a.png", "image"],
        ),
        node(8, outer_id, [inp("image", "IMAGE", 1)], [out("IMAGE", "IMAGE", [2])]),
        node(6, "SaveImage", [inp("images", "IMAGE", 2)], [], ["out"]),
    ]
    wf = workflow(
        nodes,
        [[1, 1, 0, 8, 0, "IMAGE"], [2, 8, 0, 6, 0, "IMAGE"]],
        definitions={"subgraphs": [outer, inner]},
    )
    got = ui_to_api(wf, core, warnings=[])
    assert set(got) == {"1", "8:3:11", "6"}
    assert got["8:3:11"]["inputs"]["image"] == ["1", 0]
    assert got["8:3:11"]["inputs"]["width"] == 55
    assert got["6"]["inputs"]["images"] == ["8:3:11", 0]


def test_recursive_subgraph_is_reported_not_looped(core: Spec) -> None:
    sid = "cccccccc-0000-4000-8000-000000000003"
    d = {
        "id": sid,
        "name": "Loop",
        "inputs": [],
        "outputs": [],
        "nodes": [node(1, sid)],
        "links": [],
    }
    w: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = ui_to_api(
            workflow([node(2, sid)], [], definitions={"subgraphs": [d]}), core, warnings=w
        )
    assert got == {}
    assert any("contains itself" in m for m in w)


def test_set_and_get_nodes_route_by_name(core: Spec) -> None:
    nodes = [
        node(
            1,
            "LoadImage",
            [],
            [out("IMAGE", "IMAGE", [1]), out("MASK", "MASK")],
            ["a.png", "image"],
        ),
        node(2, "SetNode", [inp("IMAGE", "IMAGE", 1)], [out("*", "*")], ["img"]),
        node(3, "GetNode", [], [out("IMAGE", "IMAGE", [2])], ["img"]),
        node(4, "SaveImage", [inp("images", "IMAGE", 2)], [], ["x"]),
        node(5, "workflow>old group", [], [out("IMAGE", "IMAGE")]),
    ]
    w: list[str] = []
    got = ui_to_api(
        workflow(nodes, [[1, 1, 0, 2, 0, "IMAGE"], [2, 3, 0, 4, 0, "IMAGE"]]), core, warnings=w
    )
    assert set(got) == {"1", "4"}
    assert got["4"]["inputs"]["images"] == ["1", 0]
    assert any("node 5" in m and "group node" in m for m in w)


def test_primitive_node_into_a_subgraph_widget(core: Spec) -> None:
    wf = _with_subgraph([321], width_link=True)
    prim = wf["nodes"][3]
    prim["type"] = "PrimitiveNode"
    prim["outputs"][0]["widget"] = {"name": "width"}
    prim["widgets_values"] = [999, "fixed"]
    got = ui_to_api(wf, core, warnings=[])
    assert "7" not in got
    assert got["5:11"]["inputs"]["width"] == 999
