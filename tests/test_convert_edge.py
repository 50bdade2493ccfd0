"""UI -> API edge cases, each derived from the editor's code at frontend v1.27.10.

Every expected value below was worked out by reading the frontend at tag v1.27.10 (the version
the devset was produced with); the comment on each test names the function that decides it:

- ``src/utils/executionUtil.ts graphToPrompt``: applyToGraph on virtual nodes, then
  ``graph.serialize()``, then one record per executable node (widgets first, then resolved
  links), then the pruning of links to nodes that were not emitted.
- ``src/lib/litegraph/src/subgraph/ExecutableNodeDTO.ts``: ``resolveInput``, ``resolveOutput``
  and ``#getBypassSlotIndex``.
- ``src/lib/litegraph/src/subgraph/SubgraphNode.ts``: ``getInnerNodes`` (no mode check),
  ``_internalConfigureAfterSlots`` / ``#setWidget`` (widget promotion), ``serialize`` (copies the
  promoted values into the inner widgets).
- ``src/services/litegraphService.ts`` ``ComfyNode.configure`` (inputs rebuilt from the node
  definition and merged with the saved ones by name).
- ``src/extensions/core/widgetInputs.ts PrimitiveNode.applyToGraph``.
- ``src/scripts/app.ts loadGraphData`` (load-time renames and patches).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_convert_helpers import ckpt, inp, node, out, workflow

from cmfy_graph.convert.ui import ui_to_api
from cmfy_graph.spec import Spec, core_spec


@cache
def _core() -> Spec:
    return core_spec()


SID = "aaaaaaaa-0000-4000-8000-00000000000a"
SID2 = "bbbbbbbb-0000-4000-8000-00000000000b"


def _link(id_: int, o: int, os_: int, t: int, ts: int, typ: str) -> dict[str, Any]:
    return {
        "id": id_,
        "origin_id": o,
        "origin_slot": os_,
        "target_id": t,
        "target_slot": ts,
        "type": typ,
    }


def _ksampler(id_: int, model: int | None = None, seed: int | None = None) -> dict[str, Any]:
    ins = [inp("model", "MODEL", model)]
    if seed is not None:
        ins.append(inp("seed", "INT", seed, widget=True))
    return node(
        id_,
        "KSampler",
        ins,
        [out("LATENT", "LATENT")],
        [5, "fixed", 20, 8, "euler", "normal", 1],
    )


# ---------------------------------------------------------------------------------------------
# bypass


def test_bypass_counts_the_unlinked_widget_sockets_a_compressed_file_left_out(core: Spec) -> None:
    # The saved (compressed) StringConcatenate keeps only its linked socket string_b. Once
    # loaded, ComfyNode.configure rebuilds the sockets from the definition: [string_a,
    # string_b, delimiter]. #getBypassSlotIndex(0, "STRING") prefers the input at the same
    # index, string_a, which is unlinked -> resolveInput gives nothing -> the consumer keeps its
    # widget value (graphToPrompt writes widgets first, links only when resolved).
    nodes = [
        node(1, "PrimitiveString", [], [out("STRING", "STRING", [1])], ["B"]),
        node(
            2,
            "StringConcatenate",
            [inp("string_b", "STRING", 1, widget=True)],
            [out("STRING", "STRING", [2])],
            ["a", "b", ""],
            mode=4,
        ),
        node(
            3,
            "CLIPTextEncode",
            [inp("clip", "CLIP"), inp("text", "STRING", 2, widget=True)],
            [out("CONDITIONING", "CONDITIONING")],
            ["own text"],
        ),
    ]
    links = [[1, 1, 0, 2, 0, "STRING"], [2, 2, 0, 3, 1, "STRING"]]
    got = ui_to_api(workflow(nodes, links), core, warnings=[])
    assert got["3"]["inputs"] == {"text": "own text"}
    assert got["1"]["inputs"] == {"value": "B"}


def test_bypass_slot_follows_the_definition_order_not_the_saved_order(core: Spec) -> None:
    # Saved inputs in the order [image2, image1]; ComfyNode.configure puts them back in the
    # definition's order [image1, image2]. Same-index preference for output 0 -> image1.
    nodes = [
        node(1, "LoadImage", [], [out("IMAGE", "IMAGE", [1]), out("MASK", "MASK")], ["a", "image"]),
        node(2, "LoadImage", [], [out("IMAGE", "IMAGE", [2]), out("MASK", "MASK")], ["b", "image"]),
        node(
            3,
            "ImageBatch",
            [inp("image2", "IMAGE", 1), inp("image1", "IMAGE", 2)],
            [out("IMAGE", "IMAGE", [3])],
            mode=4,
        ),
        node(4, "SaveImage", [inp("images", "IMAGE", 3)], [], ["x"]),
    ]
    links = [[1, 1, 0, 3, 0, "IMAGE"], [2, 2, 0, 3, 1, "IMAGE"], [3, 3, 0, 4, 0, "IMAGE"]]
    got = ui_to_api(workflow(nodes, links), core, warnings=[])
    assert got["4"]["inputs"]["images"] == ["2", 0]


def test_bypass_with_a_wildcard_consumer_takes_the_same_slot_whatever_its_type(
    core: Spec,
) -> None:
    # #getBypassSlotIndex: type '*' -> the input at the output's index (else 0), no type check.
    # PreviewAny.source ('*') <- bypassed VAEDecode output 0 -> input 0 (samples, LATENT).
    # PreviewAny.source <- bypassed LoraLoader output 1 -> input 1 (clip).
    nodes = [
        node(1, "EmptyLatentImage", [], [out("LATENT", "LATENT", [1])], [512, 512, 1]),
        ckpt(2, ([4], [5], [2])),
        node(
            3,
            "VAEDecode",
            [inp("samples", "LATENT", 1), inp("vae", "VAE", 2)],
            [out("IMAGE", "IMAGE", [3])],
            mode=4,
        ),
        node(4, "PreviewAny", [inp("source", "*", 3)], []),
        node(
            5,
            "LoraLoader",
            [inp("model", "MODEL", 4), inp("clip", "CLIP", 5)],
            [out("MODEL", "MODEL"), out("CLIP", "CLIP", [6])],
            ["l.safetensors", 1, 1],
            mode=4,
        ),
        node(6, "PreviewAny", [inp("source", "*", 6)], []),
    ]
    links = [
        [1, 1, 0, 3, 0, "LATENT"],
        [2, 2, 2, 3, 1, "VAE"],
        [3, 3, 0, 4, 0, "*"],
        [4, 2, 0, 5, 0, "MODEL"],
        [5, 2, 1, 5, 1, "CLIP"],
        [6, 5, 1, 6, 0, "*"],
    ]
    got = ui_to_api(workflow(nodes, links), core, warnings=[])
    assert got["4"]["inputs"] == {"preview": "", "source": ["1", 0]}
    assert got["6"]["inputs"] == {"preview": "", "source": ["2", 1]}


def test_bypass_chain_through_reroutes(core: Spec) -> None:
    # ckpt -> Reroute -> LoraLoader (bypassed) -> LoraLoader (bypassed) -> Reroute -> KSampler.
    # A Reroute passes the consumer's type on (resolveOutput of a virtual node calls
    # resolveInput(slot, visited, type)); a bypassed node resolves its chosen input with its
    # own input type (resolveInput(matchingIndex, visited)).
    lora = ["l.safetensors", 1, 1]
    nodes = [
        ckpt(1, ([1], [2], [])),
        node(2, "Reroute", [inp("", "*", 1)], [out("", "MODEL", [3])]),
        node(
            3,
            "LoraLoader",
            [inp("model", "MODEL", 3), inp("clip", "CLIP", 2)],
            [out("MODEL", "MODEL", [4]), out("CLIP", "CLIP", [5])],
            lora,
            mode=4,
        ),
        node(
            4,
            "LoraLoader",
            [inp("model", "MODEL", 4), inp("clip", "CLIP", 5)],
            [out("MODEL", "MODEL", [6]), out("CLIP", "CLIP", [7])],
            lora,
            mode=4,
        ),
        node(5, "Reroute", [inp("", "*", 6)], [out("", "MODEL", [8])]),
        _ksampler(6, model=8),
        node(
            7,
            "CLIPTextEncode",
            [inp("clip", "CLIP", 7)],
            [out("CONDITIONING", "CONDITIONING")],
            ["t"],
        ),
    ]
    links = [
        [1, 1, 0, 2, 0, "MODEL"],
        [2, 1, 1, 3, 1, "CLIP"],
        [3, 2, 0, 3, 0, "MODEL"],
        [4, 3, 0, 4, 0, "MODEL"],
        [5, 3, 1, 4, 1, "CLIP"],
        [6, 4, 0, 5, 0, "MODEL"],
        [7, 4, 1, 7, 0, "CLIP"],
        [8, 5, 0, 6, 0, "MODEL"],
    ]
    got = ui_to_api(workflow(nodes, links), core, warnings=[])
    assert set(got) == {"1", "6", "7"}
    assert got["6"]["inputs"]["model"] == ["1", 0]
    assert got["7"]["inputs"] == {"text": "t", "clip": ["1", 1]}


def test_bypass_whose_matching_input_is_unconnected_gives_nothing(core: Spec) -> None:
    # LoraLoader bypassed, model unlinked, clip linked: output 0 (MODEL) -> same index, model,
    # type fits -> resolveInput(0) -> no link -> undefined. Not a fallback to another input:
    # KSampler.model (no widget) is simply absent.
    nodes = [
        ckpt(1, ([], [1], [])),
        node(
            2,
            "LoraLoader",
            [inp("model", "MODEL"), inp("clip", "CLIP", 1)],
            [out("MODEL", "MODEL", [2]), out("CLIP", "CLIP")],
            ["l.safetensors", 1, 1],
            mode=4,
        ),
        _ksampler(3, model=2),
    ]
    links = [[1, 1, 1, 2, 1, "CLIP"], [2, 2, 0, 3, 0, "MODEL"]]
    got = ui_to_api(workflow(nodes, links), core, warnings=[])
    assert "model" not in got["3"]["inputs"]
    assert got["3"]["inputs"]["seed"] == 5


def test_bypass_into_a_widget_socket_without_a_source_keeps_the_widget_value(
    core: Spec,
) -> None:
    # KSampler.seed <- PrimitiveInt (bypassed, its 'value' socket unlinked and left out of the
    # compressed file): slot 0 -> 'value' -> no link -> undefined -> seed keeps 5.
    nodes = [
        node(1, "PrimitiveInt", [], [out("INT", "INT", [1])], [99, "fixed"], mode=4),
        _ksampler(2, seed=1),
    ]
    got = ui_to_api(workflow(nodes, [[1, 1, 0, 2, 1, "INT"]]), core, warnings=[])
    assert got["2"]["inputs"]["seed"] == 5
    assert "1" not in got


# ---------------------------------------------------------------------------------------------
# muted sources


def test_muted_source_through_reroute_and_bypass_removes_the_widget_value(core: Spec) -> None:
    # resolveOutput of a muted (mode 2) node that is not virtual returns the node itself: the
    # link is written over the widget value, then pruned because the node was not emitted,
    # so the input disappears altogether (widget or not). Reroutes and bypassed nodes on the
    # way do not change that.
    nodes = [
        node(1, "PrimitiveInt", [], [out("INT", "INT", [1, 2])], [640, "fixed"], mode=2),
        node(2, "Reroute", [inp("", "*", 1)], [out("", "INT", [3])]),
        node(
            3,
            "PrimitiveInt",
            [inp("value", "INT", 2, widget=True)],
            [out("INT", "INT", [4])],
            [0, "fixed"],
            mode=4,
        ),
        node(
            4,
            "EmptyLatentImage",
            [inp("width", "INT", 3, widget=True), inp("height", "INT", 4, widget=True)],
            [out("LATENT", "LATENT", [5])],
            [512, 512, 1],
        ),
        node(5, "EmptyLatentImage", [], [out("LATENT", "LATENT", [6])], [64, 64, 1], mode=2),
        node(
            6,
            "VAEDecode",
            [inp("samples", "LATENT", 6), inp("vae", "VAE")],
            [out("IMAGE", "IMAGE")],
        ),
    ]
    links = [
        [1, 1, 0, 2, 0, "INT"],
        [2, 1, 0, 3, 0, "INT"],
        [3, 2, 0, 4, 0, "INT"],
        [4, 3, 0, 4, 1, "INT"],
        [6, 5, 0, 6, 0, "LATENT"],
    ]
    got = ui_to_api(workflow(nodes, links), core, warnings=[])
    assert got["4"]["inputs"] == {"batch_size": 1}
    assert got["6"]["inputs"] == {}


# ---------------------------------------------------------------------------------------------
# PrimitiveNode


def _primitive(id_: int, links: list[int], value: Any, name: str = "width") -> dict[str, Any]:
    return node(
        id_,
        "PrimitiveNode",
        [],
        [{"name": "INT", "type": "INT", "links": links, "widget": {"name": name}}],
        [value, "randomize"],
    )


def test_primitive_into_a_reroute_writes_nothing(core: Spec) -> None:
    # applyToGraph: the link's target is the Reroute, whose input has no widget -> skipped.
    # The consumer's link resolves through the Reroute to the PrimitiveNode, which has no
    # input -> undefined -> the consumer keeps its own widget value.
    nodes = [
        _primitive(1, [1], 77),
        node(2, "Reroute", [inp("", "*", 1)], [out("", "INT", [2])]),
        node(
            3,
            "EmptyLatentImage",
            [inp("width", "INT", 2, widget=True)],
            [out("LATENT", "LATENT")],
            [512, 256, 1],
        ),
    ]
    got = ui_to_api(workflow(nodes, [[1, 1, 0, 2, 0, "INT"], [2, 2, 0, 3, 0, "INT"]]), core)
    assert got == {
        "3": {
            "inputs": {"width": 512, "height": 256, "batch_size": 1},
            "class_type": "EmptyLatentImage",
            "_meta": {"title": "Empty Latent Image"},
        }
    }


def test_primitive_sends_its_current_value_and_skips_muted_targets(core: Spec) -> None:
    # applyToGraph copies widgets[0] as it is (control_after_generate is applied after queueing,
    # not by graphToPrompt); a muted target is written to but not emitted.
    nodes = [
        _primitive(1, [1, 2, 3], 1234, name="seed"),
        _ksampler(2, seed=1),
        _ksampler(3, seed=2),
        _ksampler(4, seed=3),
    ]
    nodes[3]["mode"] = 2
    links = [[1, 1, 0, 2, 1, "INT"], [2, 1, 0, 3, 1, "INT"], [3, 1, 0, 4, 1, "INT"]]
    got = ui_to_api(workflow(nodes, links), core, warnings=[])
    assert set(got) == {"2", "3"}
    assert got["2"]["inputs"]["seed"] == 1234
    assert got["3"]["inputs"]["seed"] == 1234


def test_primitive_inside_a_subgraph_is_reported(core: Spec) -> None:
    # applyToGraph looks its links up in app.graph, the *root* graph: a link id that only
    # exists in the subgraph makes the editor fail to export. We warn and apply the value.
    d = _scale_def(SID)
    d["nodes"].append(_primitive(30, [31], 432))
    d["nodes"][0]["inputs"].append(inp("height", "INT", 31, widget=True))
    d["links"].append(_link(31, 30, 0, 11, 2, "INT"))
    w: list[str] = []
    got = ui_to_api(_instances(d, [[321]]), core, warnings=w)
    assert got["5:11"]["inputs"]["height"] == 432
    assert any("root graph" in m and "node 5:30" in m for m in w)


# ---------------------------------------------------------------------------------------------
# subgraphs


def _scale_def(sid: str) -> dict[str, Any]:
    """Input 'image' (IMAGE) and 'width' (INT) -> ImageScale (inner width 100) -> output."""
    return {
        "id": sid,
        "version": 1,
        "state": {},
        "name": "Scale",
        "inputNode": {"id": -10, "bounding": [0, 0, 10, 10]},
        "outputNode": {"id": -20, "bounding": [0, 0, 10, 10]},
        "inputs": [
            {"id": "i1", "name": "image", "type": "IMAGE", "linkIds": [10]},
            {"id": "i2", "name": "width", "type": "INT", "linkIds": [11]},
        ],
        "outputs": [{"id": "o1", "name": "IMAGE", "type": "IMAGE", "linkIds": [12]}],
        "nodes": [
            node(
                11,
                "ImageScale",
                [inp("image", "IMAGE", 10), inp("width", "INT", 11, widget=True)],
                [out("IMAGE", "IMAGE", [12])],
                ["nearest-exact", 100, 200, "disabled"],
            )
        ],
        "links": [
            _link(10, -10, 0, 11, 0, "IMAGE"),
            _link(11, -10, 1, 11, 1, "INT"),
            _link(12, 11, 0, -20, 0, "IMAGE"),
        ],
    }


def _instances(
    d: dict[str, Any],
    values: list[list[Any] | None],
    width_from: list[dict[str, Any] | None] | None = None,
    extra: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """LoadImage 1 -> one instance per entry of ``values`` (ids 5, 9, 13, ...) -> SaveImage.

    ``width_from[i]`` is a node whose output 0 feeds instance i's 'width' input."""
    nodes: list[dict[str, Any]] = [
        node(1, "LoadImage", [], [out("IMAGE", "IMAGE", []), out("MASK", "MASK")], ["a", "image"])
    ]
    links: list[list[Any]] = []
    lid = 100
    for i, v in enumerate(values):
        iid = 5 + 4 * i
        lid += 1
        links.append([lid, 1, 0, iid, 0, "IMAGE"])
        nodes[0]["outputs"][0]["links"].append(lid)
        ins = [inp("image", "IMAGE", lid)]
        src = (width_from or [None] * len(values))[i]
        if src is not None:
            lid += 1
            links.append([lid, src["id"], 0, iid, 1, "INT"])
            src["outputs"][0]["links"] = [*src["outputs"][0].get("links", []), lid]
            ins.append(inp("width", "INT", lid, widget=True))
            if src not in nodes:
                nodes.append(src)
        lid += 1
        links.append([lid, iid, 0, iid + 1, 0, "IMAGE"])
        nodes.append(node(iid, d["id"], ins, [out("IMAGE", "IMAGE", [lid])], v))
        nodes.append(node(iid + 1, "SaveImage", [inp("images", "IMAGE", lid)], [], ["x"]))
    nodes.extend(extra or [])
    return workflow(nodes, links, definitions={"subgraphs": [d]})


def test_muted_instance_is_still_expanded(core: Spec) -> None:
    # graphToPrompt -> ExecutableNodeDTO.getInnerNodes -> SubgraphNode.getInnerNodes: no mode
    # check, the inner nodes are emitted with their own modes; resolveOutput of a muted
    # instance is not a bypass, so it resolves inside (#resolveSubgraphOutput).
    wf = _instances(_scale_def(SID), [[321]])
    wf["nodes"][1]["mode"] = 2
    got = ui_to_api(wf, core, warnings=[])
    assert set(got) == {"1", "5:11", "6"}
    assert got["6"]["inputs"]["images"] == ["5:11", 0]
    assert got["5:11"]["inputs"]["width"] == 321


def test_promoted_widget_comes_from_the_first_link_that_has_one(core: Spec) -> None:
    # _internalConfigureAfterSlots walks the subgraph input's linkIds and promotes the widget
    # of the first link whose target has one; the first link here goes to PreviewAny.source
    # (no widget), the second to EmptyLatentImage.width. With the instance input unlinked,
    # resolveInput of *every* inner input linked from it returns the promoted widget's value
    # (widgetInfo), the non-widget PreviewAny.source included.
    d = {
        "id": SID,
        "version": 1,
        "state": {},
        "name": "Fan",
        "inputs": [{"id": "i", "name": "w", "type": "INT", "linkIds": [20, 21]}],
        "outputs": [{"id": "o", "name": "LATENT", "type": "LATENT", "linkIds": [22]}],
        "nodes": [
            node(21, "PreviewAny", [inp("source", "*", 20)], []),
            node(
                22,
                "EmptyLatentImage",
                [inp("width", "INT", 21, widget=True)],
                [out("LATENT", "LATENT", [22])],
                [512, 512, 1],
            ),
        ],
        "links": [
            _link(20, -10, 0, 21, 0, "INT"),
            _link(21, -10, 0, 22, 0, "INT"),
            _link(22, 22, 0, -20, 0, "LATENT"),
        ],
    }
    wf = workflow(
        [node(5, SID, [inp("w", "INT", None, widget=True)], [out("LATENT", "LATENT")], [640])],
        [],
        definitions={"subgraphs": [d]},
    )
    got = ui_to_api(wf, core, warnings=[])
    assert got["5:22"]["inputs"] == {"width": 640, "height": 512, "batch_size": 1}
    assert got["5:21"]["inputs"] == {"preview": "", "source": 640}


def test_instance_input_resolving_to_nothing_keeps_the_synced_value(core: Spec) -> None:
    # The instance's width input is fed by a bypassed PrimitiveInt with nothing upstream:
    # resolveInput gives undefined, so the inner ImageScale keeps its widget value. That value
    # is not the definition's 100: SubgraphNode.serialize (called by graph.serialize() before
    # the prompt is built) copied the instance's promoted value 321 into it.
    prim = node(7, "PrimitiveInt", [], [out("INT", "INT", [])], [640, "fixed"], mode=4)
    got = ui_to_api(_instances(_scale_def(SID), [[321]], [prim]), core, warnings=[])
    assert got["5:11"]["inputs"]["width"] == 321


def test_two_instances_fed_by_primitives_share_the_last_synced_value(core: Spec) -> None:
    # Each PrimitiveNode writes into its instance's promoted widget (applyToGraph); both links
    # then resolve to nothing (a PrimitiveNode has no input). The inner widget is one object
    # shared by both instances, and serialize() copies into it the value of each instance in
    # node order: the last one (222) wins for both.
    p1 = _primitive(7, [], 111)
    p2 = _primitive(8, [], 222)
    got = ui_to_api(_instances(_scale_def(SID), [[1], [2]], [p1, p2]), core, warnings=[])
    assert got["5:11"]["inputs"]["width"] == 222
    assert got["9:11"]["inputs"]["width"] == 222


def test_two_instances_with_unlinked_inputs_keep_their_own_values(core: Spec) -> None:
    # With the instance input unlinked, resolveInput returns each instance's own widget value.
    got = ui_to_api(_instances(_scale_def(SID), [[111], [222]]), core, warnings=[])
    assert got["5:11"]["inputs"]["width"] == 111
    assert got["9:11"]["inputs"]["width"] == 222


def _outer_def(inner_values: list[Any] | None) -> dict[str, Any]:
    """Outer definition: inputs image, width -> nested Scale instance 3 -> output."""
    return {
        "id": SID2,
        "version": 1,
        "state": {},
        "name": "Outer",
        "inputs": [
            {"id": "x", "name": "image", "type": "IMAGE", "linkIds": [30]},
            {"id": "y", "name": "width", "type": "INT", "linkIds": [32]},
        ],
        "outputs": [{"id": "z", "name": "IMAGE", "type": "IMAGE", "linkIds": [31]}],
        "nodes": [
            node(
                3,
                SID,
                [inp("image", "IMAGE", 30), inp("width", "INT", 32, widget=True)],
                [out("IMAGE", "IMAGE", [31])],
                inner_values,
            )
        ],
        "links": [
            _link(30, -10, 0, 3, 0, "IMAGE"),
            _link(32, -10, 1, 3, 1, "INT"),
            _link(31, 3, 0, -20, 0, "IMAGE"),
        ],
    }


def _nested(outer_values: list[Any] | None, width_src: dict[str, Any] | None) -> dict[str, Any]:
    wf = _instances(_outer_def([55]), [outer_values], [width_src])
    wf["definitions"]["subgraphs"].append(_scale_def(SID))
    return wf


def test_nested_promoted_widget_reaches_the_innermost_node(core: Spec) -> None:
    # ImageScale.width <- -10 of Scale -> nested instance 3's width, linked <- -10 of Outer ->
    # the root instance's width, unlinked -> its promoted widget value (777). The output goes
    # back out through -20 twice (#resolveSubgraphOutput, recursively).
    got = ui_to_api(_nested([777], None), core, warnings=[])
    assert set(got) == {"1", "5:3:11", "6"}
    assert got["5:3:11"]["inputs"]["width"] == 777
    assert got["5:3:11"]["inputs"]["image"] == ["1", 0]
    assert got["6"]["inputs"]["images"] == ["5:3:11", 0]


def test_nested_promoted_widget_fed_by_a_primitive(core: Spec) -> None:
    # The PrimitiveNode writes 999 into the root instance's widget; serialize() copies it into
    # the nested instance's widget, whose own serialize() copies it into ImageScale.width.
    got = ui_to_api(_nested([777], _primitive(7, [], 999)), core, warnings=[])
    assert got["5:3:11"]["inputs"]["width"] == 999


def test_nested_output_wired_from_a_linked_outer_input(core: Spec) -> None:
    got = ui_to_api(
        _nested([777], node(7, "PrimitiveInt", [], [out("INT", "INT", [])], [640, "fixed"])),
        core,
        warnings=[],
    )
    assert got["5:3:11"]["inputs"]["width"] == ["7", 0]
    assert got["7"]["inputs"] == {"value": 640}


# ---------------------------------------------------------------------------------------------
# load-time patches


def test_load_renames_and_sampler_prefix(core: Spec) -> None:
    # loadGraphData renames T2IAdapterLoader -> ControlNetLoader (before creating nodes, root
    # and subgraphs) and strips a "sample_" prefix from KSampler sampler_name (root nodes).
    nodes = [
        node(1, "T2IAdapterLoader", [], [out("CONTROL_NET", "CONTROL_NET")], ["t2i.pth"]),
        _ksampler(2),
    ]
    nodes[1]["widgets_values"][4] = "sample_euler_ancestral"
    got = ui_to_api(workflow(nodes, []), core, warnings=[])
    assert got["1"]["class_type"] == "ControlNetLoader"
    assert got["1"]["inputs"] == {"control_net_name": "t2i.pth"}
    assert got["2"]["inputs"]["sampler_name"] == "euler_ancestral"


# ---------------------------------------------------------------------------------------------
# titles and text replacements


def test_empty_title_is_the_class_title(core: Spec) -> None:
    # LGraphNode.configure: `if (!info.title) this.title = this.constructor.title`.
    got = ui_to_api(workflow([node(1, "EmptyLatentImage", widgets=[1, 2, 3], title="")], []), core)
    assert got["1"]["_meta"]["title"] == "Empty Latent Image"


def test_filename_prefix_text_replacements(core: Spec) -> None:
    # saveImageExtraOutput.ts: SaveImage's filename_prefix is sent through
    # applyTextReplacements: %Node.widget% finds the node by its 'Node name for S&R' property
    # (nodes other than the save nodes get their type as default), else by title; the value's
    # characters /?<>\:*|" and control characters become "_"; unknown references and
    # %date:...% (clock-dependent here) stay as written.
    loader = ckpt(1)
    loader["widgets_values"] = ["sd/m.safetensors"]
    loader["properties"] = {"Node name for S&R": "Loader"}
    nodes = [
        loader,
        node(2, "EmptyLatentImage", widgets=[832, 640, 1.0]),
        node(3, "EmptyLatentImage", widgets=[1, 2, 3], title="Size"),
        node(
            4,
            "SaveImage",
            [inp("images", "IMAGE")],
            [],
            ["%EmptyLatentImage.width%/%Loader.ckpt_name%_%Size.height%_%Nope.x%_%date:yyyy%"],
        ),
    ]
    w: list[str] = []
    got = ui_to_api(workflow(nodes, []), core, warnings=w)
    assert got["4"]["inputs"]["filename_prefix"] == "832/sd_m.safetensors_2_%Nope.x%_%date:yyyy%"
    assert any("%date:yyyy%" in m for m in w)


def test_primitive_with_widget_replace_on(core: Spec) -> None:
    # PrimitiveNode.applyToGraph applies applyTextReplacements to its value when the property
    # 'Run widget replace on values' is on.
    prim = node(
        1,
        "PrimitiveNode",
        [],
        [{"name": "STRING", "type": "STRING", "links": [1], "widget": {"name": "text"}}],
        ["a %EmptyLatentImage.batch_size% b"],
    )
    prim["properties"] = {"Run widget replace on values": True}
    nodes = [
        prim,
        node(2, "EmptyLatentImage", widgets=[8, 8, 4.0]),
        node(
            3,
            "CLIPTextEncode",
            [inp("clip", "CLIP"), inp("text", "STRING", 1, widget=True)],
            [out("CONDITIONING", "CONDITIONING")],
            ["old"],
        ),
    ]
    got = ui_to_api(workflow(nodes, [[1, 1, 0, 3, 1, "STRING"]]), core, warnings=[])
    assert got["3"]["inputs"] == {"text": "a 4 b"}


# ---------------------------------------------------------------------------------------------
# legacy widget values


def test_legacy_force_input_dummy_values_are_dropped_by_input_index() -> None:
    # litegraphUtil.ts migrateWidgetsValues (ComfyNode.configure): the inputs that are widgets
    # or forceInput (seed, a, f, last) count 2 + 1 + 1 + 1 = 5 values, the saved length; it
    # then pairs inputs and values *by index* and drops the value paired with the forceInput
    # input f, i.e. values[2] ("A"), not the dummy: the remaining values shift onto the widgets
    # [seed, control_after_generate, a, last].
    spec = Spec.from_dict(
        {
            "Legacy": {
                "input": {
                    "required": {
                        "seed": ["INT", {}],
                        "a": ["STRING", {}],
                        "f": ["STRING", {"forceInput": True}],
                        "last": ["INT", {}],
                    }
                },
                "output": [],
            }
        }
    )
    got = ui_to_api(workflow([node(1, "Legacy", widgets=[7, "fixed", "A", "dummy", 3])], []), spec)
    assert got["1"]["inputs"] == {"seed": 7, "a": "dummy", "last": 3}
    # a current file (no dummy value) is left alone
    got = ui_to_api(workflow([node(1, "Legacy", widgets=[7, "fixed", "A", 3])], []), spec)
    assert got["1"]["inputs"] == {"seed": 7, "a": "A", "last": 3}


# ---------------------------------------------------------------------------------------------
# property: chains of reroutes, bypassed, muted and live nodes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["reroute", "live", "bypass", "mute"]), max_size=8))
def test_chain_resolution_matches_a_walk_back(kinds: list[str]) -> None:
    # LoadImage -> chain -> SaveImage. Walking back from a consumer: a Reroute or a bypassed
    # ImageInvert passes through (same slot, same type), a live ImageInvert is the origin, a
    # muted one is an origin too but is pruned, taking the input with it.
    core = _core()
    nodes: list[dict[str, Any]] = [
        node(1, "LoadImage", [], [out("IMAGE", "IMAGE", [1]), out("MASK", "MASK")], ["a", "image"])
    ]
    links: list[list[Any]] = []
    prev = 1
    for i, kind in enumerate(kinds):
        nid = 10 + i
        lid = len(links) + 1
        links.append([lid, prev, 0, nid, 0, "IMAGE"])
        mode = {"bypass": 4, "mute": 2}.get(kind, 0)
        if kind == "reroute":
            nodes.append(node(nid, "Reroute", [inp("", "*", lid)], [out("", "IMAGE", [lid + 1])]))
        else:
            nodes.append(
                node(
                    nid,
                    "ImageInvert",
                    [inp("image", "IMAGE", lid)],
                    [out("IMAGE", "IMAGE", [lid + 1])],
                    mode=mode,
                )
            )
        prev = nid
    links.append([len(links) + 1, prev, 0, 99, 0, "IMAGE"])
    nodes.append(node(99, "SaveImage", [inp("images", "IMAGE", len(links))], [], ["x"]))
    got = ui_to_api(workflow(nodes, links), core, warnings=[])

    def origin(pos: int) -> str | None:
        """What the consumer after chain position ``pos`` (exclusive) gets."""
        for j in range(pos - 1, -1, -1):
            if kinds[j] in ("reroute", "bypass"):
                continue
            return None if kinds[j] == "mute" else str(10 + j)
        return "1"

    live = {str(10 + j) for j, k in enumerate(kinds) if k == "live"}
    assert set(got) == {"1", "99"} | live
    expect = origin(len(kinds))
    assert got["99"]["inputs"].get("images") == (None if expect is None else [expect, 0])
    for j, k in enumerate(kinds):
        if k == "live":
            o = origin(j)
            assert got[str(10 + j)]["inputs"].get("image") == (None if o is None else [o, 0])


def test_remote_combo_refresh_button_is_sent(core: Spec) -> None:
    # LoadImageOutput.image is a remote combo (refresh_button): useComboWidget -> useRemoteWidget
    # adds an "Auto-refresh after generation" toggle (options.serialize false: saved, not sent)
    # and addRefreshButton a button named "refresh" with the value "refresh" and no
    # serialize:false, so graphToPrompt's widget loop sends it; then the upload button.
    saved = ["out.png [output]", False, "refresh", "image"]
    got = ui_to_api(
        workflow([node(1, "LoadImageOutput", [], [out("IMAGE", "IMAGE")], saved)], []),
        core,
        warnings=[],
    )
    assert got["1"]["inputs"] == {"image": "out.png [output]", "refresh": "refresh"}


def test_bypass_slot_choice_order_same_index_then_exact_then_compatible() -> None:
    # #getBypassSlotIndex(slot, type): (1) the input at the output's index if it fits both the
    # output type and the consumer type, (2) else the first input of exactly the consumer's
    # type, (3) else the first input that fits both ('*' fits anything), (4) else none.
    spec = Spec.from_dict(
        {
            "Src": {"input": {"required": {}}, "output": ["IMAGE"]},
            "Sink": {"input": {"required": {"images": ["IMAGE"]}}, "output": []},
            "AnyFirst": {
                "input": {"required": {"a": ["*"], "b": ["IMAGE"]}},
                "input_order": {"required": ["a", "b"]},
                "output": ["IMAGE"],
            },
            "ExactLater": {
                "input": {"required": {"a": ["LATENT"], "b": ["*"], "c": ["IMAGE"]}},
                "input_order": {"required": ["a", "b", "c"]},
                "output": ["IMAGE"],
            },
            "Compatible": {
                "input": {"required": {"a": ["LATENT"], "b": ["MASK,IMAGE"]}},
                "input_order": {"required": ["a", "b"]},
                "output": ["IMAGE"],
            },
            "NoMatch": {
                "input": {"required": {"a": ["LATENT"]}},
                "output": ["IMAGE"],
            },
        }
    )

    def run(kind: str, names: list[str]) -> Any:
        ins = [inp(n, "*", 10 + i) for i, n in enumerate(names)]
        srcs = [
            node(10 + i, "Src", [], [out("IMAGE", "IMAGE", [10 + i])]) for i in range(len(names))
        ]
        nodes = [
            *srcs,
            node(2, kind, ins, [out("IMAGE", "IMAGE", [1])], mode=4),
            node(3, "Sink", [inp("images", "IMAGE", 1)], []),
        ]
        links = [[10 + i, 10 + i, 0, 2, i, "IMAGE"] for i in range(len(names))]
        links.append([1, 2, 0, 3, 0, "IMAGE"])
        return ui_to_api(workflow(nodes, links), spec, warnings=[])["3"]["inputs"].get("images")

    assert run("AnyFirst", ["a", "b"]) == ["10", 0]  # same index ('*') before exact
    assert run("ExactLater", ["a", "b", "c"]) == ["12", 0]  # exact IMAGE before '*'
    assert run("Compatible", ["a", "b"]) == ["11", 0]  # "MASK,IMAGE" fits IMAGE
    assert run("NoMatch", ["a"]) is None


def test_bypassed_instance_passes_through_yet_its_live_inner_nodes_are_sent(core: Spec) -> None:
    # resolveOutput checks BYPASS before isSubgraphNode: the instance passes its input 'image'
    # through (#getBypassSlotIndex on the instance's own inputs / outputs). getInnerNodes has
    # no mode check, so an inner node left in mode 0 is still sent.
    wf = _instances(_scale_def(SID), [[321]])
    wf["nodes"][1]["mode"] = 4
    got = ui_to_api(wf, core, warnings=[])
    assert got["6"]["inputs"]["images"] == ["1", 0]
    assert got["5:11"]["inputs"]["image"] == ["1", 0]
    assert got["5:11"]["inputs"]["width"] == 321


# -- the editor of ComfyUI 2026 (frontend 1.58.1): graphToPrompt does not expand a muted or
# bypassed instance of the root graph, and a muted origin resolves to nothing


def test_the_2026_editor_does_not_expand_a_muted_instance() -> None:
    latest = core_spec()
    wf = _instances(_scale_def(SID), [[321]])
    wf["nodes"][1]["mode"] = 2
    got = ui_to_api(wf, latest, warnings=[])
    assert set(got) == {"1", "6"}
    assert "images" not in got["6"]["inputs"]


def test_the_2026_editor_passes_a_bypassed_instance_through() -> None:
    latest = core_spec()
    wf = _instances(_scale_def(SID), [[321]])
    wf["nodes"][1]["mode"] = 4
    got = ui_to_api(wf, latest, warnings=[])
    assert set(got) == {"1", "6"}
    assert got["6"]["inputs"]["images"] == ["1", 0]


def test_a_muted_origin_leaves_the_widget_value_with_the_2026_editor(core: Spec) -> None:
    prim = node(7, "PrimitiveInt", [], [out("INT", "INT", [30])], [640, "fixed"], mode=2)
    latent = node(
        8,
        "EmptyLatentImage",
        [inp("width", "INT", 30, widget=True)],
        [out("LATENT", "LATENT", [31])],
        [512, 768, 1],
    )
    prev = node(9, "PreviewAny", [inp("source", "*", 31)], [])
    wf = workflow([prim, latent, prev], [[30, 7, 0, 8, 0, "INT"], [31, 8, 0, 9, 0, "LATENT"]])
    # resolveOutput of a muted node returns nothing: the widget value stays (1.58.1)
    assert ui_to_api(wf, core_spec(), warnings=[])["8"]["inputs"]["width"] == 512
    # 1.27.10 linked it and then dropped the link to the node it did not send
    assert "width" not in ui_to_api(wf, core, warnings=[])["8"]["inputs"]


def test_the_2026_editor_applies_a_primitive_inside_a_subgraph_silently() -> None:
    # widgetValuePropagation.ts: the links of the primitive's own graph (1.27.10 looked them
    # up in the root graph and failed to export)
    d = _scale_def(SID)
    d["nodes"].append(_primitive(30, [31], 432))
    d["nodes"][0]["inputs"].append(inp("height", "INT", 31, widget=True))
    d["links"].append(_link(31, 30, 0, 11, 2, "INT"))
    w: list[str] = []
    got = ui_to_api(_instances(d, [[321]]), core_spec(), warnings=w)
    assert got["5:11"]["inputs"]["height"] == 432
    assert not w


def test_prompt_keys_come_in_the_order_the_editor_serialises_them(core: Spec) -> None:
    # JSON.stringify of the editor's prompt object: array-index keys ("2", "10") first in
    # numeric order, then the others in insertion order, a subgraph's inner nodes in the
    # definition's array order (SubgraphNode.getInnerNodes)
    d = _scale_def(SID)
    d["nodes"].insert(0, node(40, "PrimitiveInt", [], [out("INT", "INT", [])], [1, "fixed"]))
    d["nodes"][0]["order"] = 5
    wf = _instances(d, [[321]])
    wf["nodes"][0]["id"] = 10  # LoadImage as node 10, so "10" sorts after "6" numerically
    for ln in wf["links"]:
        if ln[1] == 1:
            ln[1] = 10
    got = ui_to_api(wf, core, warnings=[])
    assert list(got) == ["6", "10", "5:40", "5:11"]


def _keys_as_javascript_orders_them(batches: list[list[str]]) -> list[list[str]] | None:
    """Each list of keys as ``Object.keys`` of an object built in that order (node), or None
    when no JavaScript engine is installed."""
    import json
    import shutil
    import subprocess

    exe = shutil.which("node")
    if exe is None:
        return None
    script = (
        "const b = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(b.map(ks => {"
        "const o = {}; for (const k of ks) o[k] = 1; return Object.keys(o); })));"
    )
    r = subprocess.run(
        [exe, "-e", script], input=json.dumps(batches), capture_output=True, text=True, timeout=60
    )
    return json.loads(r.stdout) if r.returncode == 0 else None


def test_prompt_key_order_is_javascripts() -> None:
    import random

    from cmfy_graph.convert.ui.core import _js_key_order

    rng = random.Random(7)
    pool = [
        "0",
        "00",
        "01",
        "1",
        "2",
        "9",
        "10",
        "12",
        "100",
        "4294967294",
        "4294967295",
        "99999999999",
        "5:11",
        "5:2",
        "a",
        "-1",
        "1.5",
        " 3",
        "٣",
        "x10",
        "10x",
        "",
    ]
    batches = [rng.sample(pool, rng.randint(1, len(pool))) for _ in range(300)]
    ours = [list(_js_key_order(dict.fromkeys(ks))) for ks in batches]
    theirs = _keys_as_javascript_orders_them(batches)
    if theirs is None:
        import pytest

        pytest.skip("no JavaScript engine (node) on this machine")
    assert ours == theirs
