"""The converter's state (the workflow, the spec, the flattened nodes, the warnings) that every
part reads and writes.
"""

from __future__ import annotations

import random
import warnings as _warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...spec import NodeSpec, Spec

from ._model import (
    _SAVE_NODES,
    _SAVE_NODES_2026,
    ConversionNote,
    ConversionWarning,
    _Dto,
    _Graph,
    _Input,
    _Link,
    _Widget,
)


class _State:
    """The converter's state; the parts of the conversion are mixins over it."""

    def __init__(
        self,
        workflow: Mapping[str, Any],
        spec: Spec,
        dynamic_prompts_seed: int | None,
        sink: list[str] | None,
        drift: list[str] | None = None,
        named_values: bool = True,
    ) -> None:
        self.spec = spec
        #: the editor of ComfyUI 2026 (frontend 1.58.1) rather than 1.27.10 (October 2025)
        self.editor_2026 = spec.generation >= 2026
        #: the nodes whose filename_prefix the editor runs its text replacements on
        self.save_nodes = _SAVE_NODES_2026 if self.editor_2026 else _SAVE_NODES
        self.sink = sink
        #: where evidence of nodes newer than the spec goes (None: not looked for)
        self.drift = drift
        #: restore widget values by name when the file has them (see ui_to_api)
        self.named_values = named_values
        self._drifted: set[tuple[str, str, str | None]] = set()
        self.rng = random.Random(dynamic_prompts_seed) if dynamic_prompts_seed is not None else None
        #: id(saved node) -> (node, its saved input slots), parsed once
        self._saved_inputs: dict[int, tuple[Mapping[str, Any], list[_Input]]] = {}
        #: (id(definition graph), id(its input record), index) -> (promotion link or None,)
        self._promo_cache: dict[tuple[int, int, int], tuple[Any]] = {}
        #: id(dto) -> its widget values as loaded (read by subgraph promotion)
        self._load_values: dict[int, dict[str, Any]] = {}
        self.workflow = workflow
        self.root = _Graph(workflow, "workflow")
        self.defs: dict[str, Mapping[str, Any]] = {}
        self._collect_defs(workflow)
        self.def_graphs: dict[str, _Graph] = {}
        self.dtos: dict[str, _Dto] = {}
        # (id(graph), node key) -> {widget name: value} written by PrimitiveNodes
        self.overrides: dict[tuple[int, str], dict[str, Any]] = {}
        # (id(graph), node key) -> {widget name: value} written by subgraph instances into the
        # inner widgets bound to their promoted widgets when the editor serialises the graph
        self.synced: dict[tuple[int, str], dict[str, Any]] = {}
        # (id(graph), node key) -> the first executable record of that node
        self.first_dto: dict[tuple[int, str], _Dto] = {}
        self.warned: set[str] = set()
        #: whether a subgraph instance was expanded (set when flattening)
        self.has_instances = False
        #: definition id -> {input name: index of its first input of that name}
        self._def_input_index: dict[str, dict[str, int]] = {}

    # -- reporting

    def warn(
        self,
        msg: str,
        dto: _Dto | None = None,
        input_name: str | None = None,
        minor: bool = False,
    ) -> None:
        """Report ``msg`` once; ``dto`` and ``input_name`` say which node and input it is
        about, ``minor`` that it is worth saying only where it explains a finding (see
        :class:`ConversionNote`)."""
        if msg in self.warned:
            return
        self.warned.add(msg)
        if self.sink is not None:
            nid = dto.id if dto is not None else None
            self.sink.append(ConversionNote(msg, nid, input_name, minor))
        else:
            _warnings.warn(msg, ConversionWarning, stacklevel=4)

    def drift_note(self, msg: str, dto: _Dto, input_name: str | None = None) -> None:
        """Record evidence that ``dto`` was saved with a newer (or another) version of its
        class than the spec describes; not a warning: it only explains other findings."""
        if self.drift is not None:
            key = (msg, dto.id, input_name)
            if key not in self._drifted:
                self._drifted.add(key)
                self.drift.append(ConversionNote(msg, dto.id, input_name))

    def where(self, dto: _Dto) -> str:
        title = dto.node.get("title")
        t = f" {title!r}" if isinstance(title, str) and title else ""
        d = self.defs.get(dto.type)
        if d is not None and not t:
            # a subgraph instance: its type is the definition's id, its name says more
            name = d.get("name")
            if isinstance(name, str) and name:
                return f"node {dto.id} (subgraph {name!r})"
        return f"node {dto.id} ({dto.type}{t})"

    if TYPE_CHECKING:  # implemented by the parts of the conversion (mixins)

        def _collect_defs(self, data: Mapping[str, Any]) -> None: ...

        def _inner_widget_value(self, inst: _Dto, idx: int) -> Any: ...

        def _input_for_link(self, node: Mapping[str, Any], lk: _Link) -> _Input | None: ...

        def _saved_inputs_of(self, node: Mapping[str, Any]) -> list[_Input]: ...

        def _resolve_subgraph_output(
            self, dto: _Dto, slot: int, type_: Any, visited: set[Any]
        ) -> tuple[str, int] | _Widget | None: ...

        def _setter_for(self, getter: _Dto) -> _Dto | None: ...

        @staticmethod
        def is_group_node(dto: _Dto) -> bool: ...

        def is_virtual(self, dto: _Dto) -> bool: ...

        def _compute_virtual(self, dto: _Dto) -> bool: ...

        def live_input_for_link(self, dto: _Dto, lk: _Link) -> _Input | None: ...

        def live_inputs(self, dto: _Dto) -> list[_Input]: ...

        def resolve_input(
            self, dto: _Dto, inp: _Input, visited: set[Any], type_: Any = None
        ) -> tuple[str, int] | _Widget | None: ...

        def resolve_output(
            self, dto: _Dto, slot: int, type_: Any, visited: set[Any]
        ) -> tuple[str, int] | _Widget | None: ...

        def text_replacements(self, value: str, where: _Dto) -> str: ...

        def widget_values(
            self, dto: _Dto, ns: NodeSpec, quiet: bool = False, at_load: bool = False
        ) -> dict[str, Any]: ...
