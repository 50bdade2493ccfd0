"""Local input files in a prompt: which inputs name one, and the name an upload gives it.

An input whose spec has an upload option (``image_upload``, ``audio_upload``,
``video_upload``, ``file_upload``: ``LoadImage``, ``LoadImageMask``, ``LoadAudio``,
``LoadVideo``, ``Load3D``, ...) names a file of the server's input folder. When its value is
instead a path to an existing *local* file (a ``pathlib.Path`` in Python, or a string, relative
to the current directory or absolute), the client uploads the file first and sends the name
the server gave it. A string that the server's input folder already lists (the spec's choices)
is left alone even when a local file of that name exists.

Uploads are named by content: the first 20 hex digits of the file's SHA-256 and its suffix
(``3f1a…c9.png``), so that reruns and sweeps upload each file once per server, and two
different files never share a name.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "LocalInput",
    "local_inputs",
    "replace_local_inputs",
    "content_name",
    "is_upload_input",
    "mime_type",
]


@attrs.frozen(slots=True)
class LocalInput:
    """An input of a prompt that names a local file: node id, class, input name, path."""

    node_id: str
    class_type: str
    input_name: str
    path: Path


def is_upload_input(ispec: Any) -> bool:
    """True for an input the editor offers an upload button for (``*_upload`` options)."""
    return bool(getattr(ispec, "has_upload", False))


def local_inputs(prompt: Mapping[str, Any], spec: Any) -> Iterator[LocalInput]:
    """The inputs of ``prompt`` that name an existing local file (see the module docstring);
    ``spec`` None: the bundled core spec."""
    if spec is None:
        from ..spec import core_spec

        spec = core_spec()
    for nid, node in prompt.items():
        if not isinstance(node, Mapping):
            continue
        ct = node.get("class_type")
        ns = spec.get(ct) if spec is not None and isinstance(ct, str) else None
        inputs = node.get("inputs")
        if ns is None or not isinstance(inputs, Mapping):
            continue
        for name, value in inputs.items():
            ispec = ns.inputs.get(name)
            if ispec is None or not is_upload_input(ispec):
                continue
            path = _local_path(value, ispec)
            if path is not None:
                yield LocalInput(str(nid), str(ct), name, path)


def replace_local_inputs(
    prompt: Mapping[str, Any], spec: Any, upload: Callable[[Path], str]
) -> tuple[dict[str, Any], list[tuple[LocalInput, str]]]:
    """``prompt`` with each input that names a local file given the name ``upload(path)``
    returns (the server's name for the uploaded file), and those inputs with their names.
    The prompt is copied (its changed nodes too) only when a local file was found."""
    found = list(local_inputs(prompt, spec))
    if not found:
        return dict(prompt), []
    out = {k: dict(v) if isinstance(v, Mapping) else v for k, v in prompt.items()}
    done = []
    for li in found:
        name = upload(li.path)
        node = out[li.node_id]
        node["inputs"] = {**node["inputs"], li.input_name: name}
        done.append((li, name))
    return out, done


def _local_path(value: Any, ispec: Any) -> Path | None:
    from ..validate.files import local_file

    if isinstance(value, os.PathLike):
        p = Path(value).expanduser()
        return p if p.is_file() else None
    if not isinstance(value, str) or value in (ispec.choices or ()):
        return None  # a file the server has
    found = local_file(value)
    return Path(found) if found is not None else None


def content_name(path: str | os.PathLike[str]) -> str:
    """The upload name of a file: 20 hex digits of its SHA-256, then its suffix (lower case)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:20] + Path(path).suffix.lower()


def mime_type(name: str) -> str:
    """The media type an upload of ``name`` is sent as (``application/octet-stream`` when
    the suffix says nothing)."""
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"
