"""Issue 12, items 2, 3 and 5: ``lint`` of scripts, ``file:LINE:COL`` lines, one line per
cause, and project settings in ``[tool.cmfy-graph]``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmfy_graph.cli import main
from cmfy_graph.config import Config, ConfigError, api_url, find_config
from cmfy_graph.jsonpos import json_positions

from conftest import DEVSET, ROOT

# -- json_positions ---------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


def _offset(text: str, line: int, col: int) -> int:
    lines = text.split("\n")
    return sum(len(x) + 1 for x in lines[: line - 1]) + col - 1


def _walk(value: Any, path: tuple[Any, ...] = ()) -> Any:
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*path, k), ("key", k)
            yield from _walk(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield (*path, i), ("value", v)
            yield from _walk(v, (*path, i))


@settings(max_examples=200, deadline=None)
@given(_json, st.sampled_from([None, 0, 1, 2, "\t"]), st.booleans())
def test_every_key_and_element_is_found_where_it_is(
    value: Any, indent: Any, ascii_only: bool
) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    pos = json_positions(text)
    decoder = json.JSONDecoder()
    expected = dict(_walk(value))
    assert set(pos) == set(expected)
    for path, (what, v) in expected.items():
        at = _offset(text, *pos[path])
        got, _ = decoder.raw_decode(text, at)
        assert got == v if what == "value" else got == path[-1]


# -- the text format --------------------------------------------------------------------------


def _lint(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(["lint", *argv])
    return code, capsys.readouterr().out.splitlines()


PROMPT = {
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "model": ["99", 0],
            "seed": 1,
            "steps": 20,
            "cfg": 7,
            "sampler_name": "eulr",
            "scheduler": "normal",
            "positive": ["6", 0],
            "negative": ["6", 0],
            "latent_image": ["5", 0],
            "denoise": 1,
        },
    },
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "x", "clip": ["4", 1]}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5.safetensors"}},
    "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "a"}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
}


@pytest.mark.parametrize("body", [False, True])
def test_lines_point_at_the_input_in_the_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: bool
) -> None:
    f = tmp_path / "wf.json"
    f.write_text(json.dumps({"prompt": PROMPT} if body else PROMPT, indent=2))
    code, lines = _lint(capsys, "--spec", "core-2025", str(f))
    assert code == 1
    text = f.read_text().splitlines()
    # an input: its key; a missing input: the node's "inputs" key
    for code_, needle, tail in [
        ("value_not_in_list", '"sampler_name": "eulr"', "[node 3 KSampler.sampler_name]"),
        ("link_missing_node", '"model": [', "[node 3 KSampler.model]"),
        ("required_input_missing", '"inputs": {', "[node 5 EmptyLatentImage.batch_size]"),
    ]:
        line = next(ln for ln in lines if ln.endswith(tail))
        head, rest = line.split(": ", 1)
        row, col = map(int, head.rsplit(":", 2)[1:])
        assert text[row - 1][col - 1 :].startswith(needle), (line, text[row - 1])
        assert rest.startswith(f"error {code_} ")


def test_findings_of_a_ui_workflow_point_at_the_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = json.loads((DEVSET / "ui2api" / "3d_hunyuan3d-v2.1.ui.json").read_text())
    target = next(n for n in wf["nodes"] if n["type"] == "KSampler")
    target["widgets_values"][2] = -5  # steps out of range
    f = tmp_path / "ui.json"
    f.write_text(json.dumps(wf, indent=1))
    code, lines = _lint(capsys, "--spec", "core-2025", str(f))
    line = next(ln for ln in lines if "value_smaller_than_min" in ln)
    row = int(line.split(":")[1])
    text = f.read_text().splitlines()
    assert text[row - 1].strip() == '"widgets_values": ['
    # the line is inside the KSampler's object
    before = "\n".join(text[: row - 1])
    assert before.rfind('"type": "KSampler"') > before.rfind('"id":') - 200
    assert line.endswith(f"[node {target['id']} KSampler.steps]") and code == 1


def test_a_ui_link_from_a_missing_node_is_reported_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Item 5: the converter's note about the dangling link and ComfyUI's
    ``required_input_missing`` for it were two lines; now one, with the cause as its hint."""
    wf = json.loads((DEVSET / "ui2api" / "3d_hunyuan3d-v2.1.ui.json").read_text())
    gone = wf["links"][0][1]  # the node the first link comes from
    wf["nodes"] = [n for n in wf["nodes"] if n["id"] != gone]
    f = tmp_path / "ui.json"
    f.write_text(json.dumps(wf))
    _, lines = _lint(capsys, "--spec", "core-2025", str(f))
    about = [ln for ln in lines if f"from node {gone}" in ln]
    assert about and all("required_input_missing" in ln for ln in about)
    assert not any("conversion_warning" in ln for ln in lines)
    assert all("in the UI workflow, input" in ln for ln in about)


def test_a_conversion_warning_without_a_finding_keeps_its_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = json.loads((DEVSET / "ui2api" / "3d_hunyuan3d-v2.1.ui.json").read_text())
    node = next(n for n in wf["nodes"] if n["type"] == "KSampler")
    node["widgets_values"] = node["widgets_values"] + [1, 2, 3]  # more values than widgets
    f = tmp_path / "ui.json"
    f.write_text(json.dumps(wf))
    _, lines = _lint(capsys, "--spec", "core-2025", str(f))
    warn = [ln for ln in lines if "conversion_warning" in ln]
    assert len(warn) == 1 and warn[0].endswith(f"[node {node['id']} KSampler]")
    assert ": warning conversion_warning " in warn[0] and ":1:1:" not in warn[0]


# -- lint of a workflow script ----------------------------------------------------------------

SCRIPT = """\
from cmfy_graph import Workflow
from cmfy_graph.nodes import CheckpointLoaderSimple, CLIPTextEncode

print("a script may print")
with Workflow() as wf:
    ckpt = CheckpointLoaderSimple(
        ckpt_name="{ckpt}",
    )
    CLIPTextEncode(text="a cat", clip=ckpt.clip)
"""


def test_lint_compiles_a_script_and_names_its_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "wf.py"
    f.write_text(SCRIPT.format(ckpt="nope.safetensors"))
    code = main(["lint", "--spec", "core-2025", str(f)])
    out, err = capsys.readouterr()
    assert "not valid JSON" not in out and "a script may print" in err
    # the loader is created by a call spread over lines 6-8: its first line
    first = next(ln for ln in out.splitlines() if "value_not_in_list" in ln)
    assert first.startswith(f"{f}:6:1: warning value_not_in_list 'nope.safetensors'")
    assert first.endswith("[node 1 CheckpointLoaderSimple.ckpt_name]") and code == 1


def test_lint_of_a_script_that_fails_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "wf.py"
    f.write_text(SCRIPT.replace("clip=ckpt.clip", "clip=ckpt.clipp"))
    code, lines = _lint(capsys, str(f))
    assert code == 2
    assert lines[0].startswith(f"{f}:9:1: error unreadable_input AttributeError: ")
    assert "did you mean" in lines[0] and "Traceback" not in lines[0]


def test_a_directory_lints_no_scripts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "conftest.py").write_text("raise SystemExit(3)\n")
    (tmp_path / "wf.json").write_text(json.dumps(PROMPT))
    _lint(capsys, "--spec", "core-2025", str(tmp_path))
    assert "conftest.py" not in capsys.readouterr().out


# -- [tool.cmfy-graph] ------------------------------------------------------------------------


def _project(root: Path, table: str) -> Path:
    (root / "pyproject.toml").write_text(f'[project]\nname = "x"\n\n[tool.cmfy-graph]\n{table}')
    sub = root / "flows" / "deep"
    sub.mkdir(parents=True, exist_ok=True)
    return sub


def test_config_is_found_upwards_and_paths_are_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    sub = _project(tmp_path, 'spec = ["specs/oi.json", "core"]\nprofile = "cmfy"\n')
    cfg = find_config(sub)
    assert cfg.path == (tmp_path / "pyproject.toml").resolve()
    assert cfg.spec == (str(tmp_path.resolve() / "specs" / "oi.json"), "core")
    assert cfg.profile == "cmfy" and cfg.server == () and cfg.api_url is None


def test_config_search_stops_at_the_repository_top(tmp_path: Path) -> None:
    _project(tmp_path, 'profile = "cmfy"\n')
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    assert find_config(repo) == Config()
    # a pyproject without the table is passed over
    (repo / "pyproject.toml").write_text('[project]\nname = "y"\n')
    assert find_config(repo) == Config()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('profil = "cmfy"\n', "has no setting 'profil'; did you mean 'profile'?"),
        ('profile = "cmfi"\n', "did you mean 'cmfy'?"),
        ("server = 8188\n", "server must be a string or a list of strings"),
        ("spec = [1]\n", "spec must be a string or a list of strings"),
        ("profile = \n", "not valid TOML"),
    ],
)
def test_a_bad_config_is_an_error_naming_the_file(
    tmp_path: Path,
    table: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / ".git").mkdir()
    sub = _project(tmp_path, table)
    with pytest.raises(ConfigError, match="pyproject.toml") as exc:
        find_config(sub)
    assert message in str(exc.value)
    monkeypatch.chdir(sub)
    code = main(["lint", str(ROOT / "examples" / "quickstart.json")])
    assert code == 2 and message in capsys.readouterr().err


def test_lint_takes_its_profile_and_spec_from_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed's own request body (model URLs) passes once the project says ``cmfy``."""
    body = str(ROOT / "examples" / "quickstart.json")
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    code, lines = _lint(capsys, body)
    assert code == 1 and "value_not_in_list" in lines[0] and "[tool.cmfy-graph]" in lines[0]
    sub = _project(tmp_path, 'profile = "cmfy"\n')
    monkeypatch.chdir(sub)
    code, lines = _lint(capsys, body)
    assert code == 0 and "hf_unpinned_revision" in lines[0]
    code, lines = _lint(capsys, "--profile", "comfyui", body)  # a flag wins
    assert code == 1
    # a spec from the config: one that lacks the checkpoint loader
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "oi.json").write_text(json.dumps({"SaveImage": {}}))
    _project(tmp_path, 'spec = "specs/oi.json"\n')
    code, lines = _lint(capsys, body)
    assert code == 1 and any(
        "unknown_class_type" in ln and ln.endswith("[node 1 CheckpointLoaderSimple]")
        for ln in lines
    )


def test_api_url_comes_from_the_flag_then_the_environment_then_the_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = Config(api_url="http://from-config")
    monkeypatch.delenv("CMFY_API_URL", raising=False)
    assert api_url(None, cfg) == "http://from-config"
    assert api_url(None, Config()) is None
    monkeypatch.setenv("CMFY_API_URL", "http://from-env")
    assert api_url(None, cfg) == "http://from-env"
    assert api_url("http://flag", cfg) == "http://flag"


def test_a_widget_saved_by_name_is_pointed_at_by_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = json.loads((DEVSET / "ui2api" / "3d_hunyuan3d-v2.1.ui.json").read_text())
    target = next(n for n in wf["nodes"] if n["type"] == "KSampler")
    target["widgets_values"][2] = -5
    names = ["seed", "control_after_generate", "steps", "cfg", "sampler_name", "scheduler"]
    target["widgets_values_named"] = dict(
        zip(names + ["denoise"], target["widgets_values"], strict=True)
    )
    f = tmp_path / "ui.json"
    f.write_text(json.dumps(wf, indent=1))
    _, lines = _lint(capsys, "--spec", "core-2025", str(f))
    line = next(ln for ln in lines if "value_smaller_than_min" in ln)
    row, col = map(int, line.split(":")[1:3])
    text = f.read_text().splitlines()
    assert text[row - 1][col - 1 :].startswith('"steps": -5')


def test_a_value_that_does_not_fit_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The converter's "widget values do not fit the spec" and the error ComfyUI gives for
    that value were two lines for one cause."""
    wf = json.loads((DEVSET / "ui2api" / "3d_hunyuan3d-v2.1.ui.json").read_text())
    target = next(n for n in wf["nodes"] if n["type"] == "KSampler")
    target["widgets_values"][2] = "many"  # steps
    f = tmp_path / "ui.json"
    f.write_text(json.dumps(wf))
    _, lines = _lint(capsys, "--spec", "core-2025", str(f))
    about = [ln for ln in lines if "steps" in ln]
    assert len(about) == 1, about
    assert "invalid_input_type" in about[0] and "do not fit the spec" in about[0]
    assert not any("conversion_warning" in ln for ln in lines)
