"""Generating sweep variants (cmfy_graph.sweep) and the `cmfy-graph sweep` command line."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmfy_graph.cli import main
from cmfy_graph.sweep import SweepError, TextValue, canonical_json, parse_set, parse_values, sweep

from conftest import quickstart_body


@pytest.fixture()
def body() -> dict[str, Any]:
    return quickstart_body()


def titled(body: dict[str, Any]) -> dict[str, Any]:
    prompt = copy.deepcopy(body["prompt"])
    prompt["2"]["_meta"] = {"title": "Positive"}
    prompt["3"]["_meta"] = {"title": "Negative"}
    return prompt


# -- generation ---------------------------------------------------------------------------------


def test_grid_product_order_and_prompts(body: dict[str, Any]) -> None:
    s = sweep(body, {"KSampler.seed": range(3), "5.cfg": [5, 7.5]})
    assert len(s) == 6 and s.shape == (3, 2)
    got = [(v.params["KSampler.seed"], v.params["5.cfg"]) for v in s]
    assert got == list(itertools.product(range(3), [5.0, 7.5]))
    v = s[3]
    assert v.prompt["5"]["inputs"]["seed"] == 1 and v.prompt["5"]["inputs"]["cfg"] == 7.5
    assert isinstance(v.prompt["5"]["inputs"]["cfg"], float)  # an int into FLOAT: coerced
    # unchanged nodes are shared with the base, changed ones are copies: the base is untouched
    assert v.prompt["1"] is body["prompt"]["1"]
    assert body["prompt"]["5"]["inputs"]["seed"] == 42
    assert s[-1].index == 5
    with pytest.raises(IndexError):
        s[6]


def test_every_variant_differs_from_its_base_only_in_swept_inputs(body: dict[str, Any]) -> None:
    s = sweep(body, {"KSampler.seed": [1, 2], "KSampler.sampler_name": ["euler", "dpmpp_2m"]})
    for v in s:
        expected = copy.deepcopy(body["prompt"])
        expected["5"]["inputs"]["seed"] = v.params["KSampler.seed"]
        expected["5"]["inputs"]["sampler_name"] = v.params["KSampler.sampler_name"]
        assert v.prompt == expected


def test_zip_and_tied_keys(body: dict[str, Any]) -> None:
    s = sweep(body, {"KSampler.seed": [1, 2, 3], "KSampler.steps": [10, 20, 30]}, mode="zip")
    assert [(v.params["KSampler.seed"], v.params["KSampler.steps"]) for v in s] == [
        (1, 10),
        (2, 20),
        (3, 30),
    ]
    with pytest.raises(SweepError, match="equal length"):
        sweep(body, {"KSampler.seed": [1, 2], "KSampler.steps": [10]}, mode="zip")
    # a tuple of keys: one value for all, or one tuple of values per point
    prompt = titled(body)
    s = sweep(prompt, {("Positive.text", "Negative.text"): ["a", "b"], "KSampler.seed": [1, 2]})
    assert len(s) == 4
    assert s[0].prompt["2"]["inputs"]["text"] == s[0].prompt["3"]["inputs"]["text"] == "a"
    s = sweep(prompt, {("KSampler.steps", "KSampler.cfg"): [(20, 5), (30, 7)]})
    assert [(v.prompt["5"]["inputs"]["steps"], v.prompt["5"]["inputs"]["cfg"]) for v in s] == [
        (20, 5.0),
        (30, 7.0),
    ]
    with pytest.raises(SweepError, match="3 parts, expected 2"):
        sweep(prompt, {("KSampler.steps", "KSampler.cfg"): [(20, 5, 1)]})


def test_random_samples_are_distinct_and_seeded(body: dict[str, Any]) -> None:
    params = {"KSampler.seed": range(100), "KSampler.cfg": [4.0, 5.0, 6.0]}
    a = sweep(body, params, mode="random", samples=50, seed=7)
    b = sweep(body, params, mode="random", samples=50, seed=7)
    c = sweep(body, params, mode="random", samples=50, seed=8)
    ids_a = [v.id for v in a]
    assert len(ids_a) == 50 == len(set(ids_a))
    assert ids_a == [v.id for v in b] and ids_a != [v.id for v in c]
    full = {v.id for v in sweep(body, params)}
    assert set(ids_a) <= full
    assert len(sweep(body, params, mode="random", samples=10_000)) == 300  # capped at the grid


def test_duplicates_skipped(body: dict[str, Any]) -> None:
    s = sweep(body, {"KSampler.cfg": [5, 5.0, 7, 5], "KSampler.seed": [1, 1]})
    assert len(s) == 2
    assert len({canonical_json(v.prompt) for v in s}) == 2
    z = sweep(body, {"KSampler.cfg": [5, 5, 6], "KSampler.seed": [1, 1, 1]}, mode="zip")
    assert [v.params["KSampler.cfg"] for v in z] == [5.0, 6.0]


def test_ids_stable_and_independent_of_order_and_label(body: dict[str, Any]) -> None:
    a = sweep(body, {"KSampler.seed": [1, 2], "KSampler.cfg": [5.0]})
    b = sweep(body, {("5", "cfg"): [5.0], "5.seed": [2, 1]})
    assert {v.id for v in a} == {v.id for v in b}
    assert [v.id for v in a] == [
        v.id for v in sweep(body, {"KSampler.seed": [1, 2], "KSampler.cfg": [5.0]})
    ]
    # the base value of a swept input does not matter; another base input does
    other = copy.deepcopy(body)
    other["prompt"]["5"]["inputs"]["seed"] = 999
    assert {v.id for v in sweep(other, {"KSampler.seed": [1, 2], "KSampler.cfg": [5.0]})} == {
        v.id for v in a
    }
    other["prompt"]["5"]["inputs"]["steps"] = 10
    assert not {v.id for v in sweep(other, {"KSampler.seed": [1, 2], "KSampler.cfg": [5.0]})} & {
        v.id for v in a
    }


def test_keys_by_title_node_object_and_input_ref(body: dict[str, Any]) -> None:
    prompt = titled(body)
    s = sweep(prompt, {"Positive.text": ["x"]})
    assert s[0].prompt["2"]["inputs"]["text"] == "x" and s.labels == ("Positive.text",)
    from cmfy_graph.script import load_workflow

    wf = load_workflow(Path(__file__).resolve().parent.parent / "examples" / "quickstart.py")
    ks = wf.nodes["5"]
    s = sweep(wf, {ks.seed: range(8), ks.cfg: [5.0, 7.0]})
    assert len(s) == 16 and s[1].prompt["5"]["inputs"]["cfg"] == 7.0
    s2 = sweep(wf, {(ks, "seed"): range(8), ks.input("cfg"): [5.0, 7.0]})
    assert [v.id for v in s2] == [v.id for v in s]
    with pytest.raises(SweepError, match="output"):
        sweep(wf, {wf.nodes["1"].model: [1]})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"KSampler.sed": [1]}, "has no input 'sed'; did you mean 'seed'"),
        ({"KSamplr.seed": [1]}, "no node with id or title 'KSamplr'; did you mean 'KSampler'"),
        ({"CLIPTextEncode.text": ["a"]}, "2 nodes have the class type 'CLIPTextEncode'"),
        ({"KSampler.cfg": [500]}, "above the maximum 100"),
        ({"KSampler.steps": [0]}, "below the minimum 1"),
        ({"KSampler.steps": [2.5]}, "not an integer"),
        ({"KSampler.sampler_name": ["eulr"]}, "did you mean 'euler'"),
        ({"KSampler.model": ["x"]}, "linked to node 1"),
        ({"KSampler.cfg": ["high"]}, "not a number"),
        ({"KSampler.cfg": [float("nan")]}, "not a finite number"),
        ({"KSampler.seed": []}, "no values"),
        ({"KSampler.seed": [1], "5.seed": [2]}, "swept twice"),
        ({"seed": [1]}, "expected NODE.INPUT"),
    ],
)
def test_bad_keys_and_values(body: dict[str, Any], params: dict[str, Any], message: str) -> None:
    with pytest.raises(SweepError, match=message.replace("(", r"\(")) as ei:
        sweep(body, params)
    assert ei.value.exit_code == 2


def test_range_checked_at_both_ends_lazily(body: dict[str, Any]) -> None:
    s = sweep(body, {"KSampler.seed": range(10**15)})
    assert len(s) == 10**15 and s[-1].params["KSampler.seed"] == 10**15 - 1
    with pytest.raises(SweepError, match="below the minimum"):
        sweep(body, {"KSampler.steps": range(-1, 5)})


def test_text_values_take_the_input_type(body: dict[str, Any]) -> None:
    s = sweep(
        body,
        {
            "KSampler.seed": [TextValue("7")],
            "KSampler.cfg": [TextValue("7")],
            "2.text": [TextValue("7")],
        },
    )
    inputs = s[0].prompt["5"]["inputs"]
    assert inputs["seed"] == 7 and isinstance(inputs["seed"], int)
    assert inputs["cfg"] == 7.0 and isinstance(inputs["cfg"], float)
    assert s[0].prompt["2"]["inputs"]["text"] == "7"
    # a model input may be a URL on cmfy.cloud: not held to the server's file list
    url = "https://huggingface.co/org/repo/resolve/abc/model.safetensors"
    assert sweep(body, {"1.ckpt_name": [url]})[0].prompt["1"]["inputs"]["ckpt_name"] == url


def test_unknown_class_is_not_checked_but_input_must_exist() -> None:
    prompt = {"1": {"class_type": "MyCustomNode", "inputs": {"strength": 1.0}}}
    assert len(sweep(prompt, {"1.strength": [0.5, 2.0]})) == 2
    with pytest.raises(SweepError, match="did you mean 'strength'"):
        sweep(prompt, {"1.strenght": [1]})


# -- value parsing --------------------------------------------------------------------------------


def test_parse_values_forms(tmp_path: Path) -> None:
    assert parse_values("1..5") == [1, 2, 3, 4, 5]
    assert parse_values("1..40:10") == [1, 11, 21, 31]
    assert parse_values("3..1") == [3, 2, 1]
    assert parse_values("-2..2:2") == [-2, 0, 2]
    assert parse_values("5,7.5,9") == ["5", "7.5", "9"]
    assert all(isinstance(v, TextValue) for v in parse_values("5,7.5,9"))
    assert parse_values('["a, b", "c"]') == ["a, b", "c"]
    (tmp_path / "seeds.txt").write_text("11\n\n12\n  13  \n")
    assert parse_values("@seeds.txt", base_dir=tmp_path) == ["11", "12", "13"]
    with pytest.raises(SweepError, match="cannot read values file"):
        parse_values("@missing.txt", base_dir=tmp_path)
    with pytest.raises(SweepError, match="step must be a positive"):
        parse_values("1..5:0")
    with pytest.raises(SweepError, match="empty item"):
        parse_values("1,,2")
    assert parse_set("KSampler.seed=1..3") == ("KSampler.seed", [1, 2, 3])
    with pytest.raises(SweepError, match="NODE.INPUT=VALUES"):
        parse_set("seed=1")


@settings(max_examples=60, deadline=None)
@given(st.integers(-1000, 1000), st.integers(-1000, 1000), st.integers(1, 50))
def test_parse_range_property(a: int, b: int, step: int) -> None:
    got = parse_values(f"{a}..{b}:{step}")
    assert got[0] == a and len(got) == abs(b - a) // step + 1
    assert all(min(a, b) <= v <= max(a, b) for v in got)
    assert all(abs(y - x) == step for x, y in itertools.pairwise(got))


items = st.text(
    alphabet=st.characters(blacklist_characters=",", blacklist_categories=("Cs", "Cc")),
    min_size=1,
    max_size=12,
).filter(lambda t: t.strip() and not t.strip().startswith(("[", "@")))


@settings(max_examples=60, deadline=None)
@given(st.lists(items, min_size=1, max_size=6))
def test_parse_comma_list_property(values: list[str]) -> None:
    text = ",".join(values)
    if ".." in text and len(values) == 1:
        return
    assert parse_values(text) == [v.strip() for v in values]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 2**32), min_size=1, max_size=6),
    st.lists(st.sampled_from([1.0, 2.5, 7.0, 7, 30]), min_size=1, max_size=4),
)
def test_grid_length_and_uniqueness_property(seeds: list[int], cfgs: list[float]) -> None:
    body = quickstart_body()
    s = sweep(body, {"KSampler.seed": seeds, "KSampler.cfg": cfgs})
    n = len(set(seeds)) * len({float(c) for c in cfgs})
    variants = list(s)
    assert len(s) == n == len(variants)
    assert len({v.id for v in variants}) == n
    assert len({canonical_json(v.prompt) for v in variants}) == n
    assert [v.index for v in variants] == list(range(n))


# -- the command line -----------------------------------------------------------------------------


def test_cli_dry_run(tmp_path: Path, body: dict[str, Any], capsys: Any) -> None:
    f = tmp_path / "wf.json"
    f.write_text(json.dumps(body))
    assert (
        main(["sweep", str(f), "--set", "KSampler.seed=1..3", "--set", "5.cfg=5,7.5", "--dry-run"])
        == 0
    )
    out = capsys.readouterr()
    lines = [json.loads(ln) for ln in out.out.splitlines()]
    assert len(lines) == 6 and "6 variants" in out.err
    assert lines[1]["params"] == {"KSampler.seed": 1, "5.cfg": 7.5}
    assert (
        main(
            [
                "sweep",
                str(f),
                "--set",
                "KSampler.seed=1..4",
                "--set",
                "5.cfg=5,6,7,8",
                "--zip",
                "--dry-run",
            ]
        )
        == 0
    )
    assert len(capsys.readouterr().out.splitlines()) == 4
    assert (
        main(["sweep", str(f), "--set", "KSampler.seed=1..100", "--random", "5", "--dry-run"]) == 0
    )
    assert len(capsys.readouterr().out.splitlines()) == 5


def test_cli_python_script_and_bare_prompt(
    tmp_path: Path, body: dict[str, Any], capsys: Any
) -> None:
    script = Path(__file__).resolve().parent.parent / "examples" / "quickstart.py"
    assert main(["sweep", str(script), "--set", "KSampler.steps=10..12", "--dry-run"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    f = tmp_path / "prompt.json"
    f.write_text(json.dumps(body["prompt"]))
    assert main(["sweep", str(f), "--set", "KSampler.sampler_name=euler,heun", "--dry-run"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "KSampler.sed=1"], "did you mean 'seed'"),
        (["--set", "KSampler.seed=1..3"], "--out DIR is required"),
        ([], "at least one --set"),
        (["--set", "KSampler.seed=a..b", "--dry-run"], "not an integer"),
        (["--set", "KSampler.seed=1", "--set", "KSampler.seed=2", "--dry-run"], "given twice"),
    ],
)
def test_cli_errors(
    tmp_path: Path, body: dict[str, Any], capsys: Any, argv: list[str], message: str
) -> None:
    f = tmp_path / "wf.json"
    f.write_text(json.dumps(body))
    assert main(["sweep", str(f), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_unreadable_file(tmp_path: Path, capsys: Any) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert main(["sweep", str(bad), "--set", "1.x=1", "--dry-run"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["sweep", str(tmp_path / "none.json"), "--set", "1.x=1", "--dry-run"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_ui_workflow_from_devset(capsys: Any) -> None:
    """An editor-saved workflow is converted, then swept (a real UI file with two KSamplers)."""
    from conftest import DEVSET

    ui = DEVSET / "ui2api" / "area_composition_square_area_for_subject.ui.json"
    argv = ["sweep", str(ui), "--spec", "core-2025", "--set", "KSampler.seed=1..3", "--dry-run"]
    assert main(argv) == 2
    assert "2 nodes have the title 'KSampler' (ids 3, 24); use a node id" in capsys.readouterr().err
    argv = ["sweep", str(ui), "--spec", "core-2025", "--set", "3.seed=1..3"]
    argv += ["--set", "24.steps=10,20", "--dry-run"]
    assert main(argv) == 0
    lines = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert len(lines) == 6 and lines[5]["params"] == {"3.seed": 3, "24.steps": 20}


def test_huge_grids(body: dict[str, Any]) -> None:
    with pytest.raises(SweepError, match="more than a sweep can index"):
        sweep(body, {"KSampler.seed": range(2**62), "KSampler.steps": range(1, 10000)})
    s = sweep(
        body,
        {"KSampler.seed": range(2**50), "KSampler.steps": range(1, 1000)},
        mode="random",
        samples=3,
    )
    assert len({v.id for v in s}) == 3
    custom = {"1": {"class_type": "MyNode", "inputs": {"a": 0, "b": 0}}}
    z = sweep(custom, {"1.a": range(2**62), "1.b": range(1, 2**62 + 1)}, mode="zip")
    assert len(z) == 2**62 and z[-1].params == {"1.a": 2**62 - 1, "1.b": 2**62}


def test_float_ranges() -> None:
    """Issue 12, item 8: ``--set KSampler.cfg=0..1:0.25`` used to be refused."""
    assert parse_values("0..1:0.25") == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert parse_values("7.5..5.5:0.5") == [7.5, 7.0, 6.5, 6.0, 5.5]
    assert parse_values("0.1..0.3:0.1") == [0.1, 0.2, 0.3]  # no float drift
    assert parse_values("1.5..3") == [1.5, 2.5]
    with pytest.raises(SweepError, match="step must be positive"):
        parse_values("0..1:0.0")
    assert parse_set("KSampler.cfg=5..6:0.5")[1] == [5.0, 5.5, 6.0]
