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

import ipaddress
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import attrs

from .dynamic import finalize_inputs, possible_inputs
from .errors import ValidationError, did_you_mean
from .rules import COMFYUI_TYPES, VAGUE_COMFYUI_TYPES, comfy_error, is_frontend_only_input, rule
from .spec import DynamicComboSpec, MatchTypeSpec

if TYPE_CHECKING:
    import networkx

    from .spec import InputSpec, NodeSpec, Spec

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
    "PROFILES",
    "COMFY_RECURSION_DEPTH",
    "DEEP_CHAIN_WARNING",
]

#: The validation profiles: ComfyUI's rules, or cmfy.cloud's (model URLs allowed).
PROFILES = ("comfyui", "cmfy")

#: How many nested links ComfyUI's recursive ``validate_inputs`` follows before Python's
#: recursion limit (1000 frames, minus the server's own stack) stops it.
COMFY_RECURSION_DEPTH = 975

#: Chains at least this deep get a ``deep_chain`` warning.
DEEP_CHAIN_WARNING = 500

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


# ---------------------------------------------------------------------------------------------
# the compiled view of a spec (built once per spec, per class)


class _Raised(Exception):
    """An exception ComfyUI's Python would raise here (emulated: type name and ``str(ex)``)."""

    def __init__(self, exc_type: str, message: str) -> None:
        super().__init__(message)
        self.exc_type = exc_type
        self.message = message


_UPLOAD_NOUNS = (
    ("image_upload", "image"),
    ("animated_image_upload", "image"),
    ("video_upload", "video"),
    ("audio_upload", "audio"),
    ("mesh_upload", "mesh"),
    ("file_upload", "file"),
)

_FILE_EXTENSIONS = frozenset(
    "png jpg jpeg webp gif bmp tif tiff apng jpe avif heic exr hdr mp4 webm mov mkv avi m4v "
    "gifv mp3 wav flac ogg m4a aac opus latent safetensors glb gltf obj fbx stl ply json txt "
    "npy npz pt".split()
)


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


class _In:
    __slots__ = (
        "name",
        "required",
        "type",
        "extra",
        "config",
        "choices",
        "new_combo",
        "file_kind",
        "min",
        "max",
        "has_min",
        "has_max",
        "step",
        "noun",
        "spec",
        "_suggester",
    )

    def __init__(self, ispec: InputSpec) -> None:
        raw = ispec.raw
        if isinstance(raw, (list, tuple)) and raw:
            t = raw[0]
            extra: Any = raw[1] if len(raw) > 1 else {}
        else:  # a bare type string
            t, extra = raw, {}
        self.name = ispec.name
        self.spec = ispec
        self.required = ispec.section == "required"
        self.type: Any = list(t) if isinstance(t, tuple) else t
        self.extra = extra
        self.config = [self.type, extra]
        self.choices = ispec.choices
        self.new_combo = t == "COMBO"
        self.file_kind = ispec.file_kind
        ed = extra if isinstance(extra, dict) else {}
        self.has_min = "min" in ed
        self.has_max = "max" in ed
        self.min = ed.get("min")
        self.max = ed.get("max")
        self.step = ed.get("step")
        noun = None
        for opt, n in _UPLOAD_NOUNS:
            if ed.get(opt):
                noun = n
                break
        self.noun = noun or ispec.name
        self._suggester: _Suggester | None = None

    def suggest(self, word: str) -> str:
        """``did you mean`` among this input's choices."""
        if self._suggester is None:
            choices = self.type if isinstance(self.type, list) else list(self.choices or ())
            self._suggester = _Suggester(c for c in choices if isinstance(c, str))
        return self._suggester(word)


class _Cls:
    __slots__ = (
        "class_type",
        "inputs",
        "names",
        "return_types",
        "n_out",
        "seq",
        "v3",
        "vf",
        "vf_required",
        "has_kwargs",
        "takes_input_types",
        "has_validator",
        "output_node",
        "display_name",
        "hidden",
        "category",
        "ns",
        "dynamic",
        "modern",
        "_dyn_ins",
        "_dyn_combos",
        "_dyn_cache",
    )

    def __init__(self, ns: NodeSpec, fallback: NodeSpec | None, generation: int = 2025) -> None:
        self.class_type = ns.class_type
        self.ns = ns
        self.inputs = [_In(i) for i in ns.inputs.values()]
        self.names = {i.name: i for i in self.inputs}
        #: validated as ComfyUI 2026 does (dynamic inputs expanded, new-style COMBOs checked)
        self.modern = generation >= 2026
        self.dynamic = self.modern and ns.has_dynamic_inputs
        self._dyn_ins: dict[str, _In] = {}
        self._dyn_combos: frozenset[str] | None = None
        self._dyn_cache: dict[tuple[Any, ...], tuple[list[_In], dict[str, _In]]] = {}
        raw = ns.raw if isinstance(ns.raw, Mapping) else {}
        outs = raw.get("output")
        if isinstance(outs, str):
            outs = [outs]
        self.return_types: list[Any] = list(outs) if isinstance(outs, list) else []
        self.n_out = len(self.return_types)
        # V3 nodes always report "deprecated" (False); V1 nodes only when it is true.
        self.v3 = raw.get("deprecated") is False
        self.seq = "list" if self.v3 else "tuple"
        self.output_node = ns.output_node
        self.display_name = ns.display_name
        self.category = ns.category
        self.hidden = set(ns.hidden) if isinstance(ns.hidden, Mapping) else set()
        extra = ns.extra if isinstance(ns.extra, Mapping) else {}
        vi = extra.get("validate_inputs") if "validate_inputs" in extra else None
        if vi is None and not extra and fallback is not None:
            fb = fallback.extra if isinstance(fallback.extra, Mapping) else {}
            vi = fb.get("validate_inputs")
            files = fb.get("file_inputs")
            if isinstance(files, Mapping):
                for i in self.inputs:
                    if i.name in files and isinstance(files[i.name], str):
                        i.file_kind = files[i.name]
        self.has_validator = isinstance(vi, list)
        names = [str(x) for x in vi] if isinstance(vi, list) else []
        self.has_kwargs = "**" in names
        self.vf = {n.rstrip("=") for n in names if n != "**"}
        self.vf_required = [n for n in names if n != "**" and not n.endswith("=")]
        self.takes_input_types = "input_types" in self.vf

    def inputs_for(self, live: Any) -> list[_In]:
        """The inputs ComfyUI validates for a node whose prompt inputs are ``live``: the
        static ones, or (ComfyUI 2026, V3 dynamic inputs) the finalized ones."""
        return self._finalized(live)[0]

    def names_for(self, live: Any) -> dict[str, _In]:
        """:meth:`inputs_for` by name."""
        if not self.dynamic:
            return self.names
        return self._finalized(live)[1]

    def _finalized(self, live: Any) -> tuple[list[_In], dict[str, _In]]:
        if not self.dynamic:
            return self.inputs, self.names
        if not isinstance(live, Mapping):
            live = {}
        # the finalized inputs depend only on the values of the dynamic combo keys
        combos = self._dyn_combos
        if combos is None:
            combos = self._dyn_combos = frozenset(
                k for k, i in possible_inputs(self.ns).items() if i.type in _COMBO_TYPES
            )
        key = tuple((k, v) for k, v in live.items() if k in combos and isinstance(v, str))
        hit = self._dyn_cache.get(key)
        if hit is not None:
            return hit
        out = []
        for name, ispec in finalize_inputs(self.ns, live).items():
            inp = self._dyn_ins.get(name)
            if inp is None or inp.spec is not ispec:
                inp = self._dyn_ins[name] = _In(ispec)
            out.append(inp)
        if len(self._dyn_cache) > 256:
            self._dyn_cache.clear()
        hit = self._dyn_cache[key] = (out, {i.name: i for i in out})
        return hit


class _SpecView:
    """Per-spec caches: compiled classes, the installation's input files."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.classes: dict[str, _Cls] = {}
        self._input_files: frozenset[str] | None = None
        self._exts: frozenset[str] | None = None
        self._fallback: Spec | None = None
        self._fallback_loaded = False
        self._suggesters: dict[str, _Suggester] = {}

    def cls(self, class_type: str) -> _Cls:
        c = self.classes.get(class_type)
        if c is None:
            ns = self.spec[class_type]
            fb = None
            if not ns.extra:
                fbs = self.fallback()
                if fbs is not None and class_type in fbs:
                    fb = fbs[class_type]
            c = self.classes[class_type] = _Cls(ns, fb, self.spec.generation)
        return c

    def suggest(self, what: str, word: str) -> str:
        """``did you mean`` among the spec's class names (``"classes"``) or input files."""
        sug = self._suggesters.get(what)
        if sug is None:
            cands = self.spec.keys() if what == "classes" else self.input_files()
            sug = self._suggesters[what] = _Suggester(cands)
        return sug(word)

    def fallback(self) -> Spec | None:
        """The bundled core spec, for the ``"cmfy"`` facts a server's spec does not carry."""
        if not self._fallback_loaded:
            self._fallback_loaded = True
            from .spec import core_spec

            core = core_spec()
            self._fallback = None if core is self.spec else core
        return self._fallback

    def input_files(self) -> frozenset[str]:
        if self._input_files is None:
            files: set[str] = set()
            for ct in self.spec:
                for i in self.cls(ct).inputs:
                    if i.file_kind == "input" and i.choices:
                        files.update(c for c in i.choices if isinstance(c, str))
            self._input_files = frozenset(files)
            exts = set(_FILE_EXTENSIONS)
            exts.update(f.rsplit(".", 1)[1] for f in files if "." in f)
            self._exts = frozenset(exts)
        return self._input_files

    def known_extension(self, name: str) -> bool:
        self.input_files()
        base = name.rsplit("/", 1)[-1]
        if "." not in base:
            return False
        ext = base.rsplit(".", 1)[1]
        assert self._exts is not None
        return ext in self._exts or ext.lower() in _FILE_EXTENSIONS


_VIEWS: dict[int, tuple[Spec, _SpecView]] = {}


def _view(spec: Spec) -> _SpecView:
    hit = _VIEWS.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    if len(_VIEWS) > 16:
        _VIEWS.clear()
    v = _SpecView(spec)
    _VIEWS[id(spec)] = (spec, v)
    return v


# ---------------------------------------------------------------------------------------------
# small emulations of Python behaviour ComfyUI relies on


def _tn(v: Any) -> str:
    return type(v).__name__


def _key_repr(k: Any) -> str:
    """``str(KeyError(k))``."""
    return repr(k)


def _contains(container: Any, key: str) -> bool:
    """``key in container`` as Python evaluates it for JSON values (may raise)."""
    if isinstance(container, dict):
        return key in container
    if isinstance(container, (str, list)):
        return key in container
    raise _Raised("TypeError", f"argument of type '{_tn(container)}' is not iterable")


def _getitem(container: Any, key: str) -> Any:
    if isinstance(container, dict):
        return container[key]
    if isinstance(container, list):
        raise _Raised("TypeError", "list indices must be integers or slices, not str")
    if isinstance(container, str):
        raise _Raised("TypeError", "string indices must be integers, not 'str'")
    raise _Raised("TypeError", f"'{_tn(container)}' object is not subscriptable")


_COMBO_TYPES = frozenset({"COMFY_DYNAMICCOMBO_V3", "COMFY_COMBODYNAMIC_V3"})


def _types_match(received: Any, input_type: Any, modern: bool = False) -> bool:
    """ComfyUI's ``validate_node_input`` (BE-2025-10) with the ``IO`` / V3 ``__ne__`` rules;
    ``modern`` adds ComfyUI 2026's: MatchType on either side passes, a list-typed output fits a
    ``COMBO`` input, ``*`` inside a union passes (FORMATS.md 2.5)."""
    if isinstance(received, str) and isinstance(input_type, str):
        if received == input_type or received == "*" or input_type == "*":
            return True
        if modern and "COMFY_MATCHTYPE_V3" in (received, input_type):
            return True
        a = {t.strip() for t in received.split(",")}
        b = {t.strip() for t in input_type.split(",")}
        if modern and ("*" in a or "*" in b):
            return True
        return bool(a & b)
    if modern and isinstance(received, list) and input_type == "COMBO":
        return True
    if isinstance(received, list) and isinstance(input_type, list):
        return bool(received == input_type)
    return bool(input_type == "*")


def _py_str_list(v: Any) -> str:
    return str(v)


def _plural_args(names: Sequence[str]) -> str:
    q = [f"'{n}'" for n in names]
    if len(q) == 1:
        return q[0]
    if len(q) == 2:
        return f"{q[0]} and {q[1]}"
    return ", ".join(q[:-1]) + f", and {q[-1]}"


def _is_link_shape(v: Any) -> bool:
    """``comfy_execution.graph_utils.is_link``."""
    return (
        isinstance(v, list)
        and len(v) == 2
        and isinstance(v[0], str)
        and isinstance(v[1], (int, float))
    )


# ---------------------------------------------------------------------------------------------
# the validator


class _Validator:
    def __init__(
        self,
        prompt: Any,
        spec: Spec,
        profile: str,
        targets: Sequence[Any] | None,
    ) -> None:
        self.prompt = prompt
        self.spec = spec
        self.view = _view(spec)
        self.profile = profile
        self.targets = targets
        self.validated: dict[Any, tuple[bool, list[dict[str, Any]]]] = {}
        self.findings: list[Finding] = []
        self.visiting: dict[Any, int] = {}
        self.stack: list[Any] = []
        self.stack_inputs: list[str | None] = []
        self.cycles: list[list[tuple[Any, str | None]]] = []
        self.cycle_sets: set[frozenset[Any]] = set()
        self.broken: set[Any] = set()
        self.shadow = False
        self.max_depth = 0
        self.urls: dict[str, tuple[str, Any, str]] = {}

    # -- findings ------------------------------------------------------------------------------

    def add(
        self,
        code: str,
        message: str,
        uid: Any = None,
        input_name: str | None = None,
        *,
        hint: str | None = None,
        comfyui: Mapping[str, Any] | None = None,
        severity: str | None = None,
    ) -> None:
        sev = severity or rule(code).severity
        if self.shadow and sev == "error":
            sev = "warning"
            message += " (ComfyUI does not validate this node: no output depends on it)"
        class_type = title = None
        node_id = None
        if uid is not None:
            node_id = str(uid)
            node = self.prompt.get(uid) if isinstance(self.prompt, dict) else None
            if isinstance(node, dict):
                ct = node.get("class_type")
                class_type = ct if isinstance(ct, str) else None
                meta = node.get("_meta")
                if isinstance(meta, dict) and isinstance(meta.get("title"), str):
                    title = meta["title"]
        if hint and hint.startswith("; "):
            hint = hint[2:]
        self.findings.append(
            Finding(
                code=code,
                severity=sev,
                message=message,
                node_id=node_id,
                class_type=class_type,
                title=title,
                input_name=input_name,
                hint=hint or None,
                comfyui=comfyui,
            )
        )

    # -- pass 1 ----------------------------------------------------------------------------------

    def pass1(self) -> tuple[dict[str, Any] | None, list[Any]]:
        """Check every node's class; returns ComfyUI's early error (or None) and the outputs."""
        prompt = self.prompt
        first_error: dict[str, Any] | None = None
        outputs: list[Any] = []
        for x, node in prompt.items():
            err: dict[str, Any] | None = None
            if isinstance(node, dict):
                has = "class_type" in node
            elif isinstance(node, (str, list)):
                has = "class_type" in node
                self.broken.add(x)
                self.add(
                    "node_not_object",
                    f"node {x!r} is a JSON {_json_kind(node)}, not an object "
                    '{"class_type": ..., "inputs": {...}}',
                    x,
                )
                if has:  # ComfyUI then indexes it with a string: HTTP 500
                    err = _server_error(
                        "TypeError",
                        "string indices must be integers, not 'str'"
                        if isinstance(node, str)
                        else "list indices must be integers or slices, not str",
                    )
            else:
                self.broken.add(x)
                self.add(
                    "node_not_object",
                    f"node {x!r} is a JSON {_json_kind(node)}, not an object "
                    '{"class_type": ..., "inputs": {...}}',
                    x,
                )
                err = _server_error("TypeError", f"argument of type '{_tn(node)}' is not iterable")
                has = True
            if err is None and not has:
                self.broken.add(x)
                if isinstance(node, dict):
                    self.add("missing_class_type", "node has no class_type", x)
                err = comfy_error(
                    "invalid_prompt", f"Node ID '#{x}'", message=_msg("invalid_prompt_missing")
                )
            elif err is None and isinstance(node, dict):
                ct = node["class_type"]
                if isinstance(ct, (list, dict)):
                    self.broken.add(x)
                    self.add(
                        "unknown_class_type",
                        f"class_type is a JSON {_json_kind(ct)}, not a string",
                        x,
                    )
                    err = _server_error("TypeError", f"unhashable type: '{_tn(ct)}'")
                elif not isinstance(ct, str) or ct not in self.spec:
                    self.broken.add(x)
                    hint = (self.view.suggest("classes", ct) if isinstance(ct, str) else "") or None
                    what = f"{ct!r}" if isinstance(ct, str) else f"{ct!r} (not a string)"
                    self.add(
                        "unknown_class_type",
                        f"class_type {what} is not a node of the spec"
                        + (f" ({self.spec.source})" if self.spec.source else ""),
                        x,
                        hint=hint,
                    )
                    err = comfy_error(
                        "invalid_prompt",
                        f"Node ID '#{x}'",
                        message=_msg("invalid_prompt_unknown", class_type=ct),
                    )
                else:
                    c = self.view.cls(ct)
                    if c.output_node and (self.targets is None or x in self.targets):
                        outputs.append(x)
                    for k in node:
                        if k in ("is_changed", "_loop_body", "_loop_end"):
                            self.add(
                                "internal_key",
                                f"key {k!r} is added by the server at run time; " "do not send it",
                                x,
                            )
            if err is not None and first_error is None:
                first_error = err
        return first_error, outputs

    # -- validate_inputs ------------------------------------------------------------------------

    def vi(self, uid: Any, depth: int) -> tuple[bool, list[dict[str, Any]]]:
        """ComfyUI's ``validate_inputs(uid)``; raises :class:`_Raised` where ComfyUI raises."""
        memo = self.validated.get(uid)
        if memo is not None:
            return memo
        if depth > self.max_depth:
            self.max_depth = depth
        node = self.prompt[uid]
        if "inputs" not in node:
            self.add(
                "inputs_missing",
                'node has no "inputs" object (use "inputs": {} for a node without inputs)',
                uid,
            )
            raise _Raised("KeyError", "'inputs'")
        inputs = node["inputs"]
        c = self.view.cls(node["class_type"])
        if not isinstance(inputs, dict):
            self.add(
                "inputs_not_object",
                f'"inputs" is a JSON {_json_kind(inputs)}, not an object of input values',
                uid,
            )
        errors: list[dict[str, Any]] = []
        valid = True
        received_types: dict[str, Any] = {}
        self.visiting[uid] = len(self.stack)
        self.stack.append(uid)
        try:
            is_dict = isinstance(inputs, dict)
            # ComfyUI walks the inputs in the order of a ``set`` (its string-hash seed's), and
            # where its Python raises, the rest of the node's inputs are never looked at: which
            # upstream nodes it validated first is a coin flip. We look at every input (so the
            # upstream nodes' own errors are all reported) and raise the first exception after.
            raised: _Raised | None = None
            for inp in c.inputs_for(inputs):
                try:
                    if not self._input(uid, c, inp, inputs, is_dict, errors, received_types, depth):
                        valid = False
                except _Raised as ex:
                    if raised is None:
                        raised = ex
            if raised is not None:
                raise raised
            if isinstance(inputs, dict):
                self._unknown_inputs(uid, c, inputs)
                if c.dynamic:
                    self._dynamic_findings(uid, c, inputs, received_types)
            if c.has_validator:
                self._custom(uid, c, inputs, errors, received_types)
        finally:
            self.stack.pop()
            del self.visiting[uid]
        ret = (False, errors) if errors or not valid else (True, [])
        self.validated[uid] = ret
        return ret

    def _input(
        self,
        uid: Any,
        c: _Cls,
        inp: _In,
        inputs: Any,
        is_dict: bool,
        errors: list[dict[str, Any]],
        received_types: dict[str, Any],
        depth: int,
    ) -> bool:
        """One input of ``validate_inputs``' loop; False when a linked node failed."""
        x = inp.name
        if not (x in inputs if is_dict else _contains(inputs, x)):
            if inp.required:
                err = comfy_error("required_input_missing", x, {"input_name": x})
                errors.append(err)
                self._missing_finding(uid, c, inp, err)
            return True
        val = inputs[x] if is_dict else _getitem(inputs, x)
        if isinstance(val, list):
            return self._link(uid, c, inp, val, errors, received_types, depth)
        self._constant(uid, c, inp, inputs, val, errors)
        return True

    def _missing_finding(self, uid: Any, c: _Cls, inp: _In, err: dict[str, Any]) -> None:
        hint = None
        if inp.spec.has_default and inp.spec.is_widget:
            hint = f"the editor's default is {inp.spec.default!r}"
        self.add(
            "required_input_missing",
            f"required input {inp.name!r} ({_type_label(inp.type)}) is missing",
            uid,
            inp.name,
            hint=hint,
            comfyui=err,
        )

    def _link(
        self,
        uid: Any,
        c: _Cls,
        inp: _In,
        val: list[Any],
        errors: list[dict[str, Any]],
        received_types: dict[str, Any],
        depth: int,
    ) -> bool:
        x = inp.name
        if len(val) != 2:
            err = comfy_error(
                "bad_linked_input",
                x,
                {"input_name": x, "input_config": inp.config, "received_value": val},
            )
            errors.append(err)
            hint = None
            if inp.type in ("INT", "FLOAT", "STRING", "BOOLEAN") or inp.new_combo:
                hint = 'a list constant must be wrapped: {"__value__": [...]}'
            self.add(
                "bad_linked_input",
                f"a list is read as a link [node_id, output_index]; {_short(val)} is not one",
                uid,
                x,
                hint=hint,
                comfyui=err,
            )
            return True
        o_id, slot = val
        prompt = self.prompt
        if isinstance(o_id, (list, dict)):
            self.add(
                "link_node_id_not_string",
                f"link {_short(val)}: the node id is a JSON {_json_kind(o_id)}",
                uid,
                x,
            )
            raise _Raised("TypeError", f"unhashable type: '{_tn(o_id)}'")
        if o_id not in prompt:
            if not isinstance(o_id, str):
                alt = str(o_id) if not isinstance(o_id, float) else _float_id(o_id)
                hint = f"did you mean [{alt!r}, {slot!r}]?" if alt in prompt else None
                self.add(
                    "link_node_id_not_string",
                    f"link {_short(val)}: node ids are strings in the API format",
                    uid,
                    x,
                    hint=hint,
                )
            else:
                ids = [k for k in prompt if isinstance(k, str)]
                self.add(
                    "link_missing_node",
                    f"input links to node {o_id!r}, which is not in the prompt",
                    uid,
                    x,
                    hint=did_you_mean(o_id, ids) or None,
                )
            raise _Raised("KeyError", _key_repr(o_id))
        if o_id in self.broken:
            return True  # collect mode: the source's class is unknown
        src_ct = prompt[o_id]["class_type"]
        sc = self.view.cls(src_ct)
        rt = sc.return_types
        n = len(rt)
        if isinstance(slot, bool):
            idx: Any = int(slot)
        else:
            idx = slot
        if not isinstance(idx, int):
            hint = None
            if isinstance(idx, float) and idx.is_integer():
                hint = f"did you mean [{o_id!r}, {int(idx)}]?"
            self.add(
                "link_slot_not_integer",
                f"link {_short(val)}: the output index is a JSON {_json_kind(idx)}, "
                "not an integer",
                uid,
                x,
                hint=hint,
            )
            raise _Raised(
                "TypeError", f"{sc.seq} indices must be integers or slices, not {_tn(idx)}"
            )
        if not -n <= idx < n:
            outs = ", ".join(
                f"{i} {t if isinstance(t, str) else 'COMBO'}" for i, t in enumerate(rt)
            )
            self.add(
                "link_output_out_of_range",
                f"link {_short(val)}: node {o_id!r} ({src_ct}) has "
                f"{n} output{'s' if n != 1 else ''}"
                + (f" ({outs})" if outs else "")
                + f"; index {idx} is out of range",
                uid,
                x,
            )
            raise _Raised("IndexError", f"{sc.seq} index out of range")
        if idx < 0:
            self.add(
                "negative_link_slot",
                f"link {_short(val)}: a negative output index counts from the end "
                f"(ComfyUI reads it as output {idx % n})",
                uid,
                x,
                hint=f"did you mean [{o_id!r}, {idx % n}]?",
            )
        received = rt[idx]
        received_types[x] = received
        if not c.takes_input_types and not _types_match(received, inp.type, c.modern):
            err = comfy_error(
                "return_type_mismatch",
                f"{x}, received_type({received}) mismatch input_type({inp.type})",
                {
                    "input_name": x,
                    "input_config": inp.config,
                    "received_type": received,
                    "linked_node": val,
                },
            )
            errors.append(err)
            self.add(
                "return_type_mismatch",
                f"output {idx} of node {o_id!r} ({src_ct}) is "
                f"{_type_label(received)}, the input takes {_type_label(inp.type)}",
                uid,
                x,
                hint=self._type_hint(o_id, sc, inp.type),
                comfyui=err,
            )
            return True
        if o_id in self.visiting:
            self._cycle(o_id, uid, x)
            return False
        if depth + 1 > COMFY_RECURSION_DEPTH:
            self.add(
                "recursion_limit",
                f"the chain of links from an output node is deeper than ComfyUI's "
                f"validator can follow (about {COMFY_RECURSION_DEPTH} nodes)",
                o_id,
            )
            self._store_inner(
                o_id,
                inp,
                val,
                "RecursionError",
                "maximum recursion depth exceeded while calling a Python object",
            )
            return False
        self.stack_inputs.append(x)
        try:
            r = self.vi(o_id, depth + 1)
        except _Raised as ex:
            self._store_inner(o_id, inp, val, ex.exc_type, ex.message)
            return False
        finally:
            self.stack_inputs.pop()
        return r[0]

    def _store_inner(self, o_id: Any, inp: _In, val: Any, exc_type: str, message: str) -> None:
        self.validated[o_id] = (
            False,
            [
                comfy_error(
                    "exception_during_inner_validation",
                    message,
                    {
                        "input_name": inp.name,
                        "input_config": inp.config,
                        "exception_message": message,
                        "exception_type": exc_type,
                        "traceback": [],
                        "linked_node": val,
                    },
                )
            ],
        )

    def _type_hint(self, o_id: Any, sc: _Cls, wanted: Any) -> str | None:
        if not isinstance(wanted, str):
            return None
        for i, t in enumerate(sc.return_types):
            if isinstance(t, str) and _types_match(t, wanted):
                return f"did you mean output {i} ({t}): [{o_id!r}, {i}]?"
        return None

    def _cycle(self, o_id: Any, uid: Any, x: str) -> None:
        start = self.visiting[o_id]
        members = self.stack[start:]
        key = frozenset(members)
        if key in self.cycle_sets:
            return
        self.cycle_sets.add(key)
        # the input on each member that leads to the next one
        ins = self.stack_inputs[start:] + [x]
        self.cycles.append(list(zip(members, ins, strict=True)))

    def _constant(
        self,
        uid: Any,
        c: _Cls,
        inp: _In,
        inputs: dict[str, Any],
        val: Any,
        errors: list[dict[str, Any]],
    ) -> None:
        x = inp.name
        t = inp.type
        if isinstance(val, dict) and "__value__" in val:
            val = val["__value__"]
            inputs[x] = val
        orig = val
        try:
            if t == "INT":
                val = int(val)
            elif t == "FLOAT":
                val = float(val)
            elif t == "STRING":
                val = str(val)
            elif t == "BOOLEAN":
                val = bool(val)
        except Exception as ex:  # noqa: BLE001 - emulating ComfyUI's own catch-all
            err = comfy_error(
                "invalid_input_type",
                f"{x}, {val}, {ex}",
                {
                    "input_name": x,
                    "input_config": inp.config,
                    "received_value": val,
                    "exception_message": str(ex),
                },
                type=t,
            )
            errors.append(err)
            self.add(
                "invalid_input_type",
                f"{_short(orig)} cannot be converted to {t} ({ex})",
                uid,
                x,
                comfyui=err,
            )
            return
        inputs[x] = val
        self._coercion_warnings(uid, inp, orig, val)
        if x in c.vf or c.has_kwargs:
            return
        cmfy_url = (
            self.profile == "cmfy"
            and inp.file_kind == "model"
            and isinstance(val, str)
            and "://" in val
        )
        if cmfy_url:
            self._model_url(uid, x, val)
            return
        try:
            if inp.has_min and val < inp.min:
                err = comfy_error(
                    "value_smaller_than_min",
                    x,
                    {"input_name": x, "input_config": inp.config, "received_value": val},
                    value=val,
                    min=inp.min,
                )
                errors.append(err)
                self.add(
                    "value_smaller_than_min",
                    f"{_short(val)} is smaller than the minimum {inp.min!r}",
                    uid,
                    x,
                    comfyui=err,
                )
                return
            if inp.has_max and val > inp.max:
                err = comfy_error(
                    "value_bigger_than_max",
                    x,
                    {"input_name": x, "input_config": inp.config, "received_value": val},
                    value=val,
                    max=inp.max,
                )
                errors.append(err)
                self.add(
                    "value_bigger_than_max",
                    f"{_short(val)} is bigger than the maximum {inp.max!r}",
                    uid,
                    x,
                    comfyui=err,
                )
                return
        except TypeError as ex:
            self.add(
                "value_not_comparable",
                f"{_short(val)} cannot be compared with the input's min/max ({ex})",
                uid,
                x,
            )
            raise _Raised("TypeError", str(ex)) from None
        if isinstance(t, list):
            if val not in t:
                n = len(t)
                if n > 20:
                    list_info = f"(list of length {n})"
                    config: Any = None
                else:
                    list_info = _py_str_list(t)
                    config = inp.config
                err = comfy_error(
                    "value_not_in_list",
                    f"{x}: '{val}' not in {list_info}",
                    {"input_name": x, "input_config": config, "received_value": val},
                )
                errors.append(err)
                self._combo_finding(uid, inp, val, "value_not_in_list", err)
            else:
                self._step_check(uid, inp, val)
        elif inp.new_combo and c.modern:
            self._modern_combo(uid, inp, val, errors)
        elif inp.new_combo:
            if inp.choices and val not in inp.choices and not _remote(inp):
                self._combo_finding(uid, inp, val, "combo_not_validated", None)
        else:
            self._step_check(uid, inp, val)

    def _modern_combo(self, uid: Any, inp: _In, val: Any, errors: list[dict[str, Any]]) -> None:
        """ComfyUI 2026 checks new-style ``["COMBO", {"options": [...]}]`` values (each element
        of a multiselect list), except remote combos."""
        if isinstance(inp.extra, dict) and inp.extra.get("remote_combo"):
            return
        choices = list(inp.choices or ())
        multi = isinstance(inp.extra, dict) and inp.extra.get("multiselect") is True
        vals = val if multi and isinstance(val, list) else [val]
        bad = [v for v in vals if v not in choices]
        if not bad:
            self._step_check(uid, inp, val)
            return
        x = inp.name
        n = len(choices)
        list_info = f"(list of length {n})" if n > 20 else _py_str_list(choices)
        err = comfy_error(
            "value_not_in_list",
            f"{x}: {', '.join(repr(v) for v in bad)} not in {list_info}",
            {
                "input_name": x,
                "input_config": None if n > 20 else inp.config,
                "received_value": val,
            },
        )
        errors.append(err)
        self._combo_finding(uid, inp, bad[0], "value_not_in_list", err)

    def _combo_finding(
        self, uid: Any, inp: _In, val: Any, code: str, err: dict[str, Any] | None
    ) -> None:
        choices = inp.type if isinstance(inp.type, list) else list(inp.choices or ())
        strs = [c for c in choices if isinstance(c, str)]
        hint = inp.suggest(val) if isinstance(val, str) else ""
        if not hint and not isinstance(val, str) and str(val) in strs:
            hint = f"did you mean {str(val)!r} (a string)?"
        if not hint and 0 < len(choices) <= 8:
            hint = "choices: " + ", ".join(repr(c) for c in choices)
        what = "a file of the server" if inp.file_kind else "one of the choices"
        msg = f"{_short(val)} is not {what} ({len(choices)} choices)"
        if code == "combo_not_validated":
            msg += "; ComfyUI 2025 does not check new-style COMBO inputs, ComfyUI 2026 rejects it"
        if (
            code == "value_not_in_list"
            and inp.file_kind == "model"
            and isinstance(val, str)
            and val.startswith(("https://", "http://"))
        ):
            hint = "a model URL is accepted by cmfy.cloud: lint with --profile cmfy"
        self.add(code, msg, uid, inp.name, hint=hint or None, comfyui=err)

    def _coercion_warnings(self, uid: Any, inp: _In, orig: Any, val: Any) -> None:
        t = inp.type
        x = inp.name
        if t == "INT":
            if isinstance(orig, float) and not orig.is_integer():
                self.add(
                    "float_truncated",
                    f"{orig!r} into an INT input is truncated to {val!r}",
                    uid,
                    x,
                    hint=f"the editor would send {math.floor(orig + 0.5)!r}",
                )
            elif isinstance(orig, str):
                self.add(
                    "value_coerced", f"the string {orig!r} is converted to INT {val!r}", uid, x
                )
            elif isinstance(orig, bool):
                self.add("value_coerced", f"{orig!r} is converted to INT {val!r}", uid, x)
        elif t == "FLOAT":
            if isinstance(val, float) and not math.isfinite(val):
                self.add(
                    "nan_value",
                    f"{_short(orig)} is {val!r}: it passes ComfyUI's min/max checks",
                    uid,
                    x,
                )
            elif isinstance(orig, (str, bool)):
                self.add("value_coerced", f"{_short(orig)} is converted to FLOAT {val!r}", uid, x)
        elif t == "BOOLEAN":
            if isinstance(orig, str):
                self.add(
                    "string_as_boolean",
                    f"the string {orig!r} into a BOOLEAN input is {val!r}"
                    + (" (any non-empty string is true)" if orig else ""),
                    uid,
                    x,
                    hint=f"did you mean {orig.strip().lower() in ('true', 'yes', '1', 'on')}?",
                )
            elif not isinstance(orig, bool):
                self.add("value_coerced", f"{_short(orig)} is converted to BOOLEAN {val!r}", uid, x)
        elif t == "STRING":
            if not isinstance(orig, str):
                self.add(
                    "value_coerced",
                    f"the JSON {_json_kind(orig)} {_short(orig)} is converted to the "
                    f"string {_short(val)}",
                    uid,
                    x,
                )

    def _step_check(self, uid: Any, inp: _In, val: Any) -> None:
        step = inp.step
        if isinstance(val, bool) or not isinstance(val, (int, float)):
            return
        if not isinstance(step, (int, float)) or isinstance(step, bool) or step <= 0:
            return
        if inp.type == "INT":
            if not isinstance(step, int) or step <= 1 or not isinstance(val, int):
                return
            base = inp.min if isinstance(inp.min, int) and not isinstance(inp.min, bool) else 0
            if (val - base) % step:
                lo = val - (val - base) % step
                self.add(
                    "off_step",
                    f"{val} is not on the widget's step of {step}"
                    + (f" from {base}" if base else ""),
                    uid,
                    inp.name,
                    hint=f"the editor would round it to {lo if val - lo < lo + step - val else lo + step}",
                )
        elif inp.type == "FLOAT" and isinstance(val, float) and math.isfinite(val):
            quantum = inp.extra.get("round") if isinstance(inp.extra, dict) else None
            if isinstance(quantum, bool) or not isinstance(quantum, (int, float)):
                return
            if quantum <= 0:
                return
            q = val / quantum
            if abs(q - round(q)) > 1e-6 * max(1.0, abs(q)):
                self.add(
                    "off_step",
                    f"{val!r} is not a multiple of the widget's rounding {quantum!r}",
                    uid,
                    inp.name,
                    hint=f"the editor would send {round(q) * quantum!r}",
                )

    def _dynamic_findings(
        self, uid: Any, c: _Cls, inputs: dict[str, Any], received: dict[str, Any]
    ) -> None:
        """What ComfyUI 2026 lets through on V3 dynamic inputs but the node cannot run with:
        a dynamic combo without a known option, MatchType sockets fed types outside
        ``allowed_types`` or of different types (docs/dynamic_inputs.md)."""
        self._combo_options(uid, c.ns.inputs, inputs, "")
        by_template: dict[str, list[tuple[str, str]]] = {}
        for inp in c.inputs_for(inputs):
            mt = inp.spec.dynamic
            if not isinstance(mt, MatchTypeSpec) or inp.name not in received:
                continue
            got = received[inp.name]
            if not isinstance(got, str) or got in ("*", "COMFY_MATCHTYPE_V3"):
                continue
            if mt.allowed_types is not None and not (
                {t.strip() for t in got.split(",")} & mt.allowed_types
            ):
                self.add(
                    "matchtype_mismatch",
                    f"{got} is not one of the types this input allows "
                    f"({', '.join(sorted(mt.allowed_types))}); ComfyUI does not check it, "
                    "the node fails when it runs",
                    uid,
                    inp.name,
                )
            by_template.setdefault(mt.template_id, []).append((inp.name, got))
        for pairs in by_template.values():
            types = {t for _, t in pairs}
            if len(types) > 1:
                shown = ", ".join(f"{n}: {t}" for n, t in pairs)
                self.add(
                    "matchtype_mismatch",
                    f"inputs of one matched type are fed different types ({shown}); "
                    "ComfyUI does not check it, the node fails when it runs",
                    uid,
                    pairs[-1][0],
                )

    def _combo_options(
        self, uid: Any, specs: Mapping[str, InputSpec], inputs: dict[str, Any], prefix: str
    ) -> None:
        for name, ispec in specs.items():
            dyn = ispec.dynamic
            if not isinstance(dyn, DynamicComboSpec):
                continue
            key = prefix + name
            if key not in inputs:
                if ispec.section == "required":
                    self.add(
                        "dynamic_option_unknown",
                        f"required dynamic combo {key!r} is missing; ComfyUI then skips it "
                        "and its sub-inputs, and the node fails when it runs",
                        uid,
                        key,
                        hint="options: " + ", ".join(repr(k) for k in dyn.keys[:8]),
                    )
                continue
            val = inputs[key]
            if _is_link_shape(val):
                continue
            opt = dyn.option(val) if isinstance(val, str) else None
            if opt is None:
                keys = [k for k in dyn.keys if isinstance(k, str)]
                hint = (did_you_mean(val, keys) if isinstance(val, str) else "") or (
                    "options: " + ", ".join(repr(k) for k in keys[:8])
                )
                self.add(
                    "dynamic_option_unknown",
                    f"{_short(val)} is not an option of dynamic combo {key!r} "
                    f"({len(keys)} options); ComfyUI skips it and its sub-inputs, and the "
                    "node fails when it runs",
                    uid,
                    key,
                    hint=hint,
                )
                continue
            self._combo_options(uid, opt.inputs, inputs, key + ".")

    def _unknown_inputs(self, uid: Any, c: _Cls, inputs: dict[str, Any]) -> None:
        names = c.names_for(inputs)
        for k, v in inputs.items():
            if k in names or k in c.hidden:
                continue
            if not isinstance(k, str) or is_frontend_only_input(c.class_type, c.category, k):
                continue
            linked = _is_link_shape(v)
            hint = did_you_mean(k, list(names)) or None
            msg = f"{k!r} is not an input of {c.class_type}; ComfyUI ignores it"
            if linked:
                msg += " and does not validate the node it links to"
            self.add("unknown_input", msg, uid, k, hint=hint)

    def _custom(
        self,
        uid: Any,
        c: _Cls,
        inputs: Any,
        errors: list[dict[str, Any]],
        received_types: dict[str, Any],
    ) -> None:
        """Emulate the call of the node's own VALIDATE_INPUTS / validate_inputs."""
        fname = f"{c.class_type}.{'validate_inputs' if c.v3 else 'VALIDATE_INPUTS'}()"
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
            data: dict[str, Any] = {}
        else:
            data = {}
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
        result: str | None = None
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
            if not self._file_exists(v):
                result = f"Invalid {inp.noun} file: {v}"
                hint = self.view.suggest("files", v) or None
                self.add(
                    "custom_validation_failed",
                    f"{v!r} is not a file in the server's input folder",
                    uid,
                    n,
                    hint=hint,
                    comfyui=None,
                )
                break
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
            if rest in self.view.input_files() or rest in ("", ".", "./"):
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

    # -- driver ------------------------------------------------------------------------------------

    def run(self) -> Report:
        prompt = self.prompt
        if not isinstance(prompt, dict):
            self.add(
                "prompt_not_object",
                f"the prompt is a JSON {_json_kind(prompt)}, not an object mapping node ids "
                "to nodes",
            )
            # what ComfyUI's ``for x in prompt: prompt[x]...`` does with it
            if isinstance(prompt, (list, str)) and not prompt:
                err = comfy_error("prompt_no_outputs")
            elif isinstance(prompt, str):
                err = _server_error("TypeError", "string indices must be integers, not 'str'")
            elif isinstance(prompt, list):
                first = prompt[0]
                err = _server_error(
                    "TypeError",
                    f"list indices must be integers or slices, not {_tn(first)}"
                    if not isinstance(first, int)
                    else f"argument of type '{_tn(first)}' is not iterable",
                )
            else:
                err = _server_error("TypeError", f"'{_tn(prompt)}' object is not iterable")
            return self._report(False, err, {}, [], [])
        early, outputs = self.pass1()
        if early is None and not outputs:
            early = comfy_error("prompt_no_outputs")
            self.add(
                "prompt_no_outputs",
                "the prompt has no output node (such as SaveImage or PreviewImage)"
                if self.targets is None
                else "none of partial_execution_targets is an output node of the prompt",
            )
        old_limit = sys.getrecursionlimit()
        need = COMFY_RECURSION_DEPTH * 3 + 200
        if old_limit < need:
            sys.setrecursionlimit(need)
        try:
            node_errors, good, details = self._outputs(outputs)
            self._shadow(outputs)
        finally:
            if old_limit < need:
                sys.setrecursionlimit(old_limit)
        if self.max_depth >= DEEP_CHAIN_WARNING:
            self.add(
                "deep_chain",
                f"a chain of {self.max_depth} linked nodes: ComfyUI's validator recurses once "
                f"per node and fails beyond about {COMFY_RECURSION_DEPTH}",
            )
        if early is not None:
            return self._report(False, early, {}, outputs, [])
        if not good:
            err = comfy_error("prompt_outputs_failed_validation", "\n".join(details))
            return self._report(False, err, node_errors, outputs, good)
        return self._report(True, None, node_errors, outputs, good)

    def _outputs(self, outputs: list[Any]) -> tuple[dict[str, Any], list[Any], list[str]]:
        node_errors: dict[str, Any] = {}
        good: list[Any] = []
        details: list[str] = []
        for o in outputs:
            try:
                ok, reasons = self.vi(o, 1)
            except _Raised as ex:
                ok = False
                reasons = [
                    comfy_error(
                        "exception_during_validation",
                        ex.message,
                        {"exception_type": ex.exc_type, "traceback": []},
                    )
                ]
                self.validated[o] = (False, reasons)
            if ok:
                good.append(o)
                continue
            for r in reasons:
                details.append(f"{r['message']}: {r['details']}")
            for nid, (v, rs) in self.validated.items():
                if not v and rs:
                    if nid not in node_errors:
                        node_errors[nid] = {
                            "errors": rs,
                            "dependent_outputs": [],
                            "class_type": self.prompt[nid]["class_type"],
                        }
                    node_errors[nid]["dependent_outputs"].append(o)
        return node_errors, good, details

    def _shadow(self, outputs: list[Any]) -> None:
        """Check the nodes ComfyUI skips: warnings only."""
        prompt = self.prompt
        skipped = [k for k in prompt if k not in self.validated and k not in self.broken]
        if not skipped:
            return
        # reached through declared inputs, but not validated because something failed first
        # (a type mismatch, an exception): ComfyUI will judge them once that is fixed
        reach = self._reachable(outputs)
        for k in skipped:
            if k in reach and k not in self.validated:
                try:
                    self.vi(k, 1)
                except _Raised:
                    pass
        skipped = [k for k in skipped if k not in reach]
        if not skipped:
            return
        if outputs:
            feeds_something = set()
            for node in prompt.values():
                if isinstance(node, dict) and isinstance(node.get("inputs"), dict):
                    for v in node["inputs"].values():
                        if _is_link_shape(v):
                            feeds_something.add(v[0])
            for k in skipped:
                if k in feeds_something:
                    msg = (
                        "no output node depends on this node through declared inputs: "
                        "ComfyUI neither validates nor runs it"
                    )
                else:
                    msg = "nothing uses this node's outputs: ComfyUI neither validates nor runs it"
                self.add("unreachable_node", msg, k)
        self.shadow = True
        try:
            for k in skipped:
                if k in self.validated:
                    continue
                try:
                    self.vi(k, 1)
                except _Raised:
                    pass
        finally:
            self.shadow = False

    def _reachable(self, outputs: list[Any]) -> set[Any]:
        """Nodes an output depends on through declared inputs (what ComfyUI would validate)."""
        prompt = self.prompt
        seen: set[Any] = set()
        todo = list(outputs)
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            node = prompt.get(n)
            if n in self.broken or not isinstance(node, dict):
                continue
            inputs = node.get("inputs")
            if not isinstance(inputs, dict):
                continue
            names = self.view.cls(node["class_type"]).names_for(inputs)
            for k, v in inputs.items():
                if k in names and isinstance(v, list) and len(v) == 2:
                    src = v[0]
                    if isinstance(src, str) and src in prompt and src not in seen:
                        todo.append(src)
        return seen

    def _report(
        self,
        valid: bool,
        error: dict[str, Any] | None,
        node_errors: dict[str, Any],
        outputs: list[Any],
        good: list[Any],
    ) -> Report:
        failing = [o for o in outputs if o not in good]
        self._cycle_findings(node_errors, failing)
        node_errors = {str(k): v for k, v in node_errors.items()}
        # precise errors next to ComfyUI's vague ones
        by_node: dict[str, list[Finding]] = {}
        for f in self.findings:
            if f.severity == "error" and f.node_id is not None:
                by_node.setdefault(f.node_id, []).append(f)
        for nid, entry in node_errors.items():
            types = {e.get("type") for e in entry["errors"]}
            if types & VAGUE_COMFYUI_TYPES:
                extra = [
                    _finding_as_comfy(f)
                    for f in by_node.get(nid, [])
                    if f.code not in types and f.code != "dependency_cycle"
                ]
                if extra:
                    entry["errors"] = list(entry["errors"]) + extra
        if error is not None and not valid and not any(f.is_error for f in self.findings):
            self.add(
                error["type"]
                if error["type"] in COMFYUI_TYPES
                else "prompt_outputs_failed_validation",
                error.get("message", "the prompt failed validation"),
            )
        return Report(
            valid=valid,
            findings=tuple(sort_findings(self.findings)),
            error=error,
            node_errors=node_errors,
            outputs=tuple(str(o) for o in outputs),
            good_outputs=tuple(str(o) for o in good),
            profile=self.profile,
        )

    def _cycle_findings(self, node_errors: dict[str, Any], failing: list[Any]) -> None:
        for cyc in self.cycles:
            # data-flow order (a source before its consumer), as the editor draws the links
            ids = [m for m, _ in reversed(cyc)]
            labels = [f"{m} {self._ct(m)}" for m in ids]
            path = " -> ".join(labels + [str(ids[0])])
            comfy_path = " -> ".join(f"{m} ({self._ct(m)})" for m in ids + [ids[0]])
            deps = self._dependents(set(ids), failing)
            for m, inp in cyc:
                err = comfy_error(
                    "dependency_cycle",
                    comfy_path,
                    {"node_id": str(m), "cycle_nodes": [str(i) for i in ids]},
                )
                self.add(
                    "dependency_cycle",
                    f"dependency cycle: {path}",
                    m,
                    inp,
                    comfyui=err,
                )
                if deps:
                    entry = node_errors.get(m)
                    if entry is None:
                        entry = node_errors[m] = {
                            "errors": [],
                            "dependent_outputs": list(deps),
                            "class_type": self._ct(m),
                        }
                    entry["errors"] = list(entry["errors"]) + [err]

    def _ct(self, uid: Any) -> str:
        node = self.prompt.get(uid)
        ct = node.get("class_type") if isinstance(node, dict) else None
        return ct if isinstance(ct, str) else "?"

    def _dependents(self, targets: set[Any], outputs: list[Any]) -> list[Any]:
        """The outputs whose declared-input closure contains one of ``targets``."""
        out = []
        for o in outputs:
            seen: set[Any] = set()
            todo = [o]
            hit = False
            while todo and not hit:
                n = todo.pop()
                if n in seen:
                    continue
                seen.add(n)
                if n in targets:
                    hit = True
                    break
                node = self.prompt.get(n)
                if not isinstance(node, dict) or not isinstance(node.get("inputs"), dict):
                    continue
                ct = node.get("class_type")
                if not isinstance(ct, str) or ct not in self.spec:
                    continue
                names = self.view.cls(ct).names_for(node["inputs"])
                for k, v in node["inputs"].items():
                    if k in names and _is_link_shape(v) and v[0] in self.prompt:
                        todo.append(v[0])
            if hit:
                out.append(o)
        return out


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


class _Suggester:
    """``did you mean`` over a long list (2,000 node classes, thousands of files), fast:
    a case-insensitive match, a candidate contained in the word, then difflib over at most a
    few hundred candidates of a similar length. Answers are memoised."""

    def __init__(self, candidates: Iterable[str]) -> None:
        self.cands = sorted({c for c in candidates if isinstance(c, str)})
        self.lower = {c.lower(): c for c in self.cands}
        self.by_len: dict[int, list[str]] = {}
        for c in self.cands:
            self.by_len.setdefault(len(c), []).append(c)
        self.memo: dict[str, str] = {}

    def __call__(self, word: str) -> str:
        hit = self.memo.get(word)
        if hit is None:
            hit = self.memo[word] = self._find(word)
            if len(self.memo) > 4096:
                self.memo.clear()
        return hit

    def _find(self, word: str) -> str:
        exact = self.lower.get(word.lower())
        if exact is not None:
            return f"did you mean {exact!r}?"
        n = len(word)
        slack = max(2, n // 6)
        near = [c for d in range(-slack, slack + 1) for c in self.by_len.get(n + d, ())]
        if len(near) > 300:
            head, tail = word[:2].lower(), word[-4:].lower()
            near = [c for c in near if c[:2].lower() == head or c[-4:].lower() == tail][:300]
        hint = did_you_mean(word, near) if near else ""
        if hint or n < 6:
            return hint
        inside = [c for c in self.cands if len(c) >= 4 and len(c) * 2 >= n and c in word]
        if inside:
            return f"did you mean {max(inside, key=len)!r}?"
        return ""


def _raw_link(c: _Cls, name: str) -> bool:
    inp = c.names.get(name)
    return bool(inp is not None and isinstance(inp.extra, dict) and inp.extra.get("rawLink"))


def _remote(inp: _In) -> bool:
    return isinstance(inp.extra, dict) and bool(
        inp.extra.get("remote") or inp.extra.get("remote_combo")
    )


def _msg(key: str, **fmt: Any) -> str:
    from .rules import COMFYUI_MESSAGES

    return COMFYUI_MESSAGES[key].format(**{k: str(v) for k, v in fmt.items()})


def _server_error(exc_type: str, message: str) -> dict[str, Any]:
    return comfy_error(
        "server_error",
        f"{exc_type}: {message}",
        {"exception_type": exc_type, "exception_message": message},
    )


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


def _json_kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _short(v: Any, limit: int = 60) -> str:
    try:
        s = repr(v)
    except Exception:  # noqa: BLE001 - a repr must never break a report
        s = f"<{type(v).__name__}>"
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _float_id(v: float) -> str:
    return str(int(v)) if v.is_integer() else str(v)


def _type_label(t: Any) -> str:
    if isinstance(t, list):
        return f"COMBO ({len(t)} choices)"
    return str(t)


# ---------------------------------------------------------------------------------------------
# public API


def validate_prompt(
    prompt: Any,
    spec: Spec | None = None,
    *,
    profile: str = "comfyui",
    partial_execution_targets: Sequence[Any] | None = None,
) -> Report:
    """Validate an API prompt as ComfyUI's ``POST /prompt`` would, and more.

    ``prompt`` may be any JSON value (bad shapes become findings). ``spec`` defaults to the
    bundled core spec. ``profile`` is ``"comfyui"`` (ComfyUI's rules) or ``"cmfy"`` (the
    cmfy.cloud rules: model inputs may be HTTPS URLs). ``partial_execution_targets`` limits
    the output nodes as ComfyUI's field of that name does.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")
    if spec is None:
        from .spec import core_spec

        spec = core_spec()
    targets = None
    if partial_execution_targets is not None:
        targets = list(partial_execution_targets)
    return _Validator(prompt, spec, profile, targets).run()


def check_prompt(
    prompt: Any,
    spec: Spec | None = None,
    *,
    profile: str = "comfyui",
    partial_execution_targets: Sequence[Any] | None = None,
) -> Report:
    """Like :func:`validate_prompt`, but raise :class:`~cmfy_graph.errors.ValidationError`
    (``"N errors: ..."``, carrying the findings) when ComfyUI would not queue the prompt."""
    report = validate_prompt(
        prompt, spec, profile=profile, partial_execution_targets=partial_execution_targets
    )
    if not report.valid:
        errs = report.errors
        shown = "; ".join(str(f) for f in errs[:5])
        more = f"; and {len(errs) - 5} more" if len(errs) > 5 else ""
        n = len(errs)
        raise ValidationError(f"{n} error{'s' if n != 1 else ''}: {shown}{more}", report.findings)
    return report


# -- URLs (cmfy.cloud) ----------------------------------------------------------------------------

_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet")


def _url_finding(code: str, message: str, hint: str | None = None) -> Finding:
    return Finding(code=code, severity=rule(code).severity, message=message, hint=hint)


def check_model_url(url: str) -> list[Finding]:
    """cmfy.cloud's rules for a model given by URL (``../shared/cmfy_cloud_api.md``).

    HTTPS only (``model_url_not_allowed``); a Hugging Face URL should be a ``/resolve/`` URL
    pinned to a commit (``hf_blob_url``, ``hf_unpinned_revision``). Findings carry no node.
    """
    out: list[Finding] = []
    try:
        parts = urlsplit(url)
    except ValueError:
        return [_url_finding("model_url_not_allowed", f"{url!r} is not a valid URL")]
    if parts.scheme != "https" or not parts.hostname:
        out.append(
            _url_finding(
                "model_url_not_allowed",
                f"{url!r}: model URLs must be https:// URLs (Hugging Face, Civitai, S3, "
                "Azure Blob or plain HTTPS)",
            )
        )
        return out
    host = parts.hostname.lower()
    if host in ("huggingface.co", "hf.co", "www.huggingface.co"):
        seg = [s for s in parts.path.split("/") if s]
        if len(seg) >= 4 and seg[2] == "blob":
            out.append(
                _url_finding(
                    "hf_blob_url",
                    f"{url!r} is a Hugging Face page, not the file",
                    hint="use /resolve/ instead of /blob/",
                )
            )
        if len(seg) >= 5 and seg[2] in ("resolve", "blob"):
            rev = unquote(seg[3])
            if not _HEX40.match(rev):
                out.append(
                    _url_finding(
                        "hf_unpinned_revision",
                        f"{url!r} uses the revision {rev!r}: the file can change under you "
                        "and the cache key stays the same",
                        hint="pin a commit hash: /resolve/<40-hex commit>/",
                    )
                )
    return out


def _normalise_url(url: str) -> str:
    try:
        p = urlsplit(url)
    except ValueError:
        return url
    host = (p.hostname or "").lower()
    port = p.port if p.port not in (None, 443, 80) else None
    netloc = host + (f":{port}" if port else "")
    query = "&".join(
        sorted(q for q in p.query.split("&") if q and q.lower() not in ("download=true",))
    )
    path = unquote(p.path).rstrip("/")
    if host == "hf.co":
        netloc = "huggingface.co"
    return f"{p.scheme.lower()}://{netloc}{path}" + (f"?{query}" if query else "")


def check_webhook_url(url: Any, allow_insecure: bool = False) -> list[Finding]:
    """cmfy.cloud's rules for ``webhook_url``: HTTPS and publicly reachable.

    Returns warnings (``webhook_not_https``, ``webhook_private``, ``webhook_invalid``); with
    ``allow_insecure`` (a local test receiver) plain HTTP and private hosts pass.
    """
    if not isinstance(url, str) or not url:
        return [_url_finding("webhook_invalid", f"webhook_url {_short(url)} is not a URL string")]
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return [_url_finding("webhook_invalid", f"webhook_url {url!r} is not a valid URL")]
    if parts.scheme not in ("http", "https") or not host:
        return [_url_finding("webhook_invalid", f"webhook_url {url!r} is not an http(s) URL")]
    out: list[Finding] = []
    if allow_insecure:
        return out
    if parts.scheme != "https":
        out.append(
            _url_finding(
                "webhook_not_https",
                f"webhook_url {url!r} is not HTTPS: cmfy.cloud requires https://",
            )
        )
    if _is_private_host(host):
        out.append(
            _url_finding(
                "webhook_private",
                f"webhook_url host {host!r} is not publicly reachable: cmfy.cloud cannot "
                "deliver to it",
            )
        )
    return out


def _is_private_host(host: str) -> bool:
    h = host.lower().rstrip(".")
    if h == "localhost" or h.endswith(_PRIVATE_SUFFIXES) or "." not in h and ":" not in h:
        return True
    try:
        ip = ipaddress.ip_address(h)
    except ValueError:
        return False
    return not ip.is_global


# -- graph helpers (networkx, for the DSL and for reports) ----------------------------------------


def prompt_graph(prompt: Mapping[str, Any]) -> networkx.DiGraph:
    """A ``networkx.DiGraph`` of the prompt: an edge ``source -> consumer`` per well-formed
    link to a node in the prompt, with ``input`` and ``slot`` edge attributes (the last link
    wins when one source feeds several inputs of one consumer) and ``class_type`` on nodes."""
    import networkx as nx

    g = nx.DiGraph()
    if not isinstance(prompt, Mapping):
        return g
    for nid, node in prompt.items():
        ct = node.get("class_type") if isinstance(node, Mapping) else None
        g.add_node(nid, class_type=ct)
    for nid, node in prompt.items():
        inputs = node.get("inputs") if isinstance(node, Mapping) else None
        if not isinstance(inputs, Mapping):
            continue
        for name, v in inputs.items():
            if _is_link_shape(v) and v[0] in prompt:
                g.add_edge(v[0], nid, input=name, slot=v[1])
    return g


def find_cycles(prompt: Mapping[str, Any]) -> list[list[str]]:
    """Every elementary dependency cycle of the prompt, each as a list of node ids."""
    import networkx as nx

    return [list(c) for c in nx.simple_cycles(prompt_graph(prompt))]


def reachable_from_outputs(prompt: Mapping[str, Any], spec: Spec | None = None) -> set[str]:
    """The node ids some output node depends on (the output nodes included): what ComfyUI
    validates and runs. Follows every link, as execution does."""
    import networkx as nx

    if spec is None:
        from .spec import core_spec

        spec = core_spec()
    g = prompt_graph(prompt)
    outs = [
        n
        for n, ct in g.nodes(data="class_type")
        if isinstance(ct, str) and ct in spec and spec[ct].output_node
    ]
    seen: set[str] = set(outs)
    for o in outs:
        seen |= nx.ancestors(g, o)
    return seen
