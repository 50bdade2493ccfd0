"""The ``lint`` command: paths, formats, exit codes, profiles, UI workflows and PNGs."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from cmfy_graph.cli import main
from cmfy_graph.lint import expand_paths

from conftest import DEVSET, ROOT


def _cases() -> dict[str, dict[str, Any]]:
    out = {}
    with open(DEVSET / "lint_cases.jsonl", encoding="utf-8") as fh:
        for line in fh:
            c = json.loads(line)
            out[c["case"]] = c
    return out


CASES = _cases()
TEMPLATE = "sdxl_simple_example"


def _case(kind: str | None) -> dict[str, Any]:
    for c in CASES.values():
        m = c["mutation"]
        if c["template"] == TEMPLATE and (
            (m is None and kind is None) or (m and m["kind"] == kind)
        ):
            return c
    raise LookupError(kind)


@pytest.fixture()
def files(tmp_path: Path) -> Path:
    for kind in (None, "combo_typo", "link_missing_node", "int_given_float"):
        c = _case(kind)
        (tmp_path / f"{kind or 'base'}.json").write_text(json.dumps(c["prompt"], indent=1))
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["lint", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_format_and_exit_codes(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(files / "base.json"))
    assert code == 0 and out.strip().endswith("(1 file).")
    code, out, _ = _run(capsys, str(files / "int_given_float.json"))
    assert code == 0 and "float_truncated" in out  # a warning: still exit 0
    code, out, _ = _run(capsys, str(files / "combo_typo.json"))
    assert code == 1
    line = out.splitlines()[0]
    path = files / "combo_typo.json"
    # file:LINE:COL: at the input's key in the JSON, the severity, the node at the end
    text = path.read_text().splitlines()
    row = next(i for i, t in enumerate(text, 1) if '"sampler_name": "euer"' in t)
    col = text[row - 1].index('"sampler_name"') + 1
    assert line.startswith(f"{path}:{row}:{col}: error value_not_in_list ")
    assert line.endswith("(did you mean 'euler'?) [node 10 KSamplerAdvanced.sampler_name]")
    assert out.splitlines()[-1].startswith("Found 1 error and 0 warnings in 1 file")
    _, out, _ = _run(capsys, str(files / "int_given_float.json"))
    assert ": warning float_truncated " in out.splitlines()[0]


def test_unreadable_input_is_exit_2_and_others_still_linted(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (files / "junk.json").write_bytes(b"\x00\x01junk")
    code, out, _ = _run(capsys, str(files))
    assert code == 2
    assert f"{files / 'junk.json'}:1:1: error unreadable_input binary data" in out
    assert "value_not_in_list" in out  # the other files were linted
    code, out, _ = _run(capsys, str(files / "missing.json"))
    assert code == 2 and "unreadable_input" in out


def test_usage_error_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ei:
        main(["lint", "--format", "xml", "x.json"])
    assert ei.value.code == 2


def test_comfyui_format_is_json_lines_in_comfyuis_shape(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--format", "comfyui", str(files))
    lines = [json.loads(x) for x in out.splitlines()]
    assert [Path(x["file"]).name for x in lines] == [
        "base.json",
        "combo_typo.json",
        "int_given_float.json",
        "link_missing_node.json",
    ]
    assert all(list(x) == ["file", "valid", "error", "node_errors"] for x in lines)
    by = {Path(x["file"]).stem: x for x in lines}
    for kind in ("combo_typo", "link_missing_node", "int_given_float"):
        expected = _case(kind)["comfyui"]
        got = by[kind]
        assert got["valid"] == expected["valid"]
        assert (got["error"] or {}).get("type") == (expected["error"] or {}).get("type")
        for nid, entry in expected["node_errors"].items():
            ours = [e["type"] for e in got["node_errors"][nid]["errors"]]
            assert [e["type"] for e in entry["errors"]] == ours[: len(entry["errors"])]
    assert code == 1


def test_json_and_sarif(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "--format", "json", str(files))
    doc = json.loads(out)
    assert doc["summary"]["files"] == 4 and doc["summary"]["errors"] == 2
    assert {f["code"] for f in doc["findings"]} >= {"value_not_in_list", "link_missing_node"}
    _, out, _ = _run(capsys, "--format", "sarif", str(files))
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    for res in run["results"]:
        assert rule_ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("error", "warning")
        assert res["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1
    typo = [r for r in run["results"] if r["ruleId"] == "value_not_in_list"][0]
    text = (files / "combo_typo.json").read_text().splitlines()
    region = typo["locations"][0]["physicalLocation"]["region"]
    line, col = region["startLine"], region["startColumn"]
    assert text[line - 1][col - 1 :].startswith('"sampler_name": "euer"')


def test_globs_dirs_and_stdin(
    files: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = files / "sub"
    sub.mkdir()
    (sub / "deep.json").write_text(json.dumps(_case(None)["prompt"]))
    (sub / "notes.txt").write_text("ignored")
    got = expand_paths([str(files)])
    assert str(sub / "deep.json") in got and not any(p.endswith(".txt") for p in got)
    assert expand_paths([str(files / "*.json")]) == sorted(str(p) for p in files.glob("*.json"))
    assert str(sub / "deep.json") in expand_paths([str(files / "**" / "*.json")])
    monkeypatch.setattr(
        sys,
        "stdin",
        io.TextIOWrapper(io.BytesIO(json.dumps(_case("combo_typo")["prompt"]).encode())),
    )
    code, out, _ = _run(capsys, "--format", "comfyui", "-")
    assert code == 1 and json.loads(out)["file"] == "-"


def test_request_body_with_webhook_defaults_to_cmfy_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"prompt": _case(None)["prompt"], "webhook_url": "http://10.0.0.2/hook"}
    p = tmp_path / "body.json"
    p.write_text(json.dumps(body))
    code, out, _ = _run(capsys, str(p))
    assert code == 0 and "webhook_not_https" in out and "webhook_private" in out
    code, out, _ = _run(capsys, "--profile", "comfyui", str(p))
    assert "webhook" not in out


def test_png_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("prompt", json.dumps(_case("combo_typo")["prompt"]))
    p = tmp_path / "out.png"
    Image.new("RGB", (2, 2)).save(p, pnginfo=info)
    code, out, _ = _run(capsys, str(p))
    assert code == 1 and "value_not_in_list" in out
    Image.new("RGB", (2, 2)).save(p)
    code, out, _ = _run(capsys, str(p))
    assert code == 2 and "without ComfyUI metadata" in out


def test_ui_workflow_is_converted_and_linted(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("cmfy_graph.convert.ui")
    ui = sorted((DEVSET / "ui2api").glob("*.ui.json"))[:6]
    assert ui
    for p in ui:
        api = p.with_name(p.name.replace(".ui.json", ".api.json"))
        _, out_ui, _ = _run(capsys, "--format", "comfyui", str(p))
        _, out_api, _ = _run(capsys, "--format", "comfyui", str(api))
        a, b = json.loads(out_ui), json.loads(out_api)
        assert (a["valid"], a["node_errors"].keys()) == (
            b["valid"],
            b["node_errors"].keys(),
        ), p.name


def test_pre_commit_hook_file() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "id: cmfy-graph-lint" in text and "entry: cmfy-graph lint" in text


def test_docs_show_real_output(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """docs/lint.md shows text output in the format the command prints."""
    doc = (ROOT / "docs" / "lint.md").read_text()
    assert "value_not_in_list" in doc and "Exit codes" in doc


def test_spec_option_with_a_servers_object_info(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A raw /object_info (no "cmfy" facts) gives the same verdicts as the bundled spec."""
    from conftest import OBJECT_INFO

    code, out, _ = _run(capsys, "--format", "comfyui", "--spec", str(OBJECT_INFO), str(files))
    a = [json.loads(x) for x in out.splitlines()]
    code2, out2, _ = _run(capsys, "--format", "comfyui", "--spec", "core-2025", str(files))
    assert a == [json.loads(x) for x in out2.splitlines()] and code == code2


def test_no_warnings_option(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--no-warnings", str(files / "int_given_float.json"))
    assert code == 0 and "float_truncated" not in out


def test_pre_commit_hook_skips_json_that_is_not_a_workflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12, item 4: the hook linted every .json (package.json failed)."""
    (tmp_path / "package.json").write_text('{"name": "x", "dependencies": {}}')
    (tmp_path / "tsconfig.json").write_text("{ // comments\n}")
    (tmp_path / "empty.json").write_text("{}")
    wf = tmp_path / "wf.json"
    wf.write_text('{"1": {"class_type": "EmptyImage", "inputs": {"width": 8}}}')
    files = [str(p) for p in sorted(tmp_path.glob("*.json"))]
    code, out, _ = _run(capsys, "--only-workflows", *files)
    assert code == 1  # the workflow's own errors
    assert "wf.json" in out
    assert not any(n in out for n in ("package.json", "tsconfig.json", "empty.json"))
    code, out, _ = _run(capsys, "--only-workflows", *files[:-1])
    assert code == 0, out
    assert "cmfy-graph lint --only-workflows" in (ROOT / ".pre-commit-hooks.yaml").read_text()


def test_the_program_tunes_the_collector_and_library_callers_keep_theirs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import gc

    from cmfy_graph.cli import console_main

    before = gc.get_threshold()
    try:
        assert main([]) == 2 and gc.get_threshold() == before  # main alone: untouched
        monkeypatch.setattr(sys, "argv", ["cmfy-graph"])
        assert console_main() == 2  # no command: the usage, exit 2, as main says
        assert gc.get_threshold()[0] > before[0]
    finally:
        gc.set_threshold(*before)
    assert "usage" in capsys.readouterr().err
    # the installed program and python -m both enter through it
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'cmfy-graph = "cmfy_graph.cli:console_main"' in text
    assert "console_main()" in (ROOT / "cmfy_graph" / "__main__.py").read_text(encoding="utf-8")
