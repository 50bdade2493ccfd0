"""Bypass and mute: what a link into a muted or bypassed node resolves to (the editor's
``_getBypassSlotIndex``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from ._model import (
    MODE_BYPASS,
    MODE_NEVER,
    _as_list,
    _Dto,
    _Input,
    _type_str,
    _valid_connection,
    _Widget,
)
from ._state import _State


class BypassAndMute(_State):
    """Bypass and mute."""

    def resolve_output(
        self, dto: _Dto, slot: int, type_: Any, visited: set[Any]
    ) -> tuple[str, int] | _Widget | None:
        if dto.mode == MODE_NEVER and self.editor_2026:
            # muted nodes produce no output (ExecutableNodeDTO.resolveOutput, 2026): a
            # widget socket keeps its widget's value
            return None
        if dto.mode != MODE_BYPASS and dto.sub is None and not dto.virtual:
            return (dto.id, slot)  # an executed node: the end of the resolution
        uid = (id(dto.node), slot)
        if uid in visited:
            self.warn(f"{self.where(dto)}: circular link resolution through output {slot}", dto)
            return None
        visited.add(uid)
        if dto.mode == MODE_BYPASS:
            ins = self.live_inputs(dto)
            idx = self._bypass_index(dto, ins, slot, type_)
            if idx < 0:
                return None
            return self.resolve_input(dto, ins[idx], visited)
        if dto.sub is not None:
            return self._resolve_subgraph_output(dto, slot, type_, visited)
        if self.is_virtual(dto):
            if dto.type == "GetNode" and dto.type not in self.spec:
                setter = self._setter_for(dto)
                if setter is None or not setter.inputs:
                    return None
                return self.resolve_input(setter, setter.inputs[0], visited, type_)
            if self.is_group_node(dto):
                return None
            if 0 <= slot < len(dto.inputs):
                return self.resolve_input(dto, dto.inputs[slot], visited, type_)
            return None
        return (dto.id, slot)

    def _bypass_index(self, dto: _Dto, ins: list[_Input], slot: int, type_: Any) -> int:
        if not ins:
            return -1
        t = _type_str(type_)
        if t in ("*", ""):
            return slot if len(ins) > slot else 0
        # the output's live type: the definition's for a node type in the spec (its outputs
        # are zipped with the saved ones on load), else the saved one
        outs = _as_list(dto.node.get("outputs"))
        out_type: Any = None
        ns = None if dto.sub is not None or self.is_virtual(dto) else self.spec.get(dto.type)
        def_outs = self.defs[dto.type].get("outputs") if dto.sub is not None else None
        if ns is not None and 0 <= slot < len(ns.outputs):
            out_type = ns.outputs[slot].type
            if out_type == "COMFY_MATCHTYPE_V3":
                # narrowed by the editor (applyMatchType) to what is connected: saved, else *
                saved = outs[slot] if 0 <= slot < len(outs) else None
                out_type = saved.get("type") if isinstance(saved, dict) else None
                out_type = out_type if isinstance(out_type, str) and out_type else "*"
        elif isinstance(def_outs, list) and 0 <= slot < len(def_outs):
            o = def_outs[slot]  # an instance's outputs are its definition's
            out_type = o.get("type") if isinstance(o, dict) else None
        elif 0 <= slot < len(outs) and isinstance(outs[slot], dict):
            out_type = outs[slot].get("type")
        ot = _type_str(out_type)
        if 0 <= slot < len(ins):
            it = _type_str(ins[slot].type)
            if _valid_connection(it, ot) and _valid_connection(it, t):
                return slot
        for i, inp in enumerate(ins):
            if _type_str(inp.type) == t and not isinstance(inp.type, list):
                return i
        for i, inp in enumerate(ins):
            it = _type_str(inp.type)
            if _valid_connection(it, ot) and _valid_connection(it, t):
                return i
        return -1
