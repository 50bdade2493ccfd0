"""Builders for small editor-format (UI) workflows used by the convert tests."""

from __future__ import annotations

from typing import Any


def inp(name: str, type_: str, link: int | None = None, widget: bool = False) -> dict[str, Any]:
    """One input socket of a UI node."""
    d: dict[str, Any] = {"name": name, "type": type_, "link": link}
    if widget:
        d["widget"] = {"name": name}
    return d


def out(name: str, type_: str, links: list[int] | None = None) -> dict[str, Any]:
    """One output socket of a UI node."""
    return {"name": name, "type": type_, "links": links or []}


def node(
    id_: int,
    type_: str,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    widgets: Any = None,
    mode: int = 0,
    title: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One UI node."""
    d: dict[str, Any] = {
        "id": id_,
        "type": type_,
        "pos": [0, 0],
        "size": [200, 100],
        "flags": {},
        "order": id_,
        "mode": mode,
        "inputs": inputs or [],
        "outputs": outputs or [],
        "properties": {},
    }
    if widgets is not None:
        d["widgets_values"] = widgets
    if title is not None:
        d["title"] = title
    d.update(extra)
    return d


def workflow(nodes: list[dict[str, Any]], links: list[list[Any]], **extra: Any) -> dict[str, Any]:
    """A version-0.4 UI workflow; ``links`` are ``[id, origin, slot, target, slot, type]``."""
    d: dict[str, Any] = {
        "last_node_id": max((n["id"] for n in nodes if isinstance(n["id"], int)), default=0),
        "last_link_id": max((ln[0] for ln in links), default=0),
        "nodes": nodes,
        "links": links,
        "groups": [],
        "config": {},
        "extra": {},
        "version": 0.4,
    }
    d.update(extra)
    return d


def ckpt(id_: int, links: tuple[list[int], list[int], list[int]] = ([], [], [])) -> dict[str, Any]:
    """A CheckpointLoaderSimple node."""
    return node(
        id_,
        "CheckpointLoaderSimple",
        outputs=[
            out("MODEL", "MODEL", links[0]),
            out("CLIP", "CLIP", links[1]),
            out("VAE", "VAE", links[2]),
        ],
        widgets=["model.safetensors"],
    )
