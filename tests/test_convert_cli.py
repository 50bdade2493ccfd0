"""``cmfy-graph convert``: formats recognised by content, outputs, exit codes, error messages."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from cmfy_graph.cli import main
from cmfy_graph.spec import core_spec

from conftest import DEVSET

UI2API = DEVSET / "ui2api"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["convert", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_ui_to_api_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "--to", "api", str(UI2API / "sdxlturbo_example.ui.json"))
    assert code == 0, err
    exp = json.loads((UI2API / "sdxlturbo_example.api.json").read_text(encoding="utf-8"))
    assert json.loads(out) == exp


def test_many_files_to_out_dir(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    names = ["lora", "sdxlturbo_example", "video_wan2_2_14B_s2v"]
    files = [str(UI2API / f"{n}.ui.json") for n in names]
    code, out, err = _run(
        capsys, "--to", "api", "--spec", "core-2025", "-o", str(tmp_path / "out"), *files
    )
    assert code == 0, err
    assert out == ""
    for n in names:
        got = json.loads((tmp_path / "out" / f"{n}.ui.json").read_text(encoding="utf-8"))
        assert got == json.loads((UI2API / f"{n}.api.json").read_text(encoding="utf-8"))


def test_several_files_need_out_dir(capsys: pytest.CaptureFixture[str]) -> None:
    f = str(UI2API / "lora.ui.json")
    code, _, err = _run(capsys, "--to", "api", f, f)
    assert code == 2 and "-o OUT_DIR" in err


def test_api_to_python_and_back_through_compile(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = tmp_path / "lora.api.json"
    shutil.copy(UI2API / "lora.api.json", src)
    code, _, err = _run(capsys, "--to", "python", "-o", str(tmp_path), str(src))
    assert code == 0, err
    script = tmp_path / "lora.api.py"
    assert script.is_file()
    assert main(["compile", str(script)]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["prompt"] == json.loads(src.read_text(encoding="utf-8"))


def test_python_and_body_to_ui_and_back(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    prompt = json.loads((UI2API / "sdxlturbo_example.api.json").read_text(encoding="utf-8"))
    body = tmp_path / "req.json"
    body.write_text(json.dumps({"prompt": prompt}), encoding="utf-8")
    code, out, err = _run(capsys, "--to", "ui", str(body))
    assert code == 0, err
    ui = json.loads(out)
    assert ui["version"] == 0.4 and ui["nodes"]
    (tmp_path / "wf.json").write_text(out, encoding="utf-8")
    code, out, _ = _run(capsys, "--to", "api", str(tmp_path / "wf.json"))
    assert code == 0 and json.loads(out) == prompt
    # a .py script in, UI out, named <stem>.json
    code, py, _ = _run(capsys, "--to", "python", str(body))
    (tmp_path / "script.py").write_text(py, encoding="utf-8")
    code, _, err = _run(
        capsys, "--to", "ui", "-o", str(tmp_path / "o"), str(tmp_path / "script.py")
    )
    assert code == 0, err
    code, out, _ = _run(capsys, "--to", "api", str(tmp_path / "o" / "script.json"))
    assert json.loads(out) == prompt


def _png_with(chunks: dict[str, str]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    parts = [b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", ihdr)]
    for k, v in chunks.items():
        parts.append(chunk(b"tEXt", k.encode("latin-1") + b"\0" + v.encode("latin-1")))
    parts.append(chunk(b"IDAT", zlib.compress(b"\0\0")))
    parts.append(chunk(b"IEND", b""))
    return b"".join(parts)


def test_png_metadata_is_read(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ui = (UI2API / "lora.ui.json").read_text(encoding="utf-8")
    png = tmp_path / "ComfyUI_0001.png"
    png.write_bytes(_png_with({"workflow": json.dumps(json.loads(ui), ensure_ascii=True)}))
    code, out, err = _run(capsys, "--to", "api", "--spec", "core-2025", str(png))
    assert code == 0, err
    assert json.loads(out) == json.loads((UI2API / "lora.api.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"a": 1}', "neither a UI workflow"),
        ("[1, 2]", "neither a UI workflow"),
    ],
)
def test_bad_inputs_exit_2_naming_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str
) -> None:
    f = tmp_path / "broken.json"
    f.write_text(content, encoding="utf-8")
    good = str(UI2API / "lora.ui.json")
    code, _, err = _run(capsys, "--to", "api", "-o", str(tmp_path / "o"), str(f), good)
    assert code == 2
    assert str(f) in err and message in err
    assert "Traceback" not in err
    assert (tmp_path / "o" / "lora.ui.json").is_file()  # the other file was still converted


def test_missing_file_and_bad_node(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = _run(capsys, "--to", "python", str(tmp_path / "nope.json"))
    assert code == 2 and "nope.json" in err
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"3": {"class_type": 5, "inputs": {}}}), encoding="utf-8")
    code, _, err = _run(capsys, "--to", "python", str(f))
    assert code == 2 and "node 3" in err and "p.json" in err


def test_warnings_and_strict(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    wf: dict[str, Any] = json.loads(
        (UI2API / "sdxlturbo_example.ui.json").read_text(encoding="utf-8")
    )
    wf["nodes"].append(
        {
            "id": 99,
            "type": "NoSuchNode",
            "mode": 0,
            "inputs": [],
            "outputs": [],
            "widgets_values": [1],
        }
    )
    f = tmp_path / "custom.json"
    f.write_text(json.dumps(wf), encoding="utf-8")
    code, out, err = _run(capsys, "--to", "api", str(f))
    assert code == 0 and "node 99 (NoSuchNode)" in err and "custom.json" in err
    assert json.loads(out)["99"]["class_type"] == "NoSuchNode"
    code, _, _ = _run(capsys, "--to", "api", "--strict", str(f))
    assert code == 1
    code, _, err = _run(capsys, "--to", "api", "-q", str(f))
    assert code == 0 and err == ""


def test_custom_spec_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "Thing": {
                    "input": {"required": {"n": ["INT", {}], "s": ["STRING", {}]}},
                    "output": [],
                }
            }
        ),
        encoding="utf-8",
    )
    wf = {
        "last_node_id": 1,
        "last_link_id": 0,
        "nodes": [
            {
                "id": 1,
                "type": "Thing",
                "mode": 0,
                "inputs": [],
                "outputs": [],
                "widgets_values": [4, "x"],
            }
        ],
        "links": [],
        "version": 0.4,
    }
    f = tmp_path / "t.json"
    f.write_text(json.dumps(wf), encoding="utf-8")
    code, out, err = _run(capsys, "--to", "api", "--spec", str(spec), str(f))
    assert code == 0, err
    assert json.loads(out) == {
        "1": {"inputs": {"n": 4, "s": "x"}, "class_type": "Thing", "_meta": {"title": "Thing"}}
    }


def test_load_prompt_reads_every_format(tmp_path: Path) -> None:
    from cmfy_graph.convert import load_prompt
    from cmfy_graph.graph import Workflow

    exp = json.loads((UI2API / "lora.api.json").read_text(encoding="utf-8"))
    spec = core_spec("core-2025")  # the devset's editor ran against that server
    assert load_prompt(UI2API / "lora.ui.json", spec, warnings=[]) == exp
    assert load_prompt(UI2API / "lora.api.json") == exp
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"prompt": exp, "webhook_url": "https://x"}), encoding="utf-8")
    assert load_prompt(body) == exp
    png = tmp_path / "out.png"
    png.write_bytes(_png_with({"prompt": json.dumps(exp)}))
    assert Workflow.from_prompt(load_prompt(png)).to_prompt() == exp


def test_python_keeps_the_spec_order_and_can_write_every_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12 item 10: defaults were left out without a word, and a node written with
    ``node(...)`` took the prompt's order (the editor's: widgets first) over the spec's."""
    spec = tmp_path / "oi.json"
    spec.write_text(
        json.dumps(
            {
                "MyBlend": {
                    "input": {
                        "required": {
                            "image_a": ["IMAGE"],
                            "factor": ["FLOAT", {"default": 0.5}],
                            "image_b": ["IMAGE"],
                            "mode": [["normal", "multiply"]],
                        }
                    },
                    "output": ["IMAGE"],
                    "name": "MyBlend",
                    "category": "x",
                }
            }
        )
    )
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "a.png"}},
        "2": {
            "class_type": "MyBlend",
            # the editor's order: widgets first, then the links
            "inputs": {"factor": 0.5, "mode": "normal", "image_a": ["1", 0], "image_b": ["1", 0]},
        },
        "3": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": 768, "height": 640, "batch_size": 1},
        },
    }
    f = tmp_path / "wf.json"
    f.write_text(json.dumps(prompt))
    assert main(["convert", "--to", "python", "--spec", "core", "--spec", str(spec), str(f)]) == 0
    script = capsys.readouterr().out
    call = script[script.index('node(\n        "MyBlend"') :]
    names = [n for n in ("image_a=", "factor=", "image_b=", "mode=") if n in call]
    assert sorted(names, key=call.index) == ["image_a=", "factor=", "image_b=", "mode="]
    assert "EmptyLatentImage(width=768, height=640)" in script  # batch_size=1 is the default
    assert "are left out" in script and "--all-values" in script
    ns: dict[str, Any] = {}
    exec(compile(script, "wf", "exec"), ns)  # noqa: S102 - our own output
    assert ns["wf"].to_prompt() == prompt
    # --all-values: every value of the prompt is written
    assert main(["convert", "--to", "python", "--all-values", str(f)]) == 0
    full = capsys.readouterr().out
    assert "EmptyLatentImage(width=768, height=640, batch_size=1)" in full
    assert "are left out" not in full
    ns = {}
    exec(compile(full, "wf", "exec"), ns)  # noqa: S102 - our own output
    assert ns["wf"].to_prompt() == prompt
