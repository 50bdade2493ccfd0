"""The rules of validation as data: ComfyUI's error types and our own finding codes.

This is the one module that knows ComfyUI's error ``type`` strings and messages
(``../shared/comfyui/FORMATS.md`` section 2.2, backend BE-2025-10) and the codes cmfy_graph
adds for what ComfyUI reports vaguely or not at all. :mod:`cmfy_graph.validate` builds every
finding and every ComfyUI-shaped error dict through the helpers here.

Each :class:`Rule` has a ``code`` (a ComfyUI ``type`` string where ComfyUI has one, else our
own), a default ``severity`` and a one-line ``summary`` (used by the SARIF output and the docs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "Rule",
    "RULES",
    "COMFYUI_TYPES",
    "VAGUE_COMFYUI_TYPES",
    "comfy_error",
    "rule",
    "is_frontend_only_input",
]

ERROR = "error"
WARNING = "warning"


@attrs.frozen(slots=True)
class Rule:
    """One kind of finding."""

    code: str
    severity: str
    summary: str
    comfyui: bool = False  #: True when ``code`` is one of ComfyUI's own error types


_RULES: list[Rule] = [
    # ComfyUI's own error types (BE-2025-10 execution.py validate_prompt / validate_inputs)
    Rule("invalid_prompt", ERROR, "a node has no class_type, or an unknown one", True),
    Rule(
        "missing_node_type",
        ERROR,
        "a node has no class_type, or an unknown one (ComfyUI 2026's type for it)",
        True,
    ),
    Rule("prompt_no_outputs", ERROR, "the prompt has no output node", True),
    Rule("prompt_outputs_failed_validation", ERROR, "no output node validated", True),
    Rule("exception_during_validation", ERROR, "ComfyUI raised while validating an output", True),
    Rule(
        "exception_during_inner_validation",
        ERROR,
        "ComfyUI raised while validating a linked node",
        True,
    ),
    Rule("required_input_missing", ERROR, "a required input is missing", True),
    Rule("bad_linked_input", ERROR, "a list value that is not a [node_id, slot] link", True),
    Rule("return_type_mismatch", ERROR, "a link's output type does not fit the input", True),
    Rule("invalid_input_type", ERROR, "a constant cannot be converted to the input's type", True),
    Rule("value_smaller_than_min", ERROR, "a value is below the input's min", True),
    Rule("value_bigger_than_max", ERROR, "a value is above the input's max", True),
    Rule("value_not_in_list", ERROR, "a value is not one of the input's choices", True),
    Rule("custom_validation_failed", ERROR, "the node's own VALIDATE_INPUTS refused a value", True),
    Rule("dependency_cycle", ERROR, "nodes depend on each other in a cycle", True),
    Rule("local_input_file", WARNING, "an upload input names a local file (uploaded on submit)"),
    Rule(
        "local_input_file_no_upload",
        ERROR,
        "an upload input names a local file, and cmfy.cloud documents no upload",
    ),
    Rule("server_error", ERROR, "ComfyUI would answer HTTP 500 (it crashes on this shape)", True),
    # our precise errors for what ComfyUI reports vaguely
    Rule("prompt_not_object", ERROR, "the prompt is not a JSON object of nodes"),
    Rule("node_not_object", ERROR, "a node is not a JSON object"),
    Rule("missing_class_type", ERROR, "a node has no class_type"),
    Rule("unknown_class_type", ERROR, "a node's class_type is not in the spec"),
    Rule("inputs_missing", ERROR, "a node has no 'inputs' object"),
    Rule("inputs_not_object", ERROR, "a node's 'inputs' is not an object"),
    Rule("link_node_id_not_string", ERROR, "a link's node id is not a string"),
    Rule("link_missing_node", ERROR, "a link points at a node that is not in the prompt"),
    Rule("link_output_out_of_range", ERROR, "a link's output index is out of range"),
    Rule("link_slot_not_integer", ERROR, "a link's output index is not an integer"),
    Rule("value_not_comparable", ERROR, "a value cannot be compared with the input's min/max"),
    Rule("file_name_not_string", ERROR, "a file input holds something other than a file name"),
    Rule("file_input_linked", ERROR, "a file input checked by the node is linked"),
    Rule("recursion_limit", ERROR, "a chain of nodes too deep for ComfyUI's validator"),
    Rule("model_url_not_allowed", ERROR, "a model URL ComfyUI/cmfy.cloud cannot fetch"),
    Rule(
        "dynamic_option_unknown",
        ERROR,
        "a dynamic combo without a known option (ComfyUI 2026 skips it; the node fails)",
    ),
    Rule(
        "matchtype_mismatch",
        ERROR,
        "MatchType sockets fed a type they do not allow, or different types",
    ),
    Rule("unsupported_input", ERROR, "a file that is not a prompt, workflow or PNG with one"),
    Rule("unreadable_input", ERROR, "a file that cannot be read or parsed"),
    Rule("conversion_failed", ERROR, "a UI workflow could not be converted to an API prompt"),
    # warnings: accepted by ComfyUI, almost surely a mistake
    Rule("float_truncated", WARNING, "a non-integral float into an INT input is truncated"),
    Rule("string_as_boolean", WARNING, "a string into a BOOLEAN input is true unless empty"),
    Rule("value_coerced", WARNING, "a constant of another JSON type is converted by ComfyUI"),
    Rule("nan_value", WARNING, "NaN or infinity passes ComfyUI's min/max checks"),
    Rule("unknown_input", WARNING, "an input name the node does not declare (ignored)"),
    Rule("unreachable_node", WARNING, "a node no output depends on (never validated or run)"),
    Rule("deep_chain", WARNING, "a chain of nodes close to ComfyUI's recursion limit"),
    Rule("off_step", WARNING, "a value not on the widget's step grid"),
    Rule("negative_link_slot", WARNING, "a negative output index (Python: counted from the end)"),
    Rule("combo_not_validated", WARNING, "a value not among the choices of a new-style COMBO"),
    Rule("internal_key", WARNING, "a server-internal key in a prompt node"),
    Rule("spec_warning", WARNING, "the node spec had a malformed entry"),
    Rule("conversion_warning", WARNING, "a UI workflow converted with a guess"),
    Rule("hf_unpinned_revision", WARNING, "a Hugging Face URL not pinned to a commit"),
    Rule("hf_blob_url", WARNING, "a Hugging Face /blob/ URL (an HTML page, not the file)"),
    Rule("model_url_spellings", WARNING, "two spellings of one model URL (two downloads)"),
    Rule("webhook_not_https", WARNING, "a webhook URL that is not HTTPS"),
    Rule("webhook_private", WARNING, "a webhook URL that is not publicly reachable"),
    Rule("webhook_invalid", WARNING, "a webhook URL that is not a URL"),
]

#: code -> Rule, for every finding code cmfy_graph emits.
RULES: Mapping[str, Rule] = {r.code: r for r in _RULES}

#: ComfyUI's own error ``type`` strings.
COMFYUI_TYPES = frozenset(r.code for r in _RULES if r.comfyui)

#: ComfyUI types that say little about the cause: we add a precise finding next to them.
VAGUE_COMFYUI_TYPES = frozenset(
    {"exception_during_validation", "exception_during_inner_validation", "server_error"}
)

#: The exact ``message`` of each ComfyUI error type (``{}`` fields filled by :func:`comfy_error`).
COMFYUI_MESSAGES: Mapping[str, str] = {
    "prompt_no_outputs": "Prompt has no outputs",
    "prompt_outputs_failed_validation": "Prompt outputs failed validation",
    "exception_during_validation": "Exception when validating node",
    "exception_during_inner_validation": "Exception when validating inner node",
    "required_input_missing": "Required input is missing",
    "bad_linked_input": "Bad linked input, must be a length-2 list of [node_id, slot_index]",
    "return_type_mismatch": "Return type mismatch between linked nodes",
    "invalid_input_type": "Failed to convert an input value to a {type} value",
    "value_smaller_than_min": "Value {value} smaller than min of {min}",
    "value_bigger_than_max": "Value {value} bigger than max of {max}",
    "value_not_in_list": "Value not in list",
    "custom_validation_failed": "Custom validation failed for node",
    "dependency_cycle": "Dependency cycle detected",
    "invalid_prompt_missing": "Cannot execute because a node is missing the class_type property.",
    "invalid_prompt_unknown": "Cannot execute because node {class_type} does not exist.",
    "server_error": "500 Internal Server Error",
}


#: Input names the ComfyUI editor sends for widgets that exist only in the frontend
#: (FORMATS.md / PITFALLS.md: ``audioUI`` of audio nodes, ``preview`` of PreviewAny, ``image``
#: of 3D nodes). The server ignores them; they are not worth an ``unknown_input`` warning.
#: name -> class types (``None``: any class); ``"category:3d"`` matches a category prefix.
FRONTEND_ONLY_INPUTS: Mapping[str, frozenset[str] | None] = {
    "audioUI": None,
    "videoUI": None,
    "preview": frozenset({"PreviewAny"}),
    "image": frozenset({"category:3d"}),
    # Load3D's buttons, which the editor of 2026 sends (extensions/core/load3d.ts)
    "upload 3d model": frozenset({"Load3D"}),
    "upload extra resources": frozenset({"Load3D"}),
    "clear": frozenset({"Load3D"}),
}


#: inputs by pattern, per class: CustomCombo's hidden index and its options (the editor of
#: 2026 adds them as widgets and sends them: ``extensions/core/customWidgets.ts``)
FRONTEND_ONLY_PATTERNS: Mapping[str, re.Pattern[str]] = {
    "CustomCombo": re.compile(r"index|option[1-9][0-9]*"),
}


def is_frontend_only_input(class_type: str, category: str, name: str) -> bool:
    """True for an input the editor adds for a frontend-only widget of this node."""
    pattern = FRONTEND_ONLY_PATTERNS.get(class_type)
    if pattern is not None and pattern.fullmatch(name):
        return True
    if name not in FRONTEND_ONLY_INPUTS:
        return False
    classes = FRONTEND_ONLY_INPUTS[name]
    if classes is None or class_type in classes:
        return True
    return any(c.startswith("category:") and category.lower().startswith(c[9:]) for c in classes)


def rule(code: str) -> Rule:
    """The :class:`Rule` for ``code`` (a generic error rule for an unknown code)."""
    r = RULES.get(code)
    return r if r is not None else Rule(code, ERROR, code)


def comfy_error(
    type_: str,
    details: str = "",
    extra_info: Mapping[str, Any] | None = None,
    message: str | None = None,
    **fmt: Any,
) -> dict[str, Any]:
    """A ComfyUI error dict ``{"type", "message", "details", "extra_info"}``.

    ``message`` defaults to ComfyUI's own message for ``type_``, formatted with ``fmt`` the
    way ComfyUI formats it (Python ``str()`` of each value).
    """
    if message is None:
        template = COMFYUI_MESSAGES.get(type_, type_)
        message = template.format(**{k: _pystr(v) for k, v in fmt.items()}) if fmt else template
    return {
        "type": type_,
        "message": message,
        "details": details,
        "extra_info": dict(extra_info) if extra_info else {},
    }


def _pystr(v: Any) -> str:
    """``str(v)`` as Python prints it (``None``, ``True``, ``[1, 2]``)."""
    return str(v)
