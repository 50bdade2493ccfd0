"""The workflow DSL and compilation to the API prompt."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmfy_graph import Workflow, node
from cmfy_graph.errors import NoActiveWorkflowError, NodeInputError, NodeValueError, WorkflowError
from cmfy_graph.graph import InputRef, Output, RawNode
from cmfy_graph.nodes import (
    CheckpointLoaderSimple,
    CLIPTextEncode,
    EmptyLatentImage,
    KSampler,
    SaveImage,
    VAEDecode,
)

from conftest import DEVSET, quickstart_body

URL = "https://huggingface.co/stabilityai/stable-diffusion-xl-base-1.0/resolve/main/sd_xl_base_1.0.safetensors"


def build_quickstart() -> Workflow:
    with Workflow() as wf:
        ckpt = CheckpointLoaderSimple(ckpt_name=URL)
        pos = CLIPTextEncode(text="a beautiful sunset over mountains, digital art", clip=ckpt.clip)
        neg = CLIPTextEncode(text="blurry, low quality, watermark", clip=ckpt.clip)
        lat = EmptyLatentImage(width=1024, height=1024, batch_size=1)
        ks = KSampler(
            seed=42,
            steps=25,
            cfg=7.0,
            sampler_name="euler_ancestral",
            scheduler="normal",
            denoise=1.0,
            model=ckpt.model,
            positive=pos,
            negative=neg,
            latent_image=lat,
        )
        img = VAEDecode(samples=ks, vae=ckpt.vae)
        SaveImage(filename_prefix="output", images=img)
    return wf


def test_quickstart_body_exact_bytes():
    wf = build_quickstart()
    assert wf.to_body() == quickstart_body()
    # same key order as the quickstart (widgets first, then links, as the editor sends)
    assert json.dumps(wf.to_body()) == json.dumps(quickstart_body())


def test_outputs_by_name_index_and_unpacking():
    with Workflow():
        ckpt = CheckpointLoaderSimple(ckpt_name="x.safetensors")
        model, clip, vae = ckpt.outputs
        assert ckpt.model == model == ckpt[0] == ckpt.output("MODEL")
        assert ckpt.clip.index == 1 and ckpt.vae.type == "VAE"
        assert list(ckpt) == [model, clip, vae]
        assert ckpt[-1] == vae
        with pytest.raises(IndexError, match="3 outputs"):
            ckpt[3]
        with pytest.raises(AttributeError, match="did you mean 'model'"):
            ckpt.modle  # noqa: B018


def test_single_output_node_is_its_output():
    with Workflow() as wf:
        lat = EmptyLatentImage(width=512, height=512)
        assert isinstance(lat, Output) and lat.node is lat and lat.index == 0
        assert lat == lat.latent
        ckpt = CheckpointLoaderSimple(ckpt_name="m.safetensors")
        pos = CLIPTextEncode(text="x", clip=ckpt.clip)
        ks = KSampler(model=ckpt.model, positive=pos, negative=pos, latent_image=lat)
    p = wf.to_prompt()
    assert p[ks.id]["inputs"]["latent_image"] == [lat.id, 0]
    # defaults from the spec are sent
    assert p[ks.id]["inputs"]["steps"] == 20 and p[ks.id]["inputs"]["sampler_name"] == "euler"


def test_wrong_keyword_is_python_type_error():
    with Workflow(), pytest.raises(TypeError, match="unexpected keyword argument 'stepz'"):
        EmptyLatentImage(width=512, height=512, stepz=3)  # type: ignore[call-arg]
    with Workflow(), pytest.raises(TypeError, match="missing .* 'clip'"):
        CLIPTextEncode(text="x")  # type: ignore[call-arg]


def test_wrong_link_type_names_both_ends():
    with Workflow():
        ckpt = CheckpointLoaderSimple(ckpt_name="m.safetensors")
        pos = CLIPTextEncode(text="x", clip=ckpt.clip)
        lat = EmptyLatentImage(width=512, height=512)
        with pytest.raises(NodeInputError) as ei:
            KSampler(model=ckpt.clip, positive=pos, negative=pos, latent_image=lat)  # type: ignore[arg-type]
    msg = str(ei.value)
    assert "'model' takes MODEL" in msg and "got CLIP" in msg and "CheckpointLoaderSimple" in msg
    assert isinstance(ei.value, TypeError)


def test_multi_output_node_passed_whole_asks_for_one_output():
    with Workflow():
        ckpt = CheckpointLoaderSimple(ckpt_name="m.safetensors")
        with pytest.raises(NodeInputError, match="3 outputs.*node.model"):
            CLIPTextEncode(text="x", clip=ckpt)  # type: ignore[arg-type]


def test_values_checked_at_construction():
    with Workflow():
        with pytest.raises(NodeValueError, match=r"must be >= 16"):
            EmptyLatentImage(width=8, height=512)
        with pytest.raises(NodeInputError, match="takes an int, not str"):
            EmptyLatentImage(width="512", height=512)  # type: ignore[arg-type]
        with pytest.raises(NodeInputError, match="takes an int, not bool"):
            EmptyLatentImage(width=True, height=512)
        ckpt = CheckpointLoaderSimple(ckpt_name="m.safetensors")
        pos = CLIPTextEncode(text="x", clip=ckpt.clip)
        lat = EmptyLatentImage(width=512, height=512)
        with pytest.raises(NodeValueError, match="did you mean 'euler'") as ei:
            KSampler(
                model=ckpt.model, positive=pos, negative=pos, latent_image=lat, sampler_name="eulr"
            )  # type: ignore[arg-type]
        assert isinstance(ei.value, ValueError) and "sampler_name" in str(ei.value)
        with pytest.raises(NodeInputError, match="takes a link"):
            KSampler(model="m", positive=pos, negative=pos, latent_image=lat)  # type: ignore[arg-type]
        with pytest.raises(NodeInputError, match="takes a float"):
            KSampler(model=ckpt.model, positive=pos, negative=pos, latent_image=lat, cfg="7")  # type: ignore[arg-type]


def test_big_ints_exact_and_floats_kept():
    with Workflow() as wf:
        ckpt = CheckpointLoaderSimple(ckpt_name="m.safetensors")
        pos = CLIPTextEncode(text="x", clip=ckpt.clip)
        lat = EmptyLatentImage(width=512, height=512)
        KSampler(
            model=ckpt.model, positive=pos, negative=pos, latent_image=lat, seed=2**64 - 1, cfg=7
        )
    text = wf.to_json()
    assert '"seed": 18446744073709551615' in text and '"cfg": 7' in text
    with Workflow(), pytest.raises(NodeValueError, match="<= 18446744073709551615"):
        KSampler(model=ckpt.model, positive=pos, negative=pos, latent_image=lat, seed=2**64)


def test_outside_workflow_raises_and_explicit_add_works():
    with pytest.raises(NoActiveWorkflowError, match="with Workflow"):
        EmptyLatentImage(width=512, height=512)
    wf = Workflow()
    lat = wf.add(EmptyLatentImage, width=512, height=512)
    raw = wf.add("MyCustomNode", image=lat, strength=0.5)
    assert wf.to_prompt() == {
        "1": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": 512, "height": 512, "batch_size": 1},
        },
        "2": {"class_type": "MyCustomNode", "inputs": {"image": ["1", 0], "strength": 0.5}},
    }
    assert isinstance(raw, RawNode)


def test_title_escape_hatch_and_list_values():
    with Workflow() as wf:
        lat = EmptyLatentImage(width=512, height=512, title="My latent")
        n = node(
            "Fancy Node (pack)",
            title="F",
            outputs=["IMAGE", "MASK"],
            **{"my input": 3, "samples": lat, "vals": [1, 2]},
        )
        m = n.mask
        tail = node("Other", mask=m, anything=n[0])
    p = wf.to_prompt()
    assert p["1"]["_meta"] == {"title": "My latent"}
    assert p["2"]["class_type"] == "Fancy Node (pack)"
    assert p["2"]["inputs"] == {"my input": 3, "samples": ["1", 0], "vals": {"__value__": [1, 2]}}
    assert p["3"]["inputs"] == {"mask": ["2", 1], "anything": ["2", 0]}
    assert tail.title is None and "_meta" not in p["3"]


def test_node_ids_given_and_taken():
    with Workflow():
        a = EmptyLatentImage(width=512, height=512, node_id="1")
        b = EmptyLatentImage(width=512, height=512)
        c = EmptyLatentImage(width=512, height=512, node_id="10")
        with pytest.raises(WorkflowError, match="taken"):
            EmptyLatentImage(width=512, height=512, node_id="10")
    assert (a.id, b.id, c.id) == ("1", "2", "10")


def test_input_refs_and_set_input():
    with Workflow() as wf:
        ckpt = CheckpointLoaderSimple(ckpt_name="m.safetensors")
        pos = CLIPTextEncode(text="x", clip=ckpt.clip)
        lat = EmptyLatentImage(width=512, height=512)
        ks = KSampler(model=ckpt.model, positive=pos, negative=pos, latent_image=lat)
    ref = ks.seed
    assert isinstance(ref, InputRef) and ref == ks.input("seed") and ref.value == 0
    ref.set(7)
    assert wf.to_prompt()[ks.id]["inputs"]["seed"] == 7
    with pytest.raises(NodeValueError):
        ks.set_input("steps", 0)
    with pytest.raises(NodeInputError, match="did you mean 'steps'"):
        ks.input("stepz")


def test_find_by_title_and_cycle_detection():
    with Workflow() as wf:
        a = node("A", title="first", x=1, outputs=["IMAGE"])
        b = node("B", image=a, outputs=["IMAGE"])
        assert wf.find("first") is a and wf.find(b.id) is b
        with pytest.raises(WorkflowError, match="did you mean 'first'"):
            wf.find("firts")
        assert wf.find_cycle() is None
        a.set_input("back", b[0])
    cyc = wf.find_cycle()
    assert cyc is not None and set(cyc) == {a.id, b.id}
    g = wf.graph()
    assert g.number_of_nodes() == 2 and g.number_of_edges() == 2


def test_context_is_per_thread():
    seen = []
    with Workflow():

        def other():
            try:
                EmptyLatentImage(width=512, height=512)
            except NoActiveWorkflowError:
                seen.append("isolated")

        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert seen == ["isolated"]


def _devset_prompts():
    out = []
    for p in sorted((DEVSET / "ui2api").glob("*.api.json")):
        out.append(json.loads(p.read_text()))
    with open(DEVSET / "lint_cases.jsonl") as fh:
        for i, line in enumerate(fh):
            if i % 7 == 0:
                out.append(json.loads(line)["prompt"])
    return out


def test_from_prompt_round_trip_on_devset(core):
    n = 0
    for prompt in _devset_prompts():
        if not isinstance(prompt, dict) or not all(
            isinstance(v, dict)
            and isinstance(v.get("class_type"), str)
            and isinstance(v.get("inputs"), dict)
            for v in prompt.values()
        ):
            with pytest.raises(WorkflowError):
                Workflow.from_prompt(prompt, core)
            continue
        wf = Workflow.from_prompt(prompt, core)
        assert wf.to_prompt() == {k: v for k, v in prompt.items()}
        assert json.loads(json.dumps(wf.to_prompt())) == prompt
        n += 1
    assert n > 100


def test_from_prompt_links_become_handles(core):
    wf = Workflow.from_prompt(quickstart_body(), core)
    ks = wf["5"]
    assert isinstance(ks.inputs["model"], Output) and ks.inputs["model"].node is wf["1"]
    assert wf["1"].model == ks.inputs["model"]
    assert wf.to_body() == quickstart_body()


# -- property: random valid graphs compile deterministically ------------------------------------

ops = st.lists(
    st.tuples(
        st.sampled_from(["latent", "text", "sample", "decode"]),
        st.integers(0, 10**6),
        st.text(max_size=20),
    ),
    min_size=1,
    max_size=25,
)


def _build(plan):
    with Workflow() as wf:
        ckpt = CheckpointLoaderSimple(ckpt_name="m.safetensors")
        conds = [CLIPTextEncode(text="start", clip=ckpt.clip)]
        lats = [EmptyLatentImage(width=512, height=512)]
        for kind, k, text in plan:
            if kind == "latent":
                lats.append(
                    EmptyLatentImage(width=16 * (1 + k % 64), height=512, batch_size=1 + k % 4)
                )
            elif kind == "text":
                conds.append(CLIPTextEncode(text=text, clip=ckpt.clip, title=text or None))
            elif kind == "sample":
                lats.append(
                    KSampler(
                        model=ckpt.model,
                        seed=k,
                        positive=conds[k % len(conds)],
                        negative=conds[(k // 3) % len(conds)],
                        latent_image=lats[k % len(lats)],
                        cfg=(k % 200) / 2,
                    )
                )
            else:
                SaveImage(images=VAEDecode(samples=lats[k % len(lats)], vae=ckpt.vae))
    return wf


@settings(max_examples=40, deadline=None)
@given(ops)
def test_random_graphs_compile_deterministically(plan):
    a = _build(plan).to_json()
    b = _build(plan).to_json()
    assert a == b
    prompt = json.loads(a)["prompt"]
    ids = list(prompt)
    assert ids == [str(i) for i in range(1, len(ids) + 1)]
    for nid, entry in prompt.items():
        for v in entry["inputs"].values():
            if isinstance(v, list):
                assert v[0] in prompt and int(v[0]) < int(nid)
    assert Workflow.from_prompt(prompt).to_prompt() == prompt


def test_set_input_raw_keeps_undeclared_inputs_and_raw_values():
    with Workflow() as wf:
        lat = EmptyLatentImage(width=512, height=512)
        with pytest.raises(NodeInputError):
            lat.set_input("audioUI", "")
        lat.set_input("audioUI", "", raw=True)
        lat.set_input("broken", ["99", 0], raw=True)
        lat.set_input("listy", [1, 2, 3], raw=True)
        lat.set_input("src", lat, raw=True)
    inputs = wf.to_prompt()["1"]["inputs"]
    assert (
        inputs["audioUI"] == "" and inputs["broken"] == ["99", 0] and inputs["listy"] == [1, 2, 3]
    )
    assert inputs["src"] == ["1", 0]
    lat.set_input("broken", None, raw=True)
    assert "broken" not in wf.to_prompt()["1"]["inputs"]


def test_none_for_a_required_input_is_refused_omit_leaves_it_out():
    """Issue 12, item 6: ``CLIPTextEncode(text=None)`` used to drop a required input silently."""
    from cmfy_graph import OMIT
    from cmfy_graph.errors import NodeInputError
    from cmfy_graph.nodes import CheckpointLoaderSimple, CLIPTextEncode

    with Workflow() as wf:
        ckpt = CheckpointLoaderSimple(ckpt_name="x.safetensors")
        with pytest.raises(NodeInputError, match="'text' is required.*OMIT"):
            CLIPTextEncode(text=None, clip=ckpt.clip)  # type: ignore[arg-type]
        enc = CLIPTextEncode(text=OMIT, clip=ckpt.clip)
    assert "text" not in wf.to_prompt()[enc.id]["inputs"]


def test_from_prompt_without_a_spec_types_outputs():
    """Issue 12, item 7: ``from_prompt`` without a spec gave an InputRef for ``.clip``, and a
    raw node read from a prompt refused ``.outputs[0]``."""
    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
        "2": {"class_type": "MyCustomThing", "inputs": {"clip": ["1", 1]}},
        "3": {"class_type": "OtherCustom", "inputs": {"x": ["2", 0]}},
    }
    wf = Workflow.from_prompt(prompt)
    clip = wf["1"].clip
    assert isinstance(clip, Output) and clip.type == "CLIP" and clip.index == 1
    custom = wf["2"]
    out = custom.outputs[0]  # the prompt links to output 0: the node has (at least) one
    assert isinstance(out, Output) and out.node is custom and out.type == "*"
    assert wf.to_prompt() == prompt


def test_set_input_on_a_node_read_from_a_prompt_checks_the_spec() -> None:
    """Issue 12 item 6: a node read by ``from_prompt`` took any combo value in ``set_input``;
    it is now checked against the spec as a generated class checks it."""
    import json

    from cmfy_graph.errors import NodeInputError, NodeValueError

    from conftest import ROOT

    prompt = json.loads((ROOT / "examples" / "quickstart.json").read_text())["prompt"]
    wf = Workflow.from_prompt(prompt)
    ks = wf.find("5")
    with pytest.raises(
        NodeValueError, match=r"KSampler\(sampler_name='eulr'\).*did you mean 'euler'"
    ):
        ks.set_input("sampler_name", "eulr")
    with pytest.raises(NodeValueError, match="bogus"):
        ks.input("scheduler").set("bogus")
    with pytest.raises(NodeValueError, match=">= 1"):
        ks.set_input("steps", 0)
    with pytest.raises(NodeInputError, match="did you mean 'steps'"):
        ks.set_input("stepz", 3)
    ks.set_input("sampler_name", "euler_ancestral")
    wf.find("1").set_input("ckpt_name", "other.safetensors")  # a file: any name goes
    out = wf.to_prompt()
    assert out["5"]["inputs"]["sampler_name"] == "euler_ancestral"
    assert out["1"]["inputs"]["ckpt_name"] == "other.safetensors"
    # raw=True stays the escape hatch; a multi-output node given whole is refused clearly
    ks.set_input("sampler_name", "anything", raw=True)
    with pytest.raises(NodeInputError, match="has 3 outputs"):
        ks.set_input("model", wf.find("1"), raw=True)
