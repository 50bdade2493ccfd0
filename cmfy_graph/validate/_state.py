"""The validator's state (the prompt, the findings, the walk) that every rule family reads and
writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..rules import rule

if TYPE_CHECKING:
    from ..spec import Spec

from ._common import _view
from .report import Finding


class _State:
    """The validator's state; the rule families are mixins over it."""

    def __init__(
        self,
        prompt: Any,
        spec: Spec,
        profile: str,
        targets: Sequence[Any] | None,
        input_files: frozenset[str] = frozenset(),
    ) -> None:
        self.prompt = prompt
        #: files known to be in the server's input folder beyond the spec's lists (uploaded)
        self.input_files = input_files
        self.spec = spec
        self.view = _view(spec)
        self.profile = profile
        self.targets = targets
        self.validated: dict[Any, tuple[bool, list[dict[str, Any]]]] = {}
        self.findings: list[Finding] = []
        self.visiting: dict[Any, int] = {}
        self.stack: list[Any] = []
        self.stack_inputs: list[str | None] = []
        self.cycles: list[list[tuple[Any, str | None]]] = []
        self.cycle_sets: set[frozenset[Any]] = set()
        self.broken: set[Any] = set()
        self.shadow = False
        self.max_depth = 0
        self.urls: dict[str, tuple[str, Any, str]] = {}

    # -- findings ------------------------------------------------------------------------------

    def add(
        self,
        code: str,
        message: str,
        uid: Any = None,
        input_name: str | None = None,
        *,
        hint: str | None = None,
        comfyui: Mapping[str, Any] | None = None,
        severity: str | None = None,
    ) -> None:
        sev = severity or rule(code).severity
        if self.shadow and sev == "error":
            sev = "warning"
            message += " (ComfyUI does not validate this node: no output depends on it)"
        class_type = title = None
        node_id = None
        if uid is not None:
            node_id = str(uid)
            node = self.prompt.get(uid) if isinstance(self.prompt, dict) else None
            if isinstance(node, dict):
                ct = node.get("class_type")
                class_type = ct if isinstance(ct, str) else None
                meta = node.get("_meta")
                if isinstance(meta, dict) and isinstance(meta.get("title"), str):
                    title = meta["title"]
        if hint and hint.startswith("; "):
            hint = hint[2:]
        self.findings.append(
            Finding(
                code=code,
                severity=sev,
                message=message,
                node_id=node_id,
                class_type=class_type,
                title=title,
                input_name=input_name,
                hint=hint or None,
                comfyui=comfyui,
            )
        )

    if TYPE_CHECKING:  # implemented by the rule families (mixins)

        def _ct(self, uid: Any) -> str: ...

        def _model_url(self, uid: Any, x: str, url: str) -> None: ...

        def vi(self, uid: Any, depth: int) -> tuple[bool, list[dict[str, Any]]]: ...
