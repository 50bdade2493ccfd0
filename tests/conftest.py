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
    """The bundled spec of ComfyUI of October 2025 (``core-2025``): the spec the devset's
    conversions and verdicts were made with."""
    from cmfy_graph.spec import core_spec

    return core_spec("core-2025")


@pytest.fixture(scope="session")
def latest():
    """The bundled default core spec: today's ComfyUI."""
    from cmfy_graph.spec import core_spec

    return core_spec()


@pytest.fixture(scope="session")
def custom_spec():
    """The 2,068-node spec of an install with many custom node packs."""
    import warnings

    from cmfy_graph.spec import SpecWarning, load_spec

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecWarning)  # its one quirk is asserted in test_spec
        return load_spec(CUSTOM_SPEC)


def quickstart_body() -> dict:
    """The request body of the cmfy.cloud quickstart, parsed from the seed document."""
    text = QUICKSTART.read_text(encoding="utf-8")
    start = text.index("-d '") + 4
    end = text.index("}'", start) + 1
    return json.loads(text[start:end])


# -- cmfy.cloud emulator fixtures (client helper) ------------------------------------------------

#: short job times so the client tests stay fast
FAST_EMULATOR = {"queue_seconds": 0.02, "run_seconds": 0.05, "allow_private_webhooks": True}


@pytest.fixture
def emulator():
    """A running cmfy.cloud emulator on loopback (fast jobs); stopped after the test.

    Use ``emulator.url`` and ``emulator.test_key``; ``emulator.requests`` records the calls.
    """
    from cmfy_graph.client.emulator import Emulator, EmulatorConfig

    emu = Emulator(EmulatorConfig(**FAST_EMULATOR)).start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def make_emulator():
    """A factory: ``make_emulator(**EmulatorConfig fields)`` starts an emulator (fast jobs by
    default); every emulator it started is stopped after the test."""
    from cmfy_graph.client.emulator import Emulator, EmulatorConfig

    started = []

    def make(**overrides):
        emu = Emulator(EmulatorConfig(**{**FAST_EMULATOR, **overrides})).start()
        started.append(emu)
        return emu

    try:
        yield make
    finally:
        for emu in started:
            emu.stop()
