"""The node-spec loader: the forms of /object_info found in the wild."""

from __future__ import annotations

import json
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cmfy_graph.errors import SpecError
from cmfy_graph.spec import Spec, SpecWarning, core_spec, load_spec

from conftest import CUSTOM_SPEC, OBJECT_INFO

QUIRKS = {
    "Legacy": {
        "input": {
            "required": {
                "mode": [["a", "b", 3], {"default": "b"}],
                "plain": ["IMAGE"],
                "odd opts": ["*", ""],
                "union": ["INT,FLOAT", {"min": 0}],
                "both": ["INT", {"default": 1}],
                "class": ["STRING", {}],
            },
            "optional": {
                "both": ["FLOAT", {}],
                "new": ["COMBO", {"options": ["x", "y"], "multiselect": False}],
            },
            "hidden": {"prompt": "PROMPT", "uid": ["UNIQUE_ID"]},
        },
        "output": ["IMAGE", ["c1", "c2"]],
        "output_is_list": [False, True],
        "output_name": ["IMAGE", "choices"],
        "name": "Legacy",
        "display_name": "Légacy ✨",
        "category": "test",
        "output_node": False,
    },
    "NoOrder": {
        "input": {
            "required": {"b": ["INT", {}], "10": ["INT", {}], "2": ["INT", {}], "a": ["INT"]}
        },
        "output": [],
        "name": "NoOrder",
        "output_node": True,
    },
    "Ordered": {
        "input": {"required": {"b": ["INT", {}], "a": ["INT", {}]}, "optional": {"c": ["INT"]}},
        "input_order": {"required": ["a", "b"], "optional": ["c"]},
        "output": ["INT"],
        "name": "Ordered",
    },
    "Seed": {
        "input": {"required": {"seed": ["INT", {"max": 1.8446744073709552e19, "min": 0}]}},
        "output": ["INT"],
    },
    "V3": {
        "input": {
            "required": {
                "images": [
                    "COMFY_AUTOGROW_V3",
                    {
                        "template": {
                            "input": {"required": {"image": ["IMAGE", {}]}},
                            "prefix": "image",
                        }
                    },
                ]
            }
        },
        "output": ["COMFY_MATCHTYPE_V3"],
        "output_matchtypes": ["T"],
    },
    "Broken1": "not an object",
    "Broken2": {"input": {"required": {"x": 5}}, "output": []},
    "Broken3": {"input": [], "output": []},
}


def load_quirks() -> Spec:
    with pytest.warns(SpecWarning) as rec:
        spec = Spec.from_dict(json.loads(json.dumps(QUIRKS)), source="quirks.json")
    msgs = [str(r.message) for r in rec]
    for name in ("Broken1", "Broken2", "Broken3"):
        assert any(name in m and "quirks.json" in m for m in msgs), msgs
    return spec


def test_forms_of_object_info():
    spec = load_quirks()
    assert set(spec) == {"Legacy", "NoOrder", "Ordered", "Seed", "V3"}
    leg = spec["Legacy"]
    mode = leg.inputs["mode"]
    assert (mode.type, mode.legacy_combo, mode.choices, mode.default) == (
        "COMBO",
        True,
        ("a", "b", 3),
        "b",
    )
    assert leg.inputs["plain"].options == {} and leg.inputs["plain"].type == "IMAGE"
    assert leg.inputs["odd opts"].type == "*" and leg.inputs["odd opts"].options == {}
    assert leg.inputs["union"].type_set == {"INT", "FLOAT"}
    both = leg.inputs["both"]
    assert both.section == "required" and both.type == "INT"  # required wins, as in ComfyUI
    new = leg.inputs["new"]
    assert (new.type, new.legacy_combo, new.choices, new.section) == (
        "COMBO",
        False,
        ("x", "y"),
        "optional",
    )
    assert dict(leg.hidden) == {"prompt": "PROMPT", "uid": ["UNIQUE_ID"]}
    assert "prompt" not in leg.inputs
    assert leg.outputs[1].type == "COMBO" and leg.outputs[1].choices == ("c1", "c2")
    assert leg.outputs[1].is_list and leg.outputs[1].name == "choices"
    assert leg.display_name == "Légacy ✨"


def test_input_order_and_js_key_order():
    spec = load_quirks()
    assert list(spec["Ordered"].inputs) == ["a", "b", "c"]
    # no input_order: object order, but integer-like keys first as JavaScript orders them
    assert list(spec["NoOrder"].inputs) == ["2", "10", "b", "a"]
    assert spec["NoOrder"].output_node is True and spec["Ordered"].output_node is False


def test_js_rounded_seed_max_and_v3_kept_as_data():
    spec = load_quirks()
    assert spec["Seed"].inputs["seed"].max == 18446744073709551616.0
    v3 = spec["V3"]
    assert v3.inputs["images"].type == "COMFY_AUTOGROW_V3"
    assert v3.inputs["images"].options["template"]["prefix"] == "image"
    assert v3.raw["output_matchtypes"] == ["T"]


def test_core_spec_and_file_inputs(core):
    assert len(core) == len(json.loads(OBJECT_INFO.read_text()))
    ks = core["KSampler"]
    assert list(ks.inputs)[:3] == ["model", "seed", "steps"]
    assert ks.inputs["seed"].is_widget and not ks.inputs["model"].is_widget
    assert core["CheckpointLoaderSimple"].inputs["ckpt_name"].file_kind == "model"
    assert core["LoadImage"].inputs["image"].file_kind == "input"
    assert core["KSampler"].inputs["sampler_name"].file_kind is None
    assert core["SaveImage"].output_node


def test_custom_spec_loads_with_warning_for_quirk(custom_spec):
    assert len(custom_spec) == 2068
    assert custom_spec["Text Find"].outputs[0].type == "BOOLEAN"
    assert any("Text Find" in w for w in custom_spec.warnings)
    names = [n for n in custom_spec if " " in n]
    assert names and all(custom_spec[n].class_type == n for n in names)


def test_merge_later_wins():
    a = Spec.from_dict({"X": {"input": {}, "output": ["A"]}}, source="a")
    b = Spec.from_dict({"X": {"input": {}, "output": ["B"]}, "Y": {"output": []}}, source="b")
    m = Spec.merge(a, b)
    assert m["X"].outputs[0].type == "B" and "Y" in m and len(m) == 2


def test_load_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(SpecError, match="bad.json"):
        load_spec(bad)
    with pytest.raises(SpecError, match="missing.json"):
        load_spec(tmp_path / "missing.json")
    arr = tmp_path / "arr.json"
    arr.write_text("[]")
    with pytest.raises(SpecError, match="arr.json"):
        load_spec(arr)


def test_load_from_server_url_and_merge_with_file(tmp_path):
    custom = {"MyNode": {"input": {"required": {"x": ["INT", {}]}}, "output": ["IMAGE"]}}
    body = json.dumps(custom).encode()
    hits = []

    class H(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            if self.path != "/object_info":
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}"
        core_file = tmp_path / "core.json"
        core_file.write_text(json.dumps({"KSampler": {"input": {}, "output": ["LATENT"]}}))
        spec = load_spec(core_file, url)
        assert set(spec) == {"KSampler", "MyNode"} and hits == ["/object_info"]
        with pytest.raises(SpecError, match="object_info"):
            load_spec(url + "/nothing-here")
    finally:
        srv.shutdown()
        srv.server_close()


def test_core_spec_is_cached_and_default():
    assert load_spec() is core_spec()


def test_no_warning_for_clean_core():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Spec.from_dict(json.loads(OBJECT_INFO.read_text()), source="x")


def test_custom_spec_path_exists():
    assert CUSTOM_SPEC.is_file()


@pytest.mark.parametrize("name", ["core", "core-2025"])
def test_bundled_spec_parsed_on_use_is_the_spec_parsed_at_once(name):
    from cmfy_graph.spec import core_spec_path

    lazy = core_spec(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a bundled spec parses without a word
        eager = Spec.from_dict(json.loads(core_spec_path(name).read_text(encoding="utf-8")))
    assert not eager.warnings and not lazy.warnings
    # the mapping is the same: keys in the document's order, length, membership, values
    assert list(lazy) == list(eager) and len(lazy) == len(eager)
    assert "KSampler" in lazy and "NoSuchNode" not in lazy
    assert lazy.get("NoSuchNode") is None and lazy.get("NoSuchNode", 7) == 7
    with pytest.raises(KeyError):
        lazy["NoSuchNode"]
    assert lazy.generation == eager.generation
    assert all(lazy[k] == eager[k] for k in eager)
    assert lazy.raw_entry("KSampler") == eager.raw_entry("KSampler") == eager["KSampler"].raw
    merged = Spec.merge(lazy, Spec.from_dict({"X": {"output": []}}))
    assert len(merged) == len(eager) + 1 and merged["KSampler"] == eager["KSampler"]


def test_input_file_prefilter_misses_no_class(custom_spec, latest):
    # lint's scan for the server's input files compiles only the classes this admits: on
    # every class of three real specs, it admits each one with an input-folder file input
    from cmfy_graph.spec import may_take_input_files

    for spec in (custom_spec, latest, core_spec("core-2025")):
        admitted = {ct for ct in spec if may_take_input_files(spec.raw_entry(ct))}
        with_files = {
            ct for ct in spec if any(i.file_kind == "input" for i in spec[ct].inputs.values())
        }
        assert with_files and with_files <= admitted
        assert len(admitted) < len(spec) // 10  # and it does spare the rest


def test_spec_repr_counts_every_class():
    assert repr(core_spec()) == f"<Spec 'comfyui_core': {len(core_spec())} node classes>"
