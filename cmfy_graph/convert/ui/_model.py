"""The records of a UI workflow as the converter reads it (links, graphs, saved input slots,
execution records) and the editor facts it relies on (virtual node types, renames, save nodes).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...spec import NodeSpec


#: Node types the editor defines in JavaScript and never sends to the server.
VIRTUAL_NODE_TYPES = frozenset({"Reroute", "PrimitiveNode", "Note", "MarkdownNote"})

# Frontend-only nodes of popular custom node packs, treated as virtual when the spec does not
# list them: KJNodes' SetNode/GetNode (a GetNode yields what the SetNode of the same name is
# fed), rgthree's reroute (passes its input through) and display-only helpers.
_PACK_VIRTUAL = frozenset(
    {
        "SetNode",
        "GetNode",
        "Reroute (rgthree)",
        "Fast Groups Muter (rgthree)",
        "Fast Groups Bypasser (rgthree)",
        "Fast Muter (rgthree)",
        "Fast Bypasser (rgthree)",
        "Bookmark (rgthree)",
        "Label (rgthree)",
    }
)

# Node types the editor renames while loading a workflow (``loadGraphData``), before the
# nodes are created, in the root graph and in subgraph definitions alike.
_LOAD_RENAMES = {
    "T2IAdapterLoader": "ControlNetLoader",
    "ConditioningAverage ": "ConditioningAverage",
    "SDV_img2vid_Conditioning": "SVD_img2vid_Conditioning",
}

# Nodes whose ``filename_prefix`` the editor passes through ``applyTextReplacements``
# (``saveImageExtraOutput.ts``).
_SAVE_NODES = frozenset(
    {
        "SaveImage",
        "SaveAnimatedWEBP",
        "SaveWEBM",
        "SaveAudio",
        "SaveGLB",
        "SaveAnimatedPNG",
        "CLIPSave",
        "VAESave",
        "ModelSave",
        "LoraSave",
        "SaveLatent",
    }
)
# the same for the editor of 2026 (frontend 1.58.1, saveImageExtraOutput.ts)
_SAVE_NODES_2026 = _SAVE_NODES | {
    "SaveImageAdvanced",
    "SaveSVGNode",
    "SaveVideo",
    "SaveAudioMP3",
    "SaveAudioOpus",
    "SaveAudioAdvanced",
    "Save3DAdvanced",
    "SaveGaussianSplat",
    "SavePointCloud",
}
_REPLACE_RE = re.compile(r"%([^%]+)%")
_FILENAME_BAD = re.compile(r'[/?<>\\:*|"\x00-\x1f\x7f]')

SUBGRAPH_INPUT_ID = "-10"
SUBGRAPH_OUTPUT_ID = "-20"

MODE_NEVER = 2
MODE_BYPASS = 4

# Input types the editor draws a widget for at 1.27.10, beyond ``spec.WIDGET_TYPES``
# (frontend extensions: 3D viewers, webcam capture, audio recording).
_EXTRA_WIDGET_TYPES = frozenset({"LOAD_3D", "LOAD_3D_ANIMATION", "WEBCAM", "AUDIO_RECORD"})

_UPLOAD_IMAGE_OPTIONS = ("image_upload", "video_upload", "animated_image_upload")

# Nodes given an audio player widget ``audioUI`` by the editor's audio extension. It is not
# saved in ``widgets_values`` (a hole) but is sent, as ``""``.
_AUDIO_UI_NODES = frozenset(
    {"LoadAudio", "SaveAudio", "PreviewAudio", "SaveAudioMP3", "SaveAudioOpus"}
)

# Widgets other frontend extensions append: (name, kind). "extra": saved and sent (default
# ``""``); "fixed": not saved, sent as ``""``.
_LOAD_3D_NODES = frozenset({"Load3D", "Load3DAnimation", "Load3DAdvanced"})
_LOAD_3D_BUTTONS = ("upload3dmodel", "uploadExtraResources", "clear")
# the same buttons in the editor of 2026 (frontend 1.58.1, extensions/core/load3d.ts): named
# for people, holding the old names as values, and sent (no serialize flag); only Load3D
# has them (Load3DAdvanced's scene widget is LOAD_3D_ADVANCED, load3dAdvanced.ts)
_LOAD_3D_BUTTONS_2026 = {
    "upload3dmodel": "upload 3d model",
    "uploadExtraResources": "upload extra resources",
    "clear": "clear",
}
# the 3D scene widgets the editor of 2026 renders and uploads when it queues
_LOAD_3D_SCENES_2026 = {"Load3D": "image", "Load3DAdvanced": "viewport_state"}

_EXTENSION_WIDGETS: dict[str, tuple[tuple[str, str], ...]] = {
    "Preview3D": (("image", "extra"),),
    "Preview3DAnimation": (("image", "extra"),),
    "SaveGLB": (("image", "extra"),),
    "PreviewAny": (("preview", "fixed"),),
}

# Display names the editor shows (from its bundled English node names) for core nodes whose
# ``/object_info`` entry has ``display_name: null`` (V3 nodes whose names were kept only in
# ComfyUI's ``nodes.py`` ``NODE_DISPLAY_NAME_MAPPINGS``).
_FRONTEND_DISPLAY_NAMES = {
    "ImageBlend": "Image Blend",
    "ImageBlur": "Image Blur",
    "ImageQuantize": "Image Quantize",
    "ImageSharpen": "Image Sharpen",
    "ImageScaleToTotalPixels": "Scale Image to Total Pixels",
    "ImageCrop": "Image Crop",
    "ImageStitch": "Image Stitch",
    "GetImageSize": "Get Image Size",
}


# The same for the editor of ComfyUI 2026 (frontend 1.58.1, ``i18n.ts`` resolveNodeDefText:
# the server's display name, else the name in its bundled English node definitions), for
# the core classes whose display name a 2026 server leaves empty.
_FRONTEND_DISPLAY_NAMES_2026 = {
    "EmptyCosmosLatentVideo": "Empty Cosmos Latent Video",
    "EmptyHunyuanImageLatent": "Empty Hunyuan Image Latent",
    "EmptyLTXVLatentVideo": "Empty LTXV Latent Video",
    "EmptyLatentHunyuan3Dv2": "Empty Hunyuan 3D v2 Latent",
    "EmptyTrellis2LatentStructure": "Empty Trellis2 Latent Structure",
    "Pixal3DConditioning": "Pixal3D Conditioning",
    "StableCascade_EmptyLatentImage": "Empty Stable Cascade Latent Image",
    "StableCascade_StageC_VAEEncode": "Stable Cascade Stage C VAE Encode",
    "TextEncodeQwenImageEdit": "Text Encode Qwen Image Edit",
    "TextEncodeQwenImageEditPlus": "Text Encode Qwen Image Edit Plus",
    "Trellis2Conditioning": "Trellis2 Conditioning",
    "Trellis2ShapeStage": "Trellis2 Shape Stage",
    "Trellis2TextureStage": "Trellis2 Texture Stage",
    "VAEDecodeHunyuan3D": "Hunyuan 3D VAE Decode",
    "VaeDecodeShapeTrellis": "Trellis2 VAE Decode Shape",
    "VaeDecodeStructureTrellis2": "Trellis2 VAE Decode Structure",
    "VaeDecodeTextureTrellis": "Trellis2 VAE Decode Texture",
}


class ConversionWarning(UserWarning):
    """Something in a UI workflow could not be converted exactly; the message names the node."""


#: how a note that values do not fit the spec ends (lint drops it where the evidence of a
#: newer node says more)
MAY_HAVE_CHANGED = (
    "; the node may have changed since the workflow was saved; values are mapped as the "
    "editor maps them"
)


class ConversionNote(str):
    """The text of a conversion warning (what ``warnings=`` collects), with the execution id of
    the node it is about and the input, when known: ``lint`` reports it at that node and folds
    it into a finding on the same input that it explains (one cause, one line)."""

    __slots__ = ("node_id", "input_name", "minor")

    node_id: str | None
    input_name: str | None
    #: worth saying only where it explains a finding (the editor does the same silently)
    minor: bool

    def __new__(
        cls,
        text: str,
        node_id: str | None = None,
        input_name: str | None = None,
        minor: bool = False,
    ) -> ConversionNote:
        self = super().__new__(cls, text)
        self.node_id = node_id
        self.input_name = input_name
        self.minor = minor
        return self


# ---------------------------------------------------------------------------------------------
# dynamic prompts


_COMMENT_RE = re.compile(r"//[^\n]*|/\*[\s\S]*?\*/")


def process_dynamic_prompt(text: str, rng: random.Random) -> str:
    """Apply the editor's dynamic-prompt processing to ``text``: strip ``//`` and ``/* */``
    comments and resolve every ``{a|b|c}`` group (innermost first) with ``rng``. ``\\{``,
    ``\\|`` and ``\\}`` are literal characters."""
    text = _COMMENT_RE.sub("", text)
    out: list[str] = []
    i = 0
    n = len(text)

    def parse(depth: int) -> list[str]:
        # returns the options of the current group (or the whole text at depth 0)
        nonlocal i
        options: list[str] = []
        cur: list[str] = []
        while i < n:
            c = text[i]
            if c == "\\" and i + 1 < n and text[i + 1] in "{|}":
                cur.append(text[i + 1])
                i += 2
                continue
            if c == "{":
                i += 1
                opts = parse(depth + 1)
                cur.append(rng.choice(opts) if opts else "")
                continue
            if c == "}" and depth > 0:
                i += 1
                options.append("".join(cur))
                return options
            if c == "|" and depth > 0:
                options.append("".join(cur))
                cur = []
                i += 1
                continue
            cur.append(c)
            i += 1
        if depth > 0:  # unclosed group: keep the text as written
            return ["{" + "|".join([*options, "".join(cur)])]
        options.append("".join(cur))
        return options

    out = parse(0)
    return out[0] if out else ""


# ---------------------------------------------------------------------------------------------
# graph model


def is_ui_workflow(data: Any) -> bool:
    """True when ``data`` looks like an editor-saved workflow (``nodes`` list + ``links``)."""
    return (
        isinstance(data, Mapping)
        and isinstance(data.get("nodes"), list)
        and ("links" in data or "version" in data or "last_node_id" in data)
    )


def _key(x: Any) -> str:
    t = type(x)
    if t is int:
        return str(x)
    if t is str:
        return x  # type: ignore[no-any-return]
    if isinstance(x, bool):
        return str(int(x))
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _as_list(x: Any) -> list[Any]:
    """``x`` when it is a list, else an empty one (a field a broken file has of another
    JSON type is treated as absent, as the editor's loader skips it)."""
    return x if isinstance(x, list) else []


def _slot(x: Any) -> int | None:
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, int):
        return x
    if isinstance(x, float) and x.is_integer():
        return int(x)
    if isinstance(x, str):
        try:
            return int(x.strip())
        except ValueError:
            return None
    return None


def _type_str(t: Any) -> str:
    if isinstance(t, list):
        return ",".join(str(x) for x in t)
    if t is None or t == 0:
        return ""
    return str(t)


class _Link:
    __slots__ = ("id", "origin_id", "origin_slot", "target_id", "target_slot", "type")

    def __init__(
        self, id: str, origin_id: str, origin_slot: int, target_id: str, target_slot: int, type: Any
    ) -> None:
        self.id = id
        self.origin_id = origin_id
        self.origin_slot = origin_slot
        self.target_id = target_id
        self.target_slot = target_slot
        self.type = type


class _Graph:
    """One graph level: the root workflow or a subgraph definition."""

    __slots__ = ("nodes", "order", "links", "definition", "name")

    def __init__(self, data: Mapping[str, Any], name: str, definition: Any = None) -> None:
        self.name = name
        self.definition = definition
        self.nodes: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        for n in _as_list(data.get("nodes")):
            if not isinstance(n, dict) or "id" not in n:
                continue
            k = _key(n["id"])
            if k in self.nodes:
                continue
            self.nodes[k] = n
            self.order.append(k)
        self.links: dict[str, _Link] = {}
        links = data.get("links")
        if isinstance(links, dict):  # some writers key links by id
            links = list(links.values())
        links = _as_list(links)
        for ln in links:
            lk = _parse_link(ln)
            if lk is not None:
                self.links[lk.id] = lk


def _parse_link(ln: Any) -> _Link | None:
    if isinstance(ln, list) and len(ln) >= 5:
        lid, oid, oslot, tid, tslot = ln[:5]
        typ = ln[5] if len(ln) > 5 else None
    elif isinstance(ln, dict) and "id" in ln:
        lid, oid, oslot, tid, tslot = (
            ln.get("id"),
            ln.get("origin_id"),
            ln.get("origin_slot"),
            ln.get("target_id"),
            ln.get("target_slot"),
        )
        typ = ln.get("type")
    else:
        return None
    if type(lid) is int and type(oid) is int and type(oslot) is int and type(tid) is int:
        # the common case: numbers as the editor writes them
        return _Link(str(lid), str(oid), oslot, str(tid), _slot_or(tslot), typ)
    os_ = _slot(oslot)
    if lid is None or oid is None or os_ is None:
        return None
    return _Link(_key(lid), _key(oid), os_, _key(tid), _slot_or(tslot), typ)


def _slot_or(x: Any) -> int:
    """A saved target slot, -1 when it is not one."""
    s = _slot(x)
    return s if s is not None else -1


class _Input:
    __slots__ = ("name", "link", "type", "widget")

    def __init__(self, name: str, link: str | None, type: Any, widget: str | None) -> None:
        self.name = name
        self.link = link
        self.type = type
        self.widget = widget


def _inputs_of(node: Mapping[str, Any]) -> list[_Input]:
    out: list[_Input] = []
    for inp in _as_list(node.get("inputs")):
        if not isinstance(inp, dict):
            continue
        name = inp.get("name")
        if not isinstance(name, str):
            continue
        link = inp.get("link")
        if link is not None:
            link = str(link) if type(link) is int else _key(link)
        w = inp.get("widget")
        wname = None
        if w is not None and isinstance(w, dict):
            wname = w.get("name")
            if not isinstance(wname, str):
                wname = None
        out.append(_Input(name, link, inp.get("type"), wname))
    return out


class _Dto:
    """An executable node: one node of one graph level, reached through a path of instances."""

    __slots__ = (
        "id",
        "node",
        "graph",
        "instance",
        "inputs",
        "mode",
        "type",
        "sub",
        "sub_inputs",
        "promoted",
        "path",
        "prefix",
        "key",
        "live",
        "virtual",
    )

    def __init__(
        self,
        node: dict[str, Any],
        graph: _Graph,
        path: tuple[str, ...],
        instance: _Dto | None,
        inputs: list[_Input] | None = None,
    ) -> None:
        self.node = node
        self.graph = graph
        self.path = path
        #: the execution id of a node of the same graph level is ``prefix + its key``
        self.prefix = ":".join(path) + ":" if path else ""
        self.key = _key(node["id"])
        self.id = self.prefix + self.key
        self.instance = instance
        self.inputs = inputs if inputs is not None else _inputs_of(node)
        m = node.get("mode", 0)
        self.mode = m if isinstance(m, int) else 0
        t = node.get("type")
        # the editor renames a few old node types before creating the nodes (app.ts)
        self.type = _LOAD_RENAMES.get(t, t) if isinstance(t, str) else ""
        self.sub: _Graph | None = None
        # for instances: the live inputs (one per definition input) and promoted widget values
        self.sub_inputs: list[_Input] = []
        self.promoted: dict[int, Any] = {}
        # the inputs as the editor holds them once loaded (see _Converter.live_inputs)
        self.live: list[_Input] | None = None
        #: whether the editor never sends the node (set by the converter on flattening)
        self.virtual = False


def display_name(ns: NodeSpec, editor_2026: bool = False) -> str:
    """The title the editor gives a new node of this spec (``editor_2026``: the editor of
    ComfyUI 2026, whose bundled English names differ)."""
    raw = ns.raw.get("display_name") if isinstance(ns.raw, Mapping) else None
    if isinstance(raw, str) and raw:
        return raw
    if editor_2026:
        return _FRONTEND_DISPLAY_NAMES_2026.get(ns.class_type, ns.class_type)
    return _FRONTEND_DISPLAY_NAMES.get(ns.class_type, ns.class_type)


class _Widget:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _Missing:
    __slots__ = ()


_MISSING: Any = _Missing()


def _js_string(v: Any) -> str:
    """``String(v)`` as JavaScript writes it, for the values widgets hold."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v != v:
            return "NaN"
        if v in (float("inf"), float("-inf")):
            return "Infinity" if v > 0 else "-Infinity"
        if v.is_integer() and abs(v) < 1e21:
            return str(int(v))
        r = repr(v)
        if "e" in r:
            mant, exp = r.split("e")
            return f"{mant}e{'+' if not exp.startswith('-') else '-'}{exp.lstrip('+-').lstrip('0')}"
        return r
    if isinstance(v, list):
        return ",".join("" if x is None else _js_string(x) for x in v)
    if isinstance(v, dict):
        return "[object Object]"
    return str(v)


# the node pack fields the editor of 2026 copies from a node's properties into ``_meta``
# (``executionUtil.ts`` graphToPrompt, validated by ``workflowSchema.ts`` zNodePackMetadata)
_REPO_LIKE_ID = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9._-]*[a-zA-Z0-9])?")
_GITHUB_USER = re.compile(r"(?!-)(?!.*--)[a-zA-Z0-9-]+(?<!-)")
_GIT_HASH = re.compile(r"[0-9a-fA-F]{4,40}")
_SEMVER = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-([0-9a-z-]+(?:\.[0-9a-z-]+)*))?(?:\+([0-9a-z-]+(?:\.[0-9a-z-]+)*))?"
)


def _repo_like(x: Any) -> bool:
    return (
        isinstance(x, str)
        and 1 <= len(x) <= 100
        and _REPO_LIKE_ID.fullmatch(x) is not None
        and x[0] not in "_-."
        and x[-1] not in "_-."
    )


def pack_metadata(props: Mapping[str, Any], meta: dict[str, Any]) -> None:
    """Add to ``meta`` the node pack fields of ``props`` that the editor of 2026 sends in a
    node's ``_meta``: ``cnr_id`` (a registry id), ``aux_id`` (``user/repo``) and ``ver`` (a
    semantic version or a git hash, a leading ``v`` stripped, or ``"unknown"``); a field
    that is not valid is left out, as the editor leaves it out."""
    key = (props.get("cnr_id"), props.get("aux_id"), props.get("ver"))
    try:
        hit = _PACK_CACHE.get(key)
    except TypeError:  # an unhashable value: not a valid field anyway
        hit = None
    if hit is not None:
        meta.update(hit)
        return
    fields: dict[str, Any] = {}
    _pack_fields(props, fields)
    if len(_PACK_CACHE) > 10_000:
        _PACK_CACHE.clear()
    try:
        _PACK_CACHE[key] = fields
    except TypeError:
        pass
    meta.update(fields)


_PACK_CACHE: dict[tuple[Any, Any, Any], dict[str, Any]] = {}


def _pack_fields(props: Mapping[str, Any], meta: dict[str, Any]) -> None:
    cnr = props.get("cnr_id")
    if _repo_like(cnr):
        meta["cnr_id"] = cnr
    aux = props.get("aux_id")
    if isinstance(aux, str) and aux.count("/") == 1:
        user, repo = aux.split("/")
        if 1 <= len(user) <= 39 and _GITHUB_USER.fullmatch(user) and _repo_like(repo):
            meta["aux_id"] = aux
    ver = props.get("ver")
    if isinstance(ver, str):
        v = ver[1:] if ver.startswith("v") else ver
        if _SEMVER.fullmatch(v) or _GIT_HASH.fullmatch(v):
            meta["ver"] = v
        elif ver == "unknown":
            meta["ver"] = ver


def _wrap(v: Any) -> Any:
    return {"__value__": v} if isinstance(v, list) else v


def _valid_connection(a: str, b: str) -> bool:
    """LiteGraph's ``isValidConnection``: ``""``/``"*"`` are wildcards, case-insensitive,
    comma-separated alternatives."""
    if a in ("", "*") or b in ("", "*") or a == b:
        return True
    la, lb = a.lower(), b.lower()
    if "," not in la and "," not in lb:
        return la == lb
    sa, sb = la.split(","), lb.split(",")
    return any(x == y or x in ("", "*") or y in ("", "*") for x in sa for y in sb)
