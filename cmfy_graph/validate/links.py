"""Links and types: link shapes, missing nodes and outputs, type matching, recursion into the
linked node (ComfyUI's ``validate_inputs`` for list values).
"""

from __future__ import annotations

from typing import Any

from ..errors import did_you_mean
from ..rules import comfy_error
from ._common import (
    COMFY_RECURSION_DEPTH,
    _Cls,
    _float_id,
    _In,
    _json_kind,
    _key_repr,
    _Raised,
    _short,
    _tn,
    _type_label,
    _types_match,
)
from ._state import _State


class LinkRules(_State):
    """Links and types."""

    def _link(
        self,
        uid: Any,
        c: _Cls,
        inp: _In,
        val: list[Any],
        errors: list[dict[str, Any]],
        received_types: dict[str, Any],
        depth: int,
    ) -> bool:
        """One linked input (``validate_inputs`` for a list value); False when the linked
        node failed. Raises :class:`_Raised` where ComfyUI's own code raises."""
        x = inp.name
        if len(val) != 2:
            self._bad_link_shape(uid, inp, val, errors)
            return True
        o_id, slot = val
        self._link_source(uid, x, val)
        if o_id in self.broken:
            return True  # collect mode: the source's class is unknown
        sc = self.view.cls(self.prompt[o_id]["class_type"])
        idx = self._link_slot(uid, x, val, sc)
        received = sc.return_types[idx]
        received_types[x] = received
        if not c.takes_input_types and not _types_match(received, inp.type, c.modern):
            self._type_mismatch(uid, inp, val, idx, sc, errors)
            return True
        return self._follow(uid, inp, val, depth)

    def _bad_link_shape(
        self, uid: Any, inp: _In, val: list[Any], errors: list[dict[str, Any]]
    ) -> None:
        x = inp.name
        err = comfy_error(
            "bad_linked_input",
            x,
            {"input_name": x, "input_config": inp.config, "received_value": val},
        )
        errors.append(err)
        hint = None
        if inp.type in ("INT", "FLOAT", "STRING", "BOOLEAN") or inp.new_combo:
            hint = 'a list constant must be wrapped: {"__value__": [...]}'
        self.add(
            "bad_linked_input",
            f"a list is read as a link [node_id, output_index]; {_short(val)} is not one",
            uid,
            x,
            hint=hint,
            comfyui=err,
        )

    def _link_source(self, uid: Any, x: str, val: list[Any]) -> None:
        """The linked node id: a string key of the prompt, else ComfyUI's exception."""
        o_id, slot = val
        prompt = self.prompt
        if isinstance(o_id, (list, dict)):
            self.add(
                "link_node_id_not_string",
                f"link {_short(val)}: the node id is a JSON {_json_kind(o_id)}",
                uid,
                x,
            )
            raise _Raised("TypeError", f"unhashable type: '{_tn(o_id)}'")
        if o_id in prompt:
            return
        if not isinstance(o_id, str):
            alt = str(o_id) if not isinstance(o_id, float) else _float_id(o_id)
            hint = f"did you mean [{alt!r}, {slot!r}]?" if alt in prompt else None
            self.add(
                "link_node_id_not_string",
                f"link {_short(val)}: node ids are strings in the API format",
                uid,
                x,
                hint=hint,
            )
        else:
            ids = [k for k in prompt if isinstance(k, str)]
            self.add(
                "link_missing_node",
                f"input links to node {o_id!r}, which is not in the prompt",
                uid,
                x,
                hint=did_you_mean(o_id, ids) or None,
            )
        raise _Raised("KeyError", _key_repr(o_id))

    def _link_slot(self, uid: Any, x: str, val: list[Any], sc: _Cls) -> int:
        """The output index as ComfyUI indexes ``RETURN_TYPES`` with it (a bool is an int, a
        negative one counts from the end), else ComfyUI's exception."""
        o_id, slot = val
        rt = sc.return_types
        n = len(rt)
        idx: Any = int(slot) if isinstance(slot, bool) else slot
        if not isinstance(idx, int):
            hint = None
            if isinstance(idx, float) and idx.is_integer():
                hint = f"did you mean [{o_id!r}, {int(idx)}]?"
            self.add(
                "link_slot_not_integer",
                f"link {_short(val)}: the output index is a JSON {_json_kind(idx)}, "
                "not an integer",
                uid,
                x,
                hint=hint,
            )
            raise _Raised(
                "TypeError", f"{sc.seq} indices must be integers or slices, not {_tn(idx)}"
            )
        if not -n <= idx < n:
            outs = ", ".join(
                f"{i} {t if isinstance(t, str) else 'COMBO'}" for i, t in enumerate(rt)
            )
            self.add(
                "link_output_out_of_range",
                f"link {_short(val)}: node {o_id!r} ({sc.class_type}) has "
                f"{n} output{'s' if n != 1 else ''}"
                + (f" ({outs})" if outs else "")
                + f"; index {idx} is out of range",
                uid,
                x,
            )
            raise _Raised("IndexError", f"{sc.seq} index out of range")
        if idx < 0:
            self.add(
                "negative_link_slot",
                f"link {_short(val)}: a negative output index counts from the end "
                f"(ComfyUI reads it as output {idx % n})",
                uid,
                x,
                hint=f"did you mean [{o_id!r}, {idx % n}]?",
            )
        return int(idx)

    def _type_mismatch(
        self,
        uid: Any,
        inp: _In,
        val: list[Any],
        idx: int,
        sc: _Cls,
        errors: list[dict[str, Any]],
    ) -> None:
        x = inp.name
        o_id = val[0]
        received = sc.return_types[idx]
        err = comfy_error(
            "return_type_mismatch",
            f"{x}, received_type({received}) mismatch input_type({inp.type})",
            {
                "input_name": x,
                "input_config": inp.config,
                "received_type": received,
                "linked_node": val,
            },
        )
        errors.append(err)
        self.add(
            "return_type_mismatch",
            f"output {idx} of node {o_id!r} ({sc.class_type}) is "
            f"{_type_label(received)}, the input takes {_type_label(inp.type)}",
            uid,
            x,
            hint=self._type_hint(o_id, sc, inp.type),
            comfyui=err,
        )

    def _follow(self, uid: Any, inp: _In, val: list[Any], depth: int) -> bool:
        """Validate the linked node (recursively, as ComfyUI does); False when it failed."""
        x = inp.name
        o_id = val[0]
        if o_id in self.visiting:
            self._cycle(o_id, uid, x)
            return False
        if depth + 1 > COMFY_RECURSION_DEPTH:
            self.add(
                "recursion_limit",
                f"the chain of links from an output node is deeper than ComfyUI's "
                f"validator can follow (about {COMFY_RECURSION_DEPTH} nodes)",
                o_id,
            )
            self._store_inner(
                o_id,
                inp,
                val,
                "RecursionError",
                "maximum recursion depth exceeded while calling a Python object",
            )
            return False
        self.stack_inputs.append(x)
        try:
            r = self.vi(o_id, depth + 1)
        except _Raised as ex:
            self._store_inner(o_id, inp, val, ex.exc_type, ex.message)
            return False
        finally:
            self.stack_inputs.pop()
        return r[0]

    def _store_inner(self, o_id: Any, inp: _In, val: Any, exc_type: str, message: str) -> None:
        self.validated[o_id] = (
            False,
            [
                comfy_error(
                    "exception_during_inner_validation",
                    message,
                    {
                        "input_name": inp.name,
                        "input_config": inp.config,
                        "exception_message": message,
                        "exception_type": exc_type,
                        "traceback": [],
                        "linked_node": val,
                    },
                )
            ],
        )

    def _type_hint(self, o_id: Any, sc: _Cls, wanted: Any) -> str | None:
        if not isinstance(wanted, str):
            return None
        for i, t in enumerate(sc.return_types):
            if isinstance(t, str) and _types_match(t, wanted):
                return f"did you mean output {i} ({t}): [{o_id!r}, {i}]?"
        return None

    def _cycle(self, o_id: Any, uid: Any, x: str) -> None:
        start = self.visiting[o_id]
        members = self.stack[start:]
        key = frozenset(members)
        if key in self.cycle_sets:
            return
        self.cycle_sets.add(key)
        # the input on each member that leads to the next one
        ins = self.stack_inputs[start:] + [x]
        self.cycles.append(list(zip(members, ins, strict=True)))
