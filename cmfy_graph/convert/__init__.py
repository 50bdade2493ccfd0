"""Converting between ComfyUI's formats: UI workflow, API prompt, Python script.

- :func:`ui_to_api`: an editor-saved UI workflow -> the API prompt the editor sends;
- :func:`prompt_to_python`: an API prompt -> a readable script using the generated classes;
- :func:`to_ui`: an API prompt -> a UI workflow the editor opens;
- :func:`load_any`: read a file (UI JSON, API JSON, request body, PNG with metadata, ``.py``
  script) and recognise its format by content;
- :func:`load_prompt`: the API prompt of any such file (``Workflow.from_prompt(load_prompt(p))``
  gives a graph of it).

The submodules are imported on first use, so ``import cmfy_graph.convert`` is cheap.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConversionError
from ..pnginfo import is_png, read_text_chunks

if TYPE_CHECKING:
    from .layout import to_ui
    from .python import prompt_to_python
    from .ui import ConversionWarning, ui_to_api

__all__ = [
    "ConversionWarning",
    "ui_to_api",
    "prompt_to_python",
    "to_ui",
    "load_any",
    "load_prompt",
    "detect_kind",
    "Loaded",
]

_LAZY = {
    "ui_to_api": ".ui",
    "ConversionWarning": ".ui",
    "prompt_to_python": ".python",
    "to_ui": ".layout",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(mod, __name__), name)


class Loaded:
    """A file read for conversion: ``kind`` is ``"ui"``, ``"api"`` or ``"python"``; ``data``
    is the parsed JSON (the prompt itself for ``"api"``, request bodies unwrapped) or, for
    ``"python"``, the path of the script."""

    __slots__ = ("kind", "data", "path")

    def __init__(self, kind: str, data: Any, path: str) -> None:
        self.kind = kind
        self.data = data
        self.path = path

    def __repr__(self) -> str:
        return f"Loaded({self.kind!r}, path={self.path!r})"


def detect_kind(data: Any) -> str | None:
    """``"ui"`` for an editor workflow, ``"api"`` for an API prompt or a request body
    ``{"prompt": {...}}``, ``None`` when it is neither."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("nodes"), list):
        return "ui"
    p = data.get("prompt")
    if isinstance(p, dict) and (not p or all(isinstance(v, dict) for v in p.values())):
        return "api"
    if data and all(isinstance(v, dict) and "class_type" in v for v in data.values()):
        return "api"
    if not data:
        return "api"
    return None


def load_prompt(
    path: str | os.PathLike[str],
    spec: Any = None,
    *,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """The API prompt of a file in any known format: an API prompt or request body as it is,
    a UI workflow converted with :func:`ui_to_api` (``spec``: default core), a PNG's metadata,
    a ``.py`` script compiled."""
    loaded = load_any(path)
    if loaded.kind == "python":
        from ..script import load_workflow

        return load_workflow(loaded.data).to_prompt()
    if loaded.kind == "ui":
        from .ui import ui_to_api

        return ui_to_api(loaded.data, spec, warnings=warnings)
    prompt: dict[str, Any] = loaded.data
    return prompt


def load_any(path: str | os.PathLike[str]) -> Loaded:
    """Read a file to convert and recognise its format by content (the extension is only used
    for ``.py`` scripts). Raises :class:`~cmfy_graph.errors.ConversionError` naming the file
    when it cannot be read or is none of the known formats."""
    p = Path(path)
    name = str(path)
    if p.suffix == ".py":
        if not p.is_file():
            raise ConversionError(f"{name}: no such file")
        return Loaded("python", str(p), name)
    shared = _via_inputs(name)
    if shared is not None:
        return shared
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConversionError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if is_png(raw):
        chunks = read_text_chunks(raw)
        for key in ("workflow", "prompt"):
            if key in chunks:
                try:
                    data = json.loads(chunks[key])
                except ValueError:
                    continue
                kind = detect_kind(data)
                if kind is not None:
                    return Loaded(kind, _unwrap_body(data, kind), name)
        raise ConversionError(f"{name}: the PNG holds no ComfyUI workflow or prompt metadata")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConversionError(f"{name}: not a text file (UTF-8 JSON expected)") from None
    except ValueError as exc:
        if raw.lstrip()[:6] in (b"import", b"from c", b"#!/usr", b'"""') or b"Workflow(" in raw:
            return Loaded("python", str(p), name)
        raise ConversionError(f"{name}: not valid JSON: {exc}") from None
    kind = detect_kind(data)
    if kind is None:
        raise ConversionError(
            f"{name}: neither a UI workflow (an object with 'nodes' and 'links') nor an API "
            "prompt (an object of nodes with 'class_type')"
        )
    return Loaded(kind, _unwrap_body(data, kind), name)


_KIND_NAMES = {
    "ui": "ui",
    "workflow": "ui",
    "ui_workflow": "ui",
    "api": "api",
    "prompt": "api",
    "api_prompt": "api",
    "body": "api",
    "request": "api",
    "request_body": "api",
    "python": "python",
    "script": "python",
    "py": "python",
}


def _via_inputs(path: str) -> Loaded | None:
    """Use the project's shared input reader (:mod:`cmfy_graph.inputs`, which also reads
    standard input for ``"-"``); ``None`` means: read the file here (for this module's own
    error messages)."""
    try:
        from .. import inputs as shared
    except ImportError:  # pragma: no cover - the shared reader is part of the package
        return None
    got = shared.read_input(path)
    kind = _KIND_NAMES.get(str(got.kind).lower())
    data = got.data
    if kind in ("ui", "api") and detect_kind(data) == kind:
        return Loaded(kind, _unwrap_body(data, kind), path)
    if path == "-":  # standard input cannot be read twice
        why = got.error or "neither a UI workflow nor an API prompt"
        raise ConversionError(f"<stdin>: {why}")
    return None


def _unwrap_body(data: Any, kind: str) -> Any:
    if kind == "api" and isinstance(data, dict) and isinstance(data.get("prompt"), dict):
        if not data or all(isinstance(v, dict) for v in data["prompt"].values()):
            return data["prompt"]
    return data
