"""The one report type every rule family writes to: :class:`Finding` and :class:`Report`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

_SEVERITY_RANK = {"error": 0, "warning": 1}


@attrs.frozen(slots=True)
class Finding:
    """One problem found in a prompt.

    ``code`` is one of :data:`cmfy_graph.rules.RULES` (ComfyUI's own error ``type`` where
    ComfyUI has one). ``comfyui`` is the error dict ComfyUI itself reports for this problem,
    when it reports one. ``file`` is set by the linter.
    """

    code: str
    severity: str
    message: str
    node_id: str | None = None
    class_type: str | None = None
    title: str | None = None
    input_name: str | None = None
    hint: str | None = None
    comfyui: Mapping[str, Any] | None = attrs.field(default=None, eq=False, repr=False)
    file: str | None = None

    @property
    def is_error(self) -> bool:
        """True for severity ``"error"``."""
        return self.severity == "error"

    def location(self) -> str:
        """``node:input`` (or ``node``, or ``""`` for a prompt-level finding)."""
        if self.node_id is None:
            return ""
        if self.input_name is None:
            return self.node_id
        return f"{self.node_id}:{self.input_name}"

    def describe(self) -> str:
        """``code message [Class 'title'] (hint)``: the text after the location."""
        parts = [self.code, self.message]
        if self.class_type:
            label = self.class_type
            if self.title and self.title != self.class_type:
                label += f" {self.title!r}"
            parts.append(f"[{label}]")
        text = " ".join(parts)
        if self.hint:
            text += f" ({self.hint})"
        return text

    def __str__(self) -> str:
        loc = self.location()
        return f"{loc}: {self.describe()}" if loc else self.describe()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {
            "file": self.file,
            "code": self.code,
            "severity": self.severity,
            "node_id": self.node_id,
            "class_type": self.class_type,
            "title": self.title,
            "input_name": self.input_name,
            "message": self.message,
            "hint": self.hint,
            "comfyui": dict(self.comfyui) if self.comfyui is not None else None,
        }


def _id_key(node_id: str | None) -> tuple[Any, ...]:
    if node_id is None:
        return ()
    out: list[tuple[int, Any]] = []
    for part in re.split(r"[:.]", node_id):
        out.append((0, int(part)) if part.isascii() and part.isdigit() else (1, part))
    return tuple(out)


def _sort_key(f: Finding) -> tuple[Any, ...]:
    return (
        f.file or "",
        f.node_id is not None,
        _id_key(f.node_id),
        f.input_name or "",
        _SEVERITY_RANK.get(f.severity, 2),
        f.code,
        f.message,
    )


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in a stable order: file, node id (numeric parts numerically), input, severity."""
    return sorted(findings, key=_sort_key)


@attrs.frozen(slots=True)
class Report:
    """The result of :func:`validate_prompt`.

    ``valid`` is ComfyUI's verdict (the prompt would be queued: at least one output node
    validated). ``error`` and ``node_errors`` are ComfyUI's response fields, in its shapes, with
    our precise errors added where ComfyUI's are vague (exceptions, cycles).
    """

    valid: bool
    findings: tuple[Finding, ...]
    error: Mapping[str, Any] | None = attrs.field(eq=False)
    node_errors: Mapping[str, Any] = attrs.field(eq=False)
    outputs: tuple[str, ...] = ()
    good_outputs: tuple[str, ...] = ()
    profile: str = "comfyui"

    @property
    def errors(self) -> list[Finding]:
        """Findings of severity ``"error"``."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """Findings of severity ``"warning"``."""
        return [f for f in self.findings if f.severity == "warning"]

    def to_comfyui(self) -> dict[str, Any]:
        """``{"valid", "error", "node_errors"}`` as ComfyUI's ``POST /prompt`` reports them."""
        return {
            "valid": self.valid,
            "error": dict(self.error) if self.error is not None else None,
            "node_errors": {k: dict(v) for k, v in self.node_errors.items()},
        }

    def summary(self) -> str:
        """``"2 errors, 1 warning"``."""
        e, w = len(self.errors), len(self.warnings)
        return f"{e} error{'s' if e != 1 else ''}, {w} warning{'s' if w != 1 else ''}"


def _finding_as_comfy(f: Finding) -> dict[str, Any]:
    extra: dict[str, Any] = {"cmfy_graph": True}
    if f.input_name is not None:
        extra["input_name"] = f.input_name
    if f.hint:
        extra["hint"] = f.hint
    return {
        "type": f.code,
        "message": f.message,
        "details": f.input_name or "",
        "extra_info": extra,
    }
