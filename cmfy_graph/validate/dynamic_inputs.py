"""V3 dynamic inputs (docs/dynamic_inputs.md): what ComfyUI 2026 lets through on dynamic combos and
MatchType sockets but the node cannot run with.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import did_you_mean
from ..spec import DynamicComboSpec, MatchTypeSpec

if TYPE_CHECKING:
    from ..spec import InputSpec

from ._common import _Cls, _is_link_shape, _short
from ._state import _State


class DynamicInputRules(_State):
    """V3 dynamic inputs (docs/dynamic_inputs.md)."""

    def _dynamic_findings(
        self, uid: Any, c: _Cls, inputs: dict[str, Any], received: dict[str, Any]
    ) -> None:
        """What ComfyUI 2026 lets through on V3 dynamic inputs but the node cannot run with:
        a dynamic combo without a known option, MatchType sockets fed types outside
        ``allowed_types`` or of different types (docs/dynamic_inputs.md)."""
        self._combo_options(uid, c.ns.inputs, inputs, "")
        by_template: dict[str, list[tuple[str, str]]] = {}
        for inp in c.inputs_for(inputs):
            mt = inp.spec.dynamic
            if not isinstance(mt, MatchTypeSpec) or inp.name not in received:
                continue
            got = received[inp.name]
            if not isinstance(got, str) or got in ("*", "COMFY_MATCHTYPE_V3"):
                continue
            if mt.allowed_types is not None and not (
                {t.strip() for t in got.split(",")} & mt.allowed_types
            ):
                self.add(
                    "matchtype_mismatch",
                    f"{got} is not one of the types this input allows "
                    f"({', '.join(sorted(mt.allowed_types))}); ComfyUI does not check it, "
                    "the node fails when it runs",
                    uid,
                    inp.name,
                )
            by_template.setdefault(mt.template_id, []).append((inp.name, got))
        for pairs in by_template.values():
            types = {t for _, t in pairs}
            if len(types) > 1:
                shown = ", ".join(f"{n}: {t}" for n, t in pairs)
                self.add(
                    "matchtype_mismatch",
                    f"inputs of one matched type are fed different types ({shown}); "
                    "ComfyUI does not check it, the node fails when it runs",
                    uid,
                    pairs[-1][0],
                )

    def _combo_options(
        self, uid: Any, specs: Mapping[str, InputSpec], inputs: dict[str, Any], prefix: str
    ) -> None:
        for key, dyn, val in unselected_combos(specs, inputs, prefix):
            if val is _ABSENT:
                self.add(
                    "dynamic_option_unknown",
                    f"required dynamic combo {key!r} is missing; ComfyUI then skips it "
                    "and its sub-inputs, and the node fails when it runs",
                    uid,
                    key,
                    hint="options: " + ", ".join(repr(k) for k in dyn.keys[:8]),
                )
                continue
            keys = [k for k in dyn.keys if isinstance(k, str)]
            hint = (did_you_mean(val, keys) if isinstance(val, str) else "") or (
                "options: " + ", ".join(repr(k) for k in keys[:8])
            )
            self.add(
                "dynamic_option_unknown",
                f"{_short(val)} is not an option of dynamic combo {key!r} "
                f"({len(keys)} options); ComfyUI skips it and its sub-inputs, and the "
                "node fails when it runs",
                uid,
                key,
                hint=hint,
            )


_ABSENT: Any = object()


def unselected_combos(
    specs: Mapping[str, InputSpec], inputs: Mapping[str, Any], prefix: str = ""
) -> Iterator[tuple[str, DynamicComboSpec, Any]]:
    """The dynamic combos of ``inputs`` that select no option: ``(key, combo, value)`` for a
    value that is no option of theirs, ``value`` :data:`_ABSENT` for a required combo that is
    missing (ComfyUI 2026 skips both and their sub-inputs); nested ones under the options
    that are selected included. A linked combo selects at run time: not reported."""
    for name, ispec in specs.items():
        dyn = ispec.dynamic
        if not isinstance(dyn, DynamicComboSpec):
            continue
        key = prefix + name
        if key not in inputs:
            if ispec.section == "required":
                yield key, dyn, _ABSENT
            continue
        val = inputs[key]
        if _is_link_shape(val):
            continue
        opt = dyn.option(val) if isinstance(val, str) else None
        if opt is None:
            yield key, dyn, val
        else:
            yield from unselected_combos(opt.inputs, inputs, key + ".")
