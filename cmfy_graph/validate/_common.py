"""What the rule families share: the compiled view of a spec (:class:`_Cls`, :class:`_In`), the
emulations of the Python behaviour ComfyUI relies on, and message helpers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..dynamic import finalize_inputs, possible_inputs
from ..errors import did_you_mean
from ..rules import comfy_error
from ..spec import DynamicComboSpec, may_take_input_files

if TYPE_CHECKING:
    from ..spec import InputSpec, NodeSpec, Spec


#: The validation profiles: ComfyUI's rules, or cmfy.cloud's (model URLs allowed).
PROFILES = ("comfyui", "cmfy")

#: How many nested links ComfyUI's recursive ``validate_inputs`` follows before Python's
#: recursion limit (1000 frames, minus the server's own stack) stops it.
COMFY_RECURSION_DEPTH = 975

#: Chains at least this deep get a ``deep_chain`` warning.
DEEP_CHAIN_WARNING = 500


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
        self._dyn_combos: tuple[str, ...] | None = None
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
            combos = self._dyn_combos = tuple(
                k
                for k, i in possible_inputs(self.ns).items()
                if isinstance(i.dynamic, DynamicComboSpec)
            )
        key: tuple[tuple[str, str], ...] = ()
        if combos:
            key = tuple((k, v) for k in combos if k in live and isinstance(v := live[k], str))
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
            from ..spec import core_spec

            core = core_spec()
            self._fallback = None if core is self.spec else core
        return self._fallback

    def input_files(self) -> frozenset[str]:
        if self._input_files is None:
            files: set[str] = set()
            fb = self.fallback()
            spec = self.spec
            for ct in spec:
                # (only the classes that may have such inputs are compiled: a cold command
                # would otherwise parse and compile the whole spec here)
                if not may_take_input_files(spec.raw_entry(ct)) and not (
                    fb is not None and ct in fb and may_take_input_files(fb.raw_entry(ct))
                ):
                    continue
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
        self._grams: dict[str, frozenset[str]] = {}

    def _bigrams(self, c: str) -> frozenset[str]:
        g = self._grams.get(c)
        if g is None:
            low = c.lower()
            g = self._grams[c] = frozenset(low[i : i + 2] for i in range(len(low) - 1))
        return g

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
        if len(near) > 40:
            # difflib is costly per candidate: keep the 40 sharing most letter pairs (a
            # candidate difflib would pick shares most of them)
            wg = self._bigrams(word)
            near = sorted(near, key=lambda c: -len(wg & self._bigrams(c)))[:40]
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
    from ..rules import COMFYUI_MESSAGES

    return COMFYUI_MESSAGES[key].format(**{k: str(v) for k, v in fmt.items()})


def _server_error(exc_type: str, message: str) -> dict[str, Any]:
    return comfy_error(
        "server_error",
        f"{exc_type}: {message}",
        {"exception_type": exc_type, "exception_message": message},
    )


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
