"""Widgets: the widget layout the editor builds from the spec (control widgets, upload buttons,
DynamicCombo sub-widgets), reading ``widgets_values`` (positional or named) into values by input
name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...dynamic import possible_inputs, renamed
from ...spec import WIDGET_TYPES, DynamicComboSpec, MatchTypeSpec, fresh_widget_value

if TYPE_CHECKING:
    from ...spec import InputSpec, NodeSpec

from ._model import (
    _AUDIO_UI_NODES,
    _EXTENSION_WIDGETS,
    _EXTRA_WIDGET_TYPES,
    _LOAD_3D_BUTTONS,
    _LOAD_3D_BUTTONS_2026,
    _LOAD_3D_NODES,
    _LOAD_3D_SCENES_2026,
    _UPLOAD_IMAGE_OPTIONS,
    MAY_HAVE_CHANGED,
    _as_list,
    _Dto,
    _Input,
    process_dynamic_prompt,
)
from ._state import _State


class WidgetSlot:
    """One widget of a node in the editor, in widget order.

    ``serialize`` is False for widgets the editor keeps in ``widgets_values`` but never sends
    (``control_after_generate``, ``control_filter_list``, the upload button).
    """

    __slots__ = ("name", "serialize", "input", "kind", "fit")

    def __init__(
        self, name: str, serialize: bool, input: InputSpec | None = None, kind: str = "value"
    ) -> None:
        self.name = name
        self.serialize = serialize
        self.input = input
        self.kind = kind
        #: what a saved value must be to fit the widget (see :func:`_fit_kind`)
        self.fit = _fit_kind(input) if kind == "value" and input is not None else 0

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


#: widgets of editor 1.5x that are sent but never saved, with the value they hold (in
#: ``useImageCompareWidget.ts`` the compare view is ``['', '']``, ``serialize = false``)
_UNSAVED_SENT_TYPES: dict[str, Any] = {"IMAGECOMPARE": ["", ""]}

_LAYOUT_2026: dict[int, tuple[Any, list[WidgetSlot], tuple[tuple[str, Any], ...]]] = {}


def _layout_2026(
    layout: list[WidgetSlot], class_type: str
) -> tuple[list[WidgetSlot], tuple[tuple[str, Any], ...]]:
    """``layout`` (of a node of ``class_type``) as the editor of ComfyUI 2026 (frontend
    1.58.1) holds it: the widgets it saves in ``widgets_values``, in order, and ``(name,
    value)`` of the widgets it sends without saving them. Against 1.27.10: the audio player
    ``audioUI`` and PreviewAny's text preview are neither saved nor sent (``uploadAudio.ts``,
    ``textPreviewWidgets.ts``: both flags ``serialize`` false); an image-compare widget is
    sent, not saved; Load3D's buttons have other names and are sent. Memoised per layout."""
    hit = _LAYOUT_2026.get(id(layout))
    if hit is not None and hit[0] is layout:
        return hit[1], hit[2]
    saved: list[WidgetSlot] = []
    sent: list[tuple[str, Any]] = []
    for slot in layout:
        if slot.kind == "fixed":
            continue
        if slot.kind == "button" and slot.name in _LOAD_3D_BUTTONS_2026:
            if class_type == "Load3D":
                saved.append(WidgetSlot(_LOAD_3D_BUTTONS_2026[slot.name], True, None, "button3d"))
            continue
        wt = _widget_type_of(slot.input) if slot.input is not None else None
        if slot.kind == "value" and wt in _UNSAVED_SENT_TYPES:
            sent.append((slot.name, _UNSAVED_SENT_TYPES[wt]))
            continue
        saved.append(slot)
    if len(_LAYOUT_2026) > 10_000:
        _LAYOUT_2026.clear()
    _LAYOUT_2026[id(layout)] = (layout, saved, tuple(sent))
    return saved, tuple(sent)


def _js_truthy(v: Any) -> bool:
    return v not in (None, "", 0, False) and v == v  # NaN is falsy too


def _custom_combo_layout(layout: list[WidgetSlot], saved: Any) -> list[WidgetSlot]:
    """CustomCombo's widgets in the editor of 2026 (``extensions/core/customWidgets.ts``):
    ``choice``, a hidden ``index`` (sent: the position of the choice among the options),
    then ``option1``, ``option2``, ...: a node starts with one empty option, and setting the
    last option to a non-empty value adds the next, so a load restores options up to the
    first empty one, which stays last."""
    if isinstance(saved, Mapping):

        def at(i: int) -> Any:
            return saved.get(f"option{i + 1}", "")
    else:
        seq = _as_list(saved)

        def at(i: int) -> Any:
            return seq[2 + i] if 2 + i < len(seq) else ""

    n = 1
    while n < 1000 and _js_truthy(at(n - 1)):
        n += 1
    extra = [WidgetSlot("index", True, None, "index")]
    extra += [WidgetSlot(f"option{i}", True, None, "option") for i in range(1, n + 1)]
    return [layout[0], *extra, *layout[1:]]


def _custom_combo_index(values: Mapping[str, Any], choice: Any) -> int:
    """The ``index`` CustomCombo sends: where ``choice`` is among its options (``===``)."""
    i = 0
    while f"option{i + 1}" in values:
        v = values[f"option{i + 1}"]
        if _js_same(v, choice):
            return i
        i += 1
    return -1


def _js_same(a: Any, b: Any) -> bool:
    """JavaScript's ``a === b`` for JSON values (numbers by value, no other coercion)."""
    num = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, num) and isinstance(b, num):
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return a is None and b is None


def _editor_layout(
    base: list[WidgetSlot], ns: NodeSpec, editor_2026: bool, saved: Any = None
) -> tuple[list[WidgetSlot], tuple[tuple[str, Any], ...]]:
    """The widgets of a node of ``ns`` that the editor saves, in order, from ``base`` (its
    widget layout), and ``(name, value)`` of those it sends without saving: for the editor
    of the spec's ComfyUI (1.27.10 for a 2025 spec, 1.58.1 when ``editor_2026``); ``saved``,
    the node's saved values, for the widgets an extension adds as values are restored."""
    if not editor_2026:
        return base, ()
    layout, sent = _layout_2026(base, ns.class_type)
    if ns.class_type == "CustomCombo" and layout and layout[0].name == "choice":
        layout = _custom_combo_layout(layout, saved)
    return layout, sent


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


_FORCE_CACHE: dict[int, tuple[Any, bool]] = {}


def _has_force_input(ns: NodeSpec) -> bool:
    """Whether an input of ``ns`` is ``forceInput`` (memoised: records are immutable)."""
    hit = _FORCE_CACHE.get(id(ns))
    if hit is not None and hit[0] is ns:
        return hit[1]
    if len(_FORCE_CACHE) > 100_000:
        _FORCE_CACHE.clear()
    got = any(i.force_input for i in ns.inputs.values())
    _FORCE_CACHE[id(ns)] = (ns, got)
    return got


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
    if not seq or not _has_force_input(ns):
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


def _default_value(inp: InputSpec | None, kind: str, name: str = "") -> Any:
    """The value a freshly created widget holds (frontend constructors); ``name``, the
    widget's, for the widgets whose value it gives."""
    if kind in ("fixed", "extra"):
        return ""
    if kind == "button3d":  # Load3D's buttons of 2026 hold their old names
        return next((k for k, v in _LOAD_3D_BUTTONS_2026.items() if v == name), name)
    if kind == "toggle":
        return False
    if kind == "button":
        return "refresh"
    if kind == "option":
        return ""
    if kind == "index":
        return -1
    if inp is None:
        return None
    return fresh_widget_value(inp, _widget_type_of(inp, include_forced=True) or inp.type)


_MISSING_VALUE = object()
#: widgets the editor saves by name that are never an input (``control_after_generate#1``
#: is the second of them)
_CONTROL_NAMES = frozenset({"control_after_generate", "control_filter_list", "upload"})
_CONTROL_MODES = frozenset({"fixed", "increment", "decrement", "randomize"})


def _first(names: list[str], n: int) -> str:
    """The first ``n`` of ``names``, comma-separated, ``...`` when there are more."""
    return ", ".join(names[:n]) + (", ..." if len(names) > n else "")


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


#: id(base layout) -> (base layout, [(expanded layout, its combos: (index, slot, option))])
_DYN_LAYOUTS: dict[int, tuple[list[WidgetSlot], list[tuple[list[WidgetSlot], list[Any]]]]] = {}


def _expanded_layout(
    layout: list[WidgetSlot], value_at: Any, unknown: list[str] | None = None
) -> list[WidgetSlot]:
    """:func:`_dynamic_layout` without a gap, memoised per base layout and selected options
    (an expansion depends only on the option each combo selects, in order). The result is
    shared: callers never modify it."""
    hit = _DYN_LAYOUTS.get(id(layout))
    if hit is None or hit[0] is not layout:
        if len(_DYN_LAYOUTS) > 10_000:
            _DYN_LAYOUTS.clear()
        hit = _DYN_LAYOUTS[id(layout)] = (layout, [])
    for out, combos in hit[1]:
        for i, slot, opt in combos:
            v = value_at(i, slot)
            if v is _MISSING_VALUE:
                v = _default_value(slot.input, "value")
            if (slot.input.dynamic.option(v) if isinstance(v, str) else None) is not opt:
                break
        else:
            return out
    found: list[str] = []
    out = _dynamic_layout(layout, value_at, 0, found)
    if unknown is not None:
        unknown.extend(found)
    if not found and len(hit[1]) < 32:
        combos = []
        for i, slot in enumerate(out):
            inp = slot.input
            if (
                slot.kind == "value"
                and inp is not None
                and isinstance(inp.dynamic, DynamicComboSpec)
            ):
                v = value_at(i, slot)
                if v is _MISSING_VALUE:
                    v = _default_value(inp, "value")
                combos.append((i, slot, inp.dynamic.option(v) if isinstance(v, str) else None))
        hit[1].append((out, combos))
    return out


def _append_dynamic(
    out: list[WidgetSlot], slot: WidgetSlot, value_at: Any, state: list[Any]
) -> None:
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
    return renamed(sub, name, sub.section)


def _input_spec(ns: NodeSpec, name: str) -> InputSpec | None:
    """The input of that name, a dotted dynamic sub-input (``resize_type.width``) included."""
    i = ns.inputs.get(name)
    if i is not None or "." not in name:
        return i
    return possible_inputs(ns).get(name)


def _live_type(spec_in: InputSpec, saved: _Input | None) -> Any:
    """The type of an input socket in the editor: the spec's, except for a MatchType socket,
    which the editor narrows (``applyMatchType``) to what is connected or allowed."""
    dyn = spec_in.dynamic
    if not isinstance(dyn, MatchTypeSpec):
        return spec_in.type
    if saved is not None and isinstance(saved.type, str) and saved.type:
        return saved.type
    return ",".join(sorted(dyn.allowed_types)) if dyn.allowed_types else "*"


_FIT_ANY, _FIT_NUMBER, _FIT_BOOL, _FIT_STRING, _FIT_CHOICE = range(5)


def _fit_kind(inp: InputSpec) -> int:
    """Which values fit the widget of ``inp``: any, a number, a boolean, a string, one of
    its choices (a combo of choices that are not server files)."""
    wt = _widget_type_of(inp, include_forced=True)
    if wt == "INT" or wt == "FLOAT":
        return _FIT_NUMBER
    if wt == "BOOLEAN":
        return _FIT_BOOL
    if wt == "STRING":
        return _FIT_STRING
    if wt == "COMBO" and inp.choices and inp.file_kind is None:
        return _FIT_CHOICE
    return _FIT_ANY


def _fits(slot: WidgetSlot, v: Any) -> bool:
    """Whether a saved widget value is plausible for the widget ``slot``."""
    f = slot.fit
    if f == _FIT_ANY or v is None:
        return True
    if f == _FIT_NUMBER:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if f == _FIT_BOOL:
        return isinstance(v, bool)
    if f == _FIT_STRING:
        return isinstance(v, str)
    choices = slot.input.choices if slot.input is not None else None
    return choices is None or v in choices


class Widgets(_State):
    """Widgets."""

    # -- widgets

    def widget_values(
        self, dto: _Dto, ns: NodeSpec, quiet: bool = False, at_load: bool = False
    ) -> dict[str, Any]:
        """The values of ``dto``'s widgets by name: as loaded when ``at_load``, else as sent
        (after the PrimitiveNodes' and the subgraph instances' writes)."""
        node = dto.node
        named = node.get("widgets_values_named") if self.named_values else None
        wv = node.get("widgets_values")
        by_name = named if isinstance(named, dict) else wv if isinstance(wv, dict) else None
        saved = by_name if by_name is not None else wv
        layout, sent = _editor_layout(_full_layout(ns), ns, self.editor_2026, saved)
        if by_name is not None:
            layout, values = self._named_values(ns, layout, by_name, wv)
            if self.drift is not None and not quiet:
                self._named_drift(dto, ns, by_name, values)
        else:
            layout, values = self._positional_values(dto, ns, layout, wv, quiet)
        for name, value in sent:
            values[name] = list(value)
        if self.editor_2026:
            scene = _LOAD_3D_SCENES_2026.get(ns.class_type)
            if scene is not None and scene in values and not quiet:
                self.warn(
                    f"{self.where(dto)}: the editor renders the 3D scene and uploads it when "
                    f"it queues ({scene!r}, load3d.ts); a conversion cannot: sent as saved",
                    dto,
                    scene,
                )
        if not quiet:
            self._fit_warning(dto, layout, values)
        if not dto.path and dto.type in ("KSampler", "KSamplerAdvanced"):
            # a load-time patch of the editor (loadGraphData), root graph only
            sn = values.get("sampler_name")
            if isinstance(sn, str) and sn.startswith("sample_"):
                values["sampler_name"] = sn[7:]
        if not at_load:
            key = (id(dto.graph), dto.key)
            for writes in (self.overrides.get(key), self.synced.get(key)):
                for k, v in (writes or {}).items():
                    if k in values:
                        values[k] = v
        if self.editor_2026 and ns.class_type == "CustomCombo" and "index" in values:
            values["index"] = _custom_combo_index(values, values.get("choice"))
        if self.rng is not None and not quiet:
            for slot in layout:
                if (
                    slot.input is not None
                    and slot.input.options.get("dynamicPrompts")
                    and isinstance(values.get(slot.name), str)
                ):
                    values[slot.name] = process_dynamic_prompt(values[slot.name], self.rng)
        return values

    def _named_values(
        self, ns: NodeSpec, layout: list[WidgetSlot], by_name: Mapping[str, Any], wv: Any
    ) -> tuple[list[WidgetSlot], dict[str, Any]]:
        """Values saved by name (``widgets_values_named``, or a dict ``widgets_values``) for
        the widgets ``layout`` (the node's, before its dynamic widgets)."""
        positional: dict[str, Any] = {}
        dynamic = ns.has_dynamic_inputs
        if dynamic:
            if isinstance(wv, list):
                # a value the named form lacks (saved under an older schema of the node)
                # is read where the positional form has it, when that form fits the spec
                pos_layout = _expanded_layout(layout, _positional_lookup(wv))
                if len(pos_layout) == len(wv):
                    positional = {sl.name: wv[i] for i, sl in enumerate(pos_layout)}
            layout = _expanded_layout(
                layout,
                lambda i, s: by_name.get(s.name, positional.get(s.name, _MISSING_VALUE)),
            )
        values: dict[str, Any] = {}
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
                values[slot.name] = _default_value(slot.input, slot.kind, slot.name)
        if dynamic:
            self._unknown_option_values(ns, values, by_name)
        return layout, values

    def _positional_values(
        self, dto: _Dto, ns: NodeSpec, layout: list[WidgetSlot], wv: Any, quiet: bool
    ) -> tuple[list[WidgetSlot], dict[str, Any]]:
        """Values saved by position (``widgets_values``), read as the editor reads them, for
        the widgets ``layout`` (the node's, before its dynamic widgets)."""
        seq = _as_list(wv)
        if ns.has_dynamic_inputs:
            layout = self._positional_dynamic_layout(dto, layout, seq, quiet)
        migrated = _migrate_widgets_values(ns, layout, seq)
        if migrated is not None:
            seq = migrated  # a pre-1.16 file with dummy values for forceInput inputs
        elif not quiet:
            self._count_warning(dto, layout, seq, isinstance(wv, list))
        values: dict[str, Any] = {}
        for i, slot in enumerate(layout):
            if not slot.serialize:
                continue
            if slot.kind == "fixed":
                values[slot.name] = ""
            elif i < len(seq):
                values[slot.name] = seq[i]
            else:
                values[slot.name] = _default_value(slot.input, slot.kind, slot.name)
        return layout, values

    def _count_warning(
        self, dto: _Dto, layout: list[WidgetSlot], seq: list[Any], saved: bool
    ) -> None:
        if len(seq) > len(layout) and any(v is not None for v in seq[len(layout) :]):
            # (extra nulls carry nothing: widgets of an editor that saves empty previews)
            self.drift_note(
                f"the saved {dto.type} has {len(seq)} widget values, the spec's "
                f"{len(layout)} widgets",
                dto,
            )
            self.warn(
                f"{self.where(dto)}: {len(seq)} widget values saved but the spec gives "
                f"{len(layout)} widgets ({', '.join(s.name for s in layout) or 'none'}); "
                "the node may have changed since the workflow was saved, extra values ignored",
                dto,
            )
        elif saved and len(seq) < len(layout):
            missing = [s.name for s in layout[len(seq) :] if s.serialize]
            if missing and any(s.kind == "value" for s in layout[len(seq) :]):
                self.warn(
                    f"{self.where(dto)}: {len(seq)} widget values saved but the spec gives "
                    f"{len(layout)} widgets; using defaults for {', '.join(missing)}",
                    dto,
                    minor=True,  # what the editor does with widgets newer than the file
                )

    def _fit_warning(self, dto: _Dto, layout: list[WidgetSlot], values: dict[str, Any]) -> None:
        names = [
            slot.name
            for slot in layout
            if slot.fit and slot.name in values and not _fits(slot, values[slot.name])
        ]
        if names:
            bad = [f"{n}={values[n]!r}" for n in names]
            self.warn(
                f"{self.where(dto)}: widget values do not fit the spec "
                f"({', '.join(bad[:4])}{', ...' if len(bad) > 4 else ''}){MAY_HAVE_CHANGED}",
                dto,
                names[0] if len(names) == 1 else None,  # one input: lint folds it in there
            )

    def _positional_dynamic_layout(
        self, dto: _Dto, layout: list[WidgetSlot], seq: list[Any], quiet: bool
    ) -> list[WidgetSlot]:
        """The expanded layout of positional values. Where a saved option is unknown to the
        spec, the widgets after it are aligned on the end of the saved values, so that they
        are not shifted; the unknown option's own values cannot be named and are left out."""
        unknown: list[str] = []
        out = _expanded_layout(layout, _positional_lookup(seq), unknown)
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
                        "named and are left out",
                        dto,
                    )
                    self.drift_note(
                        f"the workflow saved an option of {unknown[0]!r} that the spec lacks "
                        f"with {gap} value{'s' if gap != 1 else ''} of its own",
                        dto,
                        unknown[0],
                    )
                return cand
        return out

    def _drifted_option_layout(
        self, dto: _Dto, out: list[WidgetSlot], seq: list[Any], quiet: bool
    ) -> list[WidgetSlot]:
        """More values than the layout with known options: the node's option gained widgets
        since the spec. The widgets after the last option's sub-widgets are aligned on the
        end of the saved values; the extra values cannot be named and are left out."""
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
                "they are left out",
                dto,
            )
            self.drift_note(
                f"the saved {dto.type} has {extra} more value{'s' if extra != 1 else ''} "
                f"for the option of {owner!r} than the spec's",
                dto,
            )
        pad = [WidgetSlot(f"{owner}.?", False, None, "unknown") for _ in range(extra)]
        return [*out[: last + 1], *pad, *out[last + 1 :]]

    def _named_drift(
        self, dto: _Dto, ns: NodeSpec, by_name: Mapping[str, Any], values: Mapping[str, Any]
    ) -> None:
        """Evidence of a node newer than the spec in its named values: values for inputs the
        spec lacks (at the node), values under a saved option the spec lacks (at the combo)."""
        unknown: list[str] = []
        for k in by_name:
            if not isinstance(k, str) or k in values or k.split("#", 1)[0] in _CONTROL_NAMES:
                continue
            if isinstance(by_name[k], str) and by_name[k] in _CONTROL_MODES:
                continue  # a value control, which a spec option may name (``"fixed"``)
            if k in ns.inputs or _input_spec(ns, k) is not None:
                continue
            head = k.split(".", 1)[0]
            inp = ns.inputs.get(head) if head != k else None
            if inp is not None and isinstance(inp.dynamic, DynamicComboSpec):
                continue  # under an option: reported at the combo below
            unknown.append(k)
        if unknown:
            self.drift_note(
                f"the saved {dto.type} has values for inputs the spec's lacks "
                f"({_first(unknown, 4)})",
                dto,
            )
        for name, inp in ns.inputs.items():
            if not isinstance(inp.dynamic, DynamicComboSpec):
                continue
            v = values.get(name)
            if not isinstance(v, str):
                continue
            subs = [k for k in by_name if isinstance(k, str) and k.startswith(name + ".")]
            if inp.dynamic.option(v) is not None:
                # the editor saves the widgets the node has (serialiseWidgetValues): a value
                # for a sub-input the spec's option lacks was saved by another node version
                extra = [
                    k
                    for k in subs
                    if k not in values
                    and k.rsplit(".", 1)[-1].split("#", 1)[0] not in _CONTROL_NAMES
                ]
                if extra:
                    self.drift_note(
                        f"the workflow saved option {v!r} of {name!r} with values for "
                        f"sub-inputs the spec's option lacks ({_first(extra, 3)})",
                        dto,
                        name,
                    )
                continue
            if subs:
                self.drift_note(
                    f"the workflow saved option {v!r} of {name!r} with values of its own "
                    f"({_first(subs, 3)})",
                    dto,
                    name,
                )

    @staticmethod
    def _unknown_option_values(
        ns: NodeSpec, values: dict[str, Any], by_name: Mapping[str, Any]
    ) -> None:
        """Named values under a dynamic combo whose saved option the spec does not know
        (a node newer or older than the spec) are kept as saved, not dropped."""
        for name, inp in ns.inputs.items():
            if not isinstance(inp.dynamic, DynamicComboSpec):
                continue
            if inp.dynamic.option(values.get(name)) is not None:
                continue
            prefix = name + "."
            for k, v in by_name.items():
                if isinstance(k, str) and k.startswith(prefix) and k not in values:
                    values[k] = v
