"""Prompts and helpers shared by the client tests."""

from __future__ import annotations

import copy
from typing import Any

from conftest import quickstart_body

FAST_POLICY_KW = dict(
    budget=10.0, backoff_initial=0.02, backoff_max=0.2, capacity_initial=0.05, capacity_max=0.2
)


def fast_policy(**kw: Any) -> Any:
    from cmfy_graph.client import RetryPolicy

    return RetryPolicy(**{**FAST_POLICY_KW, **kw})


def client_for(emu: Any, key: str | None = None, **kw: Any) -> Any:
    """A sync client of ``emu`` with a fast retry policy."""
    from cmfy_graph.client import Client

    kw.setdefault("retry_policy", fast_policy())
    kw.setdefault("allow_private_webhooks", True)
    kw.setdefault("seed", 1)
    return Client(key or emu.test_key, emu.url, **kw)


def async_client_for(emu: Any, key: str | None = None, **kw: Any) -> Any:
    """An async client of ``emu`` with a fast retry policy."""
    from cmfy_graph.client import AsyncClient

    kw.setdefault("retry_policy", fast_policy())
    kw.setdefault("allow_private_webhooks", True)
    kw.setdefault("seed", 1)
    return AsyncClient(key or emu.test_key, emu.url, **kw)


def quickstart_prompt() -> dict[str, Any]:
    """The quickstart's API prompt (a fresh copy)."""
    return copy.deepcopy(quickstart_body()["prompt"])


def broken_prompt() -> dict[str, Any]:
    """The quickstart with KSampler steps=0 (ComfyUI: value_smaller_than_min on node 5)."""
    p = quickstart_prompt()
    p["5"]["inputs"]["steps"] = 0
    return p


def local_prompt(ckpt: str) -> dict[str, Any]:
    """The quickstart with a checkpoint file name (for a self-hosted ComfyUI)."""
    p = quickstart_prompt()
    p["1"]["inputs"]["ckpt_name"] = ckpt
    return p
