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


def closest_match(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """``difflib.get_close_matches(word, candidates, n=1, cutoff=cutoff)``'s one answer (or
    None), computed with fewer full comparisons: the candidates that pass difflib's cheap
    bounds are compared in the order of their upper bound (``quick_ratio``), and the
    comparisons stop where that bound falls below the best score found, which no later
    candidate can then reach (ties go to the greater string, as in difflib)."""
    sm = difflib.SequenceMatcher()
    sm.set_seq2(word)
    bounded: list[tuple[float, str]] = []
    for x in candidates:
        sm.set_seq1(x)
        if sm.real_quick_ratio() >= cutoff:
            q = sm.quick_ratio()
            if q >= cutoff:
                bounded.append((q, x))
    bounded.sort(reverse=True)
    best: tuple[float, str] | None = None
    for q, x in bounded:
        if best is not None and q < best[0]:
            break
        sm.set_seq1(x)
        r = sm.ratio()
        if r >= cutoff and (best is None or (r, x) > best):
            best = (r, x)
    return best[1] if best is not None else None


def did_you_mean(word: str, candidates: Iterable[str], n: int = 1) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest candidate, or ``""`` when none is close."""
    cands = [c for c in candidates if isinstance(c, str)]
    if n == 1:
        best = closest_match(word, cands)
        matches = [best] if best is not None else []
    else:
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
