"""API prompt -> a UI workflow (version 0.4) that the ComfyUI editor opens.

Every prompt node becomes an editor node with its widget values in the editor's order (the
``control_after_generate`` companions included, set to ``"fixed"`` so that opening and queueing
the workflow does not change a seed), its link sockets, its outputs and its title. Nodes are
placed left to right by graph depth (the longest chain of links leading to them), stacked
top to bottom inside a column, sized from their sockets and widgets so they never overlap.

Converting the result back with :func:`~cmfy_graph.convert.ui.ui_to_api` gives the original
prompt. Two things a UI workflow cannot say are handled thus: an input the spec does not
declare is kept in ``widgets_values_named`` only when the class is unknown (otherwise it is
dropped with a warning), and a node without ``_meta`` gets the editor's default title.
"""

from __future__ import annotations

import warnings as _warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConversionError
from ..graph import is_link
from ..rules import is_frontend_only_input
from ..spec import DynamicComboSpec
from .ui import ConversionWarning, display_name, widget_layout

if TYPE_CHECKING:
    from ..spec import NodeSpec, Spec

__all__ = ["to_ui"]

_COL_GAP = 80
_ROW_GAP = 40
_TITLE_H = 30
_SLOT_H = 20
_WIDGET_H = 24
_MULTILINE_H = 100


def _ui_id(nid: str) -> int | str:
    if nid.isdigit() and (nid == "0" or not nid.startswith("0")):
        return int(nid)
    return nid


def _unwrap(v: Any) -> Any:
    if isinstance(v, dict) and set(v) == {"__value__"}:
        return v["__value__"]
    return v


def _depths(prompt: Mapping[str, Any], ids: list[str]) -> dict[str, int]:
    """Longest-path depth of each node (cycles broken where they are met)."""
    preds: dict[str, list[str]] = {}
    for nid in ids:
        ins = prompt[nid].get("inputs")
        ps: list[str] = []
        if isinstance(ins, Mapping):
            for v in ins.values():
                if is_link(v) and v[0] in prompt and v[0] != nid:
                    ps.append(v[0])
        preds[nid] = ps
    depth: dict[str, int] = {}
    onstack: set[str] = set()
    for root in ids:
        if root in depth:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        onstack.add(root)
        while stack:
            nid, i = stack[-1]
            ps = preds[nid]
            if i < len(ps):
                stack[-1] = (nid, i + 1)
                p = ps[i]
                if p not in depth and p not in onstack:
                    onstack.add(p)
                    stack.append((p, 0))
                continue
            stack.pop()
            onstack.discard(nid)
            depth[nid] = 1 + max((depth[p] for p in ps if p in depth), default=-1)
    return depth


def to_ui(
    prompt: Mapping[str, Any],
    spec: Spec | None = None,
    *,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """Build an editor-loadable UI workflow (version 0.4) from an API prompt (or a request
    body ``{"prompt": ...}``). ``spec`` (default: the bundled core spec) gives widget order,
    sockets and outputs. Problems are appended to ``warnings`` when given, else issued as
    :class:`~cmfy_graph.convert.ui.ConversionWarning`."""
    if spec is None:
        from ..spec import core_spec

        spec = core_spec()
    if isinstance(prompt, Mapping) and isinstance(prompt.get("prompt"), Mapping):
        prompt = prompt["prompt"]
    if not isinstance(prompt, Mapping):
        raise ConversionError(f"an API prompt is a JSON object, not {type(prompt).__name__}")
    builder = _UiBuilder(prompt, spec, warnings)
    for nid in list(builder.ids):
        builder.add_node(nid)
    builder.add_muted_sources()
    builder.link()
    return builder.workflow()


class _UiBuilder:
    """The UI workflow of one prompt, node by node, then its links and layout."""

    def __init__(self, prompt: Mapping[str, Any], spec: Spec, warnings: list[str] | None) -> None:
        self.prompt = prompt
        self.spec = spec
        #: the editor of ComfyUI 2026 (frontend 1.58.1), as the UI -> API conversion
        self.editor_2026 = spec.generation >= 2026
        self.sink = warnings
        self.ids: list[str] = []
        for nid, entry in prompt.items():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("class_type"), str):
                raise ConversionError(f"node {nid}: not an object with a string class_type")
            self.ids.append(str(nid))
        self.depth = _depths(prompt, self.ids)
        self.nodes: dict[str, dict[str, Any]] = {}
        self.links: list[list[Any]] = []
        self.link_id = 0
        self.pending: list[tuple[str, str, str, int, Any]] = []  # target, input, source, slot
        self.absent: list[tuple[str, str, str]] = []  # node, widget input, type: not in prompt

    def warn(self, msg: str) -> None:
        if self.sink is not None:
            self.sink.append(msg)
        else:
            _warnings.warn(msg, ConversionWarning, stacklevel=4)

    def add_node(self, nid: str) -> None:
        entry = self.prompt[nid]
        ct: str = entry["class_type"]
        ns: NodeSpec | None = self.spec.get(ct)
        raw_in = entry.get("inputs")
        ins: Mapping[str, Any] = raw_in if isinstance(raw_in, Mapping) else {}
        named: dict[str, Any] | None = None
        if ns is not None:
            widgets_values, inputs, named = self._spec_node(nid, ns, ins)
            outputs = [
                {"name": o.name, "type": o.type, "links": [], "slot_index": o.index}
                for o in ns.outputs
            ]
            title_default = display_name(ns, self.editor_2026)
        else:
            self.warn(
                f"node {nid} ({ct}): class not in the spec; its values are kept by name in "
                "widgets_values_named and it will show as missing in the editor"
            )
            inputs = [{"name": k, "type": "*", "link": None} for k, v in ins.items() if is_link(v)]
            named = {k: _unwrap(v) for k, v in ins.items() if not is_link(v)}
            widgets_values, outputs, title_default = [], [], ct
        for name, v in ins.items():
            if is_link(v):
                if v[0] in self.prompt:
                    self.pending.append((nid, name, v[0], v[1], None))
                else:
                    self.warn(
                        f"node {nid} ({ct}): input {name!r} links to node {v[0]}, absent; dropped"
                    )
        meta = entry.get("_meta")
        title = meta.get("title") if isinstance(meta, Mapping) else None
        node: dict[str, Any] = {
            "id": _ui_id(nid),
            "type": ct,
            "pos": [0, 0],
            "size": [0, 0],
            "flags": {},
            "order": 0,
            "mode": 0,
            "inputs": inputs,
            "outputs": outputs,
            "properties": {"Node name for S&R": ct},
            "widgets_values": widgets_values,
        }
        if named is not None:
            node["widgets_values_named"] = named
        if isinstance(title, str) and title != title_default:
            node["title"] = title
        self.nodes[nid] = node

    def _layout(self, ns: NodeSpec, ins: Mapping[str, Any]) -> tuple[list[Any], set[str]]:
        """The widgets the editor of the spec's ComfyUI saves for a node of ``ns`` with these
        prompt inputs, in order (a DynamicCombo's selected option brings its sub-widgets,
        CustomCombo its options), and the names of the widgets it sends without saving."""
        from .ui.widgets import _MISSING_VALUE, _editor_layout, _expanded_layout

        layout, sent = _editor_layout(widget_layout(ns), ns, self.editor_2026, ins)
        unsaved = {name for name, _ in sent}
        if ns.has_dynamic_inputs:

            def value_at(i: int, slot: Any) -> Any:
                v = ins.get(slot.name, _MISSING_VALUE)
                return _MISSING_VALUE if is_link(v) else _unwrap(v)

            layout = _expanded_layout(layout, value_at)
        return layout, unsaved

    def _spec_node(
        self, nid: str, ns: NodeSpec, ins: Mapping[str, Any]
    ) -> tuple[list[Any], list[dict[str, Any]], dict[str, Any] | None]:
        """(widgets_values, input slots, widgets_values_named or None) of a node of a class
        the spec knows. The editor of 2026 saves every widget by name too; values under a
        dynamic option the spec does not know are kept there (a positional array cannot
        place them)."""
        layout, unsaved = self._layout(ns, ins)
        lay_names = {s.name for s in layout if s.serialize}
        widgets_values = [_saved_value(slot, ins) for slot in layout]
        named: dict[str, Any] | None = None
        if self.editor_2026:
            named = {slot.name: v for slot, v in zip(layout, widgets_values, strict=True)}
            for name, v in ins.items():
                head = ns.inputs.get(name.split(".", 1)[0]) if "." in name else None
                if (
                    head is not None
                    and isinstance(head.dynamic, DynamicComboSpec)
                    and name not in named
                    and not is_link(v)
                ):
                    named[name] = _unwrap(v)  # under an option the spec does not know
        while widgets_values and widgets_values[-1] is None:
            widgets_values.pop()
        # sockets: non-widget inputs in spec order, then linked widget inputs
        inputs = [
            {"name": name, "type": inp.type, "link": None}
            for name, inp in ns.inputs.items()
            if name not in lay_names
        ]
        for slot in layout:
            if slot.serialize and slot.name not in ins and slot.kind not in _EDITOR_MADE:
                # the prompt leaves a widget input out: link it from a muted node, which is
                # how the editor itself drops a value (the link is pruned, value and all)
                self.absent.append((nid, slot.name, _widget_type(slot)))
                inputs.append(_widget_socket(slot.name, _widget_type(slot)))
        for name, v in ins.items():
            if is_link(v) and name in lay_names:
                inp_spec = ns.inputs.get(name)
                inputs.append(_widget_socket(name, inp_spec.type if inp_spec else "*"))
            elif is_link(v) and name not in ns.inputs:
                inputs.append({"name": name, "type": "*", "link": None})
            elif (
                not is_link(v)
                and name not in lay_names
                and name not in unsaved
                and (named is None or name not in named)
                and not is_frontend_only_input(ns.class_type, ns.category, name)
            ):
                self.warn(
                    f"node {nid} ({ns.class_type}): input {name!r} = {v!r} is not a widget of "
                    "the spec; a UI workflow cannot hold it, dropped"
                )
        return widgets_values, inputs, named

    def add_muted_sources(self) -> None:
        """A muted source node for each widget input the prompt leaves out."""
        used_ids = {n["id"] for n in self.nodes.values()}
        next_id = max([i for i in used_ids if isinstance(i, int)], default=0) + 1
        for target, name, typ in self.absent:
            mid = str(next_id)
            next_id += 1
            ct_m = _MUTED_SOURCE.get(typ, "PrimitiveString")
            self.nodes[mid] = {
                "id": int(mid),
                "type": ct_m,
                "pos": [0, 0],
                "size": [0, 0],
                "flags": {},
                "order": 0,
                "mode": 2,
                "inputs": [],
                "outputs": [{"name": typ, "type": typ, "links": [], "slot_index": 0}],
                "properties": {"Node name for S&R": ct_m},
                "widgets_values": [],
                "title": f"{name} left out (muted)",
            }
            self.ids.append(mid)
            self.depth[mid] = max(self.depth.get(target, 0) - 1, 0)
            self.pending.append((target, name, mid, 0, typ))

    def link(self) -> None:
        for target, name, source, oslot, _ in self.pending:
            tnode = self.nodes[target]
            snode = self.nodes[source]
            outs = snode["outputs"]
            while len(outs) <= oslot:  # unknown classes: outputs appear as they are used
                outs.append(
                    {
                        "name": f"output_{len(outs)}",
                        "type": "*",
                        "links": [],
                        "slot_index": len(outs),
                    }
                )
            self.link_id += 1
            ltype = outs[oslot]["type"]
            tslot = next(i for i, s in enumerate(tnode["inputs"]) if s["name"] == name)
            tnode["inputs"][tslot]["link"] = self.link_id
            outs[oslot]["links"].append(self.link_id)
            self.links.append([self.link_id, snode["id"], oslot, tnode["id"], tslot, ltype])

    def workflow(self) -> dict[str, Any]:
        ids, nodes, depth = self.ids, self.nodes, self.depth
        _place(nodes, ids, depth)
        order = sorted(ids, key=lambda n: (depth.get(n, 0), ids.index(n)))
        for i, nid in enumerate(order):
            nodes[nid]["order"] = i
        int_ids = [n["id"] for n in nodes.values() if isinstance(n["id"], int)]
        return {
            "id": "00000000-0000-4000-8000-000000000000",
            "revision": 0,
            "last_node_id": max(int_ids, default=0),
            "last_link_id": self.link_id,
            "nodes": [nodes[n] for n in ids],
            "links": self.links,
            "groups": [],
            "config": {},
            "extra": {"ds": {"scale": 1, "offset": [0, 0]}},
            "version": 0.4,
        }


def _saved_value(slot: Any, ins: Mapping[str, Any]) -> Any:
    """What the editor saves in ``widgets_values`` for one widget."""
    fixed = {"control": "fixed", "filter": "", "upload": "image", "fixed": None}
    if slot.kind in fixed:
        return fixed[slot.kind]
    v = ins.get(slot.name)
    return _placeholder(slot) if v is None or is_link(v) else _unwrap(v)


def _widget_socket(name: str, type_: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "widget": {"name": name}, "link": None}


_MUTED_SOURCE = {
    "INT": "PrimitiveInt",
    "FLOAT": "PrimitiveFloat",
    "BOOLEAN": "PrimitiveBoolean",
    "STRING": "PrimitiveString",
}


def _widget_type(slot: Any) -> str:
    inp = slot.input
    if inp is None:
        return "STRING"
    return str(inp.type)


def _placeholder(slot: Any) -> Any:
    from .ui.widgets import _default_value

    return _default_value(slot.input, slot.kind, slot.name)


# widgets the editor makes and fills itself (Load3D's buttons, CustomCombo's index and
# options): a prompt without them is not a prompt that left a value out
_EDITOR_MADE = frozenset({"button3d", "index", "option"})


def _size(node: dict[str, Any]) -> tuple[int, int]:
    n_slots = max(len(node["inputs"]), len(node["outputs"]))
    h = _TITLE_H + _SLOT_H * n_slots
    w = 320
    for v in node.get("widgets_values") or []:
        if isinstance(v, str) and ("\n" in v or len(v) > 40):
            h += _MULTILINE_H
            w = 420
        else:
            h += _WIDGET_H
    h += _WIDGET_H * len(node.get("widgets_values_named") or {})
    title = node.get("title") or node["type"]
    w = max(w, 12 * len(str(title)) // 1 + 40) if len(str(title)) > 24 else w
    return w, max(h, 60)


def _place(nodes: dict[str, dict[str, Any]], ids: list[str], depth: dict[str, int]) -> None:
    cols: dict[int, list[str]] = {}
    for nid in ids:
        cols.setdefault(depth.get(nid, 0), []).append(nid)
    x = 0
    for d in sorted(cols):
        col = cols[d]
        sizes = {nid: _size(nodes[nid]) for nid in col}
        width = max(w for w, _ in sizes.values())
        y = 0
        for nid in col:
            w, h = sizes[nid]
            nodes[nid]["pos"] = [x, y]
            nodes[nid]["size"] = [w, h]
            y += h + _ROW_GAP
        x += width + _COL_GAP
