"""The conversion itself (``graphToPrompt``): emission of every non-virtual, active node with its
widget values and resolved links, titles, filename replacements, the final pruning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...errors import ConversionError

if TYPE_CHECKING:
    from ...spec import Spec

from ._model import (
    _FILENAME_BAD,
    _MISSING,
    _REPLACE_RE,
    MODE_BYPASS,
    MODE_NEVER,
    _Dto,
    _js_string,
    _Widget,
    _wrap,
    display_name,
    is_ui_workflow,
    pack_metadata,
)
from .bypass import BypassAndMute
from .links import LinkResolution
from .subgraphs import Subgraphs
from .widgets import Widgets, _custom_combo_index


class _Converter(LinkResolution, BypassAndMute, Subgraphs, Widgets):
    """One conversion of one workflow (the editor's ``graphToPrompt``)."""

    # -- titles and text replacements

    def title(self, dto: _Dto) -> str:
        """The node's title in the editor: its saved title, else (also when empty) the title
        of its class (``LGraphNode.configure``)."""
        title = dto.node.get("title")
        if isinstance(title, str) and title:
            return title
        ns = self.spec.get(dto.type)
        return display_name(ns, self.editor_2026) if ns is not None else dto.type

    def text_replacements(self, value: str, where: _Dto) -> str:
        """The editor's ``applyTextReplacements``: ``%Node.widget%`` becomes the widget's value
        (the node found by its ``Node name for S&R`` property, else by its title; characters
        not allowed in file names become ``_``). ``%date:...%`` depends on the clock and is
        left as written (with a warning)."""
        nodes: list[_Dto] | None = None

        def sub(m: re.Match[str]) -> str:
            nonlocal nodes
            text = m.group(1)
            parts = text.split(".")
            if len(parts) != 2:
                if parts[0].startswith("date:"):
                    self.warn(
                        f"{self.where(where)}: {m.group(0)} is replaced by the editor with the "
                        "date and time of queueing; left as written",
                        where,
                    )
                return m.group(0)
            if nodes is None:
                nodes = self._all_nodes()
            found = [d for d in nodes if self._sr_name(d) == parts[0]]
            if not found:
                found = [d for d in nodes if self.title(d) == parts[0]]
            if not found:
                return m.group(0)
            d = found[0]
            vals: Mapping[str, Any] = {}
            if d.sub is not None:
                vals = {d.sub_inputs[j].name: v for j, v in d.promoted.items()}
            elif not self.is_virtual(d) and d.type in self.spec:
                vals = self.widget_values(d, self.spec[d.type], quiet=True)
            if parts[1] not in vals or vals[parts[1]] is _MISSING:
                return m.group(0)
            return _FILENAME_BAD.sub("_", _js_string(vals[parts[1]]))

        return _REPLACE_RE.sub(sub, value)

    def _sr_name(self, dto: _Dto) -> Any:
        """The ``Node name for S&R`` property: saved, else the node's type for a node type
        from the spec other than the save nodes (``saveImageExtraOutput.ts``)."""
        props = dto.node.get("properties")
        if isinstance(props, dict) and "Node name for S&R" in props:
            return props["Node name for S&R"]
        if dto.type in self.spec and dto.type not in self.save_nodes and not self.is_virtual(dto):
            return dto.type
        return None

    def _output_drift(self, dto: _Dto, name: str, origin_id: str, slot: int) -> None:
        """A link from an output that the origin's class lacks in the spec, while the saved
        node has it: the node is newer than the spec."""
        origin = self.dtos.get(origin_id)
        ns = self.spec.get(origin.type) if origin is not None else None
        if origin is None or ns is None or slot < len(ns.outputs):
            return
        saved = origin.node.get("outputs")
        if not isinstance(saved, list) or slot >= len(saved):
            return
        out = saved[slot]
        label = out.get("name") if isinstance(out, dict) else None
        self.drift_note(
            f"the saved {origin.type} (node {origin.id}) has {len(saved)} outputs, the "
            f"spec's {len(ns.outputs)}; this input is linked from output {slot}"
            + (f" ({label})" if isinstance(label, str) and label else ""),
            dto,
            name,
        )

    # -- main

    def run(self) -> dict[str, Any]:
        order = self.flatten()
        self.apply_primitives(order)
        self.compute_sync()
        output: dict[str, Any] = {}
        for dto in order:
            if dto.sub is not None or self.is_virtual(dto):
                if self.is_group_node(dto):
                    self.warn(
                        f"{self.where(dto)}: legacy group nodes are not supported; it and "
                        "its inner nodes are left out",
                        dto,
                    )
                continue
            if dto.mode in (MODE_NEVER, MODE_BYPASS):
                continue
            ns = self.spec.get(dto.type)
            inputs: dict[str, Any] = {}
            if ns is None:
                if dto.type in self.defs:
                    continue  # a subgraph that could not be expanded (warned)
                self.warn(
                    f"{self.where(dto)}: node type {dto.type!r} is not in the spec; "
                    "its widget values cannot be named, only its links are converted",
                    dto,
                )
                named = dto.node.get("widgets_values_named")
                if isinstance(named, dict):
                    for k, v in named.items():
                        inputs[k] = _wrap(v)
            else:
                for k, v in self.widget_values(dto, ns).items():
                    inputs[k] = _wrap(v)
                fp = inputs.get("filename_prefix")
                if dto.type in self.save_nodes and isinstance(fp, str) and "%" in fp:
                    # the widget's serializeValue; a value resolved through a subgraph input
                    # below replaces it unprocessed, as in the editor
                    inputs["filename_prefix"] = self.text_replacements(fp, dto)
            # (a live input's link is a saved one: a node without saved links has none)
            linked = any(i.link is not None for i in dto.inputs)
            for inp in self.live_inputs(dto) if linked else ():
                if inp.link is None:
                    continue
                r = self.resolve_input(dto, inp, set())
                if r is None:
                    continue
                if isinstance(r, _Widget):
                    inputs[inp.name] = _wrap(r.value)
                    if dto.type == "CustomCombo" and inp.name == "choice" and self.editor_2026:
                        # CustomCombo's index follows a promoted choice (resolveChoiceValue)
                        inputs["index"] = _custom_combo_index(inputs, r.value)
                    continue
                inputs[inp.name] = [r[0], r[1]]
                if self.drift is not None:
                    self._output_drift(dto, inp.name, r[0], r[1])
            meta: dict[str, Any] = {"title": self.title(dto)}
            if self.editor_2026:
                props = dto.node.get("properties")
                if isinstance(props, dict):
                    pack_metadata(props, meta)
            output[dto.id] = {"inputs": inputs, "class_type": dto.type, "_meta": meta}
        for entry in output.values():
            ins = entry["inputs"]
            for name in [
                k
                for k, v in ins.items()
                if isinstance(v, list) and len(v) == 2 and v[0] not in output
            ]:
                del ins[name]
            if any(k.isdigit() for k in ins):
                entry["inputs"] = _js_key_order(ins)
        return _js_key_order(output)


def _js_key_order(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` in the order a JavaScript object keeps its keys, which is the order the editor's
    JSON has: array-index keys (``"0"``, ``"7"``, no leading zero, below 2**32 - 1) in
    ascending numeric order first, then the other keys in insertion order."""
    index: list[tuple[int, str]] = []
    for k in d:
        if k.isdigit() and k.isascii() and (k == "0" or k[0] != "0"):
            n = int(k)
            if n < 4294967295:
                index.append((n, k))
    if not index:
        return d
    out = {k: d[k] for _, k in sorted(index)}
    if len(out) != len(d):
        out.update((k, v) for k, v in d.items() if k not in out)
    elif list(out) == list(d):
        return d
    return out


def ui_to_api(
    workflow: Mapping[str, Any],
    spec: Spec | None = None,
    *,
    dynamic_prompts_seed: int | None = None,
    warnings: list[str] | None = None,
    drift: list[str] | None = None,
    named_values: bool = True,
) -> dict[str, Any]:
    """Convert an editor-saved UI workflow to the API prompt the editor would send.

    ``spec`` is the node spec of the server the workflow is meant for (default: the bundled
    core spec). ``dynamic_prompts_seed`` turns on the editor's dynamic-prompt processing of
    ``dynamicPrompts`` text widgets (comments stripped, ``{a|b}`` chosen with a random
    generator seeded with it); it is off by default because the editor's choice is random.
    Problems that cannot be resolved exactly are appended to ``warnings`` when given, else
    issued as :class:`ConversionWarning`. ``drift``, when given, collects the evidence that
    a node was saved with a newer (or another) version of its class than the spec describes
    (values saved for inputs the spec lacks, a link from an output it lacks, a saved option
    unknown to it with values of its own), as :class:`ConversionNote` s naming the node and
    input they concern; they are not warnings (``lint`` uses them to explain its findings).
    ``named_values`` (default true) reads ``widgets_values_named`` where a node has it, as
    the editor does with its setting "Restore widget values by name"; false reads the
    positional ``widgets_values``, as the editor 1.58.1 does by default (the two differ only
    where the spec's widgets differ from those of the editor that saved the file).
    Raises :class:`~cmfy_graph.errors.ConversionError` when ``workflow`` is not a UI workflow.
    """
    if not is_ui_workflow(workflow):
        raise ConversionError("not a UI workflow: expected an object with 'nodes' and 'links'")
    if spec is None:
        from ...spec import core_spec

        spec = core_spec()
    return _Converter(workflow, spec, dynamic_prompts_seed, warnings, drift, named_values).run()
