"""Validate an API prompt: ComfyUI's own verdict, exactly, plus what ComfyUI misses.

:func:`validate_prompt` re-implements ComfyUI's ``validate_prompt`` / ``validate_inputs``
(backend BE-2025-10, ``../shared/comfyui/FORMATS.md`` section 2) against a node spec:

- pass 1 over every node (``class_type`` present and known; output nodes collected);
- validation only of nodes reachable backwards from output nodes through *declared* inputs,
  memoised per node, so a node is judged once whatever the number of its consumers;
- link shape, return type (``*``, comma unions), coercion of INT/FLOAT/STRING/BOOLEAN,
  min/max, legacy COMBO membership (new-style ``["COMBO", {...}]`` is not checked by that
  backend: a warning here), the node's own ``VALIDATE_INPUTS`` (which inputs it takes comes
  from the spec's ``"cmfy"`` extension; file-name checks such as LoadImage's are emulated
  from the spec's file lists, annotated names like ``x.png [output]`` included, and in the
  editor's upload subfolders ``clipspace/`` and ``pasted/`` only the editor's own names);
- where ComfyUI's Python raises (a link to a missing node, an integer node id, an output
  index out of range, a float index, ``inputs`` that is not an object, a file check given a
  number...), the same ``exception_during_validation`` / ``exception_during_inner_validation``
  on the same node, with a precise finding of ours alongside; the node's other inputs are
  still visited (ComfyUI's order is its hash seed's, so any of their upstream errors may be
  in its answer);
- the prompt is valid when at least one output validated; ``node_errors`` lists only nodes
  with reasons of their own, each with the failing outputs in ``dependent_outputs``.

On top of that: dependency cycles with their path (``dependency_cycle``, the type ComfyUI
2026 uses; ComfyUI 2025 answers a cycle with an empty error), and warnings for what ComfyUI
accepts but is almost surely a mistake (see :data:`cmfy_graph.rules.RULES`). Profile
``"cmfy"`` applies the cmfy.cloud rules (``../shared/cmfy_cloud_api.md``): model inputs take
HTTPS URLs.

Any JSON value is accepted: bad shapes are findings, never exceptions.
"""

from __future__ import annotations

from ._common import COMFY_RECURSION_DEPTH, DEEP_CHAIN_WARNING, PROFILES
from .core import check_prompt, validate_prompt
from .reach import find_cycles, prompt_graph, reachable_from_outputs
from .report import Finding, Report, sort_findings
from .urls import check_model_url, check_webhook_url

__all__ = [
    "Finding",
    "Report",
    "validate_prompt",
    "check_prompt",
    "check_webhook_url",
    "check_model_url",
    "prompt_graph",
    "find_cycles",
    "reachable_from_outputs",
    "sort_findings",
    "PROFILES",
    "COMFY_RECURSION_DEPTH",
    "DEEP_CHAIN_WARNING",
]
