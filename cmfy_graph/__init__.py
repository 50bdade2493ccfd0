"""cmfy_graph: ComfyUI workflows as typed Python, compiled to the API prompt, linted,
converted, and run on the cmfy.cloud jobs API or a self-hosted ComfyUI server.

Importing this package is cheap: networkx, httpx and jinja2 are imported only by the
functions that use them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "Workflow",
    "DynamicOption",
    "JSON_NULL",
    "OMIT",
    "Node",
    "Output",
    "node",
    "load_spec",
    "core_spec",
    "Spec",
    "NodeSpec",
    "InputSpec",
    "CmfyGraphError",
]

from .errors import CmfyGraphError
from .spec import InputSpec, NodeSpec, Spec, core_spec, load_spec

if TYPE_CHECKING:
    from .graph import JSON_NULL, OMIT, DynamicOption, Node, Output, Workflow, node


def __getattr__(name: str) -> Any:
    if name in ("Workflow", "DynamicOption", "JSON_NULL", "OMIT", "Node", "Output", "node"):
        from . import graph

        return getattr(graph, name)
    raise AttributeError(f"module 'cmfy_graph' has no attribute {name!r}")
