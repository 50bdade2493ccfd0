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
from ..graph import JSON_NULL, OMIT, is_link

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
    all_values: bool = False,
) -> str:
    """Write an API prompt (or a request body ``{"prompt": ...}``) as a Python script that
    builds it with the generated node classes.

    Arguments are written in the order of the spec's inputs (the generated class's signature;
    for a node written with ``node(...)``, the order of ``spec``, by default the bundled core
    spec, then inputs it does not know in the prompt's order). A value equal to the class's
    default is left out, and so are the node pack fields of ``_meta`` (``cnr_id``, ``aux_id``,
    ``ver``, which the editor of 2026 sends and ComfyUI ignores), and the script's docstring
    says so, unless ``all_values``: then every value of the prompt is written and the script
    builds exactly the prompt given. ``name`` goes into the module docstring.
    Raises :class:`~cmfy_graph.errors.ConversionError` when a node is not an object with a
    string ``class_type``. A link to a node or output the prompt does not have cannot be
    built by a script: it is left out, with a comment in the script and a warning (appended
    to ``warnings`` when given, else a :class:`~cmfy_graph.convert.ui.ConversionWarning`)."""
    if isinstance(prompt, Mapping) and isinstance(prompt.get("prompt"), Mapping):
        prompt = prompt["prompt"]
    _check_prompt(prompt)
    writer = _ScriptWriter(prompt, warnings, spec, all_values)
    for nid in writer.order:
        writer.write_node(nid)
    writer.close_cycles()
    return writer.render(name)


def _check_prompt(prompt: Any) -> None:
    if not isinstance(prompt, Mapping):
        raise ConversionError(f"an API prompt is a JSON object, not {type(prompt).__name__}")
    for nid, entry in prompt.items():
        if not isinstance(entry, Mapping):
            raise ConversionError(f"node {nid}: expected an object, got {type(entry).__name__}")
        if not isinstance(entry.get("class_type"), str):
            raise ConversionError(f"node {nid}: class_type is missing or not a string")
        if entry.get("inputs") is not None and not isinstance(entry.get("inputs"), Mapping):
            raise ConversionError(f"node {nid} ({entry['class_type']}): inputs is not an object")


#: what the editor of 2026 adds to a node's ``_meta`` besides the title: its node pack
_PACK_FIELDS = frozenset({"cnr_id", "aux_id", "ver"})


class _NodeJob:
    """One node being written: its inputs split by kind, and what the script says of it."""

    def __init__(self, nid: str, entry: Mapping[str, Any], keep_pack: bool = True) -> None:
        self.nid = nid
        self.ct: str = entry["class_type"]
        self.raw: Mapping[str, Any] = entry.get("inputs") or {}
        self.title: str | None = None
        self.meta_stmt: str | None = None
        #: whether node pack fields of ``_meta`` were left out
        self.dropped_pack = False
        meta = entry.get("_meta")
        if isinstance(meta, Mapping) and not keep_pack and _PACK_FIELDS & set(meta):
            meta = {k: v for k, v in meta.items() if k not in _PACK_FIELDS}
            self.dropped_pack = True
        if isinstance(meta, Mapping) and set(meta) == {"title"} and isinstance(meta["title"], str):
            self.title = meta["title"]
        elif meta is not None:
            self.meta_stmt = _literal(meta)
        self.var = ""
        self.explicit_id = False
        self.links: dict[str, tuple[str, Any]] = {}
        self.consts: dict[str, Any] = {}
        self.deferred: dict[str, Any] = {}
        self.extras: dict[str, Any] = {}  # inputs the class does not declare
        self.args: list[str] = []
        self.call = "node"

    def tail_args(self) -> list[str]:
        out = []
        if self.title is not None:
            out.append(f"title={_literal(self.title)}")
        if self.explicit_id:
            out.append(f"node_id={_literal(self.nid)}")
        return out


class _ScriptWriter:
    """Writes the script node by node, building each node in a scratch workflow first: a node
    the generated class cannot build exactly is written with ``node(...)``."""

    def __init__(
        self,
        prompt: Mapping[str, Any],
        warnings: list[str] | None,
        spec: Spec | None = None,
        all_values: bool = False,
    ) -> None:
        from .. import nodes as gen
        from ..graph import Node, RawNode, SingleOutputNode, Workflow

        if spec is None:
            from ..spec import core_spec

            spec = core_spec()
        self.spec = spec
        self.all_values = all_values
        self.omitted = 0  # arguments left out for being the class's default
        self.dropped_pack = False  # node pack fields of _meta left out

        self.gen = gen
        self.prompt = prompt
        self.sink = warnings
        self.order, self.back = _order(prompt)
        self.namer = _Namer(set(_RESERVED))
        self.var: dict[str, str] = {}
        self.lines: list[str] = []
        self.after: list[tuple[str, str, Any]] = []
        self.imports: set[str] = set()
        self.need_raw = False
        self.scratch = Workflow()
        self.built: dict[str, Any] = {}  # id -> scratch node
        self.next_auto = 1
        self.taken: set[str] = set()
        self.node_attrs = set(dir(Node)) | set(dir(SingleOutputNode)) | set(dir(RawNode))

    def report(self, msg: str) -> None:
        if self.sink is not None:
            self.sink.append(msg)
        else:
            from .ui import ConversionWarning

            _warnings.warn(msg, ConversionWarning, stacklevel=6)

    def has_slot(self, src_id: str, slot: int) -> bool:
        from ..graph import RawNode

        s = self.built[src_id]
        if isinstance(s, RawNode):
            return s._raw_outputs is None or slot < len(s._raw_outputs)
        return slot < len(type(s)._outputs_)

    def ref(self, src_id: str, slot: int) -> tuple[str, Any]:
        """Source text and scratch handle for the link [src_id, slot]."""
        from ..graph import RawNode, SingleOutputNode

        s = self.built[src_id]
        v = self.var[src_id]
        if isinstance(s, RawNode):
            return f"{v}[{slot}]", s.output(slot)
        if isinstance(s, SingleOutputNode) and slot == 0:
            return v, s
        outs = type(s)._outputs_
        if slot < len(outs):
            py = outs[slot][0]
            if py.isidentifier() and py not in self.node_attrs and not py.startswith("_"):
                return f"{v}.{py}", s.output(slot)
        return f"{v}[{slot}]", s.output(slot)

    # -- one node

    def write_node(self, nid: str) -> None:
        job = _NodeJob(nid, self.prompt[nid], keep_pack=self.all_values)
        self.dropped_pack = self.dropped_pack or job.dropped_pack
        base = job.title if job.title and job.title.strip() else job.ct
        job.var = self.var[nid] = self.namer(_snake(base))
        # node id: keep it when the DSL's numbering would not give it
        while str(self.next_auto) in self.taken:
            self.next_auto += 1
        job.explicit_id = nid != str(self.next_auto)
        if not job.explicit_id:
            self.next_auto += 1
        self.taken.add(nid)
        self._split_inputs(job)
        if not self._typed(job):
            self._raw(job)
        self._emit(job)

    def _closes_cycle(self, job: _NodeJob, k: str, val: Any) -> bool:
        return bool(is_link(val) and val[0] in self.prompt and (job.nid, k) in self.back)

    def _split_inputs(self, job: _NodeJob) -> None:
        for k, val in job.raw.items():
            if is_link(val) and val[0] in self.built and not self.has_slot(val[0], val[1]):
                job.deferred[k] = val  # a link to an output the node does not have
            elif is_link(val) and val[0] in self.built and (job.nid, k) not in self.back:
                job.links[k] = self.ref(val[0], val[1])
            elif self._closes_cycle(job, k, val):
                job.deferred[k] = val  # closes a cycle: set after both nodes exist
            elif isinstance(val, list):
                job.deferred[k] = val  # a broken link
            else:
                job.consts[k] = val

    def _typed(self, job: _NodeJob) -> bool:
        """Build the node with its generated class; True when that gives the prompt's node."""
        cls = None
        if job.ct in self.gen.CLASS_TYPES:
            try:
                cls = self.gen.by_class_type(job.ct)
            except (KeyError, AttributeError):  # pragma: no cover
                cls = None
        if cls is None or any((job.nid, k) in self.back for k in job.raw):
            return False
        kwargs = self._typed_args(job, cls)
        try:
            with self.scratch:
                s_node = cls(**kwargs, node_id=job.nid)
                self._set_raw_inputs(job, s_node)
        except Exception:  # noqa: BLE001 - any refusal means: use the escape hatch
            self.scratch.nodes.pop(job.nid, None)
            return False
        if not self._same_inputs(job, s_node):
            del self.scratch.nodes[job.nid]
            return False
        self.built[job.nid] = s_node
        self.imports.add(cls.__name__)
        job.call = cls.__name__
        return True

    def _typed_args(self, job: _NodeJob, cls: Any) -> dict[str, Any]:
        """The keyword arguments of the class (values, and their source text in ``job.args``);
        an input the class does not declare (the editor's ``audioUI``, a variadic node's extra
        links) goes to ``job.extras``, set after construction with ``set_input(raw=True)``."""
        decls = cls.input_decls()
        declared = {m.wire for m in decls}
        dyn_args: dict[str, tuple[Any, str]] = {}
        for wire in cls.__dict__.get("_dynamic_") or {}:
            got_arg = _dynamic_arg(cls, wire, job.raw, job.links, job.consts)
            if got_arg is not None:
                dyn_args[wire] = (got_arg[0], got_arg[1])
                declared |= got_arg[2]
        job.extras = {
            k: job.raw[k]
            for k in job.raw
            if (k not in declared or job.raw[k] is None) and k not in job.deferred
        }
        defaults = cls.__init__.__kwdefaults__ or {}
        kwargs: dict[str, Any] = {}
        for m in decls:
            value, text = self._typed_arg(job, m.wire, m.py, defaults, dyn_args, m.required)
            if value is not _SKIP:
                kwargs[m.py] = value
            if text is not None:
                job.args.append(f"{m.py}={text}")
        if job.title is not None:
            kwargs["title"] = job.title
        job.args += job.tail_args()
        return kwargs

    def _typed_arg(
        self,
        job: _NodeJob,
        wire: str,
        py: str,
        defaults: Mapping[str, Any],
        dyn_args: Mapping[str, tuple[Any, str]],
        required: bool = False,
    ) -> tuple[Any, str | None]:
        """(value for the scratch node, source text or None to leave it out) of one input."""
        if wire in job.extras:  # sent as null: set after construction
            if required:
                return OMIT, "OMIT"
            shown = py not in defaults or defaults[py] is not None
            return None, "None" if shown else None
        if wire in dyn_args:
            value, text = dyn_args[wire]
            if py in defaults and text == _literal(defaults[py]) and not self.all_values:
                self.omitted += 1
                return value, None
            return value, text
        if wire in job.links:
            text, handle = job.links[wire]
            return handle, text
        if wire in job.consts:
            val = _unwrap(job.consts[wire])
            if py in defaults and _same_value(defaults[py], val) and not self.all_values:
                self.omitted += 1
                return val, None
            return val, _literal(val)
        if wire in job.deferred and py in defaults:
            return _SKIP, None
        if required:
            return OMIT, "OMIT"  # absent from the prompt (or set after construction)
        if py not in defaults or defaults[py] is not None:
            return None, "None"  # absent from the prompt: None leaves it out
        return _SKIP, None

    def _set_raw_inputs(self, job: _NodeJob, s_node: Any) -> None:
        for k, x in job.extras.items():
            if x is None:
                x = JSON_NULL
            s_node.set_input(k, job.links[k][1] if k in job.links else x, raw=True)
        for k, x in job.deferred.items():
            if not self._closes_cycle(job, k, x):
                s_node.set_input(k, x, raw=True)  # a broken link, kept as written

    def _same_inputs(self, job: _NodeJob, s_node: Any) -> bool:
        from ..graph import Output

        got = {
            k: ([x.node.id, x.index] if isinstance(x, Output) else x)
            for k, x in s_node.inputs.items()
        }
        want = {
            k: x
            for k, x in job.raw.items()
            if not (k in job.deferred and self._closes_cycle(job, k, x))
        }
        return got == want

    def _raw(self, job: _NodeJob) -> None:
        """The escape hatch: ``node("ClassType", ...)`` with every input as written."""
        from ..graph import node as raw_node

        self.need_raw = True
        job.extras = {}
        kw_items: list[tuple[str, str]] = []
        raw_kwargs: dict[str, Any] = {}
        ns = self.spec.get(job.ct)
        keys = list(job.raw)
        if ns is not None:  # the spec's order, then what it does not know
            keys = [k for k in ns.inputs if k in job.raw] + [k for k in keys if k not in ns.inputs]
        for k in keys:
            if k in job.links:
                text, handle = job.links[k]
                kw_items.append((k, text))
                raw_kwargs[k] = handle
            elif k in job.consts:
                u = _unwrap(job.consts[k])
                kw_items.append((k, "JSON_NULL" if u is None else _literal(u)))
                raw_kwargs[k] = JSON_NULL if u is None else u
        plain = all(
            k.isidentifier()
            and not keyword.iskeyword(k)
            and k not in ("title", "node_id", "outputs")
            for k, _ in kw_items
        )
        job.args = [_literal(job.ct)]
        if plain:
            job.args += [f"{k}={t}" for k, t in kw_items]
        elif kw_items:
            job.args.append("{" + ", ".join(f"{_literal(k)}: {t}" for k, t in kw_items) + "}")
        job.args += job.tail_args()
        with self.scratch:
            self.built[job.nid] = raw_node(job.ct, node_id=job.nid, **raw_kwargs)

    def _emit(self, job: _NodeJob) -> None:
        v = job.var
        one_line = f"    {v} = {job.call}({', '.join(job.args)})"
        if len(one_line) <= 100:
            self.lines.append(one_line)
        else:
            self.lines.append(f"    {v} = {job.call}(")
            self.lines.extend(f"        {a}," for a in job.args)
            self.lines.append("    )")
        if job.meta_stmt is not None:
            self.lines.append(f"    {v}.meta = {job.meta_stmt}")
        for k in job.extras:
            text = job.links[k][0] if k in job.links else _literal(job.raw[k])
            if job.raw[k] is None:
                text = "JSON_NULL"
            self.lines.append(f"    {v}.set_input({_literal(k)}, {text}, raw=True)")
        for k, val in job.deferred.items():
            self._emit_deferred(job, k, val)

    def _emit_deferred(self, job: _NodeJob, k: str, val: Any) -> None:
        if self._closes_cycle(job, k, val):
            self.after.append((job.nid, k, val))
            return
        what = f"node {job.nid} ({job.ct}): input {k!r} = {val!r} is a link to a node or output"
        if job.call != "node":
            self.report(f"{what} that does not exist; kept as written")
            self.lines.append(
                f"    {job.var}.set_input({_literal(k)}, {_literal(val)}, raw=True)  # broken link"
            )
        else:
            msg = f"{what} that does not exist; a script cannot build it, left out"
            self.report(msg)
            self.lines.append(f"    # {msg}")

    # -- the script

    def close_cycles(self) -> None:
        for nid, k, val in self.after:
            if self.has_slot(val[0], val[1]):
                text = self.ref(val[0], val[1])[0]
                self.lines.append(
                    f"    {self.var[nid]}.set_input({_literal(k)}, {text})  # closes a cycle"
                )
            else:
                self.report(
                    f"node {nid}: input {k!r} = {val!r} links to an output that does not "
                    "exist; left out"
                )

    def render(self, name: str | None) -> str:
        lines = self.lines or ["    pass"]
        top = ["Workflow"]
        if any("DynamicOption(" in ln for ln in lines):
            top.insert(0, "DynamicOption")
        if self.need_raw:
            top.append("node")
        if any("JSON_NULL" in ln for ln in lines):
            top.append("JSON_NULL")
        if any("=OMIT" in ln for ln in lines):
            top.append("OMIT")
        doc = _doc_name(name)
        if self.omitted and self.dropped_pack:
            doc += (
                "\n\nArguments equal to their class's default and the node packs of `_meta`\n"
                "(cnr_id, ver) are left out (`cmfy-graph convert --to python --all-values`\n"
                "writes every value and keeps them).\n"
            )
        elif self.omitted:
            doc += (
                "\n\nArguments equal to their class's default are left out\n"
                "(`cmfy-graph convert --to python --all-values` writes every value).\n"
            )
        elif self.dropped_pack:
            doc += (
                "\n\nThe node packs of `_meta` (cnr_id, ver) are left out\n"
                "(`cmfy-graph convert --to python --all-values` keeps them).\n"
            )
        head = [f'"""{doc}"""', "", "from cmfy_graph import " + ", ".join(top)]
        if self.imports:
            names_ = sorted(self.imports)
            line = "from cmfy_graph.nodes import " + ", ".join(names_)
            if len(line) <= 100:
                head.append(line)
            else:
                head.append("from cmfy_graph.nodes import (")
                head.extend(f"    {n}," for n in names_)
                head.append(")")
        body = ["", "with Workflow() as wf:"]
        tail = ["", 'if __name__ == "__main__":', "    print(wf.to_json())", ""]
        return "\n".join(head + body + lines + tail)


_SKIP = object()  # an argument left out of the scratch call (the class default applies)


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


_Found = tuple[Any, str, set[str]]  # (Python value, its source text, the prompt keys it holds)


def _dyn_value(
    ispec: Any,
    wire: str,
    raw: Mapping[str, Any],
    links: Mapping[str, tuple[str, Any]],
    consts: Mapping[str, Any],
    owner: Any = None,
) -> _Found | None:
    """See :func:`_dynamic_arg`; ``owner`` is the generated class (node or option class)
    whose ``_options_`` holds the option classes of this input."""
    from ..spec import AutogrowSpec, DynamicComboSpec

    dyn = ispec.dynamic
    if isinstance(dyn, AutogrowSpec):
        return _autogrow_value(dyn, wire, links, consts)
    if isinstance(dyn, DynamicComboSpec):
        return _combo_value(ispec, dyn, wire, raw, links, consts, owner)
    return None


def _one(
    key: str, links: Mapping[str, tuple[str, Any]], consts: Mapping[str, Any]
) -> tuple[Any, str] | None:
    """The (value, source) of one prompt key: an output handle, or a constant."""
    if key in links:
        text, handle = links[key]
        return handle, text
    if key in consts:
        u = _unwrap(consts[key])
        return u, _literal(u)
    return None


def _autogrow_value(
    dyn: Any, wire: str, links: Mapping[str, tuple[str, Any]], consts: Mapping[str, Any]
) -> _Found | None:
    """An Autogrow's slots as a list (the first slots, in order) or a mapping."""
    slots = [(n, _one(f"{wire}.{n}", links, consts)) for n in dyn.names]
    present = [(n, x) for n, x in slots if x is not None]
    if not present:
        return None
    used = {f"{wire}.{n}" for n, _ in present}
    if [n for n, _ in present] == list(dyn.names[: len(present)]):
        return [x[0] for _, x in present], "[" + ", ".join(x[1] for _, x in present) + "]", used
    text = "{" + ", ".join(f"{_literal(n)}: {x[1]}" for n, x in present) + "}"
    return {n: x[0] for n, x in present}, text, used


def _combo_value(
    ispec: Any,
    dyn: Any,
    wire: str,
    raw: Mapping[str, Any],
    links: Mapping[str, tuple[str, Any]],
    consts: Mapping[str, Any],
    owner: Any,
) -> _Found | None:
    """A DynamicCombo as its key (every sub-input at its default) or as an option object
    with the sub-inputs that differ: the generated option class where there is one."""
    from ..graph import _editor_default

    key = consts.get(wire)
    if not isinstance(key, str) or dyn.option(key) is None:
        return None
    opt = dyn.option(key)
    used = {wire}
    values: dict[str, Any] = {}
    shown: list[tuple[str, str]] = []  # (sub-input, source) of the non-default values
    namespace = (getattr(owner, "_options_", None) or {}).get(ispec.name.rsplit(".", 1)[-1])
    opt_cls = (getattr(namespace, "_by_key_", None) or {}).get(key)
    for sub_name, sub in opt.inputs.items():
        sub_wire = f"{wire}.{sub_name}"
        if sub.dynamic is not None:
            got = _dyn_value(sub, sub_wire, raw, links, consts, opt_cls)
            if got is None and any(k.startswith(sub_wire) for k in raw):
                return None
            if got is not None:
                values[sub_name] = got[0]
                shown.append((sub_name, got[1]))
                used |= got[2]
            continue
        x = _one(sub_wire, links, consts)
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
    return (*_option_object(key, opt_cls, values, shown), used)


def _option_object(
    key: str, opt_cls: Any, values: dict[str, Any], shown: list[tuple[str, str]]
) -> tuple[Any, str]:
    from ..graph import DynamicOption

    py = getattr(opt_cls, "_py_", None)
    if opt_cls is not None and py is not None and all(n in py for n in values):
        # the generated option class: typed, one keyword per input the option brings
        text = f"{opt_cls.__qualname__}({', '.join(f'{py[n]}={t}' for n, t in shown)})"
        return opt_cls(**{py[n]: v for n, v in values.items()}), text
    if all(n.isidentifier() and not keyword.iskeyword(n) for n, _ in shown):
        args = ", ".join(f"{n}={t}" for n, t in shown)
    else:
        args = "{" + ", ".join(f"{_literal(n)}: {t}" for n, t in shown) + "}"
    return DynamicOption(key, values), f"DynamicOption({_literal(key)}, {args})"


def _doc_name(name: str | None) -> str:
    if not name:
        return "A ComfyUI workflow, converted from its API prompt by cmfy-graph."
    safe = name.replace("\\", "/").replace('"""', "'''")
    return f"{safe}: a ComfyUI workflow, converted from its API prompt by cmfy-graph."
