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

import random
import re
import warnings as _warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConversionError
from ..spec import WIDGET_TYPES

if TYPE_CHECKING:
    from ..spec import InputSpec, NodeSpec, Spec

__all__ = [
    "ConversionWarning",
    "ui_to_api",
    "is_ui_workflow",
    "widget_layout",
    "WidgetSlot",
    "process_dynamic_prompt",
    "VIRTUAL_NODE_TYPES",
]

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


class ConversionWarning(UserWarning):
    """Something in a UI workflow could not be converted exactly; the message names the node."""


class WidgetSlot:
    """One widget of a node in the editor, in widget order.

    ``serialize`` is False for widgets the editor keeps in ``widgets_values`` but never sends
    (``control_after_generate``, ``control_filter_list``, the upload button).
    """

    __slots__ = ("name", "serialize", "input", "kind")

    def __init__(
        self, name: str, serialize: bool, input: InputSpec | None = None, kind: str = "value"
    ) -> None:
        self.name = name
        self.serialize = serialize
        self.input = input
        self.kind = kind

    def __repr__(self) -> str:
        flag = "" if self.serialize else ", serialize=False"
        return f"WidgetSlot({self.name!r}{flag})"


# ---------------------------------------------------------------------------------------------
# widget layout


def _control_count(inp: InputSpec, wtype: str) -> int:
    """How many value-control widgets the editor adds after the widget of ``inp``."""
    cag = inp.options.get("control_after_generate")
    if wtype == "INT":
        if cag is None:
            return 1 if inp.name in ("seed", "noise_seed") else 0
        return 1 if cag else 0
    if wtype == "FLOAT":
        return 1 if cag else 0
    if wtype == "COMBO":
        return 2 if cag else 0
    return 0


_WIDGET_TYPE_CACHE: dict[tuple[int, bool], tuple[InputSpec, str | None]] = {}


def _widget_type_of(inp: InputSpec, include_forced: bool = False) -> str | None:
    """The widget the editor draws for ``inp`` (``include_forced``: also for a ``forceInput``
    input, as editors before 1.16 did), or ``None`` for a pure socket. Memoised: records are
    immutable."""
    key = (id(inp), include_forced)
    hit = _WIDGET_TYPE_CACHE.get(key)
    if hit is not None and hit[0] is inp:
        return hit[1]
    if len(_WIDGET_TYPE_CACHE) > 100_000:
        _WIDGET_TYPE_CACHE.clear()
    wt = _compute_widget_type(inp, include_forced)
    _WIDGET_TYPE_CACHE[key] = (inp, wt)
    return wt


def _compute_widget_type(inp: InputSpec, include_forced: bool) -> str | None:
    if inp.force_input and not include_forced:
        return None
    wt = inp.options.get("widgetType")
    if isinstance(wt, str) and (wt in WIDGET_TYPES or wt in _EXTRA_WIDGET_TYPES):
        return wt
    if inp.type in WIDGET_TYPES or inp.type in _EXTRA_WIDGET_TYPES:
        return inp.type
    return inp.widget_type if not inp.force_input else None


def _build_layout(
    ns: NodeSpec, include_forced: bool = False, remote: bool = False
) -> list[WidgetSlot]:
    slots: list[WidgetSlot] = []
    image_upload = False
    audio_upload = False
    for inp in ns.inputs.values():
        wtype = _widget_type_of(inp, include_forced)
        if wtype is None:
            continue
        slots.append(WidgetSlot(inp.name, True, inp))
        rem = inp.options.get("remote") if wtype == "COMBO" else None
        if remote and isinstance(rem, Mapping):
            # useRemoteWidget: an "Auto-refresh after generation" toggle (saved, not sent),
            # then with refresh_button a "refresh" button, which has a name and no
            # serialize:false, so graphToPrompt sends it
            slots.append(WidgetSlot(_AUTO_REFRESH, False, None, "toggle"))
            if rem.get("refresh_button"):
                slots.append(WidgetSlot("refresh", True, None, "button"))
        if ns.class_type in _LOAD_3D_NODES and wtype == "COMBO" and inp.options.get("file_upload"):
            # the 3D loader's buttons (saved by their names, never sent), editor >= 1.39
            slots.extend(WidgetSlot(b, False, None, "button") for b in _LOAD_3D_BUTTONS)
        n = _control_count(inp, wtype)
        if n:
            slots.append(WidgetSlot("control_after_generate", False, inp, "control"))
        if n == 2:
            slots.append(WidgetSlot("control_filter_list", False, inp, "filter"))
        if wtype == "COMBO" and inp.section == "required":
            # uploadImage.ts / uploadAudio.ts inject their spec only for a required input
            # whose option is exactly true (for audio: the input named "audio")
            if any(inp.options.get(k) is True for k in _UPLOAD_IMAGE_OPTIONS):
                image_upload = True
            if inp.name == "audio" and inp.options.get("audio_upload") is True:
                audio_upload = True
    # Frontend extensions inject extra specs at the end (not in input_order).
    if ns.class_type in _AUDIO_UI_NODES:
        slots.append(WidgetSlot("audioUI", True, None, "fixed"))
    if audio_upload:
        slots.append(WidgetSlot("upload", False, None, "upload"))
    elif image_upload:
        slots.append(WidgetSlot("upload", False, None, "upload"))
    for name, kind in _EXTENSION_WIDGETS.get(ns.class_type, ()):
        slots.append(WidgetSlot(name, True, None, kind))
    return slots


_LAYOUT_CACHE: dict[int, tuple[Any, list[WidgetSlot], list[WidgetSlot] | None]] = {}


_FULL_LAYOUT_CACHE: dict[int, tuple[Any, list[WidgetSlot]]] = {}
_AUTO_REFRESH = "Auto-refresh after generation"


def _full_layout(ns: NodeSpec) -> list[WidgetSlot]:
    """The widgets as :func:`widget_layout`, plus those the remote-combo widget adds (its
    auto-refresh toggle and refresh button), which this converter reads and sends but the
    API -> UI layout does not write."""
    hit = _FULL_LAYOUT_CACHE.get(id(ns))
    if hit is not None and hit[0] is ns:
        return hit[1]
    cur = _layouts(ns)[0]
    if any(isinstance(i.options.get("remote"), Mapping) for i in ns.inputs.values()):
        cur = _build_layout(ns, remote=True)
    _FULL_LAYOUT_CACHE[id(ns)] = (ns, cur)
    return cur


def widget_layout(ns: NodeSpec) -> list[WidgetSlot]:
    """The widgets the editor creates for a node of this spec, in ``widgets_values`` order."""
    return _layouts(ns)[0]


def _layouts(ns: NodeSpec) -> tuple[list[WidgetSlot], list[WidgetSlot] | None]:
    """(current layout, legacy layout with ``forceInput`` widgets or None when identical)."""
    key = id(ns)
    hit = _LAYOUT_CACHE.get(key)
    if hit is not None and hit[0] is ns:
        return hit[1], hit[2]
    cur = _build_layout(ns)
    legacy: list[WidgetSlot] | None = None
    if any(i.force_input for i in ns.inputs.values()):
        alt = _build_layout(ns, include_forced=True)
        if len(alt) != len(cur):
            legacy = alt
    _LAYOUT_CACHE[key] = (ns, cur, legacy)
    return cur, legacy


def _migrate_widgets_values(
    ns: NodeSpec, layout: list[WidgetSlot], seq: list[Any]
) -> list[Any] | None:
    """The editor's ``migrateWidgetsValues`` (run by ``ComfyNode.configure``), or None when it
    leaves the values alone.

    It takes the spec's inputs in object order (required, then optional) that are a widget of
    the node or ``forceInput``, counts two values for each with ``control_after_generate`` or
    named ``seed`` / ``noise_seed`` and one for the others; when that count equals the number
    of saved values it drops ``seq[i]`` for every such input ``i`` that is ``forceInput``
    (pairing inputs with values by index, control values notwithstanding).
    """
    if not seq or not any(i.force_input for i in ns.inputs.values()):
        return None
    raw = ns.raw.get("input") if isinstance(ns.raw, Mapping) else None
    # the node definition's inputs in object order: required (with the specs the upload and
    # audio extensions inject at its end), then optional
    injected = [s.name for s in layout if s.input is None and s.name in ("audioUI", "upload")]
    order: list[str] = []
    for section in ("required", "optional"):
        sec = raw.get(section) if isinstance(raw, Mapping) else None
        if isinstance(sec, Mapping):
            order.extend(k for k in sec if k not in order)
        if section == "required":
            order.extend(k for k in injected if k not in order)
    order.extend(k for k in ns.inputs if k not in order)
    names = {s.name for s in layout}
    # (forceInput, values counted) of the inputs that are a widget or forceInput
    orig: list[tuple[bool, int]] = []
    for k in order:
        i = ns.inputs.get(k)
        if i is None:
            if k in injected:
                orig.append((False, 1))
            continue
        if k in names or i.force_input:
            two = i.options.get("control_after_generate") or i.name in ("seed", "noise_seed")
            orig.append((i.force_input, 2 if two else 1))
    if sum(n for _, n in orig) != len(seq):
        return None
    return [v for k, v in enumerate(seq) if not (k < len(orig) and orig[k][0])]


def _default_value(inp: InputSpec | None, kind: str) -> Any:
    """The value a freshly created widget holds (frontend constructors)."""
    if kind in ("fixed", "extra"):
        return ""
    if kind == "toggle":
        return False
    if kind == "button":
        return "refresh"
    if inp is None:
        return None
    wt = _widget_type_of(inp, include_forced=True) or inp.type
    d = inp.options.get("default")
    if wt == "INT" or wt == "FLOAT":
        return 0 if d is None else d
    if wt == "STRING":
        return "" if d is None else d
    if wt == "BOOLEAN":
        return False if d is None else d
    if wt == "COMBO":
        if d:
            return d
        return inp.choices[0] if inp.choices else None
    if wt == "COMFY_DYNAMICCOMBO_V3" and d is None:
        keys = getattr(inp.dynamic, "keys", ())
        return keys[0] if keys else None
    return d


_MISSING_VALUE = object()


def _positional_lookup(seq: list[Any]) -> Any:
    def look(i: int, slot: WidgetSlot) -> Any:
        return seq[i] if i < len(seq) else _MISSING_VALUE

    return look


def _dynamic_layout(
    layout: list[WidgetSlot], value_at: Any, gap: int = 0, unknown: list[str] | None = None
) -> list[WidgetSlot]:
    """``layout`` with the widgets of each DynamicCombo's selected option spliced in right
    after the combo, recursively (the editor's ``dynamicWidgets``). ``value_at(index, slot)``
    gives the saved value of the widget at that index of the expanded layout.

    A saved option the spec does not know (a node newer than the spec) has sub-widgets we
    cannot name: ``gap`` placeholder slots (never sent) stand for them after the first such
    combo, and its name is appended to ``unknown``."""
    out: list[WidgetSlot] = []
    state = [gap, unknown if unknown is not None else []]
    for slot in layout:
        _append_dynamic(out, slot, value_at, state)
    return out


def _append_dynamic(
    out: list[WidgetSlot], slot: WidgetSlot, value_at: Any, state: list[Any]
) -> None:
    from ..spec import DynamicComboSpec

    out.append(slot)
    inp = slot.input
    if inp is None or slot.kind != "value" or not isinstance(inp.dynamic, DynamicComboSpec):
        return
    v = value_at(len(out) - 1, slot)
    if v is _MISSING_VALUE:
        v = _default_value(inp, "value")
    opt = inp.dynamic.option(v) if isinstance(v, str) else None
    if opt is None:
        if not state[1]:
            out.extend(
                WidgetSlot(f"{slot.name}.?", False, None, "unknown") for _ in range(state[0])
            )
        state[1].append(slot.name)
        return
    for sub_name, sub in opt.inputs.items():
        wtype = _widget_type_of(sub)
        if wtype is None:
            continue
        name = f"{slot.name}.{sub_name}"
        child = WidgetSlot(name, True, _renamed_input(sub, name))
        _append_dynamic(out, child, value_at, state)
        # a sub-widget gets value controls only when its spec asks: the editor's rule for
        # inputs named seed / noise_seed sees the dotted name
        cag = sub.options.get("control_after_generate")
        if cag and wtype in ("INT", "FLOAT"):
            out.append(WidgetSlot("control_after_generate", False, child.input, "control"))
        elif cag and wtype == "COMBO":
            out.append(WidgetSlot("control_after_generate", False, child.input, "control"))
            out.append(WidgetSlot("control_filter_list", False, child.input, "filter"))


def _renamed_input(sub: InputSpec, name: str) -> InputSpec:
    from ..dynamic import _renamed

    return _renamed(sub, name, sub.section)


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
    if isinstance(x, bool):
        return str(int(x))
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


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
        for n in data.get("nodes") or []:
            if not isinstance(n, dict) or "id" not in n:
                continue
            k = _key(n["id"])
            if k in self.nodes:
                continue
            self.nodes[k] = n
            self.order.append(k)
        self.links: dict[str, _Link] = {}
        links = data.get("links") or []
        if isinstance(links, dict):  # some writers key links by id
            links = list(links.values())
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
    os_ = _slot(oslot)
    ts_ = _slot(tslot)
    if lid is None or oid is None or os_ is None:
        return None
    return _Link(_key(lid), _key(oid), os_, _key(tid), ts_ if ts_ is not None else -1, typ)


class _Input:
    __slots__ = ("name", "link", "type", "widget")

    def __init__(self, name: str, link: str | None, type: Any, widget: str | None) -> None:
        self.name = name
        self.link = link
        self.type = type
        self.widget = widget


def _inputs_of(node: Mapping[str, Any]) -> list[_Input]:
    out: list[_Input] = []
    for inp in node.get("inputs") or []:
        if not isinstance(inp, dict):
            continue
        name = inp.get("name")
        if not isinstance(name, str):
            continue
        link = inp.get("link")
        w = inp.get("widget")
        wname = w.get("name") if isinstance(w, dict) and isinstance(w.get("name"), str) else None
        out.append(_Input(name, None if link is None else _key(link), inp.get("type"), wname))
    return out


_POSSIBLE: dict[int, tuple[NodeSpec, dict[str, InputSpec]]] = {}


def _input_spec(ns: NodeSpec, name: str) -> InputSpec | None:
    """The input of that name, a dotted dynamic sub-input (``resize_type.width``) included."""
    i = ns.inputs.get(name)
    if i is not None or "." not in name:
        return i
    hit = _POSSIBLE.get(id(ns))
    if hit is None or hit[0] is not ns:
        from ..dynamic import possible_inputs

        hit = _POSSIBLE[id(ns)] = (ns, possible_inputs(ns))
    return hit[1].get(name)


def _live_type(spec_in: InputSpec, saved: _Input | None) -> Any:
    """The type of an input socket in the editor: the spec's, except for a MatchType socket,
    which the editor narrows (``applyMatchType``) to what is connected or allowed."""
    from ..spec import MatchTypeSpec

    dyn = spec_in.dynamic
    if not isinstance(dyn, MatchTypeSpec):
        return spec_in.type
    if saved is not None and isinstance(saved.type, str) and saved.type:
        return saved.type
    return ",".join(sorted(dyn.allowed_types)) if dyn.allowed_types else "*"


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
        "live",
    )

    def __init__(
        self,
        node: dict[str, Any],
        graph: _Graph,
        path: tuple[str, ...],
        instance: _Dto | None,
    ) -> None:
        self.node = node
        self.graph = graph
        self.path = path
        self.id = ":".join((*path, _key(node["id"])))
        self.instance = instance
        self.inputs = _inputs_of(node)
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


# ---------------------------------------------------------------------------------------------
# the converter


class _Converter:
    def __init__(
        self,
        workflow: Mapping[str, Any],
        spec: Spec,
        dynamic_prompts_seed: int | None,
        sink: list[str] | None,
    ) -> None:
        self.spec = spec
        self.sink = sink
        self.rng = random.Random(dynamic_prompts_seed) if dynamic_prompts_seed is not None else None
        #: id(saved node) -> (node, its saved input slots), parsed once
        self._saved_inputs: dict[int, tuple[Mapping[str, Any], list[_Input]]] = {}
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

    # -- reporting

    def warn(self, msg: str) -> None:
        if msg in self.warned:
            return
        self.warned.add(msg)
        if self.sink is not None:
            self.sink.append(msg)
        else:
            _warnings.warn(msg, ConversionWarning, stacklevel=4)

    def where(self, dto: _Dto) -> str:
        title = dto.node.get("title")
        t = f" {title!r}" if isinstance(title, str) and title else ""
        return f"node {dto.id} ({dto.type}{t})"

    # -- definitions

    def _collect_defs(self, data: Mapping[str, Any]) -> None:
        defs = data.get("definitions")
        if not isinstance(defs, dict):
            return
        subs = defs.get("subgraphs")
        if not isinstance(subs, list):
            return
        for sg in subs:
            if isinstance(sg, dict) and isinstance(sg.get("id"), str):
                self.defs.setdefault(sg["id"], sg)
                self._collect_defs(sg)

    def def_graph(self, sid: str) -> _Graph:
        g = self.def_graphs.get(sid)
        if g is None:
            d = self.defs[sid]
            g = _Graph(d, f"subgraph {d.get('name', sid)!r}", d)
            self.def_graphs[sid] = g
        return g

    # -- flattening

    def flatten(self) -> list[_Dto]:
        order: list[_Dto] = []
        self._flatten(self.root, (), None, order, ())
        return order

    def _sorted_keys(self, g: _Graph) -> list[str]:
        def k(item: tuple[int, str]) -> tuple[float, int]:
            idx, key = item
            o = g.nodes[key].get("order")
            return (o if isinstance(o, (int, float)) else float("inf"), idx)

        return [key for _, key in sorted(enumerate(g.order), key=k)]

    def _flatten(
        self,
        g: _Graph,
        path: tuple[str, ...],
        instance: _Dto | None,
        order: list[_Dto],
        stack: tuple[str, ...],
    ) -> None:
        for key in self._sorted_keys(g):
            node = g.nodes[key]
            dto = _Dto(node, g, path, instance)
            if dto.type in self.defs and dto.type not in self.spec:
                if dto.type in stack:
                    self.warn(
                        f"{self.where(dto)}: subgraph {dto.type} contains itself; not expanded"
                    )
                else:
                    sub = self.def_graph(dto.type)
                    dto.sub = sub
                    self._setup_instance(dto)
                    self._flatten(sub, (*path, _key(node["id"])), dto, order, (*stack, dto.type))
            self.dtos[dto.id] = dto
            self.first_dto.setdefault((id(g), key), dto)
            order.append(dto)

    def _setup_instance(self, dto: _Dto) -> None:
        """Live inputs of a subgraph instance: one per definition input, matched by name to the
        saved (possibly compressed) inputs; promoted widget values from ``widgets_values``."""
        d = self.defs[dto.type]
        sub = dto.sub
        assert sub is not None
        saved = list(dto.inputs)
        used: set[int] = set()
        live: list[_Input] = []
        widget_idx: list[int] = []
        for i, sin in enumerate(d.get("inputs") or []):
            if not isinstance(sin, dict):  # keep the indexes of the other inputs
                live.append(_Input(f"input_{i}", None, None, None))
                continue
            raw_name = sin.get("name")
            name = raw_name if isinstance(raw_name, str) else f"input_{i}"
            match = None
            for j, s in enumerate(saved):
                if j not in used and s.name == name:
                    match = s
                    used.add(j)
                    break
            typ = sin.get("type")
            live.append(_Input(name, match.link if match else None, typ, None))
            if self._subgraph_input_has_widget(sub, sin, i):
                widget_idx.append(len(live) - 1)
        dto.sub_inputs = live
        wv = dto.node.get("widgets_values")
        named = dto.node.get("widgets_values_named")
        for k, li in enumerate(widget_idx):
            name = live[li].name
            if isinstance(named, dict) and name in named:
                dto.promoted[li] = named[name]
            elif isinstance(wv, dict) and name in wv:
                dto.promoted[li] = wv[name]
            elif isinstance(wv, list) and k < len(wv):
                dto.promoted[li] = wv[k]
            else:
                dto.promoted[li] = _MISSING

    def _inner_widget_value(self, inst: _Dto, idx: int) -> Any:
        """The value of the inner widget a subgraph input is bound to (what a promoted widget
        holds when the instance saved no value for it): the widget of the first of the input's
        links that enters a widget, as ``SubgraphNode`` promotes it."""
        sub = inst.sub
        assert sub is not None
        sins = self.defs[inst.type].get("inputs") or []
        if not 0 <= idx < len(sins) or not isinstance(sins[idx], dict):
            return _MISSING
        found = self._promotion_link(sub, sins[idx], idx)
        if found is None:
            return _MISSING
        lk, name = found
        tdto = self.dtos.get(":".join((*inst.path, _key(inst.node["id"]), lk.target_id)))
        if tdto is None:
            return _MISSING
        if tdto.sub is not None:
            for j, li in enumerate(tdto.sub_inputs):
                if li.name == name and j in tdto.promoted:
                    v = tdto.promoted[j]
                    return self._inner_widget_value(tdto, j) if v is _MISSING else v
            return _MISSING
        ns = self.spec.get(tdto.type)
        if ns is None:
            return _MISSING
        vals = self.widget_values(tdto, ns, quiet=True, at_load=True)
        return vals.get(name, _MISSING)

    @staticmethod
    def _input_links(sub: _Graph, sin: Any, index: int) -> list[_Link]:
        cands: list[_Link] = []
        link_ids = sin.get("linkIds") if isinstance(sin, dict) else None
        if isinstance(link_ids, list):
            for lid in link_ids:
                lk = sub.links.get(_key(lid))
                if lk is not None:
                    cands.append(lk)
        if not cands:
            cands = [
                lk
                for lk in sub.links.values()
                if lk.origin_id == SUBGRAPH_INPUT_ID and lk.origin_slot == index
            ]
        return cands

    def _promotion_link(
        self, sub: _Graph, sin: Mapping[str, Any], index: int, depth: int = 0
    ) -> tuple[_Link, str] | None:
        """The link (and the widget name) through which a subgraph input gets its promoted
        widget: the first of its links, in ``linkIds`` order, whose target input has a widget
        (``SubgraphNode._internalConfigureAfterSlots``); None when no link does."""
        for lk in self._input_links(sub, sin, index):
            target = sub.nodes.get(lk.target_id)
            if target is None:
                continue
            inp = self._input_for_link(target, lk)
            if inp is None:
                continue
            raw = target.get("type")
            ttype = _LOAD_RENAMES.get(raw, raw) if isinstance(raw, str) else None
            if ttype is None:
                continue
            if ttype in self.defs and ttype not in self.spec:
                if depth >= 32:
                    continue
                d = self.defs[ttype]
                for j, s2 in enumerate(d.get("inputs") or []):
                    if isinstance(s2, dict) and s2.get("name") == inp.name:
                        if self._promotion_link(self.def_graph(ttype), s2, j, depth + 1):
                            return lk, inp.name
                        break
                continue
            ns = self.spec.get(ttype)
            if ns is None or ttype in VIRTUAL_NODE_TYPES:
                continue  # a missing node has no widgets; virtual ones none that bind
            i = _input_spec(ns, inp.name)
            if i is not None and _widget_type_of(i) is not None:
                return lk, inp.name
        return None

    def _subgraph_input_has_widget(
        self, sub: _Graph, sin: Mapping[str, Any], index: int, depth: int = 0
    ) -> bool:
        return self._promotion_link(sub, sin, index, depth) is not None

    def _input_for_link(self, node: Mapping[str, Any], lk: _Link) -> _Input | None:
        key = id(node)
        hit = self._saved_inputs.get(key)
        if hit is None or hit[0] is not node:
            hit = self._saved_inputs[key] = (node, _inputs_of(node))
        ins = hit[1]
        for i in ins:
            if i.link == lk.id:
                return i
        if 0 <= lk.target_slot < len(ins):
            return ins[lk.target_slot]
        return None

    # -- live inputs

    def live_inputs(self, dto: _Dto) -> list[_Input]:
        """The input slots of ``dto`` as the editor holds them after loading.

        For a node type in the spec the editor rebuilds the slots from the node definition
        (``ComfyNode.configure``): first a socket for every input without a widget (or with
        ``forceInput``), then one socket per widget, in the editor's input order, each with the
        definition's type and widget flag and the saved link of the same name; saved inputs the
        definition does not know are kept after them. Unlinked widget sockets that a
        compressed file left out are therefore back in place, which matters for the bypass
        slot choice. Other nodes keep their saved inputs; subgraph instances their live ones.
        """
        if dto.live is not None:
            return dto.live
        live = dto.inputs
        if dto.sub is not None:
            live = dto.sub_inputs
        elif not self.is_virtual(dto) and dto.type in self.spec:
            ns = self.spec[dto.type]
            saved = {i.name: i for i in dto.inputs}  # the last one of a name wins (a Map)
            sockets: list[_Input] = []
            widgets: list[_Input] = []
            for spec_in in ns.inputs.values():
                s = saved.get(spec_in.name)
                link = s.link if s is not None else None
                if _widget_type_of(spec_in) is None:
                    sockets.append(_Input(spec_in.name, link, _live_type(spec_in, s), None))
                else:
                    widgets.append(_Input(spec_in.name, link, spec_in.type, spec_in.name))
            for slot in _layouts(ns)[0]:  # inputs injected by the upload / audio extensions
                if slot.kind in ("upload", "fixed") and slot.input is None:
                    if slot.name in ns.inputs or slot.name not in ("upload", "audioUI"):
                        continue
                    s = saved.get(slot.name)
                    typ = "AUDIO_UI" if slot.name == "audioUI" else "IMAGEUPLOAD"
                    if slot.name == "upload" and any(
                        x.input is not None and x.input.options.get("audio_upload")
                        for x in _layouts(ns)[0]
                    ):
                        typ = "AUDIOUPLOAD"
                    widgets.append(
                        _Input(slot.name, s.link if s is not None else None, typ, slot.name)
                    )
            defined = {i.name for i in sockets} | {i.name for i in widgets}
            live = [*sockets, *widgets, *(i for i in dto.inputs if i.name not in defined)]
        dto.live = live
        return live

    def live_input_for_link(self, dto: _Dto, lk: _Link) -> _Input | None:
        """The live input of ``dto`` that link ``lk`` enters (found by link id, then by the
        saved target slot), or None."""
        saved = self._input_for_link(dto.node, lk)
        if saved is None:
            return None
        for i in self.live_inputs(dto):
            if i.name == saved.name:
                return i
        return saved

    # -- primitive nodes

    def apply_primitives(self, order: list[_Dto]) -> None:
        done: set[tuple[int, str]] = set()
        for dto in order:
            if dto.type != "PrimitiveNode":
                continue
            gk = (id(dto.graph), _key(dto.node["id"]))
            if gk in done:  # definitions are shared by every instance
                continue
            done.add(gk)
            outs = dto.node.get("outputs") or []
            if not outs or not isinstance(outs[0], dict):
                continue
            links = outs[0].get("links") or []
            if not links:
                continue
            wv = dto.node.get("widgets_values")
            if not isinstance(wv, list) or not wv:
                self.warn(f"{self.where(dto)}: PrimitiveNode has no value; its targets keep theirs")
                continue
            value = wv[0]
            props = dto.node.get("properties")
            if isinstance(props, dict) and props.get("Run widget replace on values"):
                if value and isinstance(value, str):
                    value = self.text_replacements(value, dto)
            for lid in links:
                found = self._primitive_target(dto, _key(lid))
                if found is None:
                    continue
                tdto, wname = found
                key = (id(tdto.graph), _key(tdto.node["id"]))
                self.overrides.setdefault(key, {})[wname] = value

    def _primitive_target(self, prim: _Dto, lid: str) -> tuple[_Dto, str] | None:
        """The node and widget a PrimitiveNode's output link writes to (``applyToGraph``).

        The editor looks the link id up in the *root* graph's links (``app.graph.links``),
        then takes the node of that link's target id in the primitive's own graph and its
        input at that link's target slot, and writes to the widget the input is bound to.
        Inside a subgraph the root rarely has a link of that id: the editor then fails to
        export at all; we warn and follow the link of the primitive's own graph instead.
        """
        lk = self.root.links.get(lid)
        by_slot = True
        if prim.graph is not self.root:
            if lk is None:
                self.warn(
                    f"{self.where(prim)}: a PrimitiveNode inside a subgraph: the editor looks "
                    f"its link {lid} up in the root graph, which has none, and fails to export; "
                    "its value is applied to its own target here"
                )
                lk = prim.graph.links.get(lid)
                by_slot = False
        if lk is None:
            return None
        tdto = self.dtos.get(":".join((*prim.path, lk.target_id)))
        if tdto is None:
            return None
        if by_slot and prim.graph is not self.root:
            live = self.live_inputs(tdto)
            inp = live[lk.target_slot] if 0 <= lk.target_slot < len(live) else None
        else:
            inp = self.live_input_for_link(tdto, lk)
        if inp is None:
            return None
        if tdto.sub is not None:  # an instance: its promoted widget of that input
            for j, li in enumerate(tdto.sub_inputs):
                if li.name == inp.name:
                    return (tdto, inp.name) if j in tdto.promoted else None
            return None
        if self.is_virtual(tdto) or tdto.type not in self.spec or not inp.widget:
            return None  # no widget to write to (a Reroute, a missing node, a plain socket)
        return tdto, inp.widget

    # -- titles and text replacements

    def title(self, dto: _Dto) -> str:
        """The node's title in the editor: its saved title, else (also when empty) the title
        of its class (``LGraphNode.configure``)."""
        title = dto.node.get("title")
        if isinstance(title, str) and title:
            return title
        ns = self.spec.get(dto.type)
        return display_name(ns) if ns is not None else dto.type

    def _all_nodes(self) -> list[_Dto]:
        """Every node of the hierarchy in ``collectAllNodes`` order: each graph's nodes in
        order, a subgraph instance's inner nodes just before the instance."""
        out: list[_Dto] = []

        def walk(g: _Graph, depth: int) -> None:
            for key in g.order:
                dto = self.first_dto.get((id(g), key))
                if dto is None:
                    continue
                if dto.sub is not None and depth < 32:
                    walk(dto.sub, depth + 1)
                out.append(dto)

        walk(self.root, 0)
        return out

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
                        "date and time of queueing; left as written"
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
        if dto.type in self.spec and dto.type not in _SAVE_NODES and not self.is_virtual(dto):
            return dto.type
        return None

    # -- promoted widget sync

    def compute_sync(self) -> None:
        """Replay the writes ``SubgraphNode.serialize`` makes when the editor serialises the
        graph (before building the prompt): every instance copies each promoted widget's
        value into every inner widget bound to that subgraph input. Instances are serialised
        in node order, the root graph first, then the used definitions in order; an inner
        widget shared by several instances ends up with the last one's value. That value is
        what an inner input keeps when its link through the instance resolves to nothing."""
        order: list[tuple[_Graph, str]] = [(self.root, k) for k in self.root.order]
        for sid in self._used_definitions():
            g = self.def_graph(sid)
            order.extend((g, k) for k in g.order)
        # values written into the promoted widgets of nested instances by their parents
        nested: dict[tuple[int, str], dict[str, Any]] = {}
        for g, key in order:
            dto = self.first_dto.get((id(g), key))
            if dto is None or dto.sub is None:
                continue
            sub = dto.sub
            sins = self.defs[dto.type].get("inputs") or []
            ov = self.overrides.get((id(g), key)) or {}
            written = nested.get((id(g), key)) or {}
            for j in sorted(dto.promoted):
                name = dto.sub_inputs[j].name
                if name in written:
                    value = written[name]
                elif name in ov:
                    value = ov[name]
                else:
                    value = dto.promoted[j]
                    if value is _MISSING:
                        value = self._inner_widget_value(dto, j)
                        if value is _MISSING:
                            continue
                si = next(
                    (
                        i
                        for i, x in enumerate(sins)
                        if isinstance(x, dict) and x.get("name") == name
                    ),
                    -1,
                )
                if si < 0:
                    continue
                for lk in self._input_links(sub, sins[si], si):
                    target = sub.nodes.get(lk.target_id)
                    tdto = self.first_dto.get((id(sub), lk.target_id))
                    if target is None or tdto is None:
                        continue
                    inp = self._input_for_link(target, lk)
                    if inp is None:
                        continue
                    if tdto.sub is not None:
                        for k, li in enumerate(tdto.sub_inputs):
                            if li.name == inp.name and k in tdto.promoted:
                                nested.setdefault((id(sub), lk.target_id), {})[li.name] = value
                                break
                        continue
                    if self.is_virtual(tdto) or tdto.type not in self.spec:
                        continue
                    live = self.live_input_for_link(tdto, lk)
                    if live is not None and live.widget:
                        self.synced.setdefault((id(sub), lk.target_id), {})[live.widget] = value

    def _used_definitions(self) -> list[str]:
        """The definitions reachable from the root graph's instances, in the order the editor
        keeps them (the root's ``definitions.subgraphs`` order)."""
        used: set[str] = set()
        todo = [self.root]
        while todo:
            g = todo.pop()
            for key in g.order:
                t = g.nodes[key].get("type")
                if isinstance(t, str) and t in self.defs and t not in self.spec and t not in used:
                    used.add(t)
                    todo.append(self.def_graph(t))
        defs = self.workflow.get("definitions")
        subs = defs.get("subgraphs") if isinstance(defs, dict) else None
        first = [
            sg["id"]
            for sg in (subs if isinstance(subs, list) else [])
            if isinstance(sg, dict) and sg.get("id") in used
        ]
        return list(dict.fromkeys([*first, *(sid for sid in self.defs if sid in used)]))

    # -- widgets

    def widget_values(
        self, dto: _Dto, ns: NodeSpec, quiet: bool = False, at_load: bool = False
    ) -> dict[str, Any]:
        """The values of ``dto``'s widgets by name: as loaded when ``at_load``, else as sent
        (after the PrimitiveNodes' and the subgraph instances' writes)."""
        node = dto.node
        layout = _full_layout(ns)
        named = node.get("widgets_values_named")
        wv = node.get("widgets_values")
        values: dict[str, Any] = {}
        by_name: Mapping[str, Any] | None = None
        if isinstance(named, dict):
            by_name = named
        elif isinstance(wv, dict):
            by_name = wv
        dynamic = ns.has_dynamic_inputs
        if by_name is not None:
            positional: dict[str, Any] = {}
            if dynamic:
                if isinstance(wv, list):
                    # a value the named form lacks (saved under an older schema of the node)
                    # is read where the positional form has it, when that form fits the spec
                    pos_layout = _dynamic_layout(_full_layout(ns), _positional_lookup(wv))
                    if len(pos_layout) == len(wv):
                        positional = {sl.name: wv[i] for i, sl in enumerate(pos_layout)}
                names = by_name
                layout = _dynamic_layout(
                    layout,
                    lambda i, s: names.get(s.name, positional.get(s.name, _MISSING_VALUE)),
                )
            for slot in layout:
                if not slot.serialize:
                    continue
                if slot.kind == "fixed":
                    values[slot.name] = ""
                elif slot.name in by_name:
                    values[slot.name] = by_name[slot.name]
                elif slot.name in positional:
                    values[slot.name] = positional[slot.name]
                else:
                    values[slot.name] = _default_value(slot.input, slot.kind)
            if dynamic:
                self._unknown_option_values(ns, values, by_name)
        else:
            seq = wv if isinstance(wv, list) else []
            if dynamic:
                layout = self._positional_dynamic_layout(dto, layout, seq, quiet)
            migrated = _migrate_widgets_values(ns, layout, seq)
            if migrated is not None:
                seq = migrated  # a pre-1.16 file with dummy values for forceInput inputs
            elif quiet:
                pass
            elif seq and len(seq) > len(layout):
                self.warn(
                    f"{self.where(dto)}: {len(seq)} widget values saved but the spec gives "
                    f"{len(layout)} widgets ({', '.join(s.name for s in layout) or 'none'}); "
                    "the node may have changed since the workflow was saved, extra values ignored"
                )
            elif isinstance(wv, list) and len(seq) < len(layout):
                missing = [s.name for s in layout[len(seq) :] if s.serialize]
                if missing and any(s.kind == "value" for s in layout[len(seq) :]):
                    self.warn(
                        f"{self.where(dto)}: {len(seq)} widget values saved but the spec gives "
                        f"{len(layout)} widgets; using defaults for {', '.join(missing)}"
                    )
            for i, slot in enumerate(layout):
                if not slot.serialize:
                    continue
                if slot.kind == "fixed":
                    values[slot.name] = ""
                elif i < len(seq):
                    values[slot.name] = seq[i]
                else:
                    values[slot.name] = _default_value(slot.input, slot.kind)
        if not quiet:
            bad = [
                f"{slot.name}={values[slot.name]!r}"
                for slot in layout
                if slot.kind == "value"
                and slot.name in values
                and not _fits(slot.input, values[slot.name])
            ]
            if bad:
                self.warn(
                    f"{self.where(dto)}: widget values do not fit the spec "
                    f"({', '.join(bad[:4])}{', ...' if len(bad) > 4 else ''}); the node may have "
                    "changed since the workflow was saved; values are mapped as the editor maps them"
                )
        if not dto.path and dto.type in ("KSampler", "KSamplerAdvanced"):
            # a load-time patch of the editor (loadGraphData), root graph only
            sn = values.get("sampler_name")
            if isinstance(sn, str) and sn.startswith("sample_"):
                values["sampler_name"] = sn[7:]
        for writes in (
            ()
            if at_load
            else (
                self.overrides.get((id(dto.graph), _key(node["id"]))),
                self.synced.get((id(dto.graph), _key(node["id"]))),
            )
        ):
            for k, v in (writes or {}).items():
                if k in values:
                    values[k] = v
        if self.rng is not None and not quiet:
            for slot in layout:
                if (
                    slot.input is not None
                    and slot.input.options.get("dynamicPrompts")
                    and isinstance(values.get(slot.name), str)
                ):
                    values[slot.name] = process_dynamic_prompt(values[slot.name], self.rng)
        return values

    def _positional_dynamic_layout(
        self, dto: _Dto, layout: list[WidgetSlot], seq: list[Any], quiet: bool
    ) -> list[WidgetSlot]:
        """The expanded layout of positional values. Where a saved option is unknown to the
        spec, the widgets after it are aligned on the end of the saved values, so that they
        are not shifted; the unknown option's own values cannot be named and are left out."""
        unknown: list[str] = []
        out = _dynamic_layout(layout, _positional_lookup(seq), 0, unknown)
        if len(out) >= len(seq):
            return out
        if not unknown:
            return self._drifted_option_layout(dto, out, seq, quiet)
        for gap in range(1, min(64, len(seq) - len(out)) + 1):
            cand = _dynamic_layout(layout, _positional_lookup(seq), gap, [])
            if len(cand) == len(seq):
                if not quiet:
                    self.warn(
                        f"{self.where(dto)}: the saved option of {unknown[0]!r} is not in the "
                        f"spec; its {gap} widget value{'s' if gap != 1 else ''} cannot be "
                        "named and are left out"
                    )
                return cand
        return out

    def _drifted_option_layout(
        self, dto: _Dto, out: list[WidgetSlot], seq: list[Any], quiet: bool
    ) -> list[WidgetSlot]:
        """More values than the layout with known options: the node's option gained widgets
        since the spec. The widgets after the last option's sub-widgets are aligned on the
        end of the saved values; the extra values cannot be named and are left out."""
        from ..spec import DynamicComboSpec

        last = max((i for i, sl in enumerate(out) if "." in sl.name and sl.input), default=-1)
        if last < 0 or any(
            sl.input is not None and isinstance(sl.input.dynamic, DynamicComboSpec)
            for sl in out[last + 1 :]
        ):
            return out
        extra = len(seq) - len(out)
        owner = out[last].name.split(".", 1)[0]
        if not quiet:
            self.warn(
                f"{self.where(dto)}: {extra} more widget value{'s' if extra != 1 else ''} than "
                f"the spec's option of {owner!r} has; the node may be newer than the spec; "
                "they are left out"
            )
        pad = [WidgetSlot(f"{owner}.?", False, None, "unknown") for _ in range(extra)]
        return [*out[: last + 1], *pad, *out[last + 1 :]]

    @staticmethod
    def _unknown_option_values(
        ns: NodeSpec, values: dict[str, Any], by_name: Mapping[str, Any]
    ) -> None:
        """Named values under a dynamic combo whose saved option the spec does not know
        (a node newer or older than the spec) are kept as saved, not dropped."""
        from ..spec import DynamicComboSpec

        for name, inp in ns.inputs.items():
            if not isinstance(inp.dynamic, DynamicComboSpec):
                continue
            if inp.dynamic.option(values.get(name)) is not None:
                continue
            prefix = name + "."
            for k, v in by_name.items():
                if isinstance(k, str) and k.startswith(prefix) and k not in values:
                    values[k] = v

    # -- link resolution

    def resolve_input(
        self, dto: _Dto, inp: _Input, visited: set[str], type_: Any = None
    ) -> tuple[str, int] | _Widget | None:
        uid = f"{id(dto.graph)}:{dto.node.get('id')}[I]{inp.name}"
        if uid in visited:
            self.warn(f"{self.where(dto)}: circular link resolution through input {inp.name!r}")
            return None
        visited.add(uid)
        if inp.link is None:
            return None
        lk = dto.graph.links.get(inp.link)
        if lk is None:
            self.warn(
                f"{self.where(dto)}: input {inp.name!r} refers to link {inp.link}, "
                f"which is not in the {dto.graph.name}; treated as unconnected"
            )
            return None
        inst = dto.instance
        if inst is not None and lk.origin_id == SUBGRAPH_INPUT_ID:
            idx = lk.origin_slot
            if not 0 <= idx < len(inst.sub_inputs):
                self.warn(f"{self.where(dto)}: link {lk.id} uses subgraph input {idx}, absent")
                return None
            outer = inst.sub_inputs[idx]
            if outer.link is None:
                if idx in inst.promoted:
                    ov = self.overrides.get((id(inst.graph), _key(inst.node["id"])))
                    if ov and outer.name in ov:
                        return _Widget(ov[outer.name])
                    v = inst.promoted[idx]
                    if v is _MISSING:
                        v = self._inner_widget_value(inst, idx)
                        if v is _MISSING:
                            return None
                    return _Widget(v)
                return None
            # when this resolves to nothing (a PrimitiveNode, a bypass without a match), the
            # inner widget keeps the value the instances synced into it (see compute_sync)
            return self.resolve_input(inst, outer, visited)
        origin = self.dtos.get(":".join((*dto.path, lk.origin_id)))
        if origin is None:
            self.warn(
                f"{self.where(dto)}: input {inp.name!r} is linked from node {lk.origin_id}, "
                f"which is not in the {dto.graph.name}; treated as unconnected"
            )
            return None
        return self.resolve_output(
            origin, lk.origin_slot, type_ if type_ is not None else inp.type, visited
        )

    def resolve_output(
        self, dto: _Dto, slot: int, type_: Any, visited: set[str]
    ) -> tuple[str, int] | _Widget | None:
        uid = f"{id(dto.graph)}:{dto.node.get('id')}[O]{slot}"
        if uid in visited:
            self.warn(f"{self.where(dto)}: circular link resolution through output {slot}")
            return None
        visited.add(uid)
        if dto.mode == MODE_BYPASS:
            ins = self.live_inputs(dto)
            idx = self._bypass_index(dto, ins, slot, type_)
            if idx < 0:
                return None
            return self.resolve_input(dto, ins[idx], visited)
        if dto.sub is not None:
            return self._resolve_subgraph_output(dto, slot, type_, visited)
        if self.is_virtual(dto):
            if dto.type == "GetNode" and dto.type not in self.spec:
                setter = self._setter_for(dto)
                if setter is None or not setter.inputs:
                    return None
                return self.resolve_input(setter, setter.inputs[0], visited, type_)
            if self.is_group_node(dto):
                return None
            if 0 <= slot < len(dto.inputs):
                return self.resolve_input(dto, dto.inputs[slot], visited, type_)
            return None
        return (dto.id, slot)

    def is_virtual(self, dto: _Dto) -> bool:
        """Nodes the editor never sends (they only route links or values)."""
        t = dto.type
        return t in VIRTUAL_NODE_TYPES or (
            t not in self.spec and (t in _PACK_VIRTUAL or self.is_group_node(dto))
        )

    @staticmethod
    def is_group_node(dto: _Dto) -> bool:
        return dto.type.startswith(("workflow>", "workflow/"))

    def _setter_for(self, getter: _Dto) -> _Dto | None:
        wv = getter.node.get("widgets_values")
        name = wv[0] if isinstance(wv, list) and wv else None
        if name is None:
            return None
        for key in getter.graph.order:
            n = getter.graph.nodes[key]
            v = n.get("widgets_values")
            if n.get("type") == "SetNode" and isinstance(v, list) and v and v[0] == name:
                return self.dtos.get(":".join((*getter.path, key)))
        self.warn(f"{self.where(getter)}: no SetNode named {name!r}")
        return None

    def _bypass_index(self, dto: _Dto, ins: list[_Input], slot: int, type_: Any) -> int:
        if not ins:
            return -1
        t = _type_str(type_)
        if t in ("*", ""):
            return slot if len(ins) > slot else 0
        # the output's live type: the definition's for a node type in the spec (its outputs
        # are zipped with the saved ones on load), else the saved one
        outs = dto.node.get("outputs") or []
        out_type: Any = None
        ns = None if dto.sub is not None or self.is_virtual(dto) else self.spec.get(dto.type)
        def_outs = self.defs[dto.type].get("outputs") if dto.sub is not None else None
        if ns is not None and 0 <= slot < len(ns.outputs):
            out_type = ns.outputs[slot].type
            if out_type == "COMFY_MATCHTYPE_V3":
                # narrowed by the editor (applyMatchType) to what is connected: saved, else *
                saved = outs[slot] if 0 <= slot < len(outs) else None
                out_type = saved.get("type") if isinstance(saved, dict) else None
                out_type = out_type if isinstance(out_type, str) and out_type else "*"
        elif isinstance(def_outs, list) and 0 <= slot < len(def_outs):
            o = def_outs[slot]  # an instance's outputs are its definition's
            out_type = o.get("type") if isinstance(o, dict) else None
        elif 0 <= slot < len(outs) and isinstance(outs[slot], dict):
            out_type = outs[slot].get("type")
        ot = _type_str(out_type)
        if 0 <= slot < len(ins):
            it = _type_str(ins[slot].type)
            if _valid_connection(it, ot) and _valid_connection(it, t):
                return slot
        for i, inp in enumerate(ins):
            if _type_str(inp.type) == t and not isinstance(inp.type, list):
                return i
        for i, inp in enumerate(ins):
            it = _type_str(inp.type)
            if _valid_connection(it, ot) and _valid_connection(it, t):
                return i
        return -1

    def _resolve_subgraph_output(
        self, dto: _Dto, slot: int, type_: Any, visited: set[str]
    ) -> tuple[str, int] | _Widget | None:
        sub = dto.sub
        assert sub is not None
        d = self.defs[dto.type]
        outs = d.get("outputs") or []
        lk: _Link | None = None
        if 0 <= slot < len(outs) and isinstance(outs[slot], dict):
            for lid in outs[slot].get("linkIds") or []:
                lk = sub.links.get(_key(lid))
                if lk is not None:
                    break
        if lk is None:
            for cand in sub.links.values():
                if cand.target_id == SUBGRAPH_OUTPUT_ID and cand.target_slot == slot:
                    lk = cand
                    break
        if lk is None:
            return None
        if lk.origin_id == SUBGRAPH_INPUT_ID:
            # an output wired straight from an input: continue outside
            if 0 <= lk.origin_slot < len(dto.sub_inputs):
                return self.resolve_input(dto, dto.sub_inputs[lk.origin_slot], visited)
            return None
        inner = self.dtos.get(":".join((*dto.path, _key(dto.node["id"]), lk.origin_id)))
        if inner is None:
            self.warn(f"{self.where(dto)}: subgraph output {slot} comes from a missing node")
            return None
        return self.resolve_output(inner, lk.origin_slot, type_, visited)

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
                        "its inner nodes are left out"
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
                    "its widget values cannot be named, only its links are converted"
                )
                named = dto.node.get("widgets_values_named")
                if isinstance(named, dict):
                    for k, v in named.items():
                        inputs[k] = _wrap(v)
            else:
                for k, v in self.widget_values(dto, ns).items():
                    inputs[k] = _wrap(v)
                fp = inputs.get("filename_prefix")
                if dto.type in _SAVE_NODES and isinstance(fp, str) and "%" in fp:
                    # the widget's serializeValue; a value resolved through a subgraph input
                    # below replaces it unprocessed, as in the editor
                    inputs["filename_prefix"] = self.text_replacements(fp, dto)
            for inp in self.live_inputs(dto):
                if inp.link is None:
                    continue
                r = self.resolve_input(dto, inp, set())
                if r is None:
                    continue
                if isinstance(r, _Widget):
                    inputs[inp.name] = _wrap(r.value)
                    continue
                inputs[inp.name] = [r[0], r[1]]
            output[dto.id] = {
                "inputs": inputs,
                "class_type": dto.type,
                "_meta": {"title": self.title(dto)},
            }
        for entry in output.values():
            ins = entry["inputs"]
            for name in [
                k
                for k, v in ins.items()
                if isinstance(v, list) and len(v) == 2 and v[0] not in output
            ]:
                del ins[name]
        return output


def display_name(ns: NodeSpec) -> str:
    """The title the editor gives a new node of this spec."""
    raw = ns.raw.get("display_name") if isinstance(ns.raw, Mapping) else None
    if isinstance(raw, str) and raw:
        return raw
    return _FRONTEND_DISPLAY_NAMES.get(ns.class_type, ns.class_type)


class _Widget:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _Missing:
    __slots__ = ()


_MISSING: Any = _Missing()


def _fits(inp: InputSpec | None, v: Any) -> bool:
    """Whether a saved widget value is plausible for the widget of ``inp``."""
    if inp is None or v is None:
        return True
    wt = _widget_type_of(inp, include_forced=True)
    if wt == "INT" or wt == "FLOAT":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if wt == "BOOLEAN":
        return isinstance(v, bool)
    if wt == "STRING":
        return isinstance(v, str)
    if wt == "COMBO" and inp.choices and inp.file_kind is None:
        return v in inp.choices
    return True


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


def ui_to_api(
    workflow: Mapping[str, Any],
    spec: Spec | None = None,
    *,
    dynamic_prompts_seed: int | None = None,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """Convert an editor-saved UI workflow to the API prompt the editor would send.

    ``spec`` is the node spec of the server the workflow is meant for (default: the bundled
    core spec). ``dynamic_prompts_seed`` turns on the editor's dynamic-prompt processing of
    ``dynamicPrompts`` text widgets (comments stripped, ``{a|b}`` chosen with a random
    generator seeded with it); it is off by default because the editor's choice is random.
    Problems that cannot be resolved exactly are appended to ``warnings`` when given, else
    issued as :class:`ConversionWarning`. Raises :class:`~cmfy_graph.errors.ConversionError`
    when ``workflow`` is not a UI workflow.
    """
    if not is_ui_workflow(workflow):
        raise ConversionError("not a UI workflow: expected an object with 'nodes' and 'links'")
    if spec is None:
        from ..spec import core_spec

        spec = core_spec()
    return _Converter(workflow, spec, dynamic_prompts_seed, warnings).run()
