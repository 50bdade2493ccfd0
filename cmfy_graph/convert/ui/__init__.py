"""UI workflow (what the ComfyUI editor saves) -> API prompt (what "Export (API)" sends).

This reproduces the editor's ``graphToPrompt`` as of frontend 1.27.10 from the JSON alone, given
the node spec (``/object_info``) the editor ran against. Reference:
``../shared/comfyui/FORMATS.md`` section 4. The rules, in the order the editor applies them:

1. **Flattening.** Every node becomes an "executable" record with an execution id: its own id at
   the root, ``"outer:inner"`` (``"a:b:c"`` when nested) inside subgraph instances. Subgraph
   instances are expanded whatever their mode (1.27.10); their inner nodes' own modes decide
   what is emitted.
   Nodes of a spec'd type get the inputs the editor rebuilds on load (definition order and
   types, unlinked widget sockets included); old files get the editor's load-time patches
   (``migrateWidgetsValues``, renamed node types, ``sample_`` sampler names).
2. **PrimitiveNode propagation.** A ``PrimitiveNode`` writes its value into the widget of every
   node its output is linked to directly (matched by the target input's widget name). Then
   every subgraph instance copies its promoted widget values into the inner widgets bound to
   them (``SubgraphNode.serialize``; the last instance of a definition wins).
3. **Emission.** Virtual nodes (``Reroute``, ``PrimitiveNode``, ``Note``, ``MarkdownNote``,
   subgraph instances) and nodes whose mode is 2 (muted) or 4 (bypassed) are skipped. For the
   others: every serialisable widget value by name (arrays wrapped as ``{"__value__": [...]}``),
   then every linked input resolved to ``[origin_id, origin_slot]``, overriding a widget value.
   Save nodes' ``filename_prefix`` gets the ``%Node.widget%`` replacement.
4. **Resolution.** A link into a bypassed node continues through the input chosen by the
   editor's ``_getBypassSlotIndex``; a ``Reroute`` passes its input through; a link into a
   subgraph instance continues at the inner node feeding that output; a link from a subgraph's
   input pseudo-node (``-10``) continues at the instance's input, or yields the instance's
   widget value when that input is not linked. A muted origin is *not* skipped here (as in
   1.27.10): the link is emitted and removed by the final pruning, taking the widget value
   with it. Resolving to nothing leaves the widget value in place.
5. **Pruning.** Every link to a node that is not in the output is deleted.

What cannot be known from JSON (a node type missing from the spec, a widget count that does not
match the spec) is reported as a :class:`ConversionWarning` that names the node; values are
never shifted silently.
"""

from __future__ import annotations

from ._model import (
    VIRTUAL_NODE_TYPES,
    ConversionNote,
    ConversionWarning,
    display_name,
    is_ui_workflow,
    process_dynamic_prompt,
)
from .core import ui_to_api
from .widgets import WidgetSlot, widget_layout

__all__ = [
    "ConversionNote",
    "ConversionWarning",
    "ui_to_api",
    "is_ui_workflow",
    "widget_layout",
    "WidgetSlot",
    "process_dynamic_prompt",
    "VIRTUAL_NODE_TYPES",
    "display_name",
]
