"""The whole lint devset: our verdict against ComfyUI's own (BE-2025-10, same spec).

Targets (issue 3): ``valid`` agrees on every case; >= 99.5% of the errors ComfyUI reports
with a specific type are reported with that type on the same node; every vague rejection
(an exception, or an empty ``prompt_outputs_failed_validation``) gets a precise error.

One documented exception to the first target: when a prompt has a dependency cycle, ComfyUI
2025 recurses until Python's recursion limit, and which *other* nodes the RecursionError then
lands on depends on the server process's string-hash seed (its ``set`` iteration order), so
ComfyUI itself answers differently from run to run. Those cases are recognisable in the
devset (a ``RecursionError`` in ComfyUI's answer); on them we require our precise
``dependency_cycle`` finding instead of the coin flip.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from cmfy_graph.inputs import load_bytes
from cmfy_graph.lint import lint_input
from cmfy_graph.validate import validate_prompt

from conftest import DEVSET

VAGUE = {"exception_during_validation", "exception_during_inner_validation"}
NOT_PRECISE = VAGUE | {"prompt_outputs_failed_validation", "unreachable_node"}


def _cases() -> Iterator[dict[str, Any]]:
    with open(DEVSET / "lint_cases.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _recursion_chaos(expected: dict[str, Any]) -> bool:
    return any(
        e.get("extra_info", {}).get("exception_type") == "RecursionError"
        for ne in expected["node_errors"].values()
        for e in ne["errors"]
    )


@pytest.fixture(scope="module")
def results(core: Any) -> list[tuple[dict[str, Any], Any]]:
    return [(c, validate_prompt(json.loads(json.dumps(c["prompt"])), core)) for c in _cases()]


def test_devset_is_complete(results: list[Any]) -> None:
    assert len(results) >= 2000


def test_valid_agrees_with_comfyui(results: list[Any]) -> None:
    mismatches = []
    chaos = 0
    for case, report in results:
        expected = case["comfyui"]
        got = report.to_comfyui()
        if got["valid"] == expected["valid"]:
            continue
        if _recursion_chaos(expected):
            chaos += 1
            assert any(f.code == "dependency_cycle" for f in report.errors), case["case"]
            continue
        mismatches.append(
            f"{case['case']}: ComfyUI valid={expected['valid']}, ours={got['valid']}; "
            f"ComfyUI: {json.dumps(expected['node_errors'])[:300]}; ours: "
            + "; ".join(str(f) for f in report.errors[:3])
        )
    assert not mismatches, f"{len(mismatches)} disagreements:\n" + "\n".join(mismatches)
    assert chaos <= len(results) * 0.002


def test_specific_error_types_on_the_same_node(results: list[Any]) -> None:
    total = hit = 0
    missed = []
    for case, report in results:
        got = report.to_comfyui()["node_errors"]
        for nid, entry in case["comfyui"]["node_errors"].items():
            for err in entry["errors"]:
                if err["type"] in VAGUE:
                    continue
                total += 1
                ours = {e["type"] for e in got.get(nid, {}).get("errors", [])}
                if err["type"] in ours:
                    hit += 1
                else:
                    missed.append(
                        f"{case['case']} node {nid}: {err['type']} ({err['details']}); ours {sorted(ours)}"
                    )
    assert total > 1000
    rate = hit / total
    assert rate >= 0.995, f"{rate:.4f} ({hit}/{total}); missed:\n" + "\n".join(missed[:50])


def test_vague_rejections_get_precise_errors(results: list[Any]) -> None:
    bad = []
    for case, report in results:
        expected = case["comfyui"]
        if expected["valid"]:
            continue
        precise = [f for f in report.errors if f.code not in NOT_PRECISE]
        vague_nodes = {
            nid
            for nid, ne in expected["node_errors"].items()
            if any(e["type"] in VAGUE for e in ne["errors"])
        }
        empty = (
            expected["error"]["type"] == "prompt_outputs_failed_validation"
            and not expected["error"]["details"]
            and not expected["node_errors"]
        )
        if _recursion_chaos(expected):
            if not any(f.code == "dependency_cycle" for f in precise):
                bad.append(f"{case['case']}: no dependency_cycle")
            continue
        for nid in vague_nodes:
            if not any(f.node_id == nid for f in precise):
                bad.append(f"{case['case']}: node {nid} has only ComfyUI's vague error")
        if empty and not precise:
            bad.append(f"{case['case']}: empty ComfyUI error and nothing precise from us")
    assert not bad, "\n".join(bad[:50])


def test_comfyui_lines_have_comfyuis_shape(core: Any) -> None:
    """The ``--format comfyui`` record of a few cases, through the lint layer."""
    for n, case in enumerate(_cases()):
        if n % 97:
            continue
        res = lint_input(load_bytes(json.dumps(case["prompt"]).encode(), "x.json"), core)
        c = res.comfyui
        assert set(c) == {"valid", "error", "node_errors"}
        assert c["valid"] == case["comfyui"]["valid"] or _recursion_chaos(case["comfyui"])
        if c["error"] is not None:
            assert set(c["error"]) == {"type", "message", "details", "extra_info"}
        for entry in c["node_errors"].values():
            assert set(entry) == {"errors", "dependent_outputs", "class_type"}
            for e in entry["errors"]:
                assert set(e) == {"type", "message", "details", "extra_info"}
