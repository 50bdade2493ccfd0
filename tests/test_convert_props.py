"""Property tests: random UI graphs (mutes, bypasses, reroutes, primitives, subgraphs) convert
without raising and never produce a link to a node that is not in the output."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_convert_helpers import inp, node, out, workflow

from cmfy_graph.convert.layout import to_ui
from cmfy_graph.convert.ui import ui_to_api
from cmfy_graph.spec import core_spec

# (class, [(input, type, is_widget)], [output types], widgets_values)
TEMPLATES: list[tuple[str, list[tuple[str, str, bool]], list[str], list[Any]]] = [
    ("CheckpointLoaderSimple", [], ["MODEL", "CLIP", "VAE"], ["m.safetensors"]),
    (
        "CLIPTextEncode",
        [("clip", "CLIP", False), ("text", "STRING", True)],
        ["CONDITIONING"],
        ["x"],
    ),
    ("EmptyLatentImage", [("width", "INT", True)], ["LATENT"], [512, 512, 1]),
    (
        "KSampler",
        [
            ("model", "MODEL", False),
            ("positive", "CONDITIONING", False),
            ("negative", "CONDITIONING", False),
            ("latent_image", "LATENT", False),
            ("seed", "INT", True),
        ],
        ["LATENT"],
        [1, "fixed", 20, 8, "euler", "normal", 1],
    ),
    ("VAEDecode", [("samples", "LATENT", False), ("vae", "VAE", False)], ["IMAGE"], []),
    ("ImageInvert", [("image", "IMAGE", False)], ["IMAGE"], []),
    ("ImageBatch", [("image1", "IMAGE", False), ("image2", "IMAGE", False)], ["IMAGE"], []),
    ("SaveImage", [("images", "IMAGE", False)], [], ["out"]),
    ("PreviewAny", [("source", "*", False)], [], []),
    ("PrimitiveInt", [("value", "INT", True)], ["INT"], [3, "fixed"]),
    ("Reroute", [("", "*", False)], ["*"], []),
    ("PrimitiveNode", [], ["INT"], [9, "fixed"]),
    ("Note", [], [], ["note"]),
]


@st.composite
def ui_graphs(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(min_value=1, max_value=12))
    nodes: list[dict[str, Any]] = []
    links: list[list[Any]] = []
    outputs: list[tuple[int, int, str]] = []  # (node id, slot, type)
    link_id = 0
    for i in range(1, n + 1):
        cls, ins, outs, wv = draw(st.sampled_from(TEMPLATES))
        mode = draw(st.sampled_from([0, 0, 0, 2, 4]))
        inputs = []
        for name, typ, is_widget in ins:
            link = None
            cands = [o for o in outputs if draw(st.booleans())]
            if cands and draw(st.booleans()):
                src = draw(st.sampled_from(cands))
                link_id += 1
                link = link_id
                links.append([link_id, src[0], src[1], i, len(inputs), src[2]])
                for nd in nodes:
                    if nd["id"] == src[0]:
                        nd["outputs"][src[1]]["links"].append(link_id)
            d: dict[str, Any] = {"name": name, "type": typ, "link": link}
            if is_widget:
                d["widget"] = {"name": name}
            inputs.append(d)
        nodes.append(
            node(
                i,
                cls,
                inputs,
                [{"name": t, "type": t, "links": []} for t in outs],
                list(wv),
                mode=mode,
            )
        )
        outputs.extend((i, s, t) for s, t in enumerate(outs))
    if draw(st.booleans()) and links:  # a dangling link id somewhere
        nodes[-1]["inputs"].append({"name": "ghost", "type": "IMAGE", "link": 10_000})
    return workflow(nodes, links)


def _check(prompt: dict[str, Any]) -> None:
    for nid, entry in prompt.items():
        assert entry["class_type"] not in ("Reroute", "PrimitiveNode", "Note", "MarkdownNote")
        for v in entry["inputs"].values():
            if isinstance(v, list):
                assert len(v) == 2 and v[0] in prompt, (nid, v)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ui_graphs())
def test_random_ui_graphs_convert_cleanly(wf: dict[str, Any]) -> None:
    spec = core_spec()
    prompt = ui_to_api(wf, spec, warnings=[])
    _check(prompt)
    ids = {str(nd["id"]) for nd in wf["nodes"] if nd["mode"] not in (2, 4)}
    assert set(prompt) <= ids
    # the prompt survives the trip through a generated UI workflow
    assert ui_to_api(to_ui(prompt, spec, warnings=[]), spec, warnings=[]) == prompt


@settings(max_examples=80, deadline=None)
@given(ui_graphs(), st.sampled_from([0, 2, 4]), st.data())
def test_random_graphs_inside_a_subgraph(
    inner: dict[str, Any], inst_mode: int, data: st.DataObject
) -> None:
    spec = core_spec()
    sid = "dddddddd-0000-4000-8000-000000000004"
    links = [
        dict(
            zip(
                ("id", "origin_id", "origin_slot", "target_id", "target_slot", "type"),
                ln,
                strict=True,
            )
        )
        for ln in inner["links"]
    ]
    # subgraph inputs: unlinked inner sockets fed from the -10 pseudo-node
    sub_inputs: list[dict[str, Any]] = []
    free = [
        (nd, i, s) for nd in inner["nodes"] for i, s in enumerate(nd["inputs"]) if s["link"] is None
    ]
    for nd, i, sock in free:
        if not data.draw(st.booleans()):
            continue
        lid = 500 + len(links)
        sock["link"] = lid
        links.append(
            {
                "id": lid,
                "origin_id": -10,
                "origin_slot": len(sub_inputs),
                "target_id": nd["id"],
                "target_slot": i,
                "type": sock["type"],
            }
        )
        sub_inputs.append(
            {
                "id": f"in{lid}",
                "name": f"{sock['name'] or 'x'}_{lid}",
                "type": sock["type"],
                "linkIds": [lid],
            }
        )
    # subgraph outputs: some inner outputs go to the -20 pseudo-node
    sub_outputs: list[dict[str, Any]] = []
    for nd in inner["nodes"]:
        for slot, o in enumerate(nd["outputs"]):
            if data.draw(st.booleans()):
                lid = 900 + len(links)
                o["links"].append(lid)
                links.append(
                    {
                        "id": lid,
                        "origin_id": nd["id"],
                        "origin_slot": slot,
                        "target_id": -20,
                        "target_slot": len(sub_outputs),
                        "type": o["type"],
                    }
                )
                sub_outputs.append(
                    {"id": f"out{lid}", "name": o["name"], "type": o["type"], "linkIds": [lid]}
                )
    definition = {
        "id": sid,
        "name": "Random",
        "inputs": sub_inputs,
        "outputs": sub_outputs,
        "nodes": inner["nodes"],
        "links": links,
    }
    # the instance: some inputs fed by an outer PrimitiveInt, outputs to PreviewAny nodes
    outer_links: list[list[Any]] = []
    inst_inputs = []
    for k, si in enumerate(sub_inputs):
        link = None
        if data.draw(st.booleans()):
            link = len(outer_links) + 1
            outer_links.append([link, 1, 0, 100, k, "INT"])
        inst_inputs.append({"name": si["name"], "type": si["type"], "link": link})
    widgets = data.draw(st.lists(st.integers(0, 9), max_size=len(sub_inputs)))
    outer_nodes = [
        node(
            1, "PrimitiveInt", [], [out("INT", "INT", [ln[0] for ln in outer_links])], [5, "fixed"]
        ),
        node(
            100,
            sid,
            inst_inputs,
            [out(o["name"], o["type"], []) for o in sub_outputs],
            widgets,
            mode=inst_mode,
        ),
    ]
    for k, o in enumerate(sub_outputs):
        lid = 1000 + k
        outer_nodes[1]["outputs"][k]["links"].append(lid)
        outer_nodes.append(node(200 + k, "PreviewAny", [inp("source", "*", lid)], []))
        outer_links.append([lid, 100, k, 200 + k, 0, o["type"]])
    wf = workflow(outer_nodes, outer_links, definitions={"subgraphs": [definition]})
    prompt = ui_to_api(wf, spec, warnings=[])
    _check(prompt)
    assert all(k.startswith("100:") or k in ("1",) or k.startswith("2") for k in prompt)
