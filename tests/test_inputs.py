"""Recognising inputs by content; PNG text chunks."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmfy_graph.inputs import load_bytes, read_input, recognise
from cmfy_graph.pnginfo import PNG_SIGNATURE, PngError, add_text_chunks, read_text_chunks

from conftest import DEVSET

PROMPT = {"1": {"class_type": "PreviewAny", "inputs": {"source": "x"}}}


def _png(texts: dict[str, str] | None = None, zip_: bool = False) -> bytes:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for k, v in (texts or {}).items():
        info.add_text(k, v, zip=zip_)
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PROMPT, "api_prompt"),
        ({}, "api_prompt"),
        ({"prompt": PROMPT, "webhook_url": "https://x"}, "request_body"),
        ({"prompt": [1]}, "request_body"),
        ({"nodes": [], "links": [], "version": 0.4}, "ui_workflow"),
        ([1, 2], "unknown"),
        ({"a": 1, "b": 2}, "unknown"),
        ("text", "unknown"),
    ],
)
def test_recognise(data: Any, kind: str) -> None:
    assert recognise(data) == kind


def test_devset_ui_and_api_files_are_recognised() -> None:
    ui = sorted((DEVSET / "ui2api").glob("*.ui.json"))[:5]
    assert ui
    for p in ui:
        assert read_input(str(p)).kind == "ui_workflow"
        api = p.with_name(p.name.replace(".ui.json", ".api.json"))
        assert read_input(str(api)).kind == "api_prompt"


def test_png_as_comfyui_saves_it(tmp_path: Path) -> None:
    wf = {"nodes": [], "links": [], "version": 0.4, "note": "é ✓"}  # not Latin-1: iTXt
    p = tmp_path / "img.png"
    p.write_bytes(
        _png({"prompt": json.dumps(PROMPT), "workflow": json.dumps(wf, ensure_ascii=False)})
    )
    got = read_input(str(p))
    assert (got.kind, got.source, got.data, got.workflow) == ("api_prompt", "png", PROMPT, wf)
    p.write_bytes(_png({"workflow": json.dumps(wf)}, zip_=True))  # zTXt / compressed iTXt
    got = read_input(str(p))
    assert (got.kind, got.data) == ("ui_workflow", wf)
    p.write_bytes(_png())
    assert read_input(str(p)).kind == "unknown"


def test_add_text_chunks_round_trip_and_pillow_reads_it() -> None:
    from PIL import Image

    raw = add_text_chunks(_png({"old": "1"}), {"prompt": json.dumps(PROMPT), "workflow": "ü ✓"})
    assert read_text_chunks(raw) == {"old": "1", "prompt": json.dumps(PROMPT), "workflow": "ü ✓"}
    img = Image.open(io.BytesIO(raw))
    img.load()
    assert img.text["workflow"] == "ü ✓"
    with pytest.raises(PngError):
        add_text_chunks(b"not a png", {})


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_damaged_png_never_crashes(tail: bytes) -> None:
    try:
        read_text_chunks(PNG_SIGNATURE + tail)
    except PngError:
        pass
    got = load_bytes(PNG_SIGNATURE + tail, "x.png")
    assert got.kind in ("unknown", "unreadable", "api_prompt", "ui_workflow")


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02junk", "binary"),
        (b'{"1": ', "not valid JSON"),
        (b"\xff\xfe\xfa", "UTF-8"),
    ],
)
def test_unreadable_content(raw: bytes, needle: str) -> None:
    got = load_bytes(raw, "f.json")
    assert got.kind == "unreadable" and needle in (got.error or "")


def test_missing_file_and_bom(tmp_path: Path) -> None:
    got = read_input(str(tmp_path / "nope.json"))
    assert got.kind == "unreadable" and "No such file" in (got.error or "")
    p = tmp_path / "bom.json"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps(PROMPT).encode())
    assert read_input(str(p)).kind == "api_prompt"


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    body = {"prompt": PROMPT, "extra_data": {"extra_pnginfo": {"workflow": {"nodes": []}}}}
    fake = io.TextIOWrapper(io.BytesIO(json.dumps(body).encode()))
    monkeypatch.setattr(sys, "stdin", fake)
    got = read_input("-")
    assert (got.kind, got.source, got.data, got.workflow) == (
        "request_body",
        "stdin",
        PROMPT,
        {"nodes": []},
    )
    assert got.body is not None and got.body["prompt"] == PROMPT
