"""Shared test fixtures and paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
COMFYUI = SHARED / "comfyui"
DEVSET = COMFYUI / "devset"
OBJECT_INFO = COMFYUI / "object_info.json"
CUSTOM_SPEC = SHARED / "specs" / "object_info_custom_2068.json"
QUICKSTART = SHARED / "seeds" / "cmfy_cloud_quickstart.txt"


@pytest.fixture(scope="session")
def core():
    """The bundled core spec."""
    from cmfy_graph.spec import core_spec

    return core_spec()


@pytest.fixture(scope="session")
def custom_spec():
    """The 2,068-node spec of an install with many custom node packs."""
    from cmfy_graph.spec import load_spec

    return load_spec(CUSTOM_SPEC)


def quickstart_body() -> dict:
    """The request body of the cmfy.cloud quickstart, parsed from the seed document."""
    text = QUICKSTART.read_text(encoding="utf-8")
    start = text.index("-d '") + 4
    end = text.index("}'", start) + 1
    return json.loads(text[start:end])
