"""V3 dynamic inputs: which prompt keys a node has, given what the prompt holds.

Today's ComfyUI (``comfy_api/latest/_io.py``, ``get_finalized_class_inputs``) rebuilds a V3
node's inputs from the values it receives; the rules (docs/dynamic_inputs.md):

- **Autogrow** ``images`` with slots ``image0``, ``image1``, ...: the prompt keys are
  ``images.image0``, ... Every slot is an input; the first ``min`` are required when the
  template input is required. A bare ``images`` key is not an input.
- **DynamicCombo** ``resize_type``: the key holds the selected option's key; the option's own
  inputs are ``resize_type.<name>`` (nested combos nest the dots). The combo is an input only
  when its value is present and names an option (an unknown or missing key is not validated).
- **MatchType**: an ordinary input whose type is decided by what is plugged in.

This module is a leaf: it knows the spec records and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from .spec import AutogrowSpec, DynamicComboSpec, InputSpec, NodeSpec

__all__ = [
    "finalize_inputs",
    "possible_inputs",
    "renamed",
]

_RENAMED: dict[tuple[int, str, str], tuple[InputSpec, InputSpec]] = {}


def renamed(ispec: InputSpec, name: str, section: str) -> InputSpec:
    """``ispec`` under its prompt key ``name`` (cached: records are immutable)."""
    if ispec.name == name and ispec.section == section:
        return ispec
    key = (id(ispec), name, section)
    hit = _RENAMED.get(key)
    if hit is not None and hit[0] is ispec:
        return hit[1]
    if len(_RENAMED) > 50_000:
        _RENAMED.clear()
    r = attrs.evolve(ispec, name=name, section=section)
    _RENAMED[key] = (ispec, r)
    return r


def _finalize(
    inputs: Mapping[str, InputSpec], live: Mapping[str, Any], prefix: str, out: dict[str, InputSpec]
) -> None:
    for name, ispec in inputs.items():
        key = f"{prefix}{name}"
        dyn = ispec.dynamic
        if isinstance(dyn, AutogrowSpec):
            required = dyn.template.section == "required"
            for i, slot in enumerate(dyn.names):
                sk = f"{key}.{slot}"
                out[sk] = renamed(
                    dyn.template, sk, "required" if i < dyn.min and required else "optional"
                )
        elif isinstance(dyn, DynamicComboSpec):
            if key in live:
                opt = dyn.option(live[key]) if isinstance(live[key], str) else None
                if opt is not None:
                    out[key] = renamed(ispec, key, ispec.section)
                    _finalize(opt.inputs, live, f"{key}.", out)
        else:
            out[key] = renamed(ispec, key, ispec.section)


def finalize_inputs(ns: NodeSpec, live: Mapping[str, Any]) -> dict[str, InputSpec]:
    """The inputs of a node given its prompt ``inputs`` (``live``), by prompt key, as today's
    ComfyUI validates them: dynamic inputs expanded, each record renamed to its dotted key."""
    out: dict[str, InputSpec] = {}
    _finalize(ns.inputs, live, "", out)
    return out


def _walk_possible(inputs: Mapping[str, InputSpec], prefix: str) -> Iterator[tuple[str, InputSpec]]:
    for name, ispec in inputs.items():
        key = f"{prefix}{name}"
        dyn = ispec.dynamic
        if isinstance(dyn, AutogrowSpec):
            for slot in dyn.names:
                yield f"{key}.{slot}", renamed(dyn.template, f"{key}.{slot}", "optional")
        elif isinstance(dyn, DynamicComboSpec):
            yield key, ispec
            for opt in dyn.options:
                yield from _walk_possible(opt.inputs, f"{key}.")
        else:
            yield key, ispec


_POSSIBLE: dict[int, tuple[NodeSpec, dict[str, InputSpec]]] = {}


def possible_inputs(ns: NodeSpec) -> dict[str, InputSpec]:
    """Every prompt key any value of the node's dynamic inputs can make (first record wins
    where two options share a sub-input name). Computed once per spec record; do not
    modify the result."""
    hit = _POSSIBLE.get(id(ns))
    if hit is not None and hit[0] is ns:
        return hit[1]
    out: dict[str, InputSpec] = {}
    for k, v in _walk_possible(ns.inputs, ""):
        out.setdefault(k, v)
    if len(_POSSIBLE) > 10_000:
        _POSSIBLE.clear()
    _POSSIBLE[id(ns)] = (ns, out)
    return out
