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

    def warn(msg: str) -> None:
        if warnings is not None:
            warnings.append(msg)
        else:
            _warnings.warn(msg, ConversionWarning, stacklevel=3)

    ids: list[str] = []
    for nid, entry in prompt.items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("class_type"), str):
            raise ConversionError(f"node {nid}: not an object with a string class_type")
        ids.append(str(nid))
    depth = _depths(prompt, ids)

    nodes: dict[str, dict[str, Any]] = {}
    links: list[list[Any]] = []
    link_id = 0
    pending: list[tuple[str, str, str, int, Any]] = []  # (target, input, source, slot, type)
    absent: list[tuple[str, str, str]] = []  # (node, widget input, type) left out of the prompt

    for nid in ids:
        entry = prompt[nid]
        ct: str = entry["class_type"]
        ns: NodeSpec | None = spec.get(ct)
        raw_in = entry.get("inputs")
        ins: Mapping[str, Any] = raw_in if isinstance(raw_in, Mapping) else {}
        inputs: list[dict[str, Any]] = []
        widgets_values: list[Any] = []
        named: dict[str, Any] | None = None
        if ns is not None:
            layout = widget_layout(ns)
            lay_names = {s.name for s in layout if s.serialize}
            for slot in layout:
                if slot.kind == "control":
                    widgets_values.append("fixed")
                elif slot.kind == "filter":
                    widgets_values.append("")
                elif slot.kind == "upload":
                    widgets_values.append("image")
                elif slot.kind == "fixed":
                    widgets_values.append(None)
                else:
                    v = ins.get(slot.name)
                    if v is None or is_link(v):
                        widgets_values.append(_placeholder(slot))
                    else:
                        widgets_values.append(_unwrap(v))
            while widgets_values and widgets_values[-1] is None:
                widgets_values.pop()
            # sockets: non-widget inputs in spec order, then linked widget inputs
            for name, inp in ns.inputs.items():
                if name in lay_names:
                    continue
                inputs.append({"name": name, "type": inp.type, "link": None})
            for slot in layout:
                if slot.serialize and slot.name not in ins:
                    # the prompt leaves a widget input out: link it from a muted node, which is
                    # how the editor itself drops a value (the link is pruned, value and all)
                    absent.append((nid, slot.name, _widget_type(slot)))
                    inputs.append(
                        {
                            "name": slot.name,
                            "type": _widget_type(slot),
                            "widget": {"name": slot.name},
                            "link": None,
                        }
                    )
            for name, v in ins.items():
                if is_link(v):
                    if name in lay_names:
                        inp_spec = ns.inputs.get(name)
                        inputs.append(
                            {
                                "name": name,
                                "type": inp_spec.type if inp_spec is not None else "*",
                                "widget": {"name": name},
                                "link": None,
                            }
                        )
                    elif name not in ns.inputs:
                        inputs.append({"name": name, "type": "*", "link": None})
                elif name not in lay_names:
                    warn(
                        f"node {nid} ({ct}): input {name!r} = {v!r} is not a widget of the spec; "
                        "a UI workflow cannot hold it, dropped"
                    )
            outputs = [
                {"name": o.name, "type": o.type, "links": [], "slot_index": o.index}
                for o in ns.outputs
            ]
            title_default = display_name(ns)
        else:
            warn(
                f"node {nid} ({ct}): class not in the spec; its values are kept by name in "
                "widgets_values_named and it will show as missing in the editor"
            )
            named = {}
            for name, v in ins.items():
                if is_link(v):
                    inputs.append({"name": name, "type": "*", "link": None})
                else:
                    named[name] = _unwrap(v)
            outputs = []
            title_default = ct
        for name, v in ins.items():
            if is_link(v):
                if v[0] in prompt:
                    pending.append((nid, name, v[0], v[1], None))
                else:
                    warn(f"node {nid} ({ct}): input {name!r} links to node {v[0]}, absent; dropped")
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
            "widgets_values": widgets_values if named is None else [],
        }
        if named is not None:
            node["widgets_values_named"] = named
        if isinstance(title, str) and title != title_default:
            node["title"] = title
        nodes[nid] = node

    used_ids = {n["id"] for n in nodes.values()}
    next_id = max([i for i in used_ids if isinstance(i, int)], default=0) + 1
    for target, name, typ in absent:
        mid = str(next_id)
        next_id += 1
        ct_m = _MUTED_SOURCE.get(typ, "PrimitiveString")
        nodes[mid] = {
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
        ids.append(mid)
        depth[mid] = max(depth.get(target, 0) - 1, 0)
        pending.append((target, name, mid, 0, typ))
    for target, name, source, oslot, _ in pending:
        tnode = nodes[target]
        snode = nodes[source]
        outs = snode["outputs"]
        while len(outs) <= oslot:  # unknown classes: outputs appear as they are used
            outs.append(
                {"name": f"output_{len(outs)}", "type": "*", "links": [], "slot_index": len(outs)}
            )
        link_id += 1
        ltype = outs[oslot]["type"]
        tslot = next(i for i, s in enumerate(tnode["inputs"]) if s["name"] == name)
        tnode["inputs"][tslot]["link"] = link_id
        outs[oslot]["links"].append(link_id)
        links.append([link_id, snode["id"], oslot, tnode["id"], tslot, ltype])

    _place(nodes, ids, depth)
    order = sorted(ids, key=lambda n: (depth.get(n, 0), ids.index(n)))
    for i, nid in enumerate(order):
        nodes[nid]["order"] = i
    int_ids = [n["id"] for n in nodes.values() if isinstance(n["id"], int)]
    return {
        "id": "00000000-0000-4000-8000-000000000000",
        "revision": 0,
        "last_node_id": max(int_ids, default=0),
        "last_link_id": link_id,
        "nodes": [nodes[n] for n in ids],
        "links": links,
        "groups": [],
        "config": {},
        "extra": {"ds": {"scale": 1, "offset": [0, 0]}},
        "version": 0.4,
    }


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

    return _default_value(slot.input, slot.kind)


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
