"""Generate typed Python node classes from a node spec.

Two phases, as in openapi-python-client: :func:`build_package` turns a :class:`Spec` into plain
records (:class:`ClassModel`, :class:`ModuleModel`) with every identifier sanitised and every
literal already written; small jinja2 templates then lay the records out. Output is
deterministic (same spec, same bytes), formatted (stable under ``ruff format``), typed, and
marked as generated.

The package written has one module per group of nodes (by ``python_module``, else by top-level
category; large groups are split), and an ``__init__`` that loads them lazily (PEP 562) while
declaring every name for type checkers and IDEs.
"""

from __future__ import annotations

import ast
import math
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from ..spec import AutogrowSpec, DynamicComboSpec, InputSpec, MatchTypeSpec, NodeSpec, Spec
from .names import Namer, class_name, docstring, identifier, is_literal_safe, literal, snake, wrap

__all__ = ["build_package", "render_package", "generate", "ClassModel", "ModuleModel"]

#: nodes per generated module at most
MODULE_SIZE = 80

#: names a generated module imports, and attribute names of the node base classes: no
#: generated class, output or input attribute may take them
_MODULE_NAMES = frozenset(
    {
        "annotations",
        "Any",
        "ClassVar",
        "Literal",
        "TypeAlias",
        "PathLike",
        "InputRef",
        "Node",
        "Output",
        "SingleOutputNode",
    }
)
_NODE_ATTRS = frozenset(
    {
        "id",
        "inputs",
        "title",
        "meta",
        "workflow",
        "class_type",
        "outputs",
        "output",
        "input",
        "set_input",
        "node",
        "index",
        "type",
        "name",
        "ref",
        "mro",
    }
)
_PARAM_RESERVED = frozenset({"self", "title", "node_id"})
#: names used in annotations inside a class body: no class attribute may shadow them
_ANNOTATION_NAMES = frozenset({"int", "float", "str", "bool", "None", "Any", "Literal", "Output"})

_PY_TYPES = {"INT": "int", "FLOAT": "float", "STRING": "str", "BOOLEAN": "bool"}


@attrs.define
class ParamModel:
    """One keyword argument of a generated ``__init__``."""

    py: str
    wire: str
    annotation: str
    default: str | None  # source text, None when required
    widget: bool
    meta: str  # source of the _inputs_ tuple entry
    dynamic: str | None = None  # source of the _dynamic_ entry (V3 dynamic inputs)

    @property
    def wire_lit(self) -> str:
        """The wire name as a Python string literal."""
        return literal(self.wire)


@attrs.define
class OptionModel:
    """One option of a DynamicCombo input: a class whose keyword arguments are the inputs the
    option brings (``ResizeImageMaskNode.ResizeType.ScaleLongerDimension(longer_size=2048)``)."""

    name: str
    key_lit: str
    base: str  # the private per-input base class (what the input's annotation names)
    doc: str
    params: list[ParamModel]
    namespaces: list[NamespaceModel]


@attrs.define
class NamespaceModel:
    """The options of one DynamicCombo input, as a class holding one class per option."""

    name: str
    wire: str
    doc: str
    options: list[OptionModel]


@attrs.define
class ClassModel:
    """One generated node class."""

    name: str
    class_type: str
    base: str
    doc: str
    params: list[ParamModel]
    dict_order: list[ParamModel]
    outputs: list[tuple[str, str, str]]  # (attribute, annotation, meta source)
    input_attrs: list[str]
    aliases: list[tuple[str, str, str]]  # (alias name, Literal source, public class attribute)
    output_matchtypes: str | None = None  # source of _output_matchtypes_, when any
    namespaces: list[NamespaceModel] = attrs.field(factory=list)
    option_bases: list[tuple[str, str]] = attrs.field(factory=list)  # (name, docstring)
    #: (name, TypeVar source, used by an input) of the MatchType templates
    typevars: list[tuple[str, str, bool]] = attrs.field(factory=list)

    @property
    def dynamic_params(self) -> list[ParamModel]:
        """The V3 dynamic inputs."""
        return [p for p in self.params if p.dynamic is not None]


@attrs.define
class ModuleModel:
    """One generated module."""

    name: str
    title: str
    classes: list[ClassModel]

    @property
    def uses_dynamic(self) -> bool:
        """True when a class of the module has a V3 dynamic input."""
        return any(c.dynamic_params for c in self.classes)

    @property
    def uses_typevars(self) -> bool:
        """True when a class of the module is generic in a MatchType template."""
        return any(c.typevars for c in self.classes)

    @property
    def uses_pathlike(self) -> bool:
        """True when an input of the module takes a local file (``PathLike``)."""
        return any("PathLike[" in p.annotation for c in self.classes for p in c.params)

    @property
    def uses_aliases(self) -> bool:
        """True when a class of the module has a combo with a ``Literal`` alias."""
        return any(c.aliases for c in self.classes)


@attrs.define
class PackageModel:
    """The whole generated package."""

    name: str
    source: str
    modules: list[ModuleModel]
    index: list[tuple[str, str, str]]  # (class name, module, class_type)

    @property
    def source_lit(self) -> str:
        """The spec's source as a literal, safe in a comment or a docstring: credentials and
        query strings of URLs are dropped, and only plain characters are kept."""
        src = re.sub(r"//[^/@]*@", "//", self.source.split("?")[0])
        return literal(re.sub(r"[^0-9A-Za-z_./:+ -]", "_", src))


# ---------------------------------------------------------------------------------------------
# phase 1: spec -> records


def _out_type_literal(t: Any) -> str:
    if t == "*" or t == "COMFY_MATCHTYPE_V3" or not isinstance(t, str):
        return "Output[Any]"
    parts = sorted({p.strip() for p in t.split(",") if p.strip()})
    if "*" in parts or not parts:
        return "Output[Any]"
    return "Output[Literal[" + ", ".join(literal(p) for p in parts) + "]]"


def _choices_literal(choices: tuple[Any, ...]) -> str | None:
    if not choices:
        return None
    if all(isinstance(c, str) for c in choices) or all(
        isinstance(c, int) and not isinstance(c, bool) for c in choices
    ):
        uniq = list(dict.fromkeys(choices))
        return wrap("Literal[", [literal(c) for c in uniq], "]", 0)
    return None


def _value_ok(inp: InputSpec, value: Any) -> bool:
    """Whether a spec default passes the checks the DSL applies to user values."""
    if not is_literal_safe(value) or value is None:
        return False
    t = inp.type
    if t == "INT" and (isinstance(value, bool) or not isinstance(value, int)):
        return False
    if t == "FLOAT" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return False
    if t == "STRING" and not isinstance(value, str):
        return False
    if t == "BOOLEAN" and not isinstance(value, bool):
        return False
    if t == "COMBO":
        if inp.file_kind is not None:
            return False
        if inp.choices is not None and value not in inp.choices:
            return False
    try:
        if isinstance(inp.min, (int, float)) and value < inp.min:
            return False
        if isinstance(inp.max, (int, float)) and value > inp.max:
            return False
    except TypeError:
        return False
    return not isinstance(value, (list, dict))


def _bound(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return "None"
    if isinstance(v, float) and not math.isfinite(v):
        return "None"
    return literal(v)


_PRUNED_OPTIONS = frozenset({"tooltip", "display_name", "advanced", "placeholder", "multiline"})


def _prune(raw: Any) -> Any:
    """A dynamic input's raw spec without display-only options (kept small in the class)."""
    if isinstance(raw, dict):
        return {k: _prune(v) for k, v in raw.items() if k not in _PRUNED_OPTIONS}
    if isinstance(raw, (list, tuple)):
        return [_prune(v) for v in raw]
    return raw


def _dynamic_annotation(inp: InputSpec, option_base: str | None = None) -> tuple[str, str | None]:
    """(annotation, default source) of a V3 dynamic input's keyword argument; a DynamicCombo
    takes its option keys or an instance of ``option_base`` (the base of its option classes)."""
    dyn = inp.dynamic
    if isinstance(dyn, AutogrowSpec):
        item = _param_annotation(dyn.template)
        ann = f"Sequence[{item}] | Mapping[str, {item}]"
        required = dyn.template.section == "required" and dyn.min > 0 and inp.required
        return (ann, None) if required else (ann + " | None", "None")
    if isinstance(dyn, DynamicComboSpec):
        keys = tuple(k for k in dyn.keys if isinstance(k, str))
        lit = _choices_literal(keys) or "str"
        ann = f"{lit} | {option_base}" if option_base else f"{lit} | DynamicOption"
        if not inp.required:
            return ann + " | None", "None"
        d = inp.default if inp.default in keys else (keys[0] if keys else None)
        return ann, (literal(d) if d is not None else None)
    if isinstance(dyn, MatchTypeSpec):
        allowed = dyn.allowed_types
        ann = _out_type_literal(",".join(sorted(allowed))) if allowed else "Any"
        if not inp.required:
            return ann + " | None", "None"
        return ann, None
    return "Any", None


def _param_annotation(inp: InputSpec, combo_alias: str | None = None) -> str:
    """The annotation of a plain (non-dynamic) input's value, without ``| None``; a COMBO's
    choices are ``combo_alias`` (a module-level ``Literal`` alias) when given, else inline."""
    t = inp.type
    if t == "COMBO":
        lit = combo_alias or (None if inp.file_kind else _choices_literal(inp.choices or ()))
        if inp.file_kind == "input" and inp.has_upload:  # a local file, uploaded on submit
            lit = "str | PathLike[str]"
        return f'{lit or ("str" if inp.file_kind or not inp.choices else "Any")} | Output[Literal["COMBO"]]'
    if t in _PY_TYPES:
        return f"{_PY_TYPES[t]} | {_out_type_literal(t)}"
    if t == "*":
        return "Any"
    if "," in t and all(p.strip() in _PY_TYPES for p in t.split(",")):
        vt = " | ".join(dict.fromkeys(_PY_TYPES[p.strip()] for p in t.split(",")))
        return f"{vt} | {_out_type_literal(t)}"
    if inp.is_widget:
        # a MultiType with a widget (``widgetType``): a constant is the widget's
        vt = _PY_TYPES.get(inp.widget_type or "", "Any")
        return f"{vt} | {_out_type_literal(t)}"
    return _out_type_literal(t)


def _param(
    inp: InputSpec,
    py: str,
    cls: str,
    aliases: list[tuple[str, str]],
    option_base: str | None = None,
    typevars: Mapping[str, tuple[str, str, bool]] | None = None,
) -> ParamModel:
    t = inp.type
    widget = inp.is_widget
    choices_src = "None"
    if inp.dynamic is not None:
        ann, dflt = _dynamic_annotation(inp, option_base)
        tv = (typevars or {}).get(getattr(inp.dynamic, "template_id", ""))
        if isinstance(inp.dynamic, MatchTypeSpec) and tv is not None:
            ann = f"Output[{tv[0]}]"
            if inp.dynamic.allowed_types is None:
                ann += " | str | int | float | bool"  # any type: a constant too
            ann += " | None" if dflt == "None" else ""
        return ParamModel(
            py=py,
            wire=inp.name,
            annotation=ann,
            default=dflt,
            widget=isinstance(inp.dynamic, DynamicComboSpec),
            meta=_decl(inp.name, py, literal(t), inp.required, False),
            dynamic=literal((inp.section, t, _prune(inp.options))),
        )
    alias = None
    if t == "COMBO":
        lit = None if inp.file_kind else _choices_literal(inp.choices or ())
        if lit is not None:
            # a module-level alias: the annotation, and (via typing.get_args) the runtime check
            alias = f"_{cls}_{py}"
            aliases.append((alias, lit))
            choices_src = alias
        elif inp.file_kind is None and inp.choices and is_literal_safe(tuple(inp.choices)):
            choices_src = literal(tuple(inp.choices))
    ann = _param_annotation(inp, alias)
    default: str | None = None
    if not inp.required:
        ann += " | None"
        default = "None"
    elif inp.has_default and (widget or t in _PY_TYPES) and _value_ok(inp, inp.default):
        default = literal(inp.default)
    elif t == "COMBO" and inp.file_kind is None and inp.choices and _value_ok(inp, inp.choices[0]):
        default = literal(inp.choices[0])  # the editor's default: the first choice
    meta = _decl(
        inp.name,
        py,
        literal(t) if isinstance(t, str) else "None",
        inp.required,
        widget,
        min_=_bound(inp.min),
        max_=_bound(inp.max),
        choices=choices_src,
        file_kind=literal(inp.file_kind) if inp.file_kind else "None",
    )
    return ParamModel(
        py=py, wire=inp.name, annotation=ann, default=default, widget=widget, meta=meta
    )


def _decl(
    wire: str,
    py: str,
    type_src: str,
    required: bool,
    widget: bool,
    *,
    min_: str = "None",
    max_: str = "None",
    choices: str = "None",
    file_kind: str = "None",
) -> str:
    """The source of an ``InputDecl``: the wire name, then only the fields that are not their
    defaults, by keyword."""
    items = [literal(wire)]
    if py != wire:
        items.append(f"py={literal(py)}")
    fields = [
        ("type", type_src, "None"),
        ("required", str(required), "False"),
        ("widget", str(widget), "False"),
        ("min", min_, "None"),
        ("max", max_, "None"),
        ("choices", choices, "None"),
        ("file_kind", file_kind, "None"),
    ]
    items += [f"{k}={v}" for k, v, default in fields if v != default]
    return wrap("InputDecl(", items, ")", 8)


def _matchtype_vars(ns: NodeSpec, cls: str) -> dict[str, tuple[str, str, bool]]:
    """template id -> (TypeVar name, its source, used by an input) for a node's MatchType
    inputs and outputs: the output's static type follows what is plugged into the inputs of
    its template (bound to the allowed types when the spec lists them)."""
    allowed: dict[str, frozenset[str] | None] = {}
    used: set[str] = set()
    for inp in ns.inputs.values():
        if isinstance(inp.dynamic, MatchTypeSpec):
            tid = inp.dynamic.template_id
            used.add(tid)
            prev = allowed.get(tid)
            allowed[tid] = inp.dynamic.allowed_types if tid not in allowed else prev
    namer = Namer()
    out = {}
    for tid, types in allowed.items():
        name = namer(f"_{cls}_{identifier(tid, fallback='T')}")
        bound = ""
        if types:
            bound = ", bound=Literal[" + ", ".join(literal(x) for x in sorted(types)) + "]"
        out[tid] = (name, f"{name} = TypeVar({literal(name)}{bound})", True)
    return out


def _camel(key: Any) -> str:
    words = [w for w in re.split(r"[^0-9A-Za-z]+", str(key)) if w]
    return "".join(w[0].upper() + w[1:] for w in words) or "Option"


def _sub_param(inp: InputSpec, py: str, option_base: str | None) -> ParamModel:
    """A keyword argument of an option class: every sub-input is optional there (left out,
    it takes the editor's default when it has a widget)."""
    if inp.dynamic is not None:
        ann, _ = _dynamic_annotation(inp, option_base)
    else:
        ann = _param_annotation(inp)
    if not ann.endswith("| None"):
        ann += " | None"
    return ParamModel(py=py, wire=inp.name, annotation=ann, default="None", widget=False, meta="")


def _namespace(
    inp: InputSpec,
    owner: str,
    base_prefix: str,
    bases: list[tuple[str, str]],
    mod_names: Namer,
    taken: Namer,
) -> tuple[NamespaceModel, str]:
    """The namespace class of a DynamicCombo input and its option classes (recursively), and
    the name of the private base class of its options (appended to ``bases``)."""
    dyn = inp.dynamic
    assert isinstance(dyn, DynamicComboSpec)
    base = mod_names(f"_{base_prefix}_{identifier(inp.name, fallback='option')}")
    bases.append((base, docstring(f"An option of input {inp.name!r} of {owner}.")))
    ns_name = taken(class_name(_camel(inp.name), reserved=_ANNOTATION_NAMES))
    onamer = Namer({"key", "values", "_by_key_"} | set(_ANNOTATION_NAMES))
    options = []
    for opt in dyn.options:
        oname = onamer(class_name(_camel(opt.key), reserved=_ANNOTATION_NAMES))
        pnamer = Namer(_PARAM_RESERVED | {"self", "key", "values"})
        inner_taken = Namer({oname, "key", "values"})
        params: list[ParamModel] = []
        namespaces: list[NamespaceModel] = []
        for sub in opt.inputs.values():
            py = pnamer(identifier(sub.name, fallback="input", reserved=_PARAM_RESERVED))
            sub_base = None
            if isinstance(sub.dynamic, DynamicComboSpec):
                child, sub_base = _namespace(
                    sub,
                    f"{owner}.{ns_name}.{oname}",
                    f"{base[1:]}_{_camel(opt.key)}",
                    bases,
                    mod_names,
                    inner_taken,
                )
                namespaces.append(child)
            params.append(_sub_param(sub, py, sub_base))
        options.append(
            OptionModel(
                name=oname,
                key_lit=literal(opt.key),
                base=base,
                doc=docstring(f"Option {opt.key!r} of input {inp.name!r}."),
                params=params,
                namespaces=namespaces,
            )
        )
    model = NamespaceModel(
        name=ns_name,
        wire=inp.name,
        doc=docstring(
            f"The options of input {inp.name!r}: one class each, taking the inputs the option "
            "brings."
        ),
        options=options,
    )
    return model, base


def _class_doc(
    ns: NodeSpec,
    params: list[ParamModel],
    outputs: list[tuple[str, Any, str, str | None]],
    aliases: dict[str, str],
    cls: str,
) -> str:
    head = ns.display_name if ns.display_name else ns.class_type
    lines = [head if head == ns.class_type else f"{head} ({ns.class_type})"]
    if ns.description:
        lines += ["", ns.description.strip()]
    lines += ["", f"Category: {ns.category}"]
    if ns.deprecated:
        lines.append("Deprecated.")
    if params:
        lines += ["", "Args:"]
        for p in params:
            inp = ns.inputs[p.wire]
            tip = inp.tooltip
            label = p.py if p.py == p.wire else f"{p.py} ({p.wire!r})"
            desc = " ".join(tip.split()) if tip else inp.type
            alias = aliases.get(p.py)
            facts = _input_facts(inp, f"{cls}.{alias}" if alias else None)
            lines.append(f"    {label}: {desc}" + (f" {facts}" if facts else ""))
    if outputs:
        lines += ["", "Outputs:"]
        for attr, t, _nm, tip in outputs:
            d = f" - {' '.join(tip.split())}" if tip else ""
            lines.append(f"    {attr} ({t if isinstance(t, str) else 'COMBO'}){d}")
    return "\n".join(lines)


_SHOWN_CHOICES = 6


def _show(v: Any) -> str:
    text = repr(v) if not isinstance(v, float) or v != int(v) or abs(v) >= 1e16 else f"{v:.1f}"
    return text if len(text) <= 60 else text[:57] + "..."


def _input_facts(inp: InputSpec, alias: str | None) -> str:
    """``[optional; default 20; 1 to 10000, step 1; one of 'a', 'b']``: what a user needs to
    give an input a value, from the spec (empty for a plain required socket)."""
    facts = []
    if not inp.required:
        facts.append("optional")
    if inp.is_widget and inp.has_default and is_literal_safe(inp.default):
        facts.append(f"default {_show(inp.default)}")
    lo, hi, step = inp.min, inp.max, inp.step
    if inp.type in ("INT", "FLOAT") and (lo is not None or hi is not None):
        rng = (
            f"{_show(lo) if lo is not None else '-inf'} to {_show(hi) if hi is not None else 'inf'}"
        )
        if isinstance(step, (int, float)) and not isinstance(step, bool) and step not in (0, 1):
            rng += f", step {_show(step)}"
        facts.append(rng)
    if inp.type == "COMBO" and inp.dynamic is None:
        if inp.file_kind:
            facts.append(
                "a file name of the server" + (" or a URL" if inp.file_kind == "model" else "")
            )
        elif inp.choices:
            shown = ", ".join(_show(c) for c in inp.choices[:_SHOWN_CHOICES])
            if len(inp.choices) > _SHOWN_CHOICES:
                shown += f", ... ({len(inp.choices)} choices)"
            facts.append(f"one of {shown}" + (f"; type {alias}" if alias else ""))
    return f"[{'; '.join(facts)}]" if facts else ""


def output_attribute_names(names: Iterable[str]) -> list[str]:
    """The attribute names of a node's outputs: snake_case of ``output_name``, never a name
    of the node base classes or of an annotation, duplicates numbered (``image``,
    ``image_2``). Generated classes and :class:`~cmfy_graph.graph.RawNode` both use it."""
    reserved = _NODE_ATTRS | _ANNOTATION_NAMES
    namer = Namer(reserved)
    return [namer(snake(n, reserved=reserved)) for n in names]


def _build_class(ns: NodeSpec, name: str) -> ClassModel:
    pnamer = Namer(_PARAM_RESERVED)
    params: list[ParamModel] = []
    aliases: list[tuple[str, str]] = []
    namespaces: list[NamespaceModel] = []
    bases: list[tuple[str, str]] = []
    typevars = _matchtype_vars(ns, name)
    mod_names = Namer()
    taken = Namer(_NODE_ATTRS | _ANNOTATION_NAMES | {o.name for o in ns.outputs})
    taken.taken.add(name)
    for inp in ns.inputs.values():
        py = pnamer(identifier(inp.name, fallback="input", reserved=_PARAM_RESERVED))
        option_base = None
        if isinstance(inp.dynamic, DynamicComboSpec):
            model, option_base = _namespace(inp, name, name, bases, mod_names, taken)
            namespaces.append(model)
        params.append(_param(inp, py, name, aliases, option_base, typevars))
    # each combo's Literal, public as a class attribute: ``KSampler.SamplerName``
    public = {
        a: taken(class_name(_camel(a[len(name) + 2 :]), reserved=_ANNOTATION_NAMES))
        for a, _ in aliases
    }
    widgets = [p for p in params if p.widget]
    sockets = [p for p in params if not p.widget]
    attrs_ = output_attribute_names(o.name for o in ns.outputs)
    outs = [(a, o.type, o.name, o.tooltip) for a, o in zip(attrs_, ns.outputs, strict=False)]
    out_tvs = [typevars[o.matchtype][0] if o.matchtype in typevars else None for o in ns.outputs]
    outputs = [
        (
            attr,
            f"Output[{out_tvs[i]}]" if out_tvs[i] else _out_type_literal(t),
            wrap(
                "(",
                [literal(attr), literal(t if isinstance(t, str) else "COMBO"), literal(nm)],
                ")",
                8,
            ),
        )
        for i, (attr, t, nm, _tip) in enumerate(outs)
    ]
    out_attrs = {o[0] for o in outputs}
    input_attrs = [
        p.py
        for p in params
        if p.widget
        and p.py not in out_attrs
        and p.py not in _NODE_ATTRS
        and p.py not in _ANNOTATION_NAMES
        and not p.py.startswith("_")
    ]
    class_vars = list(dict.fromkeys(tv for tv in out_tvs if tv))
    if len(ns.outputs) == 1:
        base = "SingleOutputNode[" + outputs[0][1][7:-1] + "]"
        extra = [v for v in class_vars if v != outputs[0][1][7:-1]]
    else:
        base = "Node"
        extra = class_vars
    if extra:
        base += f", Generic[{', '.join(extra)}]"
    mts = [o.matchtype for o in ns.outputs]
    return ClassModel(
        name=name,
        class_type=literal(ns.class_type),
        base=base,
        doc=docstring(
            _class_doc(ns, params, outs, {a[len(name) + 2 :]: p for a, p in public.items()}, name)
        ),
        params=params,
        dict_order=widgets + sockets,
        outputs=outputs,
        input_attrs=input_attrs,
        aliases=[(a, lit, public[a]) for a, lit in aliases],
        output_matchtypes=literal(tuple(mts)) if any(mts) else None,
        namespaces=namespaces,
        option_bases=bases,
        typevars=[tv for tv in typevars.values() if tv[0] in class_vars or tv[2]],
    )


def _group_key(ns: NodeSpec) -> str:
    pm = ns.raw.get("python_module") if isinstance(ns.raw, dict) else None
    if isinstance(pm, str) and pm:
        key = pm
    else:
        key = ns.category.split("/")[0] if ns.category else "misc"
    return snake(key, fallback="misc").strip("_") or "misc"


def build_package(spec: Spec, package: str = "nodes", source: str | None = None) -> PackageModel:
    """Phase 1: the records of a generated package for ``spec``."""
    cnamer = Namer(_MODULE_NAMES)
    names: dict[str, str] = {}
    for ct in sorted(spec):
        names[ct] = cnamer(class_name(ct, reserved=_MODULE_NAMES))
    groups: dict[str, list[str]] = {}
    for ct in sorted(spec):
        groups.setdefault(_group_key(spec[ct]), []).append(ct)
    modules: list[ModuleModel] = []
    index: list[tuple[str, str, str]] = []
    mnamer = Namer()
    for key in sorted(groups):
        cts = groups[key]
        for start in range(0, len(cts), MODULE_SIZE):
            chunk = cts[start : start + MODULE_SIZE]
            mod = mnamer("_gen_" + key)
            classes = [_build_class(spec[ct], names[ct]) for ct in chunk]
            modules.append(ModuleModel(name=mod, title=key, classes=classes))
            index.extend((names[ct], mod, ct) for ct in chunk)
    index.sort()
    return PackageModel(name=package, source=source or spec.source, modules=modules, index=index)


# ---------------------------------------------------------------------------------------------
# phase 2: records -> text


def _env() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )
    env.filters["pylit"] = literal
    return env


def render_package(model: PackageModel, *, verify: bool = False) -> dict[str, str]:
    """Phase 2: file name -> text of every file of the package. With ``verify``, each module
    is parsed back (safety holds by construction; the tests verify it on hostile specs)."""
    env = _env()
    files: dict[str, str] = {}
    mod_t = env.get_template("module.py.jinja")
    for m in model.modules:
        files[m.name + ".py"] = mod_t.render(module=m, package=model)
    files["__init__.py"] = env.get_template("init.py.jinja").render(package=model)
    files["py.typed"] = ""
    if verify:
        for fname, text in files.items():
            if fname.endswith(".py"):
                ast.parse(text, filename=fname)
    return files


def generate(
    spec: Spec,
    out_dir: str | os.PathLike[str],
    *,
    package: str | None = None,
    source: str | None = None,
    clean: bool = True,
    verify: bool = False,
) -> list[Path]:
    """Generate the package for ``spec`` into ``out_dir`` (its name is the package name,
    unless ``package`` is given). Old generated modules there are removed when ``clean``.
    Returns the paths written."""
    out = Path(out_dir)
    name = package or out.resolve().name
    if not name.isidentifier():
        name = identifier(name, fallback="nodes")
    files = render_package(build_package(spec, name, source), verify=verify)
    out.mkdir(parents=True, exist_ok=True)
    if clean:
        for old in out.glob("_gen_*.py"):
            old.unlink()
        cache = out / "__pycache__"
        if cache.is_dir():
            shutil.rmtree(cache, ignore_errors=True)
    written = []
    for fname, text in sorted(files.items()):
        p = out / fname
        with open(p, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        written.append(p)
    return written
