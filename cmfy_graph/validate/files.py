"""Files and uploads: the nodes' own ``VALIDATE_INPUTS`` as ComfyUI calls it (file inputs, the core
validators we emulate), model URLs of the cmfy profile.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import Any

import attrs

from ..rules import comfy_error
from ._common import _Cls, _is_link_shape, _key_repr, _plural_args, _Raised, _raw_link, _short, _tn
from ._state import _State
from .urls import _normalise_url, check_model_url

#: Input subfolders the ComfyUI editor writes its uploads into, and the names it gives them.
#: ``/object_info`` lists no subfolder, so a name there cannot be checked against the server;
#: but the editor's own files follow one scheme, and a name off it cannot exist there:
#: the mask editor saves ``clipspace/clipspace-{mask,paint,painted,painted-masked}-<stamp>.png``
#: (``Date.now()``, or ``performance.now()`` with a fraction in older editors); a pasted image
#: is uploaded as ``pasted/image.png``, which the server renames ``image (N).png`` when taken.
_EDITOR_SUBFOLDERS: dict[str, re.Pattern[str]] = {
    "clipspace": re.compile(r"clipspace-(?:mask|paint|painted|painted-masked)-\d+(?:\.\d+)?\.png"),
    "pasted": re.compile(r"image(?: \(\d+\))?\.png"),
}


def _misspelt_editor_folder(folder: str) -> bool:
    """``folder`` is an editor subfolder's name up to case and one edit."""
    low = folder.lower()
    for name in _EDITOR_SUBFOLDERS:
        if low == name:
            return True
        if abs(len(low) - len(name)) <= 1:
            short, long_ = sorted((low, name), key=len)
            i = 0
            while i < len(short) and short[i] == long_[i]:
                i += 1
            skip = 1 if len(short) < len(long_) else 0
            if short[i + (1 - skip) :] == long_[i + 1 :]:
                return True
    return False


def _v_aspect_ratio(args: Mapping[str, Any]) -> str | None:
    """FluxProUltraImageNode.validate_inputs: ``aspect_ratio`` "X:Y" between 1:4 and 4:1;
    its exceptions become the returned message."""
    ar = args.get("aspect_ratio")
    if not isinstance(ar, str):
        return f"'{_tn(ar)}' object has no attribute 'split'"
    numbers = ar.split(":")
    if len(numbers) != 2:
        return f"Aspect ratio must be in the format X:Y, such as 16:9, but was {ar}."
    try:
        ratio = int(numbers[0]) / int(numbers[1])
    except ValueError:
        return f"Aspect ratio must contain numbers separated by ':', such as 16:9, but was {ar}."
    except ZeroDivisionError:
        return "division by zero"
    lo, hi = 1 / 4, 4.0
    if not math.isclose(ratio, lo) or not math.isclose(ratio, hi):
        if ratio < lo:
            return (
                f"Aspect ratio cannot reduce to any less than 1:4 ({lo}), but was {ar} ({ratio})."
            )
        if ratio > hi:
            return f"Aspect ratio cannot reduce to any greater than 4:1 ({hi}), but was {ar} ({ratio})."
    return None


def _v_camera(args: Mapping[str, Any]) -> str | None:
    """KlingCameraControls.validate_inputs: at least one of the six values is non-zero."""
    names = ("horizontal_movement", "vertical_movement", "pan", "tilt", "roll", "zoom")
    values: list[float] = []
    for n in names:
        v = args.get(n)
        if not isinstance(v, (int, float)):
            raise _Raised("TypeError", f"must be real number, not {_tn(v)}")
        try:
            values.append(float(v))
        except OverflowError as ex:  # math.isclose on an int beyond a float's range
            raise _Raised("OverflowError", str(ex)) from None
    if any(not math.isclose(v, 0.0) for v in values):
        return None
    return "Invalid camera control configs: at least one of the values must be non-zero"


def _v_tripo_task(args: Mapping[str, Any]) -> str | None:
    """TripoConversionNode.VALIDATE_INPUTS(input_types): ``original_model_task_id`` must be
    linked from an output of one of the three task-id types (an unlinked one: KeyError)."""
    types = args.get("input_types")
    name = "original_model_task_id"
    if not isinstance(types, Mapping) or name not in types:
        raise _Raised("KeyError", _key_repr(name))
    if types[name] not in ("MODEL_TASK_ID", "RIG_TASK_ID", "RETARGET_TASK_ID"):
        return f"{name} must be MODEL_TASK_ID, RIG_TASK_ID or RETARGET_TASK_ID type"
    return None


#: Emulations of node-specific VALIDATE_INPUTS of core ComfyUI (the file checks of
#: LoadImage and its kind are generic, from the spec's file lists).
_EMULATED_VALIDATORS = {
    "FluxProUltraImageNode": _v_aspect_ratio,
    "KlingCameraControls": _v_camera,
    "TripoConversionNode": _v_tripo_task,
}


def local_file(value: str) -> str | None:
    """The local path a value of an upload input names, or None: a path with a directory
    part (``photos/a.png``, ``./a.png``, ``/abs/a.png``, ``~/a.png``) to an existing file of
    this machine. A bare name (``a.png``) is always a file of the server's input folder, even
    when the current directory happens to hold a file of that name."""
    if not value or not (
        "/" in value or os.sep in value or value.startswith("~") or os.path.isabs(value)
    ):
        return None
    try:
        path = os.path.expanduser(value)
        return path if os.path.isfile(path) else None
    except (OSError, ValueError):  # a name too long for this file system, a NUL, ...
        return None


class FileRules(_State):
    """Files and uploads."""

    def _custom(
        self,
        uid: Any,
        c: _Cls,
        inputs: Any,
        errors: list[dict[str, Any]],
        received_types: dict[str, Any],
    ) -> None:
        """Emulate the call of the node's own VALIDATE_INPUTS / validate_inputs."""
        filtered = self._custom_arguments(uid, c, inputs, received_types)
        result = self._file_checks(uid, c, filtered)
        special = _EMULATED_VALIDATORS.get(c.class_type)
        if result is None and special is not None:
            result = special(filtered)
            if result is not None:
                self.add(
                    "custom_validation_failed",
                    f"the node's own validation refuses the inputs: {result}",
                    uid,
                    next(iter(filtered), None),
                )
        if result is not None:
            for k in filtered:
                err = comfy_error("custom_validation_failed", f"{k} - {result}", {"input_name": k})
                errors.append(err)
            # attach ComfyUI's dict to the finding just added
            last = self.findings[-1]
            self.findings[-1] = attrs.evolve(last, comfyui=errors[-1])

    def _custom_arguments(
        self, uid: Any, c: _Cls, inputs: Any, received_types: dict[str, Any]
    ) -> dict[str, Any]:
        """The arguments ComfyUI passes to the validator (linked inputs as None), or the
        exception it raises building them (a missing argument, an inputs list)."""
        fname = f"{c.class_type}.{'validate_inputs' if c.v3 else 'VALIDATE_INPUTS'}()"
        data: dict[str, Any] = {}
        if not isinstance(inputs, dict):
            if len(inputs) if isinstance(inputs, (str, list)) else 0:
                first = inputs[0]
                if isinstance(inputs, list):
                    raise _Raised(
                        "TypeError",
                        "list indices must be integers or slices, not str"
                        if not isinstance(first, int)
                        else "list index out of range",
                    )
                raise _Raised("TypeError", "string indices must be integers, not 'str'")
        else:
            for k, v in inputs.items():
                if _is_link_shape(v) and not _raw_link(c, k):
                    data[k] = None
                elif k in c.names or k in c.hidden:
                    data[k] = v
        filtered = {k: v for k, v in data.items() if c.has_kwargs or k in c.vf}
        if c.takes_input_types:
            filtered["input_types"] = received_types
        missing = [n for n in c.vf_required if n not in filtered]
        if missing:
            for n in missing:
                inp = c.names.get(n)
                if inp is not None and not inp.required and isinstance(inputs, dict):
                    self.add(
                        "required_input_missing",
                        f"input {n!r} is optional in the spec, but the node's own "
                        "VALIDATE_INPUTS needs it",
                        uid,
                        n,
                    )
            raise _Raised(
                "TypeError",
                f"{fname} missing {len(missing)} required positional "
                f"argument{'s' if len(missing) != 1 else ''}: {_plural_args(missing)}",
            )
        return filtered

    def _file_checks(self, uid: Any, c: _Cls, filtered: dict[str, Any]) -> str | None:
        """The file-exists check of the core loaders (``Invalid image file: ...``)."""
        for n in sorted(c.vf) if len(c.vf) > 1 else c.vf:
            inp = c.names.get(n)
            if inp is None or inp.file_kind != "input" or n not in filtered:
                continue
            v = filtered[n]
            if not isinstance(v, str):
                if v is None:
                    self.add(
                        "file_input_linked",
                        f"{c.class_type} checks that {n!r} names a file of the server; a "
                        "linked value fails that check",
                        uid,
                        n,
                    )
                else:
                    self.add(
                        "file_name_not_string",
                        f"{_short(v)} is not a file name (a string)",
                        uid,
                        n,
                    )
                raise _Raised("AttributeError", f"'{_tn(v)}' object has no attribute 'endswith'")
            if v not in self.view.input_files() and self._local_upload(uid, c, inp, n, v):
                continue
            if not self._file_exists(v):
                self.add(
                    "custom_validation_failed",
                    f"{v!r} is not a file in the server's input folder",
                    uid,
                    n,
                    hint=self.view.suggest("files", v) or None,
                    comfyui=None,
                )
                return f"Invalid {inp.noun} file: {v}"
        return None

    def _local_upload(self, uid: Any, c: _Cls, inp: Any, n: str, v: str) -> bool:
        """A local file named in an upload input (``LoadImage.image``): the ComfyUI client
        uploads it before queueing, so ComfyUI would find it (a warning says so); cmfy.cloud
        documents no upload, so there it is an error. False when no such local file exists."""
        if not inp.spec.has_upload:
            return False
        if local_file(v) is None:
            return False
        if self.profile == "cmfy":
            self.add(
                "local_input_file_no_upload",
                f"{v!r} is a local file, and cmfy.cloud documents no upload endpoint",
                uid,
                n,
                hint="give a URL where the node takes one, or run on a ComfyUI server",
            )
            return True
        self.add(
            "local_input_file",
            f"{v!r} is a file of this machine, not of the server: `cmfy-graph submit` (and "
            "the ComfyUI and Comfy API clients) upload it first",
            uid,
            n,
        )
        return True

    def _file_exists(self, name: str) -> bool:
        """``folder_paths.exists_annotated_filepath`` against the spec's file lists."""
        if name.endswith("[output]"):
            base, rest = "output", name[:-9]
        elif name.endswith("[input]"):
            base, rest = "input", name[:-8]
        elif name.endswith("[temp]"):
            base, rest = "temp", name[:-7]
        else:
            base, rest = "input", name
        if base == "input":
            if (
                rest in self.view.input_files()
                or rest in self.input_files
                or rest in ("", ".", "./")
            ):
                return True
            if "/" in rest:  # a subfolder: not listed by /object_info
                folder, _, fname = rest.partition("/")
                scheme = _EDITOR_SUBFOLDERS.get(folder)
                if scheme is not None:  # written by the editor: only its own names exist
                    return scheme.fullmatch(fname) is not None
                if _misspelt_editor_folder(folder):  # "PASTED/", "clispace/": not there
                    return False
                return self.view.known_extension(rest)  # a user's folder: judge by extension
            return False
        return bool(rest) and self.view.known_extension(rest)

    # -- cmfy.cloud ------------------------------------------------------------------------------

    def _model_url(self, uid: Any, x: str, url: str) -> None:
        for f in check_model_url(url):
            self.add(f.code, f.message, uid, x, hint=f.hint)
        norm = _normalise_url(url)
        prev = self.urls.get(norm)
        if prev is None:
            self.urls[norm] = (url, uid, x)
        elif prev[0] != url:
            self.add(
                "model_url_spellings",
                f"{url!r} and {prev[0]!r} (node {prev[1]}, {prev[2]}) are two spellings of one "
                "file: cmfy.cloud caches by the exact string, so it downloads it twice",
                uid,
                x,
                hint=f"use {prev[0]!r} everywhere",
            )
