"""Recognise a workflow input by its content.

One entry point for every command that reads a workflow file (lint, convert, submit, sweep):

>>> loaded = read_input("workflow.json")        # or "-" for stdin, or a PNG
>>> loaded.kind, loaded.path
('api_prompt', 'workflow.json')

:func:`read_input` never raises for bad content: an unreadable file comes back with kind
``"unreadable"`` and ``error`` set. Kinds (:data:`KINDS`):

- ``"api_prompt"``: an API prompt ``{node_id: {"class_type", "inputs"}}``; ``data`` is it;
- ``"request_body"``: a ``POST /prompt`` / cmfy.cloud body ``{"prompt": {...}, ...}``;
  ``data`` is the prompt, ``body`` the whole body (``webhook_url``, ``extra_data``...);
- ``"ui_workflow"``: an editor-saved workflow (``nodes`` + ``links``); ``data`` is it;
- ``"unknown"``: valid JSON (or a PNG) that is none of these; ``data`` is it;
- ``"unreadable"``: not JSON, binary junk, an I/O error; ``data`` is ``None``.

A PNG is read from its text chunks as ComfyUI's SaveImage writes them: the ``"prompt"`` chunk
(an API prompt) if present, else the ``"workflow"`` chunk (a UI workflow). ``source`` says
``"json"``, ``"png"`` or ``"stdin"``; ``workflow`` holds the UI workflow a PNG or a body's
``extra_data.extra_pnginfo`` carries alongside the prompt.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["LoadedInput", "KINDS", "read_input", "load_bytes", "recognise"]

KINDS = ("api_prompt", "request_body", "ui_workflow", "unknown", "unreadable")

_BODY_KEYS = frozenset(
    {
        "prompt",
        "client_id",
        "extra_data",
        "webhook_url",
        "number",
        "front",
        "prompt_id",
        "partial_execution_targets",
    }
)


@attrs.frozen(slots=True)
class LoadedInput:
    """A workflow input, read and recognised (see the module docstring for ``kind``)."""

    path: str
    kind: str
    data: Any = attrs.field(default=None, eq=False, repr=False)
    source: str = "json"
    body: Mapping[str, Any] | None = attrs.field(default=None, eq=False, repr=False)
    workflow: Any = attrs.field(default=None, eq=False, repr=False)
    error: str | None = None
    #: the JSON text as read (for positions of findings); None for a PNG or a script
    text: str | None = attrs.field(default=None, eq=False, repr=False)
    #: for a workflow script: node id -> the line of the script that created the node
    lines: Mapping[str, int] | None = attrs.field(default=None, eq=False, repr=False)
    #: for a script that failed: the line where it failed
    error_line: int | None = None


def _looks_like_node(v: Any) -> bool:
    return isinstance(v, dict) and ("class_type" in v or "inputs" in v)


def recognise(data: Any) -> str:
    """The kind of a parsed JSON value: ``"api_prompt"``, ``"request_body"``,
    ``"ui_workflow"`` or ``"unknown"``."""
    if not isinstance(data, dict):
        return "unknown"
    if isinstance(data.get("nodes"), list) and (
        "links" in data or "version" in data or "last_node_id" in data
    ):
        return "ui_workflow"
    if "prompt" in data and not _looks_like_node(data["prompt"]):
        if set(data) <= _BODY_KEYS or isinstance(data["prompt"], dict):
            return "request_body"
    if not data:
        return "api_prompt"
    values = list(data.values())
    nodes = sum(1 for v in values if _looks_like_node(v))
    if nodes and nodes * 2 >= len(values):
        return "api_prompt"
    return "unknown"


def _describe_json_error(exc: json.JSONDecodeError) -> str:
    return f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"


def load_bytes(raw: bytes, path: str = "<bytes>", source: str = "json") -> LoadedInput:
    """Recognise the content of a file already read (see :func:`read_input`)."""
    from .pnginfo import PngError, is_png, read_text_chunks

    if is_png(raw):
        try:
            texts = read_text_chunks(raw)
        except PngError as exc:
            return LoadedInput(path, "unreadable", source="png", error=f"damaged PNG: {exc}")
        wf_text = texts.get("workflow")
        workflow = None
        if wf_text is not None:
            try:
                workflow = json.loads(wf_text)
            except ValueError:
                workflow = None
        if "prompt" in texts:
            try:
                prompt = json.loads(texts["prompt"])
            except ValueError as exc:
                return LoadedInput(
                    path,
                    "unreadable",
                    source="png",
                    error=f'the PNG\'s "prompt" text chunk is not JSON: {exc}',
                )
            return LoadedInput(path, "api_prompt", prompt, "png", workflow=workflow)
        if workflow is not None:
            return LoadedInput(path, "ui_workflow", workflow, "png", workflow=workflow)
        if wf_text is not None:
            return LoadedInput(
                path, "unreadable", source="png", error='the PNG\'s "workflow" chunk is not JSON'
            )
        return LoadedInput(
            path,
            "unknown",
            texts,
            "png",
            error='a PNG without ComfyUI metadata (no "prompt" or "workflow" text chunk)',
        )
    if b"\x00" in raw[:4096]:
        return LoadedInput(path, "unreadable", source=source, error="binary data, not JSON")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return LoadedInput(
            path, "unreadable", source=source, error=f"not UTF-8 text (byte {exc.start})"
        )
    if not text.strip():
        return LoadedInput(path, "unreadable", source=source, error="empty file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return LoadedInput(path, "unreadable", source=source, error=_describe_json_error(exc))
    except (ValueError, RecursionError) as exc:
        return LoadedInput(path, "unreadable", source=source, error=f"not valid JSON: {exc}")
    kind = recognise(data)
    if kind == "request_body":
        extra = data.get("extra_data")
        wf = None
        if isinstance(extra, dict) and isinstance(extra.get("extra_pnginfo"), dict):
            wf = extra["extra_pnginfo"].get("workflow")
        return LoadedInput(path, kind, data["prompt"], source, body=data, workflow=wf, text=text)
    return LoadedInput(path, kind, data, source, text=text)


def read_input(path: str) -> LoadedInput:
    """Read and recognise one input file (``"-"``: standard input). Never raises for bad
    content or an unreadable path: see ``kind == "unreadable"`` and ``error``."""
    if path == "-":
        try:
            raw = sys.stdin.buffer.read()
        except (OSError, ValueError) as exc:
            return LoadedInput(path, "unreadable", source="stdin", error=f"cannot read: {exc}")
        return load_bytes(raw, path, "stdin")
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        return LoadedInput(path, "unreadable", error=f"cannot read: {exc.strerror or exc}")
    return load_bytes(raw, path, "json")
