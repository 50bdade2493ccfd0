"""Reading ComfyUI node specs (``/object_info`` JSON) into typed records.

A spec maps a node's ``class_type`` to its description: inputs (required, optional,
hidden), outputs, display name, category and so on. This module reads the forms found in the
wild (``../shared/comfyui/FORMATS.md`` section 3) into :class:`NodeSpec` records:

- legacy COMBO ``[[choice, ...], {options}]`` and new-style ``["COMBO", {"options": [...]}]``;
- one-element specs ``["IMAGE"]``; an options element that is not a dict (``["*", ""]``);
- union types ``"INT,FLOAT"``, the wildcard ``"*"``, list-typed outputs;
- ``input_order`` present or absent (absent: object order, with integer-like keys first, as a
  browser's JavaScript engine orders them);
- hidden inputs in their V1 (``"PROMPT"``) and V3 (``["PROMPT"]``) forms;
- V3 dynamic inputs (autogrow, dynamic combo, match type), kept as data;
- the same input name under ``required`` and ``optional`` (``required`` wins, as in ComfyUI).

A malformed entry is skipped with a :class:`SpecWarning` that names it; the rest loads.

cmfy_graph adds one optional key per node, ``"cmfy"``, for what ``/object_info`` lacks
(``nodes_spec/FORMAT.md``): which inputs name installation files, and which inputs the node's
own ``VALIDATE_INPUTS`` checks.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, overload

import attrs

from .errors import SpecError

_T = TypeVar("_T")

__all__ = [
    "AutogrowSpec",
    "DynamicComboSpec",
    "DynamicOption",
    "MatchTypeSpec",
    "InputSpec",
    "OutputSpec",
    "NodeSpec",
    "Spec",
    "SpecWarning",
    "WIDGET_TYPES",
    "load_spec",
    "CORE_SPECS",
    "is_core_name",
    "fresh_widget_value",
    "core_spec",
    "core_spec_path",
]

#: Input types the ComfyUI editor draws a widget for (``src/scripts/widgets.ts``).
WIDGET_TYPES = frozenset(
    {
        "INT",
        "FLOAT",
        "BOOLEAN",
        "STRING",
        "MARKDOWN",
        "COMBO",
        "IMAGEUPLOAD",
        "COLOR",
        "IMAGECOMPARE",
        "BOUNDING_BOX",
        "CHART",
        "GALLERIA",
        "PAINTER",
        "TEXTAREA",
        "CURVE",
        "RANGE",
        "COMFY_DYNAMICCOMBO_V3",
    }
)

_UPLOAD_OPTIONS = (
    "image_upload",
    "video_upload",
    "audio_upload",
    "animated_image_upload",
    "mesh_upload",
    "file_upload",
)

_MODEL_EXTENSIONS = (
    ".safetensors",
    ".ckpt",
    ".pt",
    ".pth",
    ".bin",
    ".gguf",
    ".sft",
    ".onnx",
    ".pkl",
    ".yaml",
)

_MODEL_NAME_RE = re.compile(
    r"(^|_)(ckpt|lora|vae|unet|clip|control_net|controlnet|style_model|upscale_model|gligen|"
    r"hypernetwork|model|clip_vision|embedding|photomaker|ipadapter|instantid|pulid)(_name)?\d*$"
)


class SpecWarning(UserWarning):
    """A spec entry was malformed and skipped, or read with a guess; the message names it."""


#: The V3 dynamic input types (``comfy_api/latest/_io.py``); docs/dynamic_inputs.md.
AUTOGROW = "COMFY_AUTOGROW_V3"
DYNAMIC_COMBO = "COMFY_DYNAMICCOMBO_V3"
MATCH_TYPE = "COMFY_MATCHTYPE_V3"
#: The early spelling of a dynamic combo in ComfyUI of October 2025 (never expanded there).
_OLD_DYNAMIC_COMBO = "COMFY_COMBODYNAMIC_V3"


@attrs.frozen(slots=True)
class AutogrowSpec:
    """An Autogrow input (``COMFY_AUTOGROW_V3``): a list of sockets made from one template.

    ``names`` are the slot names (``TemplatePrefix``: ``prefix0`` ... ``prefix{max-1}``;
    ``TemplateNames``: the listed names). The prompt key of slot ``n`` of input ``images`` is
    ``"images.n"``. The first ``min`` slots are required when ``template`` is required.
    """

    template: InputSpec
    names: tuple[str, ...]
    min: int
    prefix: str | None = None

    @property
    def max(self) -> int:
        """How many slots there can be."""
        return len(self.names)


@attrs.frozen(slots=True)
class DynamicOption:
    """One option of a dynamic combo: its key and the inputs it brings (relative names)."""

    key: str
    inputs: Mapping[str, InputSpec]


@attrs.frozen(slots=True)
class DynamicComboSpec:
    """A DynamicCombo input (``COMFY_DYNAMICCOMBO_V3``): a combo whose selected option adds
    its own inputs, sent as ``"<combo>.<sub_input>"`` (nested options nest the dots)."""

    options: tuple[DynamicOption, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The option keys, in the spec's order."""
        return tuple(o.key for o in self.options)

    def option(self, key: Any) -> DynamicOption | None:
        """The option of that key, or ``None``."""
        for o in self.options:
            if o.key == key:
                return o
        return None


@attrs.frozen(slots=True)
class MatchTypeSpec:
    """A MatchType input (``COMFY_MATCHTYPE_V3``): every input and output sharing
    ``template_id`` carries one type, chosen by what is plugged in. ``allowed_types`` is
    ``None`` when any type is allowed (``"*"``)."""

    template_id: str
    allowed_types: frozenset[str] | None


@attrs.frozen(slots=True)
class InputSpec:
    """One input of a node.

    ``type`` is the ComfyUI type string (``"COMBO"`` for both combo forms). ``choices`` holds
    the fixed choices of a combo (``None`` for other types). ``file_kind`` is set for inputs
    whose choices are files of the installation (``"model"`` for model files, which may be
    given as URLs on cmfy.cloud; ``"input"`` for uploaded input files): their choices are not
    a fixed enum.
    """

    name: str
    type: str
    section: str
    options: Mapping[str, Any]
    choices: tuple[Any, ...] | None = None
    legacy_combo: bool = False
    file_kind: str | None = None
    raw: Any = None
    dynamic: AutogrowSpec | DynamicComboSpec | MatchTypeSpec | None = None

    @property
    def required(self) -> bool:
        """True for inputs under ``required``."""
        return self.section == "required"

    @property
    def has_upload(self) -> bool:
        """True when the editor gives the input an upload button (an ``*_upload`` option:
        ``image_upload``, ``audio_upload``, ...): it names a file of the input folder."""
        return any(k.endswith("_upload") and bool(v) for k, v in self.options.items())

    @property
    def default(self) -> Any:
        """The spec's ``default`` option, or ``None``."""
        return self.options.get("default")

    @property
    def has_default(self) -> bool:
        """True when the spec gives a ``default``."""
        return "default" in self.options

    @property
    def min(self) -> Any:
        """The ``min`` option, or ``None``."""
        return self.options.get("min")

    @property
    def max(self) -> Any:
        """The ``max`` option, or ``None``."""
        return self.options.get("max")

    @property
    def step(self) -> Any:
        """The ``step`` option, or ``None``."""
        return self.options.get("step")

    @property
    def tooltip(self) -> str | None:
        """The ``tooltip`` option, when it is a string."""
        t = self.options.get("tooltip")
        return t if isinstance(t, str) else None

    @property
    def force_input(self) -> bool:
        """True when the input is a socket only (``forceInput``)."""
        return bool(self.options.get("forceInput"))

    @property
    def widget_type(self) -> str | None:
        """The widget the editor draws for this input, or ``None`` for a pure socket."""
        if self.force_input:
            return None
        wt = self.options.get("widgetType")
        if isinstance(wt, str) and wt in WIDGET_TYPES:
            return wt
        if self.type in WIDGET_TYPES:
            return self.type
        if "socketless" in self.options and self.type not in ("*", "") and "," not in self.type:
            # a V3 WidgetInput of a widget type newer than this list (BOUNDING_BOXES, COLORS,
            # COMPOSITOR, ...): only widget inputs carry ``socketless`` (``_io.py``)
            return self.type
        return None

    @property
    def is_widget(self) -> bool:
        """True when the input has a widget in the editor (its value is a constant by default)."""
        return self.widget_type is not None

    @property
    def type_set(self) -> frozenset[str]:
        """The comma-separated parts of ``type``, stripped (``{"INT", "FLOAT"}``)."""
        return frozenset(p.strip() for p in self.type.split(","))


@attrs.frozen(slots=True)
class OutputSpec:
    """One output of a node. ``type`` is ``"COMBO"`` for a list-typed output (``choices`` set)."""

    index: int
    type: str
    name: str
    is_list: bool = False
    tooltip: str | None = None
    choices: tuple[Any, ...] | None = None
    #: the MatchType template id whose type this output carries (``output_matchtypes``)
    matchtype: str | None = None


_HAS_DYNAMIC: dict[int, tuple[Any, bool]] = {}


@attrs.frozen(slots=True)
class NodeSpec:
    """A node class as described by ``/object_info``."""

    class_type: str
    display_name: str
    category: str
    description: str
    python_module: str
    output_node: bool
    inputs: Mapping[str, InputSpec]
    hidden: Mapping[str, Any]
    outputs: tuple[OutputSpec, ...]
    has_input_order: bool
    deprecated: bool = False
    experimental: bool = False
    api_node: bool = False
    extra: Mapping[str, Any] = attrs.field(factory=dict)
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    dev_only: bool = False
    is_input_list: bool = False
    has_intermediate_output: bool = False
    search_aliases: tuple[str, ...] = ()
    essentials_category: str | None = None
    price_badge: Any = None

    @property
    def has_dynamic_inputs(self) -> bool:
        """True when an input is an Autogrow, a DynamicCombo or a MatchType (memoised: the
        record is immutable)."""
        hit = _HAS_DYNAMIC.get(id(self))
        if hit is not None and hit[0] is self:
            return hit[1]
        if len(_HAS_DYNAMIC) > 100_000:
            _HAS_DYNAMIC.clear()
        got = any(i.dynamic is not None for i in self.inputs.values())
        _HAS_DYNAMIC[id(self)] = (self, got)
        return got

    @property
    def required(self) -> dict[str, InputSpec]:
        """The required inputs, in the editor's order."""
        return {k: v for k, v in self.inputs.items() if v.section == "required"}

    @property
    def optional(self) -> dict[str, InputSpec]:
        """The optional inputs, in the editor's order."""
        return {k: v for k, v in self.inputs.items() if v.section == "optional"}

    @property
    def validate_inputs(self) -> tuple[str, ...] | None:
        """Names the node's own ``VALIDATE_INPUTS`` takes, ``("**",)`` for ``**kwargs``; ``None``
        when it has none or the spec does not say (``"cmfy"`` extension)."""
        v = self.extra.get("validate_inputs")
        if isinstance(v, list):
            return tuple(str(x) for x in v)
        return None

    @property
    def widget_inputs(self) -> list[InputSpec]:
        """Inputs that have a widget in the editor, in the editor's order."""
        return [i for i in self.inputs.values() if i.is_widget]


def fresh_widget_value(inp: InputSpec, widget_type: str | None) -> Any:
    """The value a freshly created editor widget of type ``widget_type`` holds for ``inp``
    (the frontend's widget constructors, FORMATS.md 4.6): the spec's ``default``, else 0,
    ``""``, ``False``, the first choice, or a dynamic combo's first option key."""
    d = inp.options.get("default")
    if widget_type in ("INT", "FLOAT"):
        return 0 if d is None else d
    if widget_type == "STRING":
        return "" if d is None else d
    if widget_type == "BOOLEAN":
        return False if d is None else d
    if widget_type == "COMBO":
        return d if d else (inp.choices[0] if inp.choices else None)
    if widget_type == DYNAMIC_COMBO and d is None:
        keys = inp.dynamic.keys if isinstance(inp.dynamic, DynamicComboSpec) else ()
        return keys[0] if keys else None
    return d


# ---------------------------------------------------------------------------------------------
# parsing


def _js_key_order(keys: Iterable[str]) -> list[str]:
    """Object key order as JavaScript enumerates it: integer-like keys first, ascending."""
    keys = list(keys)
    ints = [
        k
        for k in keys
        if k.isascii() and k.isdecimal() and (k == "0" or not k.startswith("0")) and len(k) < 10
    ]
    if not ints:
        return keys
    first = set(ints)
    rest = [k for k in keys if k not in first]
    return sorted(ints, key=int) + rest


def _ordered_names(section: Mapping[str, Any], order: Any) -> list[str]:
    names = list(section)
    if isinstance(order, list):
        present = set(names)
        head = [n for n in order if isinstance(n, str) and n in present]
        seen = set(head)
        return head + [n for n in names if n not in seen]
    return _js_key_order(names)


def _guess_file_kind(name: str, type_: str, options: Mapping[str, Any], choices: Any) -> str | None:
    if type_ != "COMBO":
        return None
    if any(options.get(k) for k in _UPLOAD_OPTIONS):
        return "input"
    if isinstance(choices, (list, tuple)):
        if not choices:
            return "model" if _MODEL_NAME_RE.search(name) else None
        # "model" when at least half of the string choices are model files; counted until
        # the answer is known (a file list can be long, and every combo is asked)
        strs = [c for c in choices if isinstance(c, str)]
        total = len(strs)
        hits = misses = 0
        for c in strs:
            if c.lower().endswith(_MODEL_EXTENSIONS):
                hits += 1
                if hits * 2 >= total:
                    return "model"
            else:
                misses += 1
                if misses * 2 > total:
                    return None
    return None


def may_take_input_files(raw: Any) -> bool:
    """Whether an unparsed ``/object_info`` entry may have an input whose ``file_kind`` is
    ``"input"`` (a file of the server's input folder): a cheap superset, for scans over a
    whole spec that would otherwise parse every entry."""
    if not isinstance(raw, dict):
        return False
    ext = raw.get("cmfy")
    declared = ext.get("file_inputs") if isinstance(ext, dict) else None
    if isinstance(declared, dict):
        return "input" in declared.values()
    inp = raw.get("input")
    if not isinstance(inp, dict):
        return False
    for section in inp.values():
        if not isinstance(section, dict):
            continue
        for entry in section.values():
            opts = entry[1] if isinstance(entry, (list, tuple)) and len(entry) > 1 else None
            if isinstance(opts, dict) and any(opts.get(k) for k in _UPLOAD_OPTIONS):
                return True
    return False


def _parse_input(
    node: str, name: str, section: str, raw: Any, extra: Mapping[str, Any]
) -> InputSpec:
    if isinstance(raw, str):  # V1 hidden form, or a bare type string
        raw_type: Any = raw
        opts: Any = {}
    elif isinstance(raw, (list, tuple)) and raw:
        raw_type = raw[0]
        opts = raw[1] if len(raw) > 1 else {}
    else:
        raise ValueError(f"input {name!r} of {node!r} has an unreadable spec {raw!r}")
    if not isinstance(opts, dict):
        opts = {}
    choices: tuple[Any, ...] | None = None
    legacy = False
    if isinstance(raw_type, (list, tuple)):
        type_ = "COMBO"
        legacy = True
        choices = tuple(raw_type)
    elif isinstance(raw_type, str):
        type_ = raw_type
        if type_ == "COMBO":
            o = opts.get("options")
            choices = tuple(o) if isinstance(o, (list, tuple)) else ()
    else:
        raise ValueError(
            f"input {name!r} of {node!r} has a type that is not a string: {raw_type!r}"
        )
    declared = extra.get("file_inputs")
    if isinstance(declared, dict) and name in declared:
        fk = declared[name]
        file_kind = fk if isinstance(fk, str) else None
    elif isinstance(declared, dict):
        file_kind = None
    else:
        file_kind = _guess_file_kind(name, type_, opts, choices)
    dynamic = _parse_dynamic(node, name, type_, opts, extra) if type_.startswith("COMFY_") else None
    return InputSpec(
        name=name,
        type=type_,
        section=section,
        options=opts,
        choices=choices,
        legacy_combo=legacy,
        file_kind=file_kind,
        raw=raw,
        dynamic=dynamic,
    )


def _parse_sections(
    node: str, where: str, raw: Any, extra: Mapping[str, Any]
) -> dict[str, InputSpec]:
    """``{"required": {...}, "optional": {...}}`` of a dynamic input -> ordered InputSpecs."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where} of {node!r}: the nested inputs are not an object")
    return _parse_inputs(node, raw, None, extra, where=f" ({where})")


def _parse_dynamic(
    node: str, name: str, type_: str, opts: Mapping[str, Any], extra: Mapping[str, Any]
) -> AutogrowSpec | DynamicComboSpec | MatchTypeSpec | None:
    """The V3 descriptor of a dynamic input (FORMATS.md 3.4), or None for other types."""
    if type_ == AUTOGROW:
        t = opts.get("template")
        if not isinstance(t, dict):
            raise ValueError(f"autogrow input {name!r} of {node!r} has no template")
        tpl = _parse_sections(node, f"autogrow input {name!r}", t.get("input"), extra)
        if not tpl:
            raise ValueError(f"autogrow input {name!r} of {node!r} has an empty template")
        template = next(iter(tpl.values()))
        mn = t.get("min", 1)
        mn = mn if isinstance(mn, int) and not isinstance(mn, bool) else 1
        names_raw = t.get("names")
        prefix = t.get("prefix")
        if isinstance(names_raw, list):
            names = tuple(str(n) for n in names_raw[:100])
            prefix = None
        elif isinstance(prefix, str):
            mx = t.get("max", 10)
            mx = mx if isinstance(mx, int) and not isinstance(mx, bool) else 10
            names = tuple(f"{prefix}{i}" for i in range(max(0, min(mx, 100))))
        else:
            raise ValueError(f"autogrow input {name!r} of {node!r} has neither names nor prefix")
        return AutogrowSpec(template=template, names=names, min=mn, prefix=prefix)
    if type_ in (DYNAMIC_COMBO, _OLD_DYNAMIC_COMBO):
        raw_opts = opts.get("options")
        if not isinstance(raw_opts, list):
            raise ValueError(f"dynamic combo {name!r} of {node!r} has no options list")
        options = []
        for o in raw_opts:
            if not isinstance(o, dict) or "key" not in o:
                raise ValueError(f"dynamic combo {name!r} of {node!r}: an option has no key")
            sub = _parse_sections(
                node, f"option {o['key']!r} of {name!r}", o.get("inputs") or {}, extra
            )
            options.append(DynamicOption(key=o["key"], inputs=sub))
        return DynamicComboSpec(options=tuple(options))
    if type_ == MATCH_TYPE:
        t = opts.get("template")
        t = t if isinstance(t, dict) else {}
        tid = t.get("template_id")
        allowed = t.get("allowed_types", "*")
        types: frozenset[str] | None = None
        if isinstance(allowed, str):
            parts = frozenset(p.strip() for p in allowed.split(",") if p.strip())
            types = None if not parts or "*" in parts else parts
        elif isinstance(allowed, list):
            parts = frozenset(str(p) for p in allowed)
            types = None if not parts or "*" in parts else parts
        return MatchTypeSpec(template_id=str(tid) if tid is not None else name, allowed_types=types)
    return None


def parse_node(class_type: str, raw: Any, notes: list[str] | None = None) -> NodeSpec:
    """Parse one ``/object_info`` entry. Raises ``ValueError`` naming what is wrong; fixable
    quirks are read with a guess, and a sentence about each is appended to ``notes``."""
    if not isinstance(raw, dict):
        raise ValueError(f"node {class_type!r}: entry is {type(raw).__name__}, not an object")
    inp = raw.get("input", {})
    if inp is None:
        inp = {}
    if not isinstance(inp, dict):
        raise ValueError(f"node {class_type!r}: 'input' is not an object")
    ext = raw.get("cmfy")
    extra: dict[str, Any] = ext if isinstance(ext, dict) else {}
    order = raw.get("input_order") if isinstance(raw.get("input_order"), dict) else None
    hidden = inp.get("hidden") or {}

    def s(key: str, default: str) -> str:
        v = raw.get(key)
        return v if isinstance(v, str) else default

    aliases = raw.get("search_aliases")
    essentials = raw.get("essentials_category")
    return NodeSpec(
        class_type=class_type,
        display_name=s("display_name", class_type) or class_type,
        category=s("category", "sd"),
        description=s("description", ""),
        python_module=s("python_module", "nodes"),
        output_node=raw.get("output_node") is True,
        inputs=_parse_inputs(class_type, inp, order, extra),
        hidden=hidden if isinstance(hidden, dict) else {},
        outputs=_parse_outputs(class_type, raw, notes),
        has_input_order=order is not None,
        deprecated=bool(raw.get("deprecated")),
        experimental=bool(raw.get("experimental")),
        api_node=bool(raw.get("api_node")),
        extra=extra,
        raw=raw,
        dev_only=bool(raw.get("dev_only")),
        is_input_list=bool(raw.get("is_input_list")),
        has_intermediate_output=bool(raw.get("has_intermediate_output")),
        search_aliases=tuple(a for a in aliases if isinstance(a, str))
        if isinstance(aliases, list)
        else (),
        essentials_category=essentials if isinstance(essentials, str) else None,
        price_badge=raw.get("price_badge"),
    )


def _parse_inputs(
    class_type: str, inp: dict[str, Any], order: Any, extra: Mapping[str, Any], where: str = ""
) -> dict[str, InputSpec]:
    """The required and optional inputs, in the editor's order (``where`` names a nested
    input set in error messages)."""
    inputs: dict[str, InputSpec] = {}
    for section in ("required", "optional"):
        sec = inp.get(section) or {}
        if not isinstance(sec, dict):
            raise ValueError(
                f"node {class_type!r}{where}: input section {section!r} is not an object"
            )
        for name in _ordered_names(sec, order.get(section) if order else None):
            if name in inputs:  # required wins, as in ComfyUI's get_input_info
                continue
            inputs[name] = _parse_input(class_type, name, section, sec[name], extra)
    return inputs


def _parse_outputs(
    class_type: str, raw: Mapping[str, Any], notes: list[str] | None
) -> tuple[OutputSpec, ...]:
    out_types = raw.get("output") or []
    names = raw.get("output_name")
    if isinstance(out_types, str):
        # RETURN_TYPES = ("X") without the comma: a string where a tuple was meant
        if notes is not None:
            notes.append(
                f"node {class_type!r}: 'output' is the string {out_types!r}, read as one output"
            )
        out_types = [out_types]
        names = [names] if isinstance(names, str) else names
    if not isinstance(out_types, list):
        raise ValueError(f"node {class_type!r}: 'output' is not a list")

    def column(key: str, value: Any = None) -> list[Any]:
        v = value if value is not None else raw.get(key)
        return v if isinstance(v, list) else []

    names, is_list = column("output_name", names), column("output_is_list")
    tips, mts = column("output_tooltips"), column("output_matchtypes")
    outputs = []
    for i, t in enumerate(out_types):
        choices = None
        if isinstance(t, list):
            choices = tuple(t)
            t = "COMBO"
        elif not isinstance(t, str):
            raise ValueError(f"node {class_type!r}: output {i} has type {t!r}")
        outputs.append(
            OutputSpec(
                index=i,
                type=t,
                name=names[i] if i < len(names) and isinstance(names[i], str) and names[i] else t,
                is_list=bool(is_list[i]) if i < len(is_list) else False,
                tooltip=tips[i] if i < len(tips) and isinstance(tips[i], str) else None,
                choices=choices,
                matchtype=mts[i] if i < len(mts) and isinstance(mts[i], str) else None,
            )
        )
    return tuple(outputs)


class Spec(Mapping[str, NodeSpec]):
    """A set of node specs keyed by ``class_type``: one server's ``/object_info``, or several
    merged. Read-only mapping; build with :meth:`from_dict`, :func:`load_spec` or :meth:`merge`.
    """

    __slots__ = ("_nodes", "_deferred", "warnings", "source", "_generation")

    def __init__(
        self,
        nodes: Mapping[str, NodeSpec],
        warnings_: Iterable[str] = (),
        source: str = "<memory>",
    ) -> None:
        self._nodes: dict[str, NodeSpec] = dict(nodes)
        #: every entry, in the document's order, of a spec parsed on first use (see
        #: :meth:`_parsed_on_use`); ``None`` when all entries are in ``_nodes``
        self._deferred: dict[str, Any] | None = None
        self.warnings: list[str] = list(warnings_)
        self.source = source
        self._generation: int | None = None

    @classmethod
    def _parsed_on_use(cls, data: dict[str, Any], source: str) -> Spec:
        """A spec whose entries are parsed when first asked for: for the bundled specs only,
        which parse without a warning (tested), so that nothing is said later. A command
        needs a few dozen of the spec's classes; parsing all of them costs more than
        reading the file."""
        sp = cls({}, (), source)
        sp._deferred = data
        return sp

    def _parse(self, key: str) -> NodeSpec:
        assert self._deferred is not None
        ns = self._nodes[key] = parse_node(key, self._deferred[key])
        return ns

    def raw_entry(self, key: str) -> Any:
        """The ``/object_info`` entry of ``key`` as the document has it (unparsed)."""
        if self._deferred is not None:
            return self._deferred[key]
        return self._nodes[key].raw

    @property
    def generation(self) -> int:
        """Which ComfyUI backend the spec comes from, by the fields its nodes carry: ``2026``
        when V3 nodes report the 2026 fields (``search_aliases``, ``dev_only``, ...), else
        ``2025``. Validation follows that server (docs/dynamic_inputs.md): a 2026 server
        expands V3 dynamic inputs, checks new-style COMBOs and lets MatchType links pass."""
        if self._generation is None:
            gen = 2025
            raws = (
                self._deferred.values()
                if self._deferred is not None
                else (ns.raw for ns in self._nodes.values())
            )
            for raw in raws:
                if isinstance(raw, Mapping) and ("search_aliases" in raw or "dev_only" in raw):
                    gen = 2026
                    break
            self._generation = gen
        return self._generation

    @classmethod
    def from_dict(cls, data: Any, source: str = "<memory>", *, warn: bool = True) -> Spec:
        """Build a spec from a parsed ``/object_info`` document. Malformed entries are skipped,
        each with a :class:`SpecWarning` naming it (also kept in ``.warnings``)."""
        if not isinstance(data, dict):
            raise SpecError(
                f"{source}: a node spec must be a JSON object, not {type(data).__name__}"
            )
        nodes: dict[str, NodeSpec] = {}
        msgs: list[str] = []
        for key, raw in data.items():
            if not isinstance(key, str) or not key:
                msgs.append(f"{source}: skipped node with an empty or non-string name {key!r}")
                continue
            try:
                notes: list[str] = []
                nodes[key] = parse_node(key, raw, notes)
                msgs.extend(f"{source}: {n}" for n in notes)
            except (ValueError, TypeError, AttributeError, KeyError) as exc:
                msgs.append(f"{source}: skipped {exc}")
        if warn:
            for m in msgs:
                warnings.warn(m, SpecWarning, stacklevel=3)
        return cls(nodes, msgs, source)

    @classmethod
    def merge(cls, *specs: Spec) -> Spec:
        """Merge specs; a later spec's node replaces an earlier one of the same ``class_type``."""
        nodes: dict[str, NodeSpec] = {}
        msgs: list[str] = []
        for sp in specs:
            nodes.update(sp.items())
            msgs.extend(sp.warnings)
        return cls(nodes, msgs, " + ".join(sp.source for sp in specs))

    def __getitem__(self, key: str) -> NodeSpec:
        ns = self.get(key)
        if ns is None:
            raise KeyError(key)
        return ns

    def __iter__(self) -> Iterator[str]:
        return iter(self._deferred if self._deferred is not None else self._nodes)

    def __len__(self) -> int:
        return len(self._deferred if self._deferred is not None else self._nodes)

    def __contains__(self, key: object) -> bool:
        if self._deferred is not None:
            return key in self._deferred
        return key in self._nodes

    @overload
    def get(self, key: str, /) -> NodeSpec | None: ...

    @overload
    def get(self, key: str, default: NodeSpec | _T, /) -> NodeSpec | _T: ...

    def get(self, key: str, default: Any = None, /) -> Any:
        """The node spec of ``key``, else ``default`` (a dict lookup: the converter and
        the validator ask for every node)."""
        ns = self._nodes.get(key)
        if ns is not None:
            return ns
        if self._deferred is not None and key in self._deferred:
            return self._parse(key)
        return default

    def __repr__(self) -> str:
        return f"<Spec {self.source!r}: {len(self)} node classes>"


def _fetch_object_info(url: str, timeout: float) -> Any:
    import httpx  # imported here: httpx costs ~100 ms of import time

    u = url.rstrip("/")
    if not u.endswith("/object_info"):
        u += "/object_info"
    try:
        resp = httpx.get(u, timeout=timeout, follow_redirects=True)
        resp.raise_for_status()
        return resp.json()
    except httpx.HTTPError as exc:
        raise SpecError(f"{u}: could not fetch the node spec: {exc}") from None
    except ValueError as exc:
        raise SpecError(f"{u}: the server's /object_info is not JSON: {exc}") from None


def load_spec(*sources: str | os.PathLike[str] | Mapping[str, Any], timeout: float = 30.0) -> Spec:
    """Load and merge node specs from files, ``http(s)://`` server URLs (``GET /object_info``)
    or already-parsed dicts. With no source, returns the bundled core spec. Later sources win.
    """
    if not sources:
        return core_spec()
    specs = []
    for src in sources:
        if isinstance(src, Mapping):
            specs.append(Spec.from_dict(dict(src)))
            continue
        s = os.fspath(src)
        if s.startswith(("http://", "https://")):
            specs.append(Spec.from_dict(_fetch_object_info(s, timeout), source=s))
            continue
        if s in CORE_SPECS or s in _CORE_ALIASES:
            specs.append(core_spec(s))
            continue
        try:
            text = Path(s).read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"{s}: cannot read the node spec: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise SpecError(
                f"{s}: the node spec is not a text file (UTF-8 JSON expected)"
            ) from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SpecError(f"{s}: the node spec is not valid JSON: {exc}") from None
        specs.append(Spec.from_dict(data, source=s))
    return specs[0] if len(specs) == 1 else Spec.merge(*specs)


#: The bundled core specs by name: ``"core"`` is today's ComfyUI (a 2026 server: V3 dynamic
#: inputs), ``"core-2025"`` ComfyUI of October 2025 (backend a125cd84), for older servers.
CORE_SPECS = {"core": "comfyui_core.json", "core-2025": "comfyui_core_2025.json"}
_CORE_ALIASES = {":core:": "core", "core-2026": "core", "latest": "core"}


def is_core_name(name: str) -> bool:
    """True for a bundled spec's name (``core``, ``core-2025``, ``latest``, ...)."""
    return name in CORE_SPECS or name in _CORE_ALIASES


def core_spec_path(name: str = "core") -> Path:
    """Where a bundled core spec (``nodes_spec/comfyui_core*.json``) is."""
    fname = CORE_SPECS[_CORE_ALIASES.get(name, name)]
    here = Path(__file__).resolve().parent
    installed = here / "nodes_spec" / fname
    if installed.is_file():
        return installed
    return here.parent / "nodes_spec" / fname


@lru_cache(maxsize=4)
def core_spec(name: str = "core") -> Spec:
    """A bundled spec of core ComfyUI, derived from a real server's ``/object_info``:
    ``"core"`` (the default) is today's ComfyUI, ``"core-2025"`` that of October 2025."""
    key = _CORE_ALIASES.get(name, name)
    if key not in CORE_SPECS:
        raise SpecError(
            f"{name!r} is not a bundled spec; use one of {', '.join(sorted(CORE_SPECS))}"
        )
    p = core_spec_path(key)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:  # pragma: no cover - a broken install
        raise SpecError(f"{p}: the bundled core spec is missing: {exc}") from None
    if not isinstance(data, dict):  # pragma: no cover - a broken install
        raise SpecError(f"{p}: the bundled core spec is not a JSON object")
    return Spec._parsed_on_use(data, "comfyui_core" if key == "core" else f"comfyui_{key}")
