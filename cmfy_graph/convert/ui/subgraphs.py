"""Subgraphs: flattening instances into execution ids, promoted widgets, links through the subgraph
input and output pseudo-nodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from ._model import (
    _LOAD_RENAMES,
    _MISSING,
    MODE_BYPASS,
    MODE_NEVER,
    SUBGRAPH_INPUT_ID,
    SUBGRAPH_OUTPUT_ID,
    VIRTUAL_NODE_TYPES,
    _as_list,
    _Dto,
    _Graph,
    _Input,
    _key,
    _Link,
    _Widget,
)
from ._state import _State
from .widgets import _input_spec, _widget_type_of


class Subgraphs(_State):
    """Subgraphs."""

    # -- definitions

    def _collect_defs(self, data: Mapping[str, Any]) -> None:
        defs = data.get("definitions")
        if not isinstance(defs, dict):
            return
        subs = defs.get("subgraphs")
        if not isinstance(subs, list):
            return
        for sg in subs:
            if isinstance(sg, dict) and isinstance(sg.get("id"), str):
                self.defs.setdefault(sg["id"], sg)
                self._collect_defs(sg)

    def def_graph(self, sid: str) -> _Graph:
        g = self.def_graphs.get(sid)
        if g is None:
            d = self.defs[sid]
            g = _Graph(d, f"subgraph {d.get('name', sid)!r}", d)
            self.def_graphs[sid] = g
        return g

    # -- flattening

    def flatten(self) -> list[_Dto]:
        order: list[_Dto] = []
        self._flatten(self.root, (), None, order, ())
        return order

    @staticmethod
    def _sorted_keys(g: _Graph) -> list[str]:
        """The graph's node keys by their saved ``order`` (stable; unordered nodes last)."""
        nodes = g.nodes
        orders: list[Any] = [nodes[key].get("order") for key in g.order]
        if all(type(o) is int for o in orders):
            if all(a < b for a, b in zip(orders, orders[1:], strict=False)):
                return g.order  # already in order (as the editor saves it)
            return [
                key for _, _, key in sorted(zip(orders, range(len(orders)), g.order, strict=True))
            ]
        inf = float("inf")
        ranked = [
            (o if isinstance(o, (int, float)) else inf, i, key)
            for i, (o, key) in enumerate(zip(orders, g.order, strict=True))
        ]
        return [key for _, _, key in sorted(ranked)]

    def _flatten(
        self,
        g: _Graph,
        path: tuple[str, ...],
        instance: _Dto | None,
        order: list[_Dto],
        stack: tuple[str, ...],
    ) -> None:
        # the root graph in execution order (its saved ``order``), a definition's nodes in
        # their array order (SubgraphNode.getInnerNodes): the editor's order of the prompt
        for key in self._sorted_keys(g) if g is self.root else g.order:
            node = g.nodes[key]
            dto = _Dto(node, g, path, instance, self._saved_inputs_of(node))
            dto.virtual = self._compute_virtual(dto)
            if dto.type in self.defs and dto.type not in self.spec:
                if dto.type in stack:
                    self.warn(
                        f"{self.where(dto)}: subgraph {dto.type} contains itself; not expanded", dto
                    )
                else:
                    sub = self.def_graph(dto.type)
                    dto.sub = sub
                    self.has_instances = True
                    self._setup_instance(dto)
                    if not (
                        self.editor_2026 and not path and dto.mode in (MODE_NEVER, MODE_BYPASS)
                    ):
                        # (the editor of 2026 does not expand a muted or bypassed instance of
                        # the root graph: executionUtil.ts graphToPrompt; nested ones are)
                        self._flatten(sub, (*path, dto.key), dto, order, (*stack, dto.type))
            self.dtos[dto.id] = dto
            self.first_dto.setdefault((id(g), key), dto)
            order.append(dto)

    def _setup_instance(self, dto: _Dto) -> None:
        """Live inputs of a subgraph instance: one per definition input, matched by name to the
        saved (possibly compressed) inputs; promoted widget values from ``widgets_values``."""
        d = self.defs[dto.type]
        sub = dto.sub
        assert sub is not None
        # the saved inputs of each name, in order (each is matched once)
        saved: dict[str, list[_Input]] = {}
        for s in dto.inputs:
            saved.setdefault(s.name, []).append(s)
        live: list[_Input] = []
        widget_idx: list[int] = []
        for i, sin in enumerate(_as_list(d.get("inputs"))):
            if not isinstance(sin, dict):  # keep the indexes of the other inputs
                live.append(_Input(f"input_{i}", None, None, None))
                continue
            raw_name = sin.get("name")
            name = raw_name if isinstance(raw_name, str) else f"input_{i}"
            same = saved.get(name)
            match = same.pop(0) if same else None
            typ = sin.get("type")
            live.append(_Input(name, match.link if match else None, typ, None))
            if self._subgraph_input_has_widget(sub, sin, i):
                widget_idx.append(len(live) - 1)
        dto.sub_inputs = live
        wv = dto.node.get("widgets_values")
        named = dto.node.get("widgets_values_named") if self.named_values else None
        for k, li in enumerate(widget_idx):
            name = live[li].name
            if isinstance(named, dict) and name in named:
                dto.promoted[li] = named[name]
            elif isinstance(wv, dict) and name in wv:
                dto.promoted[li] = wv[name]
            elif isinstance(wv, list) and k < len(wv):
                dto.promoted[li] = wv[k]
            else:
                dto.promoted[li] = _MISSING

    def _inner_widget_value(self, inst: _Dto, idx: int) -> Any:
        """The value of the inner widget a subgraph input is bound to (what a promoted widget
        holds when the instance saved no value for it): the widget of the first of the input's
        links that enters a widget, as ``SubgraphNode`` promotes it."""
        sub = inst.sub
        assert sub is not None
        sins = _as_list(self.defs[inst.type].get("inputs"))
        if not 0 <= idx < len(sins) or not isinstance(sins[idx], dict):
            return _MISSING
        found = self._promotion_link(sub, sins[idx], idx)
        if found is None:
            return _MISSING
        lk, name = found
        tdto = self.dtos.get(f"{inst.id}:{lk.target_id}")
        if tdto is None:
            return _MISSING
        if tdto.sub is not None:
            for j, li in enumerate(tdto.sub_inputs):
                if li.name == name and j in tdto.promoted:
                    v = tdto.promoted[j]
                    return self._inner_widget_value(tdto, j) if v is _MISSING else v
            return _MISSING
        ns = self.spec.get(tdto.type)
        if ns is None:
            return _MISSING
        vals = self._load_values.get(id(tdto))
        if vals is None:  # as loaded: the same for every instance that asks
            vals = self._load_values[id(tdto)] = self.widget_values(
                tdto, ns, quiet=True, at_load=True
            )
        return vals.get(name, _MISSING)

    @staticmethod
    def _input_links(sub: _Graph, sin: Any, index: int) -> list[_Link]:
        cands: list[_Link] = []
        link_ids = sin.get("linkIds") if isinstance(sin, dict) else None
        if isinstance(link_ids, list):
            for lid in link_ids:
                lk = sub.links.get(_key(lid))
                if lk is not None:
                    cands.append(lk)
        if not cands:
            cands = [
                lk
                for lk in sub.links.values()
                if lk.origin_id == SUBGRAPH_INPUT_ID and lk.origin_slot == index
            ]
        return cands

    def _promotion_link(
        self, sub: _Graph, sin: Mapping[str, Any], index: int, depth: int = 0
    ) -> tuple[_Link, str] | None:
        """The link (and the widget name) through which a subgraph input gets its promoted
        widget: the first of its links, in ``linkIds`` order, whose target input has a widget
        (``SubgraphNode._internalConfigureAfterSlots``); None when no link does. Memoised per
        definition input (definitions do not change during a conversion)."""
        if depth:  # inside a nested definition: not memoised (a cycle stops on depth)
            return self._find_promotion_link(sub, sin, index, depth)
        key = (id(sub), id(sin), index)
        hit = self._promo_cache.get(key)
        if hit is not None:
            found: tuple[_Link, str] | None = hit[0]
            return found
        found = self._find_promotion_link(sub, sin, index, depth)
        self._promo_cache[key] = (found,)
        return found

    def _find_promotion_link(
        self, sub: _Graph, sin: Mapping[str, Any], index: int, depth: int
    ) -> tuple[_Link, str] | None:
        for lk in self._input_links(sub, sin, index):
            target = sub.nodes.get(lk.target_id)
            if target is None:
                continue
            inp = self._input_for_link(target, lk)
            if inp is None:
                continue
            raw = target.get("type")
            ttype = _LOAD_RENAMES.get(raw, raw) if isinstance(raw, str) else None
            if ttype is None:
                continue
            if ttype in self.defs and ttype not in self.spec:
                if depth >= 32:
                    continue
                d = self.defs[ttype]
                for j, s2 in enumerate(_as_list(d.get("inputs"))):
                    if isinstance(s2, dict) and s2.get("name") == inp.name:
                        if self._promotion_link(self.def_graph(ttype), s2, j, depth + 1):
                            return lk, inp.name
                        break
                continue
            ns = self.spec.get(ttype)
            if ns is None or ttype in VIRTUAL_NODE_TYPES:
                continue  # a missing node has no widgets; virtual ones none that bind
            i = _input_spec(ns, inp.name)
            if i is not None and _widget_type_of(i) is not None:
                return lk, inp.name
        return None

    def _subgraph_input_has_widget(
        self, sub: _Graph, sin: Mapping[str, Any], index: int, depth: int = 0
    ) -> bool:
        return self._promotion_link(sub, sin, index, depth) is not None

    # -- promoted widget sync

    def compute_sync(self) -> None:
        """Replay the writes ``SubgraphNode.serialize`` makes when the editor serialises the
        graph (before building the prompt): every instance copies each promoted widget's
        value into every inner widget bound to that subgraph input. Instances are serialised
        in node order, the root graph first, then the used definitions in order; an inner
        widget shared by several instances ends up with the last one's value. That value is
        what an inner input keeps when its link through the instance resolves to nothing."""
        if not self.has_instances:
            return
        order: list[tuple[_Graph, str]] = [(self.root, k) for k in self.root.order]
        for sid in self._used_definitions():
            g = self.def_graph(sid)
            order.extend((g, k) for k in g.order)
        # values written into the promoted widgets of nested instances by their parents
        nested: dict[tuple[int, str], dict[str, Any]] = {}
        for g, key in order:
            dto = self.first_dto.get((id(g), key))
            if dto is None or dto.sub is None:
                continue
            sub = dto.sub
            sins = _as_list(self.defs[dto.type].get("inputs"))
            ov = self.overrides.get((id(g), key)) or {}
            written = nested.get((id(g), key)) or {}
            for j in sorted(dto.promoted):
                name = dto.sub_inputs[j].name
                if name in written:
                    value = written[name]
                elif name in ov:
                    value = ov[name]
                else:
                    value = dto.promoted[j]
                    if value is _MISSING:
                        value = self._inner_widget_value(dto, j)
                        if value is _MISSING:
                            continue
                si = self._definition_input_index(dto.type, sins).get(name, -1)
                if si < 0:
                    continue
                for lk in self._input_links(sub, sins[si], si):
                    target = sub.nodes.get(lk.target_id)
                    tdto = self.first_dto.get((id(sub), lk.target_id))
                    if target is None or tdto is None:
                        continue
                    inp = self._input_for_link(target, lk)
                    if inp is None:
                        continue
                    if tdto.sub is not None:
                        for k, li in enumerate(tdto.sub_inputs):
                            if li.name == inp.name and k in tdto.promoted:
                                nested.setdefault((id(sub), lk.target_id), {})[li.name] = value
                                break
                        continue
                    if self.is_virtual(tdto) or tdto.type not in self.spec:
                        continue
                    live = self.live_input_for_link(tdto, lk)
                    if live is not None and live.widget:
                        self.synced.setdefault((id(sub), lk.target_id), {})[live.widget] = value

    def _definition_input_index(self, sid: str, sins: list[Any]) -> dict[str, int]:
        """A definition's input names -> index (the first of a name), once per conversion."""
        hit = self._def_input_index.get(sid)
        if hit is None:
            hit = {}
            for i, x in enumerate(sins):
                name = x.get("name") if isinstance(x, dict) else None
                if isinstance(name, str):
                    hit.setdefault(name, i)
            self._def_input_index[sid] = hit
        return hit

    def _used_definitions(self) -> list[str]:
        """The definitions reachable from the root graph's instances, in the order the editor
        keeps them (the root's ``definitions.subgraphs`` order)."""
        used: set[str] = set()
        todo = [self.root]
        while todo:
            g = todo.pop()
            for key in g.order:
                t = g.nodes[key].get("type")
                if isinstance(t, str) and t in self.defs and t not in self.spec and t not in used:
                    used.add(t)
                    todo.append(self.def_graph(t))
        defs = self.workflow.get("definitions")
        subs = defs.get("subgraphs") if isinstance(defs, dict) else None
        first = [
            sg["id"]
            for sg in _as_list(subs)
            if isinstance(sg, dict) and isinstance(sg.get("id"), str) and sg["id"] in used
        ]
        return list(dict.fromkeys([*first, *(sid for sid in self.defs if sid in used)]))

    def _resolve_subgraph_output(
        self, dto: _Dto, slot: int, type_: Any, visited: set[Any]
    ) -> tuple[str, int] | _Widget | None:
        sub = dto.sub
        assert sub is not None
        d = self.defs[dto.type]
        outs = _as_list(d.get("outputs"))
        lk: _Link | None = None
        link_ids: list[Any] = []
        if 0 <= slot < len(outs) and isinstance(outs[slot], dict):
            link_ids = _as_list(outs[slot].get("linkIds"))
            for lid in link_ids:
                lk = sub.links.get(_key(lid))
                if lk is not None:
                    break
        if lk is None:
            for cand in sub.links.values():
                if cand.target_id == SUBGRAPH_OUTPUT_ID and cand.target_slot == slot:
                    lk = cand
                    break
        if lk is None:
            out = outs[slot] if 0 <= slot < len(outs) else None
            name = out.get("name") if isinstance(out, dict) else None
            label = f"output {slot}" + (f" {name!r}" if isinstance(name, str) else "")
            if link_ids:
                ids = ", ".join(str(i) for i in link_ids[:3])
                why = f"is wired by link {ids}, which the definition lacks"
            else:
                why = "is not wired to anything inside the definition"
            self.warn(
                f"{self.where(dto)}: {label} {why}: nothing is sent through it",
                dto,
            )
            return None
        if lk.origin_id == SUBGRAPH_INPUT_ID:
            # an output wired straight from an input: continue outside
            if 0 <= lk.origin_slot < len(dto.sub_inputs):
                return self.resolve_input(dto, dto.sub_inputs[lk.origin_slot], visited)
            return None
        inner = self.dtos.get(f"{dto.id}:{lk.origin_id}")
        if inner is None:
            self.warn(f"{self.where(dto)}: subgraph output {slot} comes from a missing node", dto)
            return None
        return self.resolve_output(inner, lk.origin_slot, type_, visited)

    def _all_nodes(self) -> list[_Dto]:
        """Every node of the hierarchy in ``collectAllNodes`` order: each graph's nodes in
        order, a subgraph instance's inner nodes just before the instance."""
        out: list[_Dto] = []

        def walk(g: _Graph, depth: int) -> None:
            for key in g.order:
                dto = self.first_dto.get((id(g), key))
                if dto is None:
                    continue
                if dto.sub is not None and depth < 32:
                    walk(dto.sub, depth + 1)
                out.append(dto)

        walk(self.root, 0)
        return out
