"""Constants, ranges and combos: coercion as ComfyUI coerces, min/max, combo membership (legacy and
new-style), and the warnings for what ComfyUI accepts silently.
"""

from __future__ import annotations

import math
from typing import Any

from ..rules import comfy_error
from ._common import _Cls, _In, _json_kind, _py_str_list, _Raised, _remote, _short
from ._state import _State


class ConstantRules(_State):
    """Constants, ranges and combos."""

    def _constant(
        self,
        uid: Any,
        c: _Cls,
        inp: _In,
        inputs: dict[str, Any],
        val: Any,
        errors: list[dict[str, Any]],
    ) -> None:
        """One constant input, as ``validate_inputs`` checks it: coerced by the declared type
        (written back), then min/max and combo membership unless the node's own
        ``VALIDATE_INPUTS`` takes it."""
        x = inp.name
        if isinstance(val, dict) and "__value__" in val:
            val = val["__value__"]
            inputs[x] = val
        orig = val
        ok, val = self._coerce(uid, inp, val, errors)
        if not ok:
            return
        inputs[x] = val
        self._coercion_warnings(uid, inp, orig, val)
        if x in c.vf or c.has_kwargs:
            return
        if (
            self.profile == "cmfy"
            and inp.file_kind == "model"
            and isinstance(val, str)
            and "://" in val
        ):
            self._model_url(uid, x, val)
            return
        if self._out_of_range(uid, inp, val, errors):
            return
        self._membership(uid, c, inp, val, errors)

    def _coerce(
        self, uid: Any, inp: _In, val: Any, errors: list[dict[str, Any]]
    ) -> tuple[bool, Any]:
        """ComfyUI's coercion by exact declared type; (False, val) when it raises."""
        x, t = inp.name, inp.type
        try:
            if t == "INT":
                val = int(val)
            elif t == "FLOAT":
                val = float(val)
            elif t == "STRING":
                val = str(val)
            elif t == "BOOLEAN":
                val = bool(val)
        except Exception as ex:  # noqa: BLE001 - emulating ComfyUI's own catch-all
            err = comfy_error(
                "invalid_input_type",
                f"{x}, {val}, {ex}",
                {
                    "input_name": x,
                    "input_config": inp.config,
                    "received_value": val,
                    "exception_message": str(ex),
                },
                type=t,
            )
            errors.append(err)
            self.add(
                "invalid_input_type",
                f"{_short(val)} cannot be converted to {t} ({ex})",
                uid,
                x,
                comfyui=err,
            )
            return False, val
        return True, val

    def _out_of_range(self, uid: Any, inp: _In, val: Any, errors: list[dict[str, Any]]) -> bool:
        """The min/max checks (Python comparison, as ComfyUI's); True when one failed."""
        x = inp.name
        try:
            for code, bound, below in (
                ("value_smaller_than_min", inp.min if inp.has_min else None, True),
                ("value_bigger_than_max", inp.max if inp.has_max else None, False),
            ):
                if bound is None and not (inp.has_min if below else inp.has_max):
                    continue
                if (val < bound) if below else (val > bound):
                    key = "min" if below else "max"
                    err = comfy_error(
                        code,
                        x,
                        {
                            "input_name": x,
                            "input_config": inp.config,
                            "received_value": val,
                        },
                        value=val,
                        **{key: bound},
                    )
                    errors.append(err)
                    word = "smaller than the minimum" if below else "bigger than the maximum"
                    self.add(code, f"{_short(val)} is {word} {bound!r}", uid, x, comfyui=err)
                    return True
        except TypeError as ex:
            self.add(
                "value_not_comparable",
                f"{_short(val)} cannot be compared with the input's min/max ({ex})",
                uid,
                x,
            )
            raise _Raised("TypeError", str(ex)) from None
        return False

    def _membership(
        self, uid: Any, c: _Cls, inp: _In, val: Any, errors: list[dict[str, Any]]
    ) -> None:
        """Combo membership: a legacy combo always, a new-style one on ComfyUI 2026 (our
        warning on 2025), then the frontend's step grid."""
        t = inp.type
        if isinstance(t, list):
            if val in t:
                self._step_check(uid, inp, val)
                return
            self._not_in_list(uid, inp, t, f"'{val}'", val, val, errors)
        elif inp.new_combo and c.modern:
            self._modern_combo(uid, inp, val, errors)
        elif inp.new_combo:
            if inp.choices and val not in inp.choices and not _remote(inp):
                self._combo_finding(uid, inp, val, "combo_not_validated", None)
        else:
            self._step_check(uid, inp, val)

    def _modern_combo(self, uid: Any, inp: _In, val: Any, errors: list[dict[str, Any]]) -> None:
        """ComfyUI 2026 checks new-style ``["COMBO", {"options": [...]}]`` values (each element
        of a multiselect list), except remote combos."""
        if isinstance(inp.extra, dict) and inp.extra.get("remote_combo"):
            return
        choices = list(inp.choices or ())
        multi = isinstance(inp.extra, dict) and inp.extra.get("multiselect") is True
        vals = val if multi and isinstance(val, list) else [val]
        bad = [v for v in vals if v not in choices]
        if not bad:
            self._step_check(uid, inp, val)
            return
        shown = ", ".join(repr(v) for v in bad)
        self._not_in_list(uid, inp, choices, shown, val, bad[0], errors)

    def _not_in_list(
        self,
        uid: Any,
        inp: _In,
        choices: list[Any],
        shown: str,
        val: Any,
        bad: Any,
        errors: list[dict[str, Any]],
    ) -> None:
        """ComfyUI's ``value_not_in_list`` (its choices shown up to 20, ``shown`` being the
        refused value as that backend prints it) and our finding on ``bad``."""
        x = inp.name
        n = len(choices)
        list_info = f"(list of length {n})" if n > 20 else _py_str_list(choices)
        err = comfy_error(
            "value_not_in_list",
            f"{x}: {shown} not in {list_info}",
            {
                "input_name": x,
                "input_config": None if n > 20 else inp.config,
                "received_value": val,
            },
        )
        errors.append(err)
        self._combo_finding(uid, inp, bad, "value_not_in_list", err)

    def _combo_finding(
        self, uid: Any, inp: _In, val: Any, code: str, err: dict[str, Any] | None
    ) -> None:
        choices = inp.type if isinstance(inp.type, list) else list(inp.choices or ())
        strs = [c for c in choices if isinstance(c, str)]
        hint = inp.suggest(val) if isinstance(val, str) else ""
        if not hint and not isinstance(val, str) and str(val) in strs:
            hint = f"did you mean {str(val)!r} (a string)?"
        if not hint and 0 < len(choices) <= 8:
            hint = "choices: " + ", ".join(repr(c) for c in choices)
        what = "a file of the server" if inp.file_kind else "one of the choices"
        msg = f"{_short(val)} is not {what} ({len(choices)} choices)"
        if code == "combo_not_validated":
            msg += "; ComfyUI 2025 does not check new-style COMBO inputs, ComfyUI 2026 rejects it"
        if (
            code == "value_not_in_list"
            and inp.file_kind == "model"
            and isinstance(val, str)
            and val.startswith(("https://", "http://"))
        ):
            hint = (
                "a model URL is accepted by cmfy.cloud: lint with --profile cmfy, or set "
                'profile = "cmfy" in [tool.cmfy-graph] of pyproject.toml'
            )
        self.add(code, msg, uid, inp.name, hint=hint or None, comfyui=err)

    def _coercion_warnings(self, uid: Any, inp: _In, orig: Any, val: Any) -> None:
        t = inp.type
        x = inp.name
        if t == "INT":
            if isinstance(orig, float) and not orig.is_integer():
                self.add(
                    "float_truncated",
                    f"{orig!r} into an INT input is truncated to {val!r}",
                    uid,
                    x,
                    hint=f"the editor would send {math.floor(orig + 0.5)!r}",
                )
            elif isinstance(orig, str):
                self.add(
                    "value_coerced",
                    f"the string {orig!r} is converted to INT {val!r}",
                    uid,
                    x,
                )
            elif isinstance(orig, bool):
                self.add("value_coerced", f"{orig!r} is converted to INT {val!r}", uid, x)
        elif t == "FLOAT":
            if isinstance(val, float) and not math.isfinite(val):
                self.add(
                    "nan_value",
                    f"{_short(orig)} is {val!r}: it passes ComfyUI's min/max checks",
                    uid,
                    x,
                )
            elif isinstance(orig, (str, bool)):
                self.add(
                    "value_coerced",
                    f"{_short(orig)} is converted to FLOAT {val!r}",
                    uid,
                    x,
                )
        elif t == "BOOLEAN":
            if isinstance(orig, str):
                self.add(
                    "string_as_boolean",
                    f"the string {orig!r} into a BOOLEAN input is {val!r}"
                    + (" (any non-empty string is true)" if orig else ""),
                    uid,
                    x,
                    hint=f"did you mean {orig.strip().lower() in ('true', 'yes', '1', 'on')}?",
                )
            elif not isinstance(orig, bool):
                self.add(
                    "value_coerced",
                    f"{_short(orig)} is converted to BOOLEAN {val!r}",
                    uid,
                    x,
                )
        elif t == "STRING":
            if not isinstance(orig, str):
                self.add(
                    "value_coerced",
                    f"the JSON {_json_kind(orig)} {_short(orig)} is converted to the "
                    f"string {_short(val)}",
                    uid,
                    x,
                )

    def _step_check(self, uid: Any, inp: _In, val: Any) -> None:
        step = inp.step
        if isinstance(val, bool) or not isinstance(val, (int, float)):
            return
        if not isinstance(step, (int, float)) or isinstance(step, bool) or step <= 0:
            return
        if inp.type == "INT":
            if not isinstance(step, int) or step <= 1 or not isinstance(val, int):
                return
            base = inp.min if isinstance(inp.min, int) and not isinstance(inp.min, bool) else 0
            if (val - base) % step:
                lo = val - (val - base) % step
                self.add(
                    "off_step",
                    f"{val} is not on the widget's step of {step}"
                    + (f" from {base}" if base else ""),
                    uid,
                    inp.name,
                    hint=f"the editor would round it to {lo if val - lo < lo + step - val else lo + step}",
                )
        elif inp.type == "FLOAT" and isinstance(val, float) and math.isfinite(val):
            quantum = inp.extra.get("round") if isinstance(inp.extra, dict) else None
            if isinstance(quantum, bool) or not isinstance(quantum, (int, float)):
                return
            if quantum <= 0:
                return
            q = val / quantum
            if abs(q - round(q)) > 1e-6 * max(1.0, abs(q)):
                self.add(
                    "off_step",
                    f"{val!r} is not a multiple of the widget's rounding {quantum!r}",
                    uid,
                    inp.name,
                    hint=f"the editor would send {round(q) * quantum!r}",
                )
