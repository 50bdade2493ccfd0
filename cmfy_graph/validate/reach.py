"""Cycles and reachability: which nodes an output depends on, the nodes ComfyUI never validates
(shadow checks), dependency cycles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..rules import comfy_error

if TYPE_CHECKING:
    import networkx

    from ..spec import Spec

from ._common import _is_link_shape, _Raised
from ._state import _State

# -- graph helpers (networkx, for the DSL and for reports) ----------------------------------------


def prompt_graph(prompt: Mapping[str, Any]) -> networkx.DiGraph:
    """A ``networkx.DiGraph`` of the prompt: an edge ``source -> consumer`` per well-formed
    link to a node in the prompt, with ``input`` and ``slot`` edge attributes (the last link
    wins when one source feeds several inputs of one consumer) and ``class_type`` on nodes."""
    import networkx as nx

    g = nx.DiGraph()
    if not isinstance(prompt, Mapping):
        return g
    for nid, node in prompt.items():
        ct = node.get("class_type") if isinstance(node, Mapping) else None
        g.add_node(nid, class_type=ct)
    for nid, node in prompt.items():
        inputs = node.get("inputs") if isinstance(node, Mapping) else None
        if not isinstance(inputs, Mapping):
            continue
        for name, v in inputs.items():
            if _is_link_shape(v) and v[0] in prompt:
                g.add_edge(v[0], nid, input=name, slot=v[1])
    return g


def find_cycles(prompt: Mapping[str, Any]) -> list[list[str]]:
    """Every elementary dependency cycle of the prompt, each as a list of node ids."""
    import networkx as nx

    return [list(c) for c in nx.simple_cycles(prompt_graph(prompt))]


def reachable_from_outputs(prompt: Mapping[str, Any], spec: Spec | None = None) -> set[str]:
    """The node ids some output node depends on (the output nodes included): what ComfyUI
    validates and runs. Follows every link, as execution does."""
    import networkx as nx

    if spec is None:
        from ..spec import core_spec

        spec = core_spec()
    g = prompt_graph(prompt)
    outs = [
        n
        for n, ct in g.nodes(data="class_type")
        if isinstance(ct, str) and ct in spec and spec[ct].output_node
    ]
    seen: set[str] = set(outs)
    for o in outs:
        seen |= nx.ancestors(g, o)
    return seen


class ReachRules(_State):
    """Cycles and reachability."""

    def _shadow(self, outputs: list[Any]) -> None:
        """Check the nodes ComfyUI skips: warnings only."""
        prompt = self.prompt
        skipped = [k for k in prompt if k not in self.validated and k not in self.broken]
        if not skipped:
            return
        # reached through declared inputs, but not validated because something failed first
        # (a type mismatch, an exception): ComfyUI will judge them once that is fixed
        reach = self._reachable(outputs)
        for k in skipped:
            if k in reach and k not in self.validated:
                try:
                    self.vi(k, 1)
                except _Raised:
                    pass
        skipped = [k for k in skipped if k not in reach]
        if not skipped:
            return
        if outputs:
            feeds_something = set()
            for node in prompt.values():
                if isinstance(node, dict) and isinstance(node.get("inputs"), dict):
                    for v in node["inputs"].values():
                        if _is_link_shape(v):
                            feeds_something.add(v[0])
            # upstream of a node whose class is unknown: once that class is installed an
            # output may depend on them; the unknown class is the one finding to fix
            behind = self._behind_broken() if self.broken else set()
            for k in skipped:
                if k in behind:
                    continue
                if k in feeds_something:
                    msg = (
                        "no output node depends on this node through declared inputs: "
                        "ComfyUI neither validates nor runs it"
                    )
                else:
                    msg = "nothing uses this node's outputs: ComfyUI neither validates nor runs it"
                self.add("unreachable_node", msg, k)
        self.shadow = True
        try:
            for k in skipped:
                if k in self.validated:
                    continue
                try:
                    self.vi(k, 1)
                except _Raised:
                    pass
        finally:
            self.shadow = False

    def _behind_broken(self) -> set[Any]:
        """The nodes a broken node (unknown class, not an object) links to, directly or
        through others, by any link-shaped input."""
        prompt = self.prompt
        seen: set[Any] = set()
        todo = list(self.broken)
        while todo:
            node = prompt.get(todo.pop())
            inputs = node.get("inputs") if isinstance(node, dict) else None
            if not isinstance(inputs, dict):
                continue
            for v in inputs.values():
                if _is_link_shape(v) and v[0] in prompt and v[0] not in seen:
                    seen.add(v[0])
                    todo.append(v[0])
        return seen

    def _reachable(self, outputs: list[Any]) -> set[Any]:
        """Nodes an output depends on through declared inputs (what ComfyUI would validate)."""
        prompt = self.prompt
        seen: set[Any] = set()
        todo = list(outputs)
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            node = prompt.get(n)
            if n in self.broken or not isinstance(node, dict):
                continue
            inputs = node.get("inputs")
            if not isinstance(inputs, dict):
                continue
            names = self.view.cls(node["class_type"]).names_for(inputs)
            for k, v in inputs.items():
                if k in names and isinstance(v, list) and len(v) == 2:
                    src = v[0]
                    if isinstance(src, str) and src in prompt and src not in seen:
                        todo.append(src)
        return seen

    def _cycle_findings(self, node_errors: dict[str, Any], failing: list[Any]) -> None:
        for cyc in self.cycles:
            # data-flow order (a source before its consumer), as the editor draws the links
            ids = [m for m, _ in reversed(cyc)]
            labels = [f"{m} {self._ct(m)}" for m in ids]
            path = " -> ".join(labels + [str(ids[0])])
            comfy_path = " -> ".join(f"{m} ({self._ct(m)})" for m in ids + [ids[0]])
            deps = self._dependents(set(ids), failing)
            for m, inp in cyc:
                err = comfy_error(
                    "dependency_cycle",
                    comfy_path,
                    {"node_id": str(m), "cycle_nodes": [str(i) for i in ids]},
                )
                self.add(
                    "dependency_cycle",
                    f"dependency cycle: {path}",
                    m,
                    inp,
                    comfyui=err,
                )
                if deps:
                    entry = node_errors.get(m)
                    if entry is None:
                        entry = node_errors[m] = {
                            "errors": [],
                            "dependent_outputs": list(deps),
                            "class_type": self._ct(m),
                        }
                    entry["errors"] = list(entry["errors"]) + [err]

    def _dependents(self, targets: set[Any], outputs: list[Any]) -> list[Any]:
        """The outputs whose declared-input closure contains one of ``targets``."""
        out = []
        for o in outputs:
            seen: set[Any] = set()
            todo = [o]
            hit = False
            while todo and not hit:
                n = todo.pop()
                if n in seen:
                    continue
                seen.add(n)
                if n in targets:
                    hit = True
                    break
                node = self.prompt.get(n)
                if not isinstance(node, dict) or not isinstance(node.get("inputs"), dict):
                    continue
                ct = node.get("class_type")
                if not isinstance(ct, str) or ct not in self.spec:
                    continue
                names = self.view.cls(ct).names_for(node["inputs"])
                for k, v in node["inputs"].items():
                    if k in names and _is_link_shape(v) and v[0] in self.prompt:
                        todo.append(v[0])
            if hit:
                out.append(o)
        return out
