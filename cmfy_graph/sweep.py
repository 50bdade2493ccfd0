"""Parameter sweeps: many variants of one workflow, generated lazily.

A sweep runs one workflow over many values of some of its node inputs::

    from cmfy_graph.sweep import sweep

    s = sweep(prompt, {"KSampler.seed": range(8), ("5", "cfg"): [5.0, 7.0]})
    len(s)            # 16
    for v in s:       # Variant(index, params, prompt, id)
        ...

Keys name an input of a node: a ``(node, input_name)`` tuple (``node`` a node id, a title, a
class type when unique, or a graph node object), a ``"NODE.INPUT"`` string, or an input
reference object with ``.node`` and ``.name``. A tuple of several keys ties them together: each
value (a scalar, or a tuple with one element per key) goes to every tied input at once.

Modes: ``"grid"`` (the product of all axes), ``"zip"`` (axes paired element-wise; equal
lengths), ``"random"`` (``samples`` distinct points of the grid, drawn with ``seed``).

Every value is checked against the node's spec once, up front (type, range, choices), and
coerced the way ComfyUI would read it (an int into a FLOAT input becomes a float). Duplicate
values are dropped per axis (zip: duplicate tuples), so no two variants have the same prompt and
``len()`` is exact. Variants are built on demand: iterating a 100,000-variant sweep keeps one
prompt alive at a time. A variant's prompt shares every node it does not change with the base
prompt (only the changed nodes and their ``inputs`` dicts are copied): treat it as read-only.

``Variant.id`` is stable across runs: a hash of the base prompt (without the swept inputs) and
the variant's values, so a resumed sweep matches its journal rows even if the order changes.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CmfyGraphError, did_you_mean

if TYPE_CHECKING:
    from .spec import InputSpec, Spec

__all__ = [
    "Sweep",
    "SweepError",
    "Variant",
    "ParamKey",
    "TextValue",
    "sweep",
    "parse_values",
    "parse_set",
    "canonical_json",
]

MODES = ("grid", "zip", "random")


class SweepError(CmfyGraphError):
    """A sweep could not be built: an unknown node or input, or a value the spec refuses."""

    exit_code = 2


class TextValue(str):
    """A value typed on the command line, still text: the input's spec decides its type
    (``"7"`` becomes ``7`` for an INT input, ``7.0`` for a FLOAT one, ``"7"`` for a STRING)."""

    __slots__ = ()


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value`` (sorted keys, no spaces): equal values, equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class ParamKey:
    """A resolved sweep key: node id, input name and the label shown in results."""

    __slots__ = ("node_id", "input", "label", "class_type")

    def __init__(self, node_id: str, input: str, label: str, class_type: str) -> None:
        self.node_id = node_id
        self.input = input
        self.label = label
        self.class_type = class_type

    def __repr__(self) -> str:
        return f"ParamKey({self.node_id!r}, {self.input!r}, label={self.label!r})"


class Variant:
    """One point of a sweep.

    ``index`` is its position in the sweep, ``params`` maps each parameter label
    (``"NODE.INPUT"``) to its value, ``prompt`` is the compiled API prompt, ``id`` a stable hex
    identity (see the module docstring).
    """

    __slots__ = ("index", "params", "prompt", "id")

    def __init__(self, index: int, params: dict[str, Any], prompt: dict[str, Any], id: str) -> None:
        self.index = index
        self.params = params
        self.prompt = prompt
        self.id = id

    def __repr__(self) -> str:
        return f"Variant(index={self.index}, id={self.id!r}, params={self.params!r})"


# ---------------------------------------------------------------------------------------------
# value parsing (command line)

_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_RANGE_RE = re.compile(r"\s*([+-]?\d+)\s*\.\.\s*([+-]?\d+)\s*(?::\s*([+-]?\d+)\s*)?")
_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_FLOAT_RANGE_RE = re.compile(rf"\s*({_NUM})\s*\.\.\s*({_NUM})\s*(?::\s*({_NUM})\s*)?")


def guess_scalar(text: str) -> int | float | str:
    """``"7"`` -> 7, ``"7.5"`` -> 7.5, anything else stays a string."""
    t = text.strip()
    if _INT_RE.fullmatch(t):
        return int(t)
    if _FLOAT_RE.fullmatch(t):
        return float(t)
    return text


def parse_values(text: str, *, base_dir: Path | None = None) -> list[Any]:
    """Parse the VALUES of ``--set NODE.INPUT=VALUES``.

    - ``1..40`` an inclusive integer range, ``1..40:2`` with a step (``40..1`` counts down);
      ``0..1:0.25`` a float range (counted in decimal: ``0.1..0.3:0.1`` ends at 0.3);
    - ``@file`` one value per line (blank lines skipped), relative to ``base_dir``;
    - ``[...]`` a JSON array (for strings that contain commas);
    - otherwise a comma-separated list (``5,7.5,9``).

    Text values are returned as :class:`TextValue` (the input's spec decides their type);
    range values and JSON values are returned as they are.
    """
    m = _RANGE_RE.fullmatch(text)
    if m:
        start, stop = int(m.group(1)), int(m.group(2))
        step = int(m.group(3)) if m.group(3) is not None else 1
        if step <= 0:
            raise SweepError(f"bad range {text!r}: the step must be a positive integer")
        if start <= stop:
            return list(range(start, stop + 1, step))
        return list(range(start, stop - 1, -step))
    m = _FLOAT_RANGE_RE.fullmatch(text)
    if m:
        return _float_range(text, m.group(1), m.group(2), m.group(3) or "1")
    if text.startswith("@"):
        path = Path(text[1:])
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SweepError(f"cannot read values file {str(path)!r}: {exc.strerror}") from None
        values: list[Any] = [TextValue(ln.strip()) for ln in lines if ln.strip()]
        if not values:
            raise SweepError(f"values file {str(path)!r} has no values")
        return values
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SweepError(f"bad JSON list {text!r}: {exc.msg}") from None
        if not isinstance(data, list) or not data:
            raise SweepError(f"bad JSON list {text!r}: expected a non-empty array")
        return data
    items = text.split(",")
    if any(not it.strip() for it in items):
        raise SweepError(
            f'bad value list {text!r}: empty item (use a JSON list like \'["a, b", "c"]\' '
            "for values that contain commas)"
        )
    return [TextValue(it.strip()) for it in items]


def _float_range(text: str, start_s: str, stop_s: str, step_s: str) -> list[Any]:
    """An inclusive float range, counted in decimal so that ``0.1..0.3:0.1`` ends at 0.3."""
    start, stop, step = Decimal(start_s), Decimal(stop_s), Decimal(step_s)
    if step <= 0:
        raise SweepError(f"bad range {text!r}: the step must be positive")
    n = int(abs(stop - start) // step)
    if n > 1_000_000:
        raise SweepError(f"bad range {text!r}: more than a million values")
    sign = 1 if stop >= start else -1
    return [float(start + sign * i * step) for i in range(n + 1)]


def parse_set(text: str, *, base_dir: Path | None = None) -> tuple[str, list[Any]]:
    """Parse ``NODE.INPUT=VALUES`` into ``("NODE.INPUT", values)``."""
    target, sep, values = text.partition("=")
    target = target.strip()
    if not sep or "." not in target or not values.strip():
        raise SweepError(
            f"bad --set {text!r}: expected NODE.INPUT=VALUES (e.g. KSampler.seed=1..8)"
        )
    return target, parse_values(values.strip(), base_dir=base_dir)


# ---------------------------------------------------------------------------------------------
# value checking


def _text_to(value: TextValue, ispec: InputSpec | None) -> Any:
    """Interpret command-line text for an input (or guess when there is no spec)."""
    if ispec is None:
        return guess_scalar(value)
    kinds = ispec.type_set
    if ispec.type == "COMBO" or ispec.choices is not None:
        choices = ispec.choices or ()
        if str(value) in choices:
            return str(value)
        for c in choices:
            if not isinstance(c, str) and str(c) == value:
                return c
        return str(value)
    if kinds <= {"STRING"}:
        return str(value)
    if kinds == {"BOOLEAN"}:
        low = value.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        return str(value)
    return guess_scalar(value)


def _coerce(value: Any, ispec: InputSpec | None, where: str, validated: frozenset[str]) -> Any:
    """Check one value against its input spec and coerce it like ComfyUI does."""
    if isinstance(value, TextValue):
        value = _text_to(value, ispec)
    if isinstance(value, list | tuple):
        raise SweepError(f"{where}: {value!r} is a list; a sweep value must be a constant")
    if ispec is None:
        return value
    kinds = ispec.type_set
    if ispec.name in validated or "**" in validated:
        return value  # the node's own VALIDATE_INPUTS checks it (FORMATS.md 2.7)
    if ispec.choices is not None and ispec.file_kind is None:
        if value not in ispec.choices:
            hint = did_you_mean(str(value), [str(c) for c in ispec.choices])
            shown = ", ".join(repr(c) for c in ispec.choices[:8])
            more = ", ..." if len(ispec.choices) > 8 else ""
            raise SweepError(f"{where}: {value!r} is not one of {shown}{more}{hint}")
        return value
    if ispec.type == "COMBO" or ispec.file_kind is not None:
        if not isinstance(value, str):
            raise SweepError(f"{where}: {value!r} should be a string (a file name or URL)")
        return value
    if kinds == {"INT"}:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise SweepError(f"{where}: {value!r} is not an integer")
    elif kinds == {"FLOAT"}:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SweepError(f"{where}: {value!r} is not a number")
        value = float(value)
        if not math.isfinite(value):
            raise SweepError(f"{where}: {value!r} is not a finite number")
    elif kinds == {"BOOLEAN"}:
        if not isinstance(value, bool):
            raise SweepError(f"{where}: {value!r} is not a boolean (true or false)")
        return value
    elif kinds == {"STRING"}:
        if isinstance(value, dict | bool) or value is None:
            raise SweepError(f"{where}: {value!r} is not a string")
        return str(value)
    lo, hi = ispec.min, ispec.max
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(lo, int | float) and value < lo:
            raise SweepError(f"{where}: {value!r} is below the minimum {lo!r}")
        if isinstance(hi, int | float) and value > hi:
            raise SweepError(f"{where}: {value!r} is above the maximum {hi!r}")
    return value


# ---------------------------------------------------------------------------------------------
# key resolution


def _node_ref_id(ref: Any) -> str | None:
    """The node id of a graph node object (``.id`` and ``.class_type``), else None."""
    if hasattr(ref, "class_type") and hasattr(ref, "id"):
        return str(ref.id)
    return None


class _Resolver:
    def __init__(self, prompt: Mapping[str, Any], spec: Spec | None) -> None:
        self.prompt = prompt
        self.spec = spec
        self.by_title: dict[str, list[str]] = {}
        self.by_class: dict[str, list[str]] = {}
        for nid, node in prompt.items():
            if not isinstance(node, Mapping):
                raise SweepError(f"node {nid!r} of the workflow is not an object")
            meta = node.get("_meta")
            if isinstance(meta, Mapping) and isinstance(meta.get("title"), str):
                self.by_title.setdefault(meta["title"], []).append(str(nid))
            ct = node.get("class_type")
            if isinstance(ct, str):
                self.by_class.setdefault(ct, []).append(str(nid))

    def node(self, ref: Any, original: Any) -> tuple[str, str]:
        """(node id, label prefix) for a node reference."""
        nid = _node_ref_id(ref)
        if nid is not None:
            if nid not in self.prompt:
                raise SweepError(f"sweep key {original!r}: node {nid} is not in the workflow")
            return nid, self._label(nid)
        if isinstance(ref, int) and not isinstance(ref, bool):
            ref = str(ref)
        if not isinstance(ref, str):
            raise SweepError(
                f"sweep key {original!r}: expected 'NODE.INPUT', (node, 'input') or an input "
                "reference"
            )
        if ref in self.prompt:
            return ref, ref
        for table, what in ((self.by_title, "title"), (self.by_class, "class type")):
            ids = table.get(ref)
            if ids is None:
                continue
            if len(ids) > 1:
                raise SweepError(
                    f"sweep key {original!r}: {len(ids)} nodes have the {what} {ref!r} "
                    f"(ids {', '.join(ids)}); use a node id"
                )
            return ids[0], ref
        cands = list(self.prompt) + list(self.by_title) + list(self.by_class)
        raise SweepError(
            f"sweep key {original!r}: no node with id or title {ref!r}{did_you_mean(ref, cands)}"
        )

    def _label(self, nid: str) -> str:
        """How results name a node given as an object: its title, else its class type, when
        either names it alone; else its id."""
        node = self.prompt[nid]
        meta = node.get("_meta")
        title = meta.get("title") if isinstance(meta, Mapping) else None
        if (
            isinstance(title, str)
            and self.by_title.get(title) == [nid]
            and title not in self.prompt
        ):
            return title
        ct = node.get("class_type")
        if isinstance(ct, str) and self.by_class.get(ct) == [nid] and ct not in self.prompt:
            return ct
        return nid

    def key(self, key: Any) -> tuple[ParamKey, InputSpec | None, frozenset[str]]:
        if isinstance(key, str):
            node_part, dot, input_name = key.rpartition(".")
            if not dot or not node_part or not input_name:
                raise SweepError(f"sweep key {key!r}: expected NODE.INPUT (e.g. 'KSampler.seed')")
            node_ref: Any = node_part
        elif isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], str):
            node_ref, input_name = key
        elif hasattr(key, "node") and hasattr(key, "index"):
            raise SweepError(
                f"sweep key {key!r} is an output of node {getattr(key.node, 'id', '?')}; a sweep "
                "varies inputs: use (node, 'input_name') or 'NODE.INPUT'"
            )
        elif _is_input_ref(key):
            node_ref, input_name = key.node, key.name
        else:
            raise SweepError(
                f"sweep key {key!r}: expected 'NODE.INPUT', (node, 'input') or an input reference"
            )
        nid, prefix = self.node(node_ref, key)
        node = self.prompt[nid]
        class_type = str(node.get("class_type", "?"))
        inputs = node.get("inputs")
        if not isinstance(inputs, Mapping):
            inputs = {}
        nspec = self.spec.get(class_type) if self.spec is not None else None
        where = f"node {nid} ({class_type}) input {input_name!r}"
        ispec = None
        validated: frozenset[str] = frozenset()
        if nspec is not None:
            ispec = nspec.inputs.get(input_name)
            validated = frozenset(nspec.validate_inputs or ())
            if ispec is None:
                cands = list(nspec.inputs)
                raise SweepError(
                    f"node {nid} ({class_type}) has no input {input_name!r}"
                    f"{did_you_mean(input_name, cands)}"
                )
        elif input_name not in inputs:
            raise SweepError(
                f"node {nid} ({class_type}) has no input {input_name!r}"
                f"{did_you_mean(input_name, list(inputs))}"
            )
        current = inputs.get(input_name)
        if isinstance(current, list):
            raise SweepError(
                f"{where} is linked to node {current[0] if current else '?'}; a sweep sets "
                "constant inputs only"
            )
        if (
            ispec is not None
            and not ispec.is_widget
            and ispec.type_set.isdisjoint({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
        ):
            raise SweepError(f"{where} takes a {ispec.type} link, not a constant value")
        return ParamKey(nid, input_name, f"{prefix}.{input_name}", class_type), ispec, validated


# ---------------------------------------------------------------------------------------------
# the sweep


class _Axis:
    """One dimension: one or several tied keys and their (deduplicated, checked) values.
    ``values`` holds one tuple per point (one element per key), or a ``range`` for a single
    untied INT key given as a range (kept lazy)."""

    __slots__ = ("keys", "values")

    def __init__(self, keys: tuple[ParamKey, ...], values: Sequence[Any]) -> None:
        self.keys = keys
        self.values = values

    def point(self, i: int) -> tuple[Any, ...]:
        v = self.values[i]
        return (v,) if isinstance(self.values, range) else tuple(v)

    def __len__(self) -> int:
        return len(self.values)


def _prompt_of(workflow: Any) -> tuple[dict[str, Any], Spec | None]:
    """The base API prompt of a workflow object, prompt dict or request body."""
    spec = getattr(workflow, "spec", None)
    if hasattr(workflow, "to_prompt"):
        prompt = workflow.to_prompt()
    else:
        prompt = workflow
    if isinstance(prompt, Mapping) and isinstance(prompt.get("prompt"), Mapping):
        prompt = prompt["prompt"]  # a request body
    if not isinstance(prompt, Mapping) or not prompt:
        raise SweepError("a sweep needs a workflow, an API prompt dict or a request body")
    return dict(prompt), spec if spec is not None and hasattr(spec, "get") else None


class Sweep(Sequence[Variant]):
    """The variants of a workflow over some inputs; built by :func:`sweep`.

    A lazy sequence: ``len()`` is exact, ``sweep[i]`` builds variant ``i``, iteration builds one
    variant at a time. ``keys`` lists the parameters (labels in ``labels``).
    """

    def __init__(
        self,
        base: dict[str, Any],
        axes: list[_Axis],
        mode: str,
        order: Sequence[int] | None,
    ) -> None:
        self.base = base
        self.mode = mode
        self._axes = axes
        self._order = order
        self.keys: tuple[ParamKey, ...] = tuple(k for a in axes for k in a.keys)
        self.labels: tuple[str, ...] = tuple(k.label for k in self.keys)
        swept = {(k.node_id, k.input) for k in self.keys}
        stripped = {
            nid: (
                {
                    **node,
                    "inputs": {
                        n: v for n, v in node.get("inputs", {}).items() if (nid, n) not in swept
                    },
                }
                if any(s[0] == nid for s in swept)
                else node
            )
            for nid, node in base.items()
        }
        #: hash of the base prompt without the swept inputs: part of every variant id
        self.base_digest = hashlib.blake2b(
            canonical_json(stripped).encode(), digest_size=16
        ).hexdigest()
        self._digest_prefix = self.base_digest.encode()
        # variant-id order: keys sorted by (node id, input), independent of axis order
        flat = list(range(len(self.keys)))
        self._id_order = sorted(flat, key=lambda i: (self.keys[i].node_id, self.keys[i].input))
        # per changed node: the (flat position, input name) pairs it receives
        groups: dict[str, list[tuple[int, str]]] = {}
        for pos, k in enumerate(self.keys):
            groups.setdefault(k.node_id, []).append((pos, k.input))
        self._groups = [(nid, tuple(items)) for nid, items in groups.items()]
        self._sizes = [len(a) for a in axes]
        if mode == "zip":
            self._space = self._sizes[0] if axes else 1
        else:
            self._space = math.prod(self._sizes)

    @property
    def shape(self) -> tuple[int, ...]:
        """The number of values of each axis (tied keys count once)."""
        return tuple(self._sizes)

    def __len__(self) -> int:
        return len(self._order) if self._order is not None else self._space

    def _point(self, i: int) -> list[Any]:
        """The flat list of values of grid/zip point ``i``."""
        out: list[Any] = []
        if self.mode == "zip":
            for a in self._axes:
                out.extend(a.point(i))
            return out
        rest = i
        digits = []
        for size in reversed(self._sizes):
            rest, d = divmod(rest, size)
            digits.append(d)
        for a, d in zip(self._axes, reversed(digits), strict=False):
            out.extend(a.point(d))
        return out

    def _build(self, index: int, point: int) -> Variant:
        values = self._point(point)
        prompt = dict(self.base)
        base = self.base
        for nid, items in self._groups:
            src = base[nid]
            node = dict(src)
            inputs = dict(src["inputs"]) if "inputs" in src else {}
            for pos, name in items:
                inputs[name] = values[pos]
            node["inputs"] = inputs
            prompt[nid] = node
        ident = [values[p] for p in self._id_order]
        h = hashlib.blake2b(self._digest_prefix, digest_size=8)
        h.update(canonical_json(ident).encode())
        params = dict(zip(self.labels, values, strict=False))
        return Variant(index, params, prompt, h.hexdigest())

    def __getitem__(self, index: int) -> Variant:  # type: ignore[override]
        if isinstance(index, slice):
            raise TypeError("Sweep does not support slices; iterate or index one variant")
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"variant index {index} out of range (sweep of {n})")
        point = self._order[index] if self._order is not None else index
        return self._build(index, point)

    def __iter__(self) -> Iterator[Variant]:
        if self._order is not None:
            for i, point in enumerate(self._order):
                yield self._build(i, point)
        else:
            for i in range(self._space):
                yield self._build(i, i)

    def ids(self) -> Iterator[str]:
        """The variant ids in order (as ``v.id for v in self``)."""
        for v in self:
            yield v.id

    def __repr__(self) -> str:
        return f"Sweep({len(self)} variants, mode={self.mode!r}, params={list(self.labels)!r})"


def _as_values(raw: Any, where: str) -> Sequence[Any]:
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Iterable):
        return [raw]
    if isinstance(raw, range):
        return raw
    return list(raw)


def sweep(
    workflow: Any,
    params: Mapping[Any, Any],
    *,
    mode: str = "grid",
    samples: int | None = None,
    seed: int | None = 0,
    spec: Spec | None = None,
) -> Sweep:
    """Build a sweep of ``workflow`` over ``params``.

    ``workflow`` is a :class:`~cmfy_graph.graph.Workflow` (compiled once with ``to_prompt()``),
    an API prompt dict or a request body (``{"prompt": {...}}``). ``params`` maps a key (see the
    module docstring) or a tuple of tied keys to its values (any iterable; a scalar is one
    value). ``mode`` is ``"grid"``, ``"zip"`` or ``"random"`` (``samples`` variants drawn with
    ``seed`` from the grid, without repeats). ``spec`` checks the values (default: the
    workflow's spec, else the bundled core spec; nodes it does not know are not checked).

    Raises :class:`SweepError` naming the node, input and value for any problem.
    """
    if mode not in MODES:
        raise SweepError(f"unknown sweep mode {mode!r}{did_you_mean(mode, MODES)}")
    base, wf_spec = _prompt_of(workflow)
    if spec is None:
        spec = wf_spec
    if spec is None:
        from .spec import core_spec

        spec = core_spec()
    resolver = _Resolver(base, spec)
    if not params:
        raise SweepError("a sweep needs at least one parameter")
    axes: list[_Axis] = []
    seen: dict[tuple[str, str], str] = {}
    for raw_key, raw_values in params.items():
        axes.append(_axis(resolver, raw_key, raw_values, mode, seen))
    order: Sequence[int] | None = _zip_order(axes) if mode == "zip" else None
    space = math.prod(len(a) for a in axes)
    if mode != "zip" and space > sys.maxsize:
        raise SweepError(f"the grid has {space:.3g} points, more than a sweep can index")
    if mode == "random":
        if samples is None or samples <= 0:
            raise SweepError("a random sweep needs samples >= 1")
        k = min(samples, space)
        rng = random.Random(seed)
        order = rng.sample(range(space), k)
    return Sweep(base, axes, mode, order)


def _axis(
    resolver: _Resolver,
    raw_key: Any,
    raw_values: Any,
    mode: str,
    seen: dict[tuple[str, str], str],
) -> _Axis:
    """One axis of the sweep: its keys resolved, its values checked (a range over an INT
    input by its two ends, and kept lazy)."""
    tied = isinstance(raw_key, tuple) and len(raw_key) > 0 and not _is_pair(raw_key)
    sub_keys = list(raw_key) if tied else [raw_key]
    resolved = [resolver.key(k) for k in sub_keys]
    for pk, _, _ in resolved:
        prev = seen.get((pk.node_id, pk.input))
        if prev is not None:
            raise SweepError(
                f"input {pk.input!r} of node {pk.node_id} is swept twice ({prev!r} and "
                f"{pk.label!r})"
            )
        seen[(pk.node_id, pk.input)] = pk.label
    values = _as_values(raw_values, str(raw_key))
    if len(values) == 0:
        raise SweepError(f"sweep key {resolved[0][0].label!r}: no values")
    keys = tuple(pk for pk, _, _ in resolved)
    if (
        not tied
        and isinstance(values, range)
        and (resolved[0][1] is None or resolved[0][1].type_set == {"INT"})
    ):
        pk, ispec, validated = resolved[0]
        where = f"node {pk.node_id} ({pk.class_type}) input {pk.input!r}"
        _coerce(values[0], ispec, where, validated)  # a range's ends bound it
        _coerce(values[-1], ispec, where, validated)
        return _Axis(keys, values)
    points: list[tuple[Any, ...]] = []
    seen_points: set[str] = set()
    for v in values:
        parts = tuple(v) if tied and isinstance(v, tuple | list) else (v,) * len(keys)
        if len(parts) != len(keys):
            raise SweepError(
                f"tied keys {[k.label for k in keys]}: value {v!r} has {len(parts)} parts, "
                f"expected {len(keys)}"
            )
        point = tuple(
            _coerce(part, ispec, f"node {pk.node_id} ({pk.class_type}) input {pk.input!r}", ok)
            for part, (pk, ispec, ok) in zip(parts, resolved, strict=False)
        )
        if mode != "zip":
            cj = canonical_json(point)
            if cj in seen_points:
                continue  # a duplicate value: the same prompt
            seen_points.add(cj)
        points.append(point)
    return _Axis(keys, points)


def _zip_order(axes: list[_Axis]) -> list[int] | None:
    """The rows of a zip sweep without duplicate rows (None when all are distinct)."""
    lengths = {len(a) for a in axes}
    if len(lengths) > 1:
        detail = ", ".join(f"{a.keys[0].label}: {len(a)}" for a in axes)
        raise SweepError(f"--zip needs lists of equal length ({detail})")
    n = lengths.pop()
    # rows are distinct when one axis's values are (a range's always are)
    if any(
        isinstance(a.values, range) or len({canonical_json(p) for p in a.values}) == n for a in axes
    ):
        return None
    kept: list[int] = []
    seen_rows: set[str] = set()
    for i in range(n):
        row = canonical_json([a.point(i) for a in axes])
        if row not in seen_rows:
            seen_rows.add(row)
            kept.append(i)
    return kept if len(kept) < n else None


def _is_pair(key: tuple[Any, ...]) -> bool:
    """True for a ``(node, "input")`` key; False for a tuple of tied keys."""
    if len(key) != 2 or not isinstance(key[1], str) or "." in key[1]:
        return False
    first = key[0]
    if _node_ref_id(first) is not None:
        return True  # (node object, "input")
    return not isinstance(first, tuple) and not _is_input_ref(first)


def _is_input_ref(obj: Any) -> bool:
    """An input reference (``node.input("seed")``): ``.node`` and ``.name``, no output index."""
    return (
        hasattr(obj, "node")
        and isinstance(getattr(obj, "name", None), str)
        and not hasattr(obj, "index")
    )
