"""The exception hierarchy of cmfy_graph.

Every error the library raises on purpose derives from :class:`CmfyGraphError`::

    CmfyGraphError
    ├── SpecError                 a node spec could not be read at all
    ├── WorkflowError             a workflow could not be built or compiled
    │   ├── NodeInputError        (also TypeError) a wrong keyword, value type or link type
    │   ├── NodeValueError        (also ValueError) a value out of range or not among the choices
    │   └── NoActiveWorkflowError a node was built outside ``with Workflow():``
    ├── ValidationError           a prompt failed validation (carries the findings)
    ├── ConversionError           a workflow could not be converted
    └── ApiError                  (cmfy_graph.client.errors) the API or the network failed

``NodeInputError`` and ``NodeValueError`` also derive from the builtin ``TypeError`` and
``ValueError`` so that code written against Python's own conventions keeps working.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "CmfyGraphError",
    "SpecError",
    "WorkflowError",
    "NodeInputError",
    "NodeValueError",
    "NoActiveWorkflowError",
    "ValidationError",
    "ConversionError",
    "did_you_mean",
]


class CmfyGraphError(Exception):
    """Base class of every error raised by cmfy_graph."""


class SpecError(CmfyGraphError):
    """A node spec (``/object_info`` JSON) could not be read."""


class WorkflowError(CmfyGraphError):
    """A workflow could not be built or compiled."""


class NodeInputError(WorkflowError, TypeError):
    """A node was given an unknown keyword, a value of the wrong type, or a link of the wrong type."""


class NodeValueError(WorkflowError, ValueError):
    """A node input value is out of range or not one of the allowed choices."""


class NoActiveWorkflowError(WorkflowError):
    """A node was created while no workflow was active."""


class ValidationError(CmfyGraphError):
    """A prompt failed validation; ``findings`` lists every problem."""

    def __init__(self, message: str, findings: Iterable[object] = ()) -> None:
        super().__init__(message)
        self.findings = list(findings)


class ConversionError(CmfyGraphError):
    """A workflow could not be converted between formats."""


def did_you_mean(word: str, candidates: Iterable[str], n: int = 1) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest candidate, or ``""`` when none is close."""
    cands = [c for c in candidates if isinstance(c, str)]
    matches = difflib.get_close_matches(word, cands, n=n, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in cands}
        if word.lower() in lowered:
            matches = [lowered[word.lower()]]
    if not matches:
        return ""
    if len(matches) == 1:
        return f"; did you mean {matches[0]!r}?"
    return "; did you mean " + " or ".join(repr(m) for m in matches) + "?"
