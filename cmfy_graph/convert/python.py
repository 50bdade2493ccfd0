"""API prompt -> a readable Python script that builds the same prompt with the DSL.

The script imports the generated node classes (``from cmfy_graph.nodes import KSampler``),
names each node after its title (or its class) in snake_case, passes links as output handles
(``ckpt.model``; a single-output node is passed as itself) and leaves out every argument equal
to the class's default. Nodes are created in dependency order; node ids that the DSL's own
numbering ("1", "2", ... in creation order) would not give are kept with ``node_id=``.

Each node is checked by building it with the DSL first; a node the generated class cannot
express exactly (a class the core spec does not have, an input it does not declare, a value
outside its choices or range, a link of a type it refuses, a link that closes a cycle) is
written with the escape hatch ``node("ClassType", ...)`` instead, so the script compiles back
to the same prompt. A link that closes a cycle is set with ``set_input`` once both nodes exist.
The one thing a script cannot build is a link to a node or output that does not exist: it is
left out, with a comment and a warning.
"""

from __future__ import annotations

import json
import keyword
import re
import warnings as _warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConversionError
from ..graph import JSON_NULL, is_link

if TYPE_CHECKING:
    from ..spec import Spec

__all__ = ["prompt_to_python"]

_RESERVED = frozenset(
    {"wf", "Workflow", "node", "json", "print", "id", "type", "input", "list", "dict", "str"}
    | set(dir(__builtins__) if isinstance(__builtins__, dict) else dir(__import__("builtins")))
)


def _snake(text: str) -> str:
    """A variable name from a title ("Load LoRA" -> ``load_lora``) or a class name
    ("KSamplerSelect" -> ``ksampler_select``)."""
    s = text.strip()
    if re.fullmatch(r"[0-9A-Za-z_]+", s):  # a class name: split its camel case
        s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s)
        s = re.sub(r"([A-Z]{2,})([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"[^0-9A-Za-z]+", "_", s).strip("_").lower()
    s = re.sub(r"_+", "_", s)
    if not s:
        s = "node"
    if s[0].isdigit():
        s = "n_" + s
    if keyword.iskeyword(s) or keyword.issoftkeyword(s):
        s += "_"
    return s


class _Namer:
    def __init__(self, reserved: set[str]) -> None:
        self.used = set(reserved)

    def __call__(self, base: str) -> str:
        name = base
        if name in self.used:
            i = 2
            while f"{base}_{i}" in self.used:
                i += 1
            name = f"{base}_{i}"
        self.used.add(name)
        return name


def _unwrap(v: Any) -> Any:
    if isinstance(v, dict) and set(v) == {"__value__"} and isinstance(v["__value__"], list):
        return v["__value__"]
    return v


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b  # JSON has one number type: 1 and 1.0 are the same value
    return type(a) is type(b) and a == b


def _order(prompt: Mapping[str, Any]) -> tuple[list[str], set[tuple[str, str]]]:
    """Creation order (dependencies first, else prompt order) and the back edges
    (consumer id, input name) that close a cycle."""
    ids = list(prompt)
    state: dict[str, int] = {}
    order: list[str] = []
    back: set[tuple[str, str]] = set()
    for root in ids:
        if root in state:
            continue
        stack: list[tuple[str, list[tuple[str, str]]]] = []

        def deps(nid: str) -> list[tuple[str, str]]:
            ins = prompt[nid].get("inputs")
            out = []
            if isinstance(ins, Mapping):
                for k, v in ins.items():
                    if is_link(v) and v[0] in prompt:
                        out.append((k, v[0]))
            out.reverse()
            return out

        state[root] = 1
        stack.append((root, deps(root)))
        while stack:
            nid, pending = stack[-1]
            if pending:
                k, src = pending.pop()
                st = state.get(src)
                if st is None:
                    state[src] = 1
                    stack.append((src, deps(src)))
                elif st == 1:
                    back.add((nid, k))
                continue
            stack.pop()
            state[nid] = 2
            order.append(nid)
    return order, back


def _literal(v: Any) -> str:
    """Python source for a JSON value; strings in double quotes where that is exact."""
    if isinstance(v, str):
        text = json.dumps(v, ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: repr escapes it
            return repr(v)
        return text
    if isinstance(v, list):
        return "[" + ", ".join(_literal(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(x)}" for k, x in v.items()) + "}"
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return f'float("{v}")'
    return repr(v)


def prompt_to_python(
    prompt: Mapping[str, Any],
    spec: Spec | None = None,
    *,
    name: str | None = None,
    warnings: list[str] | None = None,
) -> str:
    """Write an API prompt (or a request body ``{"prompt": ...}``) as a Python script that
    builds it with the generated node classes. ``spec`` is accepted for symmetry with the other
    converters (the generated classes carry their own spec); ``name`` goes into the module
    docstring.
    Raises :class:`~cmfy_graph.errors.ConversionError` when a node is not an object with a
    string ``class_type``. A link to a node or output the prompt does not have cannot be
    built by a script: it is left out, with a comment in the script and a warning (appended
    to ``warnings`` when given, else a :class:`~cmfy_graph.convert.ui.ConversionWarning`)."""
    from .. import nodes as gen
    from ..graph import Node, Output, RawNode, SingleOutputNode, Workflow
    from ..graph import node as raw_node

    if isinstance(prompt, Mapping) and isinstance(prompt.get("prompt"), Mapping):
        prompt = prompt["prompt"]
    if not isinstance(prompt, Mapping):
        raise ConversionError(f"an API prompt is a JSON object, not {type(prompt).__name__}")
    for nid, entry in prompt.items():
        if not isinstance(entry, Mapping):
            raise ConversionError(f"node {nid}: expected an object, got {type(entry).__name__}")
        if not isinstance(entry.get("class_type"), str):
            raise ConversionError(f"node {nid}: class_type is missing or not a string")
        if entry.get("inputs") is not None and not isinstance(entry.get("inputs"), Mapping):
            raise ConversionError(f"node {nid} ({entry['class_type']}): inputs is not an object")

    order, back = _order(prompt)
    namer = _Namer(set(_RESERVED))
    var: dict[str, str] = {}
    class_names: dict[str, str] = {}
    lines: list[str] = []
    after: list[tuple[str, str, Any]] = []

    def report(msg: str) -> None:
        if warnings is not None:
            warnings.append(msg)
        else:
            from .ui import ConversionWarning

            _warnings.warn(msg, ConversionWarning, stacklevel=3)

    imports: set[str] = set()
    need_raw = False
    scratch = Workflow()
    built: dict[str, Any] = {}  # id -> scratch node
    next_auto = 1
    taken: set[str] = set()
    node_attrs = set(dir(Node)) | set(dir(SingleOutputNode)) | set(dir(RawNode))

    def has_slot(src_id: str, slot: int) -> bool:
        s = built[src_id]
        if isinstance(s, RawNode):
            return s._raw_outputs is None or slot < len(s._raw_outputs)
        return slot < len(type(s)._outputs_)

    def ref(src_id: str, slot: int) -> tuple[str, Any]:
        """Source text and scratch handle for the link [src_id, slot]."""
        s = built[src_id]
        v = var[src_id]
        if isinstance(s, RawNode):
            return f"{v}[{slot}]", s.output(slot)
        if isinstance(s, SingleOutputNode) and slot == 0:
            return v, s
        outs = type(s)._outputs_
        if slot < len(outs):
            py = outs[slot][0]
            if py.isidentifier() and py not in node_attrs and not py.startswith("_"):
                return f"{v}.{py}", s.output(slot)
        return f"{v}[{slot}]", s.output(slot)

    for nid in order:
        entry = prompt[nid]
        ct: str = entry["class_type"]
        raw_inputs: Mapping[str, Any] = entry.get("inputs") or {}
        meta = entry.get("_meta")
        title: str | None = None
        meta_stmt: str | None = None
        if isinstance(meta, Mapping) and set(meta) == {"title"} and isinstance(meta["title"], str):
            title = meta["title"]
        elif meta is not None:
            meta_stmt = _literal(meta)
        # variable name
        base = title if title and title.strip() else ct
        v = namer(_snake(base))
        var[nid] = v
        # node id: keep it when the DSL's numbering would not give it
        while str(next_auto) in taken:
            next_auto += 1
        explicit_id = nid != str(next_auto)
        if not explicit_id:
            next_auto += 1
        taken.add(nid)

        # split inputs
        links: dict[str, tuple[str, Any]] = {}
        consts: dict[str, Any] = {}
        deferred: dict[str, Any] = {}
        for k, val in raw_inputs.items():
            if is_link(val) and val[0] in built and not has_slot(val[0], val[1]):
                deferred[k] = val  # a link to an output the node does not have
            elif is_link(val) and val[0] in built and (nid, k) not in back:
                links[k] = ref(val[0], val[1])
            elif is_link(val) and val[0] in prompt and (nid, k) in back:
                deferred[k] = val  # closes a cycle: set after both nodes exist
            elif isinstance(val, list):
                deferred[k] = val  # a broken link
            else:
                consts[k] = val

        extras: dict[str, Any] = {}  # inputs the class does not declare (editor-only, variadic)
        cls = None
        if ct in gen.CLASS_TYPES:
            try:
                cls = gen.by_class_type(ct)
            except (KeyError, AttributeError):  # pragma: no cover
                cls = None
        typed_ok = False
        args: list[str] = []
        closes_cycle = any((nid, k) in back for k in raw_inputs)
        if cls is not None and not closes_cycle:
            # an input the class does not declare (the editor's ``audioUI``, a variadic node's
            # extra links) is set after construction with ``set_input(..., raw=True)``
            decls = cls.input_decls()
            declared = {m.wire for m in decls}
            dyn_args: dict[str, tuple[Any, str]] = {}
            for wire in cls.__dict__.get("_dynamic_") or {}:
                got_arg = _dynamic_arg(cls, wire, raw_inputs, links, consts)
                if got_arg is not None:
                    dyn_args[wire] = (got_arg[0], got_arg[1])
                    declared |= got_arg[2]
            extras = {
                k: raw_inputs[k]
                for k in raw_inputs
                if (k not in declared or raw_inputs[k] is None) and k not in deferred
            }
            defaults = cls.__init__.__kwdefaults__ or {}
            kwargs: dict[str, Any] = {}
            for m in decls:
                wire, py = m.wire, m.py
                if wire in extras:
                    kwargs[py] = None  # sent as null: set after construction
                    if py not in defaults or defaults[py] is not None:
                        args.append(f"{py}=None")
                elif wire in dyn_args:
                    kwargs[py], text = dyn_args[wire]
                    if py in defaults and text == _literal(defaults[py]):
                        continue
                    args.append(f"{py}={text}")
                elif wire in links:
                    text, handle = links[wire]
                    kwargs[py] = handle
                    args.append(f"{py}={text}")
                elif wire in consts:
                    val = _unwrap(consts[wire])
                    kwargs[py] = val
                    if py in defaults and _same_value(defaults[py], val):
                        continue
                    args.append(f"{py}={_literal(val)}")
                elif wire in deferred and py in defaults:
                    continue
                elif py not in defaults or defaults[py] is not None:
                    kwargs[py] = None  # absent from the prompt: None leaves it out
                    args.append(f"{py}=None")
            if title is not None:
                kwargs["title"] = title
                args.append(f"title={_literal(title)}")
            if explicit_id:
                args.append(f"node_id={_literal(nid)}")
            try:
                with scratch:
                    s_node = cls(**kwargs, node_id=nid)
                    for k, x in extras.items():
                        if x is None:
                            x = JSON_NULL
                        s_node.set_input(k, links[k][1] if k in links else x, raw=True)
                    for k, x in deferred.items():
                        if not (is_link(x) and x[0] in prompt and (nid, k) in back):
                            s_node.set_input(k, x, raw=True)  # a broken link, kept as written
                got = {
                    k: ([x.node.id, x.index] if isinstance(x, Output) else x)
                    for k, x in s_node.inputs.items()
                }
                want = {
                    k: x
                    for k, x in raw_inputs.items()
                    if not (k in deferred and is_link(x) and x[0] in prompt and (nid, k) in back)
                }
                if got == want:
                    typed_ok = True
                    built[nid] = s_node
                    class_names[ct] = cls.__name__
                    imports.add(cls.__name__)
                else:
                    del scratch.nodes[nid]
            except Exception:  # noqa: BLE001 - any refusal means: use the escape hatch
                scratch.nodes.pop(nid, None)
        if not typed_ok:
            need_raw = True
            kw_items: list[tuple[str, str]] = []
            raw_kwargs: dict[str, Any] = {}
            for k in raw_inputs:
                if k in links:
                    text, handle = links[k]
                    kw_items.append((k, text))
                    raw_kwargs[k] = handle
                elif k in consts:
                    u = _unwrap(consts[k])
                    kw_items.append((k, "JSON_NULL" if u is None else _literal(u)))
                    raw_kwargs[k] = JSON_NULL if u is None else u
            plain = all(
                k.isidentifier()
                and not keyword.iskeyword(k)
                and k not in ("title", "node_id", "outputs")
                for k, _ in kw_items
            )
            args = [_literal(ct)]
            if plain:
                args += [f"{k}={t}" for k, t in kw_items]
            elif kw_items:
                args.append("{" + ", ".join(f"{_literal(k)}: {t}" for k, t in kw_items) + "}")
            if title is not None:
                args.append(f"title={_literal(title)}")
            if explicit_id:
                args.append(f"node_id={_literal(nid)}")
            with scratch:
                s_node = raw_node(ct, node_id=nid, **raw_kwargs)
            built[nid] = s_node
        call = class_names.get(ct, "node") if typed_ok else "node"
        one_line = f"    {v} = {call}({', '.join(args)})"
        if len(one_line) <= 100:
            lines.append(one_line)
        else:
            lines.append(f"    {v} = {call}(")
            for a in args:
                lines.append(f"        {a},")
            lines.append("    )")
        if meta_stmt is not None:
            lines.append(f"    {v}.meta = {meta_stmt}")
        if typed_ok:
            for k in extras:
                text = links[k][0] if k in links else _literal(raw_inputs[k])
                if raw_inputs[k] is None:
                    text = "JSON_NULL"
                lines.append(f"    {v}.set_input({_literal(k)}, {text}, raw=True)")
        for k, val in deferred.items():
            if is_link(val) and val[0] in prompt and (nid, k) in back:
                after.append((nid, k, val))
            elif typed_ok:
                report(
                    f"node {nid} ({ct}): input {k!r} = {val!r} is a link to a node or output "
                    "that does not exist; kept as written"
                )
                lines.append(
                    f"    {v}.set_input({_literal(k)}, {_literal(val)}, raw=True)  # broken link"
                )
            else:
                msg = (
                    f"node {nid} ({ct}): input {k!r} = {val!r} is a link to a node or output "
                    "that does not exist; a script cannot build it, left out"
                )
                report(msg)
                lines.append(f"    # {msg}")

    for nid, k, val in after:
        if has_slot(val[0], val[1]):
            text = ref(val[0], val[1])[0]
            lines.append(f"    {var[nid]}.set_input({_literal(k)}, {text})  # closes a cycle")
        else:
            report(
                f"node {nid}: input {k!r} = {val!r} links to an output that does not exist; left out"
            )

    top = ["Workflow"]
    if any("DynamicOption(" in ln for ln in lines):
        top.insert(0, "DynamicOption")
    if need_raw:
        top.append("node")
    if any("JSON_NULL" in ln for ln in lines):
        top.append("JSON_NULL")
    head = [f'"""{_doc_name(name)}"""', "", "from cmfy_graph import " + ", ".join(top)]
    if imports:
        names_ = sorted(imports)
        line = "from cmfy_graph.nodes import " + ", ".join(names_)
        if len(line) <= 100:
            head.append(line)
        else:
            head.append("from cmfy_graph.nodes import (")
            head.extend(f"    {n}," for n in names_)
            head.append(")")
    body = ["", "with Workflow() as wf:"]
    if not lines:
        lines.append("    pass")
    tail = ["", 'if __name__ == "__main__":', "    print(wf.to_json())", ""]
    return "\n".join(head + body + lines + tail)


def _dynamic_arg(
    cls: Any,
    wire: str,
    raw: Mapping[str, Any],
    links: Mapping[str, tuple[str, Any]],
    consts: Mapping[str, Any],
) -> tuple[Any, str, set[str]] | None:
    """The Python value, its source text and the prompt keys it stands for, of a V3 dynamic
    input of a generated class (an Autogrow as a list or mapping, a DynamicCombo as its key or
    a ``DynamicOption``); ``None`` when the prompt does not hold it in a form we write."""
    from ..graph import _dynamic_spec

    return _dyn_value(_dynamic_spec(cls, wire), wire, raw, links, consts, cls)


def _dyn_value(
    ispec: Any,
    wire: str,
    raw: Mapping[str, Any],
    links: Mapping[str, tuple[str, Any]],
    consts: Mapping[str, Any],
    owner: Any = None,
) -> tuple[Any, str, set[str]] | None:
    """See :func:`_dynamic_arg`; ``owner`` is the generated class (node or option class)
    whose ``_options_`` holds the option classes of this input."""
    from ..graph import DynamicOption, _editor_default
    from ..spec import AutogrowSpec, DynamicComboSpec

    def one(key: str) -> tuple[Any, str] | None:
        if key in links:
            text, handle = links[key]
            return handle, text
        if key in consts:
            u = _unwrap(consts[key])
            return u, _literal(u)
        return None

    dyn = ispec.dynamic
    if isinstance(dyn, AutogrowSpec):
        slots = [(n, one(f"{wire}.{n}")) for n in dyn.names]
        present = [(n, x) for n, x in slots if x is not None]
        if not present:
            return None
        used = {f"{wire}.{n}" for n, _ in present}
        if [n for n, _ in present] == list(dyn.names[: len(present)]):
            return (
                [x[0] for _, x in present],
                "[" + ", ".join(x[1] for _, x in present) + "]",
                used,
            )
        return (
            {n: x[0] for n, x in present},
            "{" + ", ".join(f"{_literal(n)}: {x[1]}" for n, x in present) + "}",
            used,
        )
    if isinstance(dyn, DynamicComboSpec):
        key = consts.get(wire)
        if not isinstance(key, str):
            return None
        opt = dyn.option(key)
        if opt is None:
            return None
        used = {wire}
        values: dict[str, Any] = {}
        shown: list[tuple[str, str]] = []  # (sub-input, source) of the non-default values
        namespace = (getattr(owner, "_options_", None) or {}).get(ispec.name.rsplit(".", 1)[-1])
        opt_cls = (getattr(namespace, "_by_key_", None) or {}).get(key)
        for sub_name, sub in opt.inputs.items():
            sub_wire = f"{wire}.{sub_name}"
            if sub.dynamic is not None:
                got = _dyn_value(sub, sub_wire, raw, links, consts, opt_cls)
                if got is None:
                    if any(k.startswith(sub_wire) for k in raw):
                        return None
                    continue
                values[sub_name] = got[0]
                shown.append((sub_name, got[1]))
                used |= got[2]
                continue
            x = one(sub_wire)
            if x is None:
                if _editor_default(sub) is not None:
                    return None  # the DSL would fill in the default the prompt leaves out
                continue
            used.add(sub_wire)
            values[sub_name] = x[0]
            if sub_wire in links or x[0] != _editor_default(sub):
                shown.append((sub_name, x[1]))
        if not shown:
            return key, _literal(key), used
        py = getattr(opt_cls, "_py_", None)
        if opt_cls is not None and py is not None and all(n in py for n in values):
            # the generated option class: typed, one keyword per input the option brings
            text = f"{opt_cls.__qualname__}({', '.join(f'{py[n]}={t}' for n, t in shown)})"
            return opt_cls(**{py[n]: v for n, v in values.items()}), text, used
        if all(n.isidentifier() and not keyword.iskeyword(n) for n, _ in shown):
            args = ", ".join(f"{n}={t}" for n, t in shown)
        else:
            args = "{" + ", ".join(f"{_literal(n)}: {t}" for n, t in shown) + "}"
        return DynamicOption(key, values), f"DynamicOption({_literal(key)}, {args})", used
    return None


def _doc_name(name: str | None) -> str:
    if not name:
        return "A ComfyUI workflow, converted from its API prompt by cmfy-graph."
    safe = name.replace("\\", "/").replace('"""', "'''")
    return f"{safe}: a ComfyUI workflow, converted from its API prompt by cmfy-graph."
