"""Links and reroutes: the input slots as the editor rebuilds them on load, link resolution through
reroutes and virtual nodes, PrimitiveNode value propagation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from ._model import (
    _MISSING,
    _PACK_VIRTUAL,
    SUBGRAPH_INPUT_ID,
    VIRTUAL_NODE_TYPES,
    _as_list,
    _Dto,
    _Input,
    _inputs_of,
    _key,
    _Link,
    _Widget,
)
from ._state import _State
from .widgets import _layouts, _live_type, _widget_type_of

_LIVE_TEMPLATES: dict[int, tuple[Any, list[tuple[str, Any]], list[tuple[str, Any]]]] = {}


def _live_template(ns: Any) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """What the editor rebuilds of a node type's input slots, computed once per spec record:
    its sockets ``(name, spec input)`` and its widget slots ``(name, type)`` in order (inputs
    injected by the upload and audio extensions included)."""
    hit = _LIVE_TEMPLATES.get(id(ns))
    if hit is not None and hit[0] is ns:
        return hit[1], hit[2]
    sockets: list[tuple[str, Any]] = []
    widgets: list[tuple[str, Any]] = []
    for spec_in in ns.inputs.values():
        if _widget_type_of(spec_in) is None:
            sockets.append((spec_in.name, spec_in))
        else:
            widgets.append((spec_in.name, spec_in.type))
    layout = _layouts(ns)[0]
    for slot in layout:
        if slot.kind in ("upload", "fixed") and slot.input is None:
            if slot.name in ns.inputs or slot.name not in ("upload", "audioUI"):
                continue
            typ = "AUDIO_UI" if slot.name == "audioUI" else "IMAGEUPLOAD"
            if slot.name == "upload" and any(
                x.input is not None and x.input.options.get("audio_upload") for x in layout
            ):
                typ = "AUDIOUPLOAD"
            widgets.append((slot.name, typ))
    if len(_LIVE_TEMPLATES) > 10_000:
        _LIVE_TEMPLATES.clear()
    _LIVE_TEMPLATES[id(ns)] = (ns, sockets, widgets)
    return sockets, widgets


class LinkResolution(_State):
    """Links and reroutes."""

    # -- live inputs

    def live_inputs(self, dto: _Dto) -> list[_Input]:
        """The input slots of ``dto`` as the editor holds them after loading.

        For a node type in the spec the editor rebuilds the slots from the node definition
        (``ComfyNode.configure``): first a socket for every input without a widget (or with
        ``forceInput``), then one socket per widget, in the editor's input order, each with the
        definition's type and widget flag and the saved link of the same name; saved inputs the
        definition does not know are kept after them. Unlinked widget sockets that a
        compressed file left out are therefore back in place, which matters for the bypass
        slot choice. Other nodes keep their saved inputs; subgraph instances their live ones.
        """
        if dto.live is not None:
            return dto.live
        live = dto.inputs
        if dto.sub is not None:
            live = dto.sub_inputs
        elif not self.is_virtual(dto) and dto.type in self.spec:
            sockets, widgets = _live_template(self.spec[dto.type])
            saved = {i.name: i for i in dto.inputs}  # the last one of a name wins (a Map)
            live = []
            for name, spec_in in sockets:
                s = saved.get(name)
                link = s.link if s is not None else None
                live.append(_Input(name, link, _live_type(spec_in, s), None))
            for name, typ in widgets:
                s = saved.get(name)
                live.append(_Input(name, s.link if s is not None else None, typ, name))
            defined = {i.name for i in live}
            live.extend(i for i in dto.inputs if i.name not in defined)
        dto.live = live
        return live

    def live_input_for_link(self, dto: _Dto, lk: _Link) -> _Input | None:
        """The live input of ``dto`` that link ``lk`` enters (found by link id, then by the
        saved target slot), or None."""
        saved = self._input_for_link(dto.node, lk)
        if saved is None:
            return None
        for i in self.live_inputs(dto):
            if i.name == saved.name:
                return i
        return saved

    def _saved_inputs_of(self, node: Mapping[str, Any]) -> list[_Input]:
        """The saved input slots of a node record, parsed once per conversion (shared by the
        records of every instance of a subgraph; never modified)."""
        key = id(node)
        hit = self._saved_inputs.get(key)
        if hit is None or hit[0] is not node:
            hit = self._saved_inputs[key] = (node, _inputs_of(node))
        return hit[1]

    def _input_for_link(self, node: Mapping[str, Any], lk: _Link) -> _Input | None:
        ins = self._saved_inputs_of(node)
        for i in ins:
            if i.link == lk.id:
                return i
        if 0 <= lk.target_slot < len(ins):
            return ins[lk.target_slot]
        return None

    # -- link resolution

    def resolve_input(
        self, dto: _Dto, inp: _Input, visited: set[Any], type_: Any = None
    ) -> tuple[str, int] | _Widget | None:
        uid = (id(dto.node), inp.name)
        if uid in visited:
            self.warn(
                f"{self.where(dto)}: circular link resolution through input {inp.name!r}",
                dto,
                inp.name,
            )
            return None
        visited.add(uid)
        if inp.link is None:
            return None
        lk = dto.graph.links.get(inp.link)
        if lk is None:
            self.warn(
                f"{self.where(dto)}: input {inp.name!r} refers to link {inp.link}, "
                f"which is not in the {dto.graph.name}; treated as unconnected",
                dto,
                inp.name,
            )
            return None
        inst = dto.instance
        if inst is not None and lk.origin_id == SUBGRAPH_INPUT_ID:
            idx = lk.origin_slot
            if not 0 <= idx < len(inst.sub_inputs):
                self.warn(f"{self.where(dto)}: link {lk.id} uses subgraph input {idx}, absent", dto)
                return None
            outer = inst.sub_inputs[idx]
            if outer.link is None:
                if idx in inst.promoted:
                    ov = self.overrides.get((id(inst.graph), inst.key))
                    if ov and outer.name in ov:
                        return _Widget(ov[outer.name])
                    v = inst.promoted[idx]
                    if v is _MISSING:
                        v = self._inner_widget_value(inst, idx)
                        if v is _MISSING:
                            return None
                    return _Widget(v)
                return None
            # when this resolves to nothing (a PrimitiveNode, a bypass without a match), the
            # inner widget keeps the value the instances synced into it (see compute_sync)
            return self.resolve_input(inst, outer, visited)
        origin = self.dtos.get(dto.prefix + lk.origin_id)
        if origin is None:
            self.warn(
                f"{self.where(dto)}: input {inp.name!r} is linked from node {lk.origin_id}, "
                f"which is not in the {dto.graph.name}; treated as unconnected",
                dto,
                inp.name,
            )
            return None
        return self.resolve_output(
            origin, lk.origin_slot, type_ if type_ is not None else inp.type, visited
        )

    def is_virtual(self, dto: _Dto) -> bool:
        """Nodes the editor never sends (they only route links or values); computed once
        per node when flattening (:meth:`_compute_virtual`)."""
        return dto.virtual

    def _compute_virtual(self, dto: _Dto) -> bool:
        t = dto.type
        return t in VIRTUAL_NODE_TYPES or (
            t not in self.spec and (t in _PACK_VIRTUAL or self.is_group_node(dto))
        )

    @staticmethod
    def is_group_node(dto: _Dto) -> bool:
        return dto.type.startswith(("workflow>", "workflow/"))

    def _setter_for(self, getter: _Dto) -> _Dto | None:
        wv = getter.node.get("widgets_values")
        name = wv[0] if isinstance(wv, list) and wv else None
        if name is None:
            return None
        for key in getter.graph.order:
            n = getter.graph.nodes[key]
            v = n.get("widgets_values")
            if n.get("type") == "SetNode" and isinstance(v, list) and v and v[0] == name:
                return self.dtos.get(getter.prefix + key)
        self.warn(f"{self.where(getter)}: no SetNode named {name!r}", getter)
        return None

    # -- primitive nodes

    def apply_primitives(self, order: list[_Dto]) -> None:
        done: set[tuple[int, str]] = set()
        for dto in order:
            if dto.type != "PrimitiveNode":
                continue
            gk = (id(dto.graph), dto.key)
            if gk in done:  # definitions are shared by every instance
                continue
            done.add(gk)
            outs = _as_list(dto.node.get("outputs"))
            if not outs or not isinstance(outs[0], dict):
                continue
            links = _as_list(outs[0].get("links"))
            if not links:
                continue
            wv = dto.node.get("widgets_values")
            if not isinstance(wv, list) or not wv:
                self.warn(
                    f"{self.where(dto)}: PrimitiveNode has no value; its targets keep theirs", dto
                )
                continue
            value = wv[0]
            props = dto.node.get("properties")
            if isinstance(props, dict) and props.get("Run widget replace on values"):
                if value and isinstance(value, str):
                    value = self.text_replacements(value, dto)
            for lid in links:
                found = self._primitive_target(dto, _key(lid))
                if found is None:
                    continue
                tdto, wname = found
                key = (id(tdto.graph), tdto.key)
                self.overrides.setdefault(key, {})[wname] = value

    def _primitive_target(self, prim: _Dto, lid: str) -> tuple[_Dto, str] | None:
        """The node and widget a PrimitiveNode's output link writes to (``applyToGraph``).

        The editor looks the link id up in the *root* graph's links (``app.graph.links``),
        then takes the node of that link's target id in the primitive's own graph and its
        input at that link's target slot, and writes to the widget the input is bound to.
        Inside a subgraph the root rarely has a link of that id: the editor then fails to
        export at all; we warn and follow the link of the primitive's own graph instead. The
        editor of 2026 takes the links of the primitive's own graph
        (``widgetValuePropagation.ts`` applyFirstWidgetValueToGraph), each moved on load to
        the input it enters.
        """
        if self.editor_2026:
            lk = prim.graph.links.get(lid)
            by_slot = False
        else:
            lk = self.root.links.get(lid)
            by_slot = True
            if lk is None and prim.graph is not self.root:
                self.warn(
                    f"{self.where(prim)}: a PrimitiveNode inside a subgraph: the editor looks "
                    f"its link {lid} up in the root graph, which has none, and fails to export; "
                    "its value is applied to its own target here",
                    prim,
                )
                lk = prim.graph.links.get(lid)
                by_slot = False
        if lk is None:
            return None
        tdto = self.dtos.get(prim.prefix + lk.target_id)
        if tdto is None:
            return None
        if by_slot and prim.graph is not self.root:
            live = self.live_inputs(tdto)
            inp = live[lk.target_slot] if 0 <= lk.target_slot < len(live) else None
        else:
            inp = self.live_input_for_link(tdto, lk)
        if inp is None:
            return None
        if tdto.sub is not None:  # an instance: its promoted widget of that input
            for j, li in enumerate(tdto.sub_inputs):
                if li.name == inp.name:
                    return (tdto, inp.name) if j in tdto.promoted else None
            return None
        if self.is_virtual(tdto) or tdto.type not in self.spec or not inp.widget:
            return None  # no widget to write to (a Reroute, a missing node, a plain socket)
        return tdto, inp.widget
