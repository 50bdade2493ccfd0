"""Property and mutation tests: the validator and the linter never raise, whatever the input,
and their reports keep ComfyUI's invariants."""

from __future__ import annotations

import copy
import difflib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmfy_graph.errors import closest_match
from cmfy_graph.inputs import load_bytes
from cmfy_graph.lint import lint_input
from cmfy_graph.spec import core_spec
from cmfy_graph.validate import Report, validate_prompt

from conftest import DEVSET

_BASES: list[dict[str, Any]] = []
with open(DEVSET / "lint_cases.jsonl", encoding="utf-8") as _fh:
    for _line in _fh:
        _c = json.loads(_line)
        if _c["mutation"] is None:
            _BASES.append(_c["prompt"])

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
links = st.lists(
    st.one_of(st.text(max_size=4), st.integers(-3, 12), st.floats(-2, 5), st.booleans(), st.none()),
    min_size=0,
    max_size=3,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_invariants(r: Report) -> None:
    c = r.to_comfyui()
    json.dumps(c, default=str)
    assert isinstance(c["valid"], bool)
    assert (c["error"] is None) == c["valid"]
    for entry in c["node_errors"].values():
        assert entry["errors"], "only nodes with reasons of their own are listed"
        assert isinstance(entry["dependent_outputs"], list)
    if not c["valid"]:
        assert r.errors, "a rejected prompt always has an error finding"
    for f in r.findings:
        assert f.severity in ("error", "warning")
        str(f)


@SETTINGS
@given(json_values)
def test_any_json_value(value: Any) -> None:
    _check_invariants(validate_prompt(value))


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    p = copy.deepcopy(draw(st.sampled_from(_BASES)))
    ids = list(p)
    spec = core_spec()
    for _ in range(draw(st.integers(1, 4))):
        nid = draw(st.sampled_from(ids))
        node = p.get(nid)
        kind = draw(st.integers(0, 7))
        if not isinstance(node, dict):
            continue
        inputs = node.get("inputs")
        names = list(inputs) if isinstance(inputs, dict) else []
        if kind == 0 and names:
            inputs[draw(st.sampled_from(names))] = draw(json_values)
        elif kind == 1 and names:
            inputs[draw(st.sampled_from(names))] = draw(links)
        elif kind == 2 and names:
            del inputs[draw(st.sampled_from(names))]
        elif kind == 3:
            node["class_type"] = draw(st.one_of(st.sampled_from(sorted(spec)), json_values))
        elif kind == 4:
            p[nid] = draw(json_values)
        elif kind == 5 and names:  # a link to another node of the prompt: maybe a cycle
            inputs[draw(st.sampled_from(names))] = [
                draw(st.sampled_from(ids)),
                draw(st.integers(-2, 3)),
            ]
        elif kind == 6:
            node["inputs"] = draw(json_values)
        else:
            p.pop(nid, None)
    return p


@SETTINGS
@given(mutated(), st.sampled_from(["comfyui", "cmfy"]))
def test_mutated_real_workflows(prompt: dict[str, Any], profile: str) -> None:
    _check_invariants(validate_prompt(prompt, profile=profile))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_lint_any_bytes(raw: bytes) -> None:
    res = lint_input(load_bytes(raw, "x.json"))
    assert isinstance(res.valid, bool)
    json.dumps(res.comfyui, default=str)


@settings(max_examples=60, deadline=None)
@given(mutated())
def test_lint_mutated_files_round_trip(prompt: dict[str, Any]) -> None:
    raw = json.dumps(prompt).encode()
    res = lint_input(load_bytes(raw, "x.json"))
    direct = validate_prompt(json.loads(raw))
    assert res.valid == direct.valid


# -- did you mean: the pruned search answers exactly as difflib does -------------------------

_word = st.text(alphabet="abcdeAB_.-0123456789é", max_size=24)
_NAMES = sorted(core_spec())


@settings(max_examples=400, deadline=None)
@given(
    word=_word,
    cands=st.lists(_word, max_size=30),
    real=st.lists(st.sampled_from(_NAMES), max_size=40),
    cutoff=st.sampled_from([0.0, 0.3, 0.6, 0.8, 1.0]),
)
def test_closest_match_is_difflibs_answer(word, cands, real, cutoff):
    for pool in (cands, real, cands + real + cands[:3]):  # duplicates too
        expected = difflib.get_close_matches(word, pool, n=1, cutoff=cutoff)
        assert closest_match(word, pool, cutoff) == (expected[0] if expected else None)


def test_closest_match_on_long_strings_as_difflib():
    # difflib junks popular characters of a sequence of 200 or more: the same matcher is used
    base = "model_" + "ab" * 120 + ".safetensors"
    pool = [base[:-3], base.replace("a", "c", 5), "x" * 210, base.upper()]
    for word in (base, base[10:], "model_abab.safetensors"):
        expected = difflib.get_close_matches(word, pool, n=1)
        assert closest_match(word, pool) == (expected[0] if expected else None)
