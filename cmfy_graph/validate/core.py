"""The validator: ComfyUI's ``validate_prompt`` (pass 1 over the classes, ``validate_inputs`` per
output) built from the rule families, and the public entry points.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError, did_you_mean
from ..rules import COMFYUI_TYPES, VAGUE_COMFYUI_TYPES, comfy_error, is_frontend_only_input

if TYPE_CHECKING:
    from ..spec import Spec

from ._common import (
    COMFY_RECURSION_DEPTH,
    DEEP_CHAIN_WARNING,
    PROFILES,
    _Cls,
    _contains,
    _getitem,
    _In,
    _is_link_shape,
    _json_kind,
    _msg,
    _Raised,
    _server_error,
    _tn,
    _type_label,
)
from .constants import ConstantRules
from .dynamic_inputs import DynamicInputRules, unselected_combos
from .files import FileRules
from .links import LinkRules
from .reach import ReachRules
from .report import Finding, Report, _finding_as_comfy, sort_findings


class _Validator(LinkRules, ConstantRules, FileRules, DynamicInputRules, ReachRules):
    """ComfyUI's validate_prompt with our precise findings (one per prompt)."""

    # -- pass 1 ----------------------------------------------------------------------------------

    def pass1(self) -> tuple[dict[str, Any] | None, list[Any]]:
        """Check every node's class; returns ComfyUI's early error (or None) and the outputs."""
        first_error: dict[str, Any] | None = None
        outputs: list[Any] = []
        for x, node in self.prompt.items():
            err = self._pass1_node(x, node, outputs)
            if err is not None and first_error is None:
                first_error = err
        return first_error, outputs

    def _pass1_node(self, x: Any, node: Any, outputs: list[Any]) -> dict[str, Any] | None:
        """One node of pass 1: its shape and class (ComfyUI's error for it, or None); an
        output node goes to ``outputs``."""
        err: dict[str, Any] | None = None
        if isinstance(node, dict):
            has = "class_type" in node
        elif isinstance(node, (str, list)):
            has = "class_type" in node
            self.broken.add(x)
            self.add(
                "node_not_object",
                f"node {x!r} is a JSON {_json_kind(node)}, not an object "
                '{"class_type": ..., "inputs": {...}}',
                x,
            )
            if has:  # ComfyUI then indexes it with a string: HTTP 500
                err = _server_error(
                    "TypeError",
                    "string indices must be integers, not 'str'"
                    if isinstance(node, str)
                    else "list indices must be integers or slices, not str",
                )
        else:
            self.broken.add(x)
            self.add(
                "node_not_object",
                f"node {x!r} is a JSON {_json_kind(node)}, not an object "
                '{"class_type": ..., "inputs": {...}}',
                x,
            )
            err = _server_error("TypeError", f"argument of type '{_tn(node)}' is not iterable")
            has = True
        if err is None and not has:
            self.broken.add(x)
            if isinstance(node, dict):
                self.add("missing_class_type", "node has no class_type", x)
            err = self._no_class_error(x, node, None)
        elif err is None and isinstance(node, dict):
            ct = node["class_type"]
            if isinstance(ct, (list, dict)):
                self.broken.add(x)
                self.add(
                    "unknown_class_type",
                    f"class_type is a JSON {_json_kind(ct)}, not a string",
                    x,
                )
                err = _server_error("TypeError", f"unhashable type: '{_tn(ct)}'")
            elif not isinstance(ct, str) or ct not in self.spec:
                self.broken.add(x)
                hint = (self.view.suggest("classes", ct) if isinstance(ct, str) else "") or None
                what = f"{ct!r}" if isinstance(ct, str) else f"{ct!r} (not a string)"
                self.add(
                    "unknown_class_type",
                    f"class_type {what} is not a node of the spec"
                    + (f" ({self.spec.source})" if self.spec.source else ""),
                    x,
                    hint=hint,
                )
                err = self._no_class_error(x, node, ct)
            else:
                c = self.view.cls(ct)
                if c.output_node and (self.targets is None or x in self.targets):
                    outputs.append(x)
                for k in node:
                    if k in ("is_changed", "_loop_body", "_loop_end"):
                        self.add(
                            "internal_key",
                            f"key {k!r} is added by the server at run time; " "do not send it",
                            x,
                        )
        return err

    def _no_class_error(self, x: Any, node: Any, ct: Any) -> dict[str, Any]:
        """ComfyUI's error for a node without a class_type (``ct`` None) or of a class it
        does not have: ``invalid_prompt`` up to January 2026, then ``missing_node_type``
        (BE-2026, PR #12194), which names the node by its title."""
        if self.spec.generation < 2026:
            if ct is None:
                return comfy_error(
                    "invalid_prompt", f"Node ID '#{x}'", message=_msg("invalid_prompt_missing")
                )
            return comfy_error(
                "invalid_prompt",
                f"Node ID '#{x}'",
                message=_msg("invalid_prompt_unknown", class_type=ct),
            )
        title = _title(node)
        if ct is None:
            message = (
                f"Node '{title or f'ID #{x}'}' has no class_type. The workflow may be "
                "corrupted or a custom node is missing."
            )
        else:
            message = f"Node '{title or ct}' not found. The custom node may not be installed."
        return comfy_error(
            "missing_node_type",
            f"Node ID '#{x}'",
            {"node_id": x, "class_type": ct, "node_title": title},
            message=message,
        )

    # -- validate_inputs ------------------------------------------------------------------------

    def vi(self, uid: Any, depth: int) -> tuple[bool, list[dict[str, Any]]]:
        """ComfyUI's ``validate_inputs(uid)``; raises :class:`_Raised` where ComfyUI raises."""
        memo = self.validated.get(uid)
        if memo is not None:
            return memo
        if depth > self.max_depth:
            self.max_depth = depth
        node = self.prompt[uid]
        if "inputs" not in node:
            self.add(
                "inputs_missing",
                'node has no "inputs" object (use "inputs": {} for a node without inputs)',
                uid,
            )
            raise _Raised("KeyError", "'inputs'")
        inputs = node["inputs"]
        c = self.view.cls(node["class_type"])
        if not isinstance(inputs, dict):
            self.add(
                "inputs_not_object",
                f'"inputs" is a JSON {_json_kind(inputs)}, not an object of input values',
                uid,
            )
        errors: list[dict[str, Any]] = []
        valid = True
        received_types: dict[str, Any] = {}
        self.visiting[uid] = len(self.stack)
        self.stack.append(uid)
        try:
            is_dict = isinstance(inputs, dict)
            # ComfyUI walks the inputs in the order of a ``set`` (its string-hash seed's), and
            # where its Python raises, the rest of the node's inputs are never looked at: which
            # upstream nodes it validated first is a coin flip. We look at every input (so the
            # upstream nodes' own errors are all reported) and raise the first exception after.
            raised: _Raised | None = None
            for inp in c.inputs_for(inputs):
                try:
                    if not self._input(uid, c, inp, inputs, is_dict, errors, received_types, depth):
                        valid = False
                except _Raised as ex:
                    if raised is None:
                        raised = ex
            if raised is not None:
                raise raised
            if isinstance(inputs, dict):
                self._unknown_inputs(uid, c, inputs)
                if c.dynamic:
                    self._dynamic_findings(uid, c, inputs, received_types)
            if c.has_validator:
                self._custom(uid, c, inputs, errors, received_types)
        finally:
            self.stack.pop()
            del self.visiting[uid]
        ret = (False, errors) if errors or not valid else (True, [])
        self.validated[uid] = ret
        return ret

    def _input(
        self,
        uid: Any,
        c: _Cls,
        inp: _In,
        inputs: Any,
        is_dict: bool,
        errors: list[dict[str, Any]],
        received_types: dict[str, Any],
        depth: int,
    ) -> bool:
        """One input of ``validate_inputs``' loop; False when a linked node failed."""
        x = inp.name
        if not (x in inputs if is_dict else _contains(inputs, x)):
            if inp.required:
                err = comfy_error("required_input_missing", x, {"input_name": x})
                errors.append(err)
                self._missing_finding(uid, c, inp, err)
            return True
        val = inputs[x] if is_dict else _getitem(inputs, x)
        if isinstance(val, list):
            return self._link(uid, c, inp, val, errors, received_types, depth)
        self._constant(uid, c, inp, inputs, val, errors)
        return True

    def _missing_finding(self, uid: Any, c: _Cls, inp: _In, err: dict[str, Any]) -> None:
        hint = None
        if inp.spec.has_default and inp.spec.is_widget:
            hint = f"the editor's default is {inp.spec.default!r}"
        self.add(
            "required_input_missing",
            f"required input {inp.name!r} ({_type_label(inp.type)}) is missing",
            uid,
            inp.name,
            hint=hint,
            comfyui=err,
        )

    def _unknown_inputs(self, uid: Any, c: _Cls, inputs: dict[str, Any]) -> None:
        names = c.names_for(inputs)
        skipped: list[str] | None = None
        for k, v in inputs.items():
            if k in names or k in c.hidden:
                continue
            if c.dynamic and isinstance(k, str):
                # a dynamic combo set to no known option: ComfyUI skips it and its
                # sub-inputs, which dynamic_option_unknown reports once (one cause, one line)
                if skipped is None:
                    skipped = [key for key, _, _ in unselected_combos(c.ns.inputs, inputs)]
                if any(k == p or k.startswith(p + ".") for p in skipped):
                    continue
            if not isinstance(k, str) or is_frontend_only_input(c.class_type, c.category, k):
                continue
            linked = _is_link_shape(v)
            hint = did_you_mean(k, list(names)) or None
            msg = f"{k!r} is not an input of {c.class_type}; ComfyUI ignores it"
            if linked:
                msg += " and does not validate the node it links to"
            self.add("unknown_input", msg, uid, k, hint=hint)

    # -- driver ------------------------------------------------------------------------------------

    def run(self) -> Report:
        prompt = self.prompt
        if not isinstance(prompt, dict):
            self.add(
                "prompt_not_object",
                f"the prompt is a JSON {_json_kind(prompt)}, not an object mapping node ids "
                "to nodes",
            )
            # what ComfyUI's ``for x in prompt: prompt[x]...`` does with it
            if isinstance(prompt, (list, str)) and not prompt:
                err = comfy_error("prompt_no_outputs")
            elif isinstance(prompt, str):
                err = _server_error("TypeError", "string indices must be integers, not 'str'")
            elif isinstance(prompt, list):
                first = prompt[0]
                err = _server_error(
                    "TypeError",
                    f"list indices must be integers or slices, not {_tn(first)}"
                    if not isinstance(first, int)
                    else f"argument of type '{_tn(first)}' is not iterable",
                )
            else:
                err = _server_error("TypeError", f"'{_tn(prompt)}' object is not iterable")
            return self._report(False, err, {}, [], [])
        early, outputs = self.pass1()
        if early is None and not outputs:
            early = comfy_error("prompt_no_outputs")
            self.add(
                "prompt_no_outputs",
                "the prompt has no output node (such as SaveImage or PreviewImage)"
                if self.targets is None
                else "none of partial_execution_targets is an output node of the prompt",
            )
        old_limit = sys.getrecursionlimit()
        need = COMFY_RECURSION_DEPTH * 4 + 200  # frames per level: vi, _input, _link, _follow
        if old_limit < need:
            sys.setrecursionlimit(need)
        try:
            node_errors, good, details = self._outputs(outputs)
            self._shadow(outputs)
        finally:
            if old_limit < need:
                sys.setrecursionlimit(old_limit)
        if self.max_depth >= DEEP_CHAIN_WARNING:
            self.add(
                "deep_chain",
                f"a chain of {self.max_depth} linked nodes: ComfyUI's validator recurses once "
                f"per node and fails beyond about {COMFY_RECURSION_DEPTH}",
            )
        if early is not None:
            return self._report(False, early, {}, outputs, [])
        if not good:
            err = comfy_error("prompt_outputs_failed_validation", "\n".join(details))
            return self._report(False, err, node_errors, outputs, good)
        return self._report(True, None, node_errors, outputs, good)

    def _outputs(self, outputs: list[Any]) -> tuple[dict[str, Any], list[Any], list[str]]:
        node_errors: dict[str, Any] = {}
        good: list[Any] = []
        details: list[str] = []
        for o in outputs:
            try:
                ok, reasons = self.vi(o, 1)
            except _Raised as ex:
                ok = False
                reasons = [
                    comfy_error(
                        "exception_during_validation",
                        ex.message,
                        {"exception_type": ex.exc_type, "traceback": []},
                    )
                ]
                self.validated[o] = (False, reasons)
            if ok:
                good.append(o)
                continue
            for r in reasons:
                details.append(f"{r['message']}: {r['details']}")
            for nid, (v, rs) in self.validated.items():
                if not v and rs:
                    if nid not in node_errors:
                        node_errors[nid] = {
                            "errors": rs,
                            "dependent_outputs": [],
                            "class_type": self.prompt[nid]["class_type"],
                        }
                    node_errors[nid]["dependent_outputs"].append(o)
        return node_errors, good, details

    def _report(
        self,
        valid: bool,
        error: dict[str, Any] | None,
        node_errors: dict[str, Any],
        outputs: list[Any],
        good: list[Any],
    ) -> Report:
        failing = [o for o in outputs if o not in good]
        self._cycle_findings(node_errors, failing)
        node_errors = {str(k): v for k, v in node_errors.items()}
        # precise errors next to ComfyUI's vague ones
        by_node: dict[str, list[Finding]] = {}
        for f in self.findings:
            if f.severity == "error" and f.node_id is not None:
                by_node.setdefault(f.node_id, []).append(f)
        for nid, entry in node_errors.items():
            types = {e.get("type") for e in entry["errors"]}
            if types & VAGUE_COMFYUI_TYPES:
                extra = [
                    _finding_as_comfy(f)
                    for f in by_node.get(nid, [])
                    if f.code not in types and f.code != "dependency_cycle"
                ]
                if extra:
                    entry["errors"] = list(entry["errors"]) + extra
        if error is not None and not valid and not any(f.is_error for f in self.findings):
            self.add(
                error["type"]
                if error["type"] in COMFYUI_TYPES
                else "prompt_outputs_failed_validation",
                error.get("message", "the prompt failed validation"),
            )
        return Report(
            valid=valid,
            findings=tuple(sort_findings(self.findings)),
            error=error,
            node_errors=node_errors,
            outputs=tuple(str(o) for o in outputs),
            good_outputs=tuple(str(o) for o in good),
            profile=self.profile,
        )

    def _ct(self, uid: Any) -> str:
        node = self.prompt.get(uid)
        ct = node.get("class_type") if isinstance(node, dict) else None
        return ct if isinstance(ct, str) else "?"


# ---------------------------------------------------------------------------------------------
# public API


def _title(node: Any) -> Any:
    """``_meta.title`` of a node (what BE-2026 names a missing node by), or None."""
    meta = node.get("_meta") if isinstance(node, dict) else None
    return meta.get("title") if isinstance(meta, dict) else None


def validate_prompt(
    prompt: Any,
    spec: Spec | None = None,
    *,
    profile: str = "comfyui",
    partial_execution_targets: Sequence[Any] | None = None,
    input_files: Iterable[str] = (),
) -> Report:
    """Validate an API prompt as ComfyUI's ``POST /prompt`` would, and more.

    ``prompt`` may be any JSON value (bad shapes become findings). ``spec`` defaults to the
    bundled core spec. ``profile`` is ``"comfyui"`` (ComfyUI's rules) or ``"cmfy"`` (the
    cmfy.cloud rules: model inputs may be HTTPS URLs). ``partial_execution_targets`` limits
    the output nodes as ComfyUI's field of that name does. ``input_files`` names files in the
    server's input folder that the spec's lists do not show yet (just uploaded).
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")
    if spec is None:
        from ..spec import core_spec

        spec = core_spec()
    targets = None
    if partial_execution_targets is not None:
        targets = list(partial_execution_targets)
    return _Validator(prompt, spec, profile, targets, frozenset(input_files)).run()


def check_prompt(
    prompt: Any,
    spec: Spec | None = None,
    *,
    profile: str = "comfyui",
    partial_execution_targets: Sequence[Any] | None = None,
) -> Report:
    """Like :func:`validate_prompt`, but raise :class:`~cmfy_graph.errors.ValidationError`
    (``"N errors: ..."``, carrying the findings) when ComfyUI would not queue the prompt."""
    report = validate_prompt(
        prompt, spec, profile=profile, partial_execution_targets=partial_execution_targets
    )
    if not report.valid:
        errs = report.errors
        shown = "; ".join(str(f) for f in errs[:5])
        more = f"; and {len(errs) - 5} more" if len(errs) > 5 else ""
        n = len(errs)
        raise ValidationError(f"{n} error{'s' if n != 1 else ''}: {shown}{more}", report.findings)
    return report
