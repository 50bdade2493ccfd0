"""The workflow DSL: nodes, output handles and the :class:`Workflow` that compiles them.

Build nodes inside ``with Workflow() as wf:`` (the active workflow is held in a
:class:`contextvars.ContextVar`, so threads and async tasks each see their own), or add them to
an explicit workflow with ``wf.add(KSampler, model=..., ...)``. A node built outside any
workflow raises :class:`~cmfy_graph.errors.NoActiveWorkflowError`.

Example::

    from cmfy_graph import Workflow
    from cmfy_graph.nodes import CheckpointLoaderSimple, CLIPTextEncode, KSampler

    with Workflow() as wf:
        ckpt = CheckpointLoaderSimple(ckpt_name="sd_xl_base_1.0.safetensors")
        pos = CLIPTextEncode(text="a sunset", clip=ckpt.clip)
        ...
    prompt = wf.to_prompt()          # {"1": {"class_type": ..., "inputs": {...}}, ...}

Outputs are :class:`Output` handles (``ckpt.model``, ``ckpt[0]``, ``model, clip, vae = ckpt``);
a single-output node can be passed wherever its output is expected. Inputs are reachable as
:class:`InputRef` (``ks.input("seed")``, or ``ks.seed`` where no output has that name), which is
what parameter sweeps take as keys.
"""

from __future__ import annotations

import json
import os
import typing
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, TypeVar

from .errors import (
    NoActiveWorkflowError,
    NodeInputError,
    NodeValueError,
    WorkflowError,
    did_you_mean,
)

if TYPE_CHECKING:
    from .spec import NodeSpec, Spec

__all__ = [
    "OMIT",
    "InputDecl",
    "JSON_NULL",
    "DynamicOption",
    "Workflow",
    "Node",
    "SingleOutputNode",
    "RawNode",
    "Output",
    "InputRef",
    "node",
    "current_workflow",
    "types_compatible",
    "is_link",
]

T_co = TypeVar("T_co", covariant=True)

_current: ContextVar[Workflow | None] = ContextVar("cmfy_graph_workflow", default=None)

#: called with each node as it joins a workflow, when set (``script`` records the line of a
#: workflow script that created each node, for ``lint``'s ``file:LINE:COL``)
_on_register: Callable[[Node], None] | None = None

_PRIMITIVE = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})


class _JsonNull:
    """The type of :data:`JSON_NULL`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "JSON_NULL"


class _Omitted:
    """The type of :data:`OMIT`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "OMIT"


#: Leave a *required* input out on purpose (``None`` is refused there): what a script
#: converted from an incomplete prompt writes, so that it builds exactly that prompt (which
#: ComfyUI then refuses with ``required_input_missing``).
OMIT: Any = _Omitted()


#: An input value that is sent as JSON ``null`` (``None`` means "not given" in the DSL), for
#: ``set_input(name, JSON_NULL, raw=True)`` and ``node(...)``: what the editor sends for a
#: widget that holds no value.
JSON_NULL = _JsonNull()


def current_workflow() -> Workflow | None:
    """The workflow that nodes created now are added to, or ``None``."""
    return _current.get()


def is_link(value: Any) -> bool:
    """Whether an API-prompt input value is a well-formed link ``["<node id>", <index>]``
    (a string id and a non-negative int index; ``bool`` is not an index)."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and type(value[1]) is int
        and value[1] >= 0
    )


def types_compatible(received: Any, expected: Any) -> bool:
    """Whether an output of type ``received`` may feed an input of type ``expected``.

    ``*`` on either side matches; comma-separated unions match when they share a type; a
    list-typed (combo) output feeds a ``COMBO`` input. These are ComfyUI's own rules.
    """
    if received == expected:
        return True
    if received is None or expected is None:
        return False
    if isinstance(received, (list, tuple)):
        return bool(expected == "COMBO" or expected == "*")
    if not isinstance(received, str) or not isinstance(expected, str):
        return False
    if received == "*" or expected == "*":
        return True
    if "COMFY_MATCHTYPE_V3" in (received, expected):
        return True
    r = {p.strip() for p in received.split(",")}
    e = {p.strip() for p in expected.split(",")}
    return bool(r & e) or "*" in r or "*" in e


# ---------------------------------------------------------------------------------------------
# handles


class Output(Generic[T_co]):
    """A handle on one output of a node: what a link input takes.

    The type parameter is the ComfyUI type as a ``Literal`` (``Output[Literal["MODEL"]]``), so a
    type checker rejects ``KSampler(model=ckpt.clip)``. Handles compare equal when they name the
    same output of the same node.
    """

    __slots__ = ()

    @property
    def node(self) -> Node:
        """The node this output belongs to."""
        raise NotImplementedError

    @property
    def index(self) -> int:
        """The output's index (the slot in the ``[node_id, index]`` link)."""
        raise NotImplementedError

    @property
    def type(self) -> Any:
        """The output's ComfyUI type (``"*"`` when unknown)."""
        raise NotImplementedError

    @property
    def name(self) -> str:
        """The output's name (``output_name`` in the spec)."""
        raise NotImplementedError

    def ref(self) -> list[Any]:
        """The link as it appears in an API prompt: ``[node_id, index]``."""
        return [self.node.id, self.index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Output):
            return NotImplemented
        return self.node is other.node and self.index == other.index

    def __hash__(self) -> int:
        return hash((id(self.node), self.index))

    def __repr__(self) -> str:
        n = self.node
        return f"<Output {self.name} ({self.type}) of node {n.id} {n.class_type}>"


class _Handle(Output[Any]):
    __slots__ = ("_node", "_index", "_type", "_name")

    def __init__(self, node: Node, index: int, type_: Any, name: str) -> None:
        self._node = node
        self._index = index
        self._type = type_
        self._name = name

    @property
    def node(self) -> Node:
        return self._node

    @property
    def index(self) -> int:
        return self._index

    @property
    def type(self) -> Any:
        return self._type

    @property
    def name(self) -> str:
        return self._name


class InputRef:
    """A reference to one input of one node (``ks.input("seed")``): the key of a sweep."""

    __slots__ = ("node", "name")

    def __init__(self, node: Node, name: str) -> None:
        self.node = node
        self.name = name

    @property
    def value(self) -> Any:
        """The input's current value (a constant, an :class:`Output`, or ``None`` if unset)."""
        return self.node.inputs.get(self.name)

    def set(self, value: Any) -> None:
        """Set the input's value (checked like a constructor argument)."""
        self.node.set_input(self.name, value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InputRef):
            return NotImplemented
        return self.node is other.node and self.name == other.name

    def __hash__(self) -> int:
        return hash((id(self.node), self.name))

    def __repr__(self) -> str:
        return f"<InputRef {self.node.class_type}#{self.node.id}.{self.name}>"


# ---------------------------------------------------------------------------------------------
# nodes


class InputDecl(NamedTuple):
    """One input of a generated node class, as its ``_inputs_`` declares it::

        InputDecl("seed", type="INT", required=True, widget=True, min=0, max=2**64 - 1)

    ``wire`` is the name in the prompt; ``py`` the keyword argument's name when it differs;
    ``choices`` a tuple (or the ``Literal`` alias) of a COMBO's choices; ``file_kind`` is
    ``"model"`` or ``"input"`` for inputs naming files of the installation.
    """

    wire: str
    py: str = ""
    type: Any = None
    required: bool = False
    widget: bool = False
    min: Any = None
    max: Any = None
    choices: Any = None
    file_kind: str | None = None


_InputMeta = InputDecl
# one output: (python name, type, wire name)
_OutputMeta = tuple[str, Any, str]


class Node:
    """Base of every node class. Generated classes set the class attributes; instances hold the
    inputs in the order the ComfyUI editor sends them."""

    __slots__ = ("id", "_inputs", "_wire", "title", "meta", "workflow", "__weakref__")

    class_type: ClassVar[str] = ""
    #: input metadata of a generated class (see ``_InputMeta``)
    _inputs_: ClassVar[tuple[_InputMeta, ...]] = ()
    #: output metadata of a generated class (see ``_OutputMeta``)
    _outputs_: ClassVar[tuple[_OutputMeta, ...]] = ()
    _by_py_: ClassVar[dict[str, _InputMeta] | None] = None
    _by_wire_: ClassVar[dict[str, _InputMeta] | None] = None
    _out_by_name_: ClassVar[dict[str, int] | None] = None

    id: str
    _inputs: dict[str, Any]
    _wire: tuple[dict[str, Any], tuple[str, ...]] | None
    title: str | None
    meta: dict[str, Any] | None
    workflow: Workflow

    # -- construction -------------------------------------------------------------------------

    def _init_node(self, values: dict[str, Any], title: str | None, node_id: str | None) -> None:
        """Check ``values`` (wire name -> value, ``None`` meaning "not given") against the class
        metadata, then add the node to the active workflow."""
        wf = _current.get()
        if wf is None:
            raise NoActiveWorkflowError(
                f"{type(self).__name__} was created outside a workflow: create nodes inside "
                f"`with Workflow() as wf:` or with `wf.add({type(self).__name__}, ...)`"
            )
        cls = type(self)
        by_wire = cls._by_wire_
        if by_wire is None or "_by_wire_" not in cls.__dict__:
            by_wire = cls._index_inputs()
        dyn = cls.__dict__.get("_dynamic_")
        if dyn:
            self._inputs = {}
            for wire, value in values.items():
                if value is None or value is OMIT:
                    continue
                if wire in dyn:
                    self._inputs.update(
                        _expand_dynamic(self, wire, _dynamic_spec(cls, wire), value, wf)
                    )
                else:
                    self._inputs[wire] = _check_value(self, by_wire[wire], value, wf)
        else:
            self._inputs = {
                wire: _check_value(self, by_wire[wire], value, wf)
                for wire, value in values.items()
                if value is not None and value is not OMIT
            }
        if len(self._inputs) < len(values):
            _refuse_missing_required(self, values, by_wire)
        self._build_wire()  # built now, so that to_prompt() only copies
        self.title = title
        self.meta = None
        wf._register(self, node_id)

    @classmethod
    def _index_inputs(cls) -> dict[str, _InputMeta]:
        metas = []
        for m in cls._inputs_:
            if not isinstance(m, InputDecl):  # a positional tuple (classes before 0.2)
                m = InputDecl(*m)
            if not m.py:
                m = m._replace(py=m.wire)
            ch = m.choices
            if ch is not None and not isinstance(ch, tuple):  # a Literal alias of the choices
                m = m._replace(choices=typing.get_args(ch))
            metas.append(m)
        cls._inputs_ = tuple(metas)
        cls._by_wire_ = {m[0]: m for m in cls._inputs_}
        cls._by_py_ = {m[1]: m for m in cls._inputs_}
        cls._out_by_name_ = {m[0]: i for i, m in enumerate(cls._outputs_)}
        return cls._by_wire_

    # -- outputs ------------------------------------------------------------------------------

    @classmethod
    def input_decls(cls) -> tuple[InputDecl, ...]:
        """The class's inputs, in the editor's order (``py`` and ``choices`` filled in)."""
        if cls._by_wire_ is None or "_by_wire_" not in cls.__dict__:
            cls._index_inputs()
        return cls._inputs_

    @property
    def outputs(self) -> tuple[Output[Any], ...]:
        """Every output handle, in order (``model, clip, vae = ckpt.outputs``)."""
        return tuple(
            _Handle(self, i, self._out_type(i, m[1]), m[2])
            for i, m in enumerate(type(self)._outputs_)
        )

    def _out_type(self, i: int, declared: Any) -> Any:
        """An output's type: the declared one, or for a MatchType output the type of what was
        plugged into the inputs of its template (``*`` when nothing was)."""
        if declared != "COMFY_MATCHTYPE_V3":
            return declared
        tids = type(self).__dict__.get("_output_matchtypes_") or ()
        tid = tids[i] if i < len(tids) else None
        dyn = type(self).__dict__.get("_dynamic_") or {}
        for wire in dyn:
            mt = _dynamic_spec(type(self), wire).dynamic
            v = self._inputs.get(wire)
            if getattr(mt, "template_id", None) == tid and isinstance(v, Output):
                return v.type
        return "*"

    def output(self, key: int | str) -> Output[Any]:
        """An output by index, Python name (``"model"``) or spec name (``"MODEL"``)."""
        outs = type(self)._outputs_
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise NodeInputError(f"output keys are indexes or names, not {key!r}")
        if isinstance(key, int):
            n = len(outs)
            if not -n <= key < n:
                raise IndexError(
                    f"{self._label()} has {n} output{'s' if n != 1 else ''}; index {key} is out of range"
                )
            i = key % n
            return _Handle(self, i, self._out_type(i, outs[i][1]), outs[i][2])
        for i, m in enumerate(outs):
            if key in (m[0], m[2]):
                return _Handle(self, i, self._out_type(i, m[1]), m[2])
        names = [m[0] for m in outs]
        raise AttributeError(
            f"{self._label()} has no output {key!r}; outputs: {', '.join(names) or 'none'}"
            + did_you_mean(key, names)
        )

    def __getitem__(self, index: int) -> Output[Any]:
        return self.output(index)

    def __iter__(self) -> Iterator[Output[Any]]:
        return iter(self.outputs)

    def __len__(self) -> int:
        return len(type(self)._outputs_)

    if not TYPE_CHECKING:  # hidden from type checkers: a misspelt output is an error there

        def __getattr__(self, name: str) -> Any:
            # only called when normal lookup fails: output handles and input references
            if name.startswith("__"):
                raise AttributeError(name)
            cls = type(self)
            if cls._out_by_name_ is None or "_out_by_name_" not in cls.__dict__:
                cls._index_inputs()
            assert cls._out_by_name_ is not None and cls._by_py_ is not None
            i = cls._out_by_name_.get(name)
            if i is not None:
                m = cls._outputs_[i]
                return _Handle(self, i, self._out_type(i, m[1]), m[2])
            meta = cls._by_py_.get(name)
            if meta is not None:
                return InputRef(self, meta[0])
            cands = list(cls._out_by_name_) + list(cls._by_py_)
            raise AttributeError(
                f"{cls.__name__!r} node has no output or input {name!r}" + did_you_mean(name, cands)
            )

    # -- inputs -------------------------------------------------------------------------------

    def input(self, name: str) -> InputRef:
        """A reference to an input, by wire name or Python name."""
        cls = type(self)
        if cls._by_py_ is None or "_by_py_" not in cls.__dict__:
            cls._index_inputs()
        assert cls._by_py_ is not None and cls._by_wire_ is not None
        if name in cls._by_wire_:
            return InputRef(self, name)
        if name in cls._by_py_:
            return InputRef(self, cls._by_py_[name][0])
        if not cls._inputs_ or name in self.inputs:  # raw nodes: any input name goes
            return InputRef(self, name)
        raise NodeInputError(
            f"{self._label()} has no input {name!r}" + did_you_mean(name, list(cls._by_wire_))
        )

    def set_input(self, name: str, value: Any, *, raw: bool = False) -> None:
        """Set (or, with ``None``, remove) an input after construction, checked like the
        constructor's arguments. ``name`` is the wire name or the Python name.

        With ``raw=True`` the name need not be declared by the class (an input only the editor
        or a variadic node knows) and the value is stored exactly as given: an :class:`Output`,
        or any JSON value, a list included (sent as it is, so ``["1", 0]`` is a link)."""
        self._wire = None
        if raw:
            if value is None:
                self._inputs.pop(name, None)
            elif value is JSON_NULL:
                self._inputs[name] = None
            else:
                self._inputs[name] = (
                    _raw_value(self, name, value) if isinstance(value, Node) else value
                )
            return
        wire = self.input(name).name
        if value is None:
            self._inputs.pop(wire, None)
            return
        meta = (type(self)._by_wire_ or {}).get(wire)
        if meta is None and isinstance(self, RawNode):
            meta = self._spec_meta(wire)
        if meta is None:
            self._inputs[wire] = _raw_value(self, wire, value)
        else:
            self._inputs[wire] = _check_value(self, meta, value, self.workflow)

    @property
    def inputs(self) -> Mapping[str, Any]:
        """The inputs, wire name -> constant or :class:`Output`, in the order they are sent
        (read-only: change them with :meth:`set_input`)."""
        return MappingProxyType(self._inputs)

    def _build_wire(self) -> tuple[dict[str, Any], tuple[str, ...]]:
        """Cache the inputs as they go on the wire (links as ``[id, index]``), and which keys
        hold links. Node ids never change, so the cache lives until an input is set."""
        wire: dict[str, Any] = {}
        links = []
        for k, v in self._inputs.items():
            if isinstance(v, Output):
                wire[k] = [v.node.id, v.index]
                links.append(k)
            else:
                wire[k] = v
        self._wire = (wire, tuple(links))
        return self._wire

    # -- misc ---------------------------------------------------------------------------------

    def _label(self) -> str:
        return f"node {getattr(self, 'id', '?')} ({self.class_type})"

    def __repr__(self) -> str:
        t = f" title={self.title!r}" if self.title else ""
        return f"<{type(self).__name__} node {getattr(self, 'id', '?')}{t}>"

    def __bool__(self) -> bool:
        return True


class SingleOutputNode(Node, Output[T_co]):
    """A node with exactly one output; the node itself can be passed where its output goes."""

    __slots__ = ()

    @property
    def node(self) -> Node:
        return self

    @property
    def index(self) -> int:
        return 0

    @property
    def type(self) -> Any:
        return self._out_type(0, type(self)._outputs_[0][1])

    @property
    def name(self) -> str:
        return type(self)._outputs_[0][2]

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, Output) and other.node is self and other.index == 0
        )

    def __hash__(self) -> int:
        return hash((id(self), 0))

    def __repr__(self) -> str:
        return Node.__repr__(self)


class RawNode(Node):
    """A node of a class the generated code does not know (the escape hatch), or read from an
    API prompt. Inputs are taken as given; outputs are ``"*"`` unless declared."""

    __slots__ = ("_class_type", "_raw_outputs", "_spec")

    def __init__(
        self,
        class_type: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        title: str | None = None,
        node_id: str | None = None,
        outputs: list[Any] | tuple[Any, ...] | None = None,
    ) -> None:
        self._class_type = class_type
        #: the spec record of the class, for a node read by ``from_prompt``: ``set_input``
        #: then checks values as a generated class would
        self._spec: NodeSpec | None = None
        self._raw_outputs: tuple[_OutputMeta, ...] | None = (
            _output_meta([str(t) for t in outputs], list(outputs)) if outputs is not None else None
        )
        wf = _current.get()
        if wf is None:
            raise NoActiveWorkflowError(
                f"node({class_type!r}) was created outside a workflow: create nodes inside "
                "`with Workflow() as wf:` or with `wf.add(...)`"
            )
        self._inputs = {}
        self._wire = None
        for k, v in (inputs or {}).items():
            if v is JSON_NULL:
                self._inputs[k] = None
            elif v is not None:
                self._inputs[k] = _raw_value(self, k, v)
        self.title = title
        self.meta = None
        wf._register(self, node_id)

    @property  # type: ignore[override]
    def class_type(self) -> str:
        return self._class_type

    @property
    def outputs(self) -> tuple[Output[Any], ...]:
        if self._raw_outputs is None:
            return ()
        return tuple(_Handle(self, i, m[1], m[2]) for i, m in enumerate(self._raw_outputs))

    def output(self, key: int | str) -> Output[Any]:
        if self._raw_outputs is None and isinstance(key, int) and not isinstance(key, bool):
            return _Handle(self, key, "*", f"output {key}")
        if self._raw_outputs is None:
            raise AttributeError(f"{self._label()} declares no outputs; use an index: node[{0}]")
        for i, m in enumerate(self._raw_outputs):
            if isinstance(key, str) and key in (m[0], m[2]):
                return _Handle(self, i, m[1], m[2])
            if key == i:
                return _Handle(self, i, m[1], m[2])
        raise AttributeError(f"{self._label()} has no output {key!r}")

    def __len__(self) -> int:
        return len(self._raw_outputs or ())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._raw_outputs:
            for i, m in enumerate(self._raw_outputs):
                if name == m[0]:
                    return _Handle(self, i, m[1], m[2])
        return InputRef(self, name)

    def input(self, name: str) -> InputRef:
        ns = self._spec
        if (
            ns is not None
            and name not in ns.inputs
            and name not in self._inputs
            and not ns.has_dynamic_inputs
        ):
            raise NodeInputError(
                f"{self._label()} has no input {name!r}" + did_you_mean(name, list(ns.inputs))
            )
        return InputRef(self, name)

    def _spec_meta(self, wire: str) -> _InputMeta | None:
        ispec = self._spec.inputs.get(wire) if self._spec is not None else None
        return _meta_of(ispec, wire) if ispec is not None and ispec.dynamic is None else None


def node(
    class_type: str,
    values: Mapping[str, Any] | None = None,
    /,
    *,
    title: str | None = None,
    node_id: str | None = None,
    outputs: list[Any] | tuple[Any, ...] | None = None,
    **inputs: Any,
) -> RawNode:
    """Create a node of any ``class_type``, known or not (the escape hatch).

    ``outputs`` optionally declares the output types (``["IMAGE", "MASK"]``) so that handles
    are typed; without it, use indexes: ``n[0]``. Input names that are not Python identifiers
    (``"images.image0"``) go in the ``values`` mapping: ``node("X", {"my input": 3})``.
    """
    return RawNode(
        class_type, {**(values or {}), **inputs}, title=title, node_id=node_id, outputs=outputs
    )


def _cls_name(n: Node) -> str:
    """The class a user wrote (the class type for a raw node), for error messages."""
    return n.class_type if isinstance(n, RawNode) else type(n).__name__


def _output_meta(names: list[str], types: list[Any]) -> tuple[_OutputMeta, ...]:
    """Output metadata named as the generated classes name their outputs."""
    from .codegen.generator import output_attribute_names

    return tuple(zip(output_attribute_names(names), types, names, strict=False))


def _outputs_from_links(wf: Workflow) -> None:
    """Outputs of ``*`` type for raw nodes no spec describes, up to the highest one linked."""
    highest: dict[str, int] = {}
    for n in wf.nodes.values():
        for v in n._inputs.values():
            if is_link(v) and isinstance(v[1], int) and not isinstance(v[1], bool) and v[1] >= 0:
                highest[v[0]] = max(highest.get(v[0], -1), v[1])
    for nid, top in highest.items():
        src = wf.nodes.get(nid)
        if isinstance(src, RawNode) and src._raw_outputs is None:
            src._raw_outputs = _output_meta(
                [f"output_{i}" for i in range(top + 1)], ["*"] * (top + 1)
            )


def _refuse_missing_required(
    n: Node, values: Mapping[str, Any], by_wire: Mapping[str, _InputMeta]
) -> None:
    """``None`` means "not given": a required input must be given (ComfyUI refuses the node
    with ``required_input_missing``); :data:`OMIT` leaves it out on purpose."""
    for wire, value in values.items():
        meta = by_wire.get(wire)
        if value is None and meta is not None and meta.required:
            raise NodeInputError(
                f"{_cls_name(n)}({meta.py}=None): input {wire!r} is required; None would "
                "leave it out and ComfyUI would refuse the node (required_input_missing); "
                "pass OMIT to leave it out on purpose"
            )


def _raw_value(n: Node, name: str, value: Any) -> Any:
    """A value for an input no spec describes: outputs as they are, a node with at most one
    (or undeclared) outputs as its first output, anything else as a constant."""
    if isinstance(value, Output):
        return value
    if isinstance(value, Node):
        if isinstance(value, RawNode) and value._raw_outputs is None or len(value) == 1:
            return value.output(0)
        raise NodeInputError(
            f"{n.class_type}({name}=...): node {value.id} ({value.class_type}) has "
            f"{len(value)} outputs; pass one of them, e.g. {_example_output(value)}"
        )
    return _wrap_constant(value)


def _wrap_constant(value: Any) -> Any:
    # a JSON array in a prompt is always read as a link: list constants travel wrapped
    if isinstance(value, (list, tuple)):
        return {"__value__": list(value)}
    return value


def _check_value(n: Node, meta: _InputMeta, value: Any, wf: Workflow) -> Any:
    """A value for an input of a generated class, checked against its declaration: an output
    of a type that fits, or a constant of the widget's type, in range and among the choices."""
    wire, py, typ, _required, widget, lo, hi, choices, file_kind = meta
    if isinstance(value, Output):
        return _check_link(n, meta, value, wf)
    if isinstance(value, InputRef):
        raise NodeInputError(
            f"{_cls_name(n)}({py}=...): got a reference to input {value.name!r} of node "
            f"{value.node.id}; pass an output handle or a value"
        )
    if isinstance(value, Node):
        raise NodeInputError(
            f"{_cls_name(n)}({py}=...): node {value.id} ({value.class_type}) has "
            f"{len(value)} outputs; pass one of them, e.g. {_example_output(value)}"
        )
    if (
        not widget
        and isinstance(typ, str)
        and typ not in _PRIMITIVE
        and not _union_of_primitives(typ)
    ):
        if typ == "*":
            return _wrap_constant(value)
        raise NodeInputError(
            f"{_cls_name(n)}({py}={value!r}): input {wire!r} takes a link to an output of "
            f"type {typ}, not a value"
        )
    value = _check_constant_type(n, meta, value)
    _check_range(n, meta, value)
    return _wrap_constant(value)


def _check_link(n: Node, meta: _InputMeta, value: Output[Any], wf: Workflow) -> Output[Any]:
    wire, py, typ = meta[0], meta[1], meta[2]
    src = value.node
    if getattr(src, "workflow", wf) is not wf:
        raise NodeInputError(
            f"{_cls_name(n)}({py}=...): the output comes from node {src.id} "
            f"({src.class_type}) of another workflow"
        )
    if not types_compatible(value.type, typ):
        raise NodeInputError(
            f"{_cls_name(n)}({py}=...): input {wire!r} takes {_show_type(typ)}, "
            f"got {_show_type(value.type)} (output {value.name!r} of node {src.id} "
            f"{src.class_type})"
        )
    return value


_PY_NAMES = {"INT": "an int", "FLOAT": "a float", "BOOLEAN": "a bool", "STRING": "a str"}


def _check_constant_type(n: Node, meta: _InputMeta, value: Any) -> Any:
    """The constant as the input's type takes it (an integral float into INT becomes an int),
    or :class:`NodeInputError` / :class:`NodeValueError`."""
    wire, py, t = meta[0], meta[1], meta[2]
    choices, file_kind = meta[7], meta[8]
    ok = True
    if t == "INT" and (isinstance(value, bool) or not isinstance(value, int)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            ok = False
    elif t == "FLOAT":
        ok = not isinstance(value, bool) and isinstance(value, (int, float))
    elif t == "BOOLEAN":
        ok = isinstance(value, bool)
    elif t == "STRING":
        ok = isinstance(value, str)
    if not ok:
        raise NodeInputError(
            f"{_cls_name(n)}({py}={value!r}): input {wire!r} takes {_PY_NAMES[t]}, "
            f"not {type(value).__name__}"
        )
    if t == "COMBO" and file_kind == "input" and isinstance(value, os.PathLike):
        # a local file: the client uploads it (client/uploads.py); a bare name gets "./" so
        # that it reads as a local path, not as a file of the server's input folder
        value = os.fspath(value)
        if not os.path.dirname(value) and not os.path.isabs(value):
            value = "./" + value
    if t == "COMBO" and file_kind is not None and not isinstance(value, str):
        raise NodeInputError(
            f"{_cls_name(n)}({py}={value!r}): input {wire!r} takes a file name"
            f"{' or URL' if file_kind == 'model' else ''} (str), not {type(value).__name__}"
        )
    if t == "COMBO" and file_kind is None and choices is not None and value not in choices:
        shown = ", ".join(repr(c) for c in choices[:12]) + (", ..." if len(choices) > 12 else "")
        raise NodeValueError(
            f"{_cls_name(n)}({py}={value!r}): {value!r} is not one of the choices of "
            f"input {wire!r}: {shown}"
            + (did_you_mean(value, choices) if isinstance(value, str) else "")
        )
    return value


def _check_range(n: Node, meta: _InputMeta, value: Any) -> None:
    wire, py, lo, hi = meta[0], meta[1], meta[5], meta[6]
    if lo is None and hi is None:
        return
    try:
        if lo is not None and value < lo:
            raise NodeValueError(
                f"{_cls_name(n)}({py}={value!r}): input {wire!r} must be >= {_num(lo)}"
            )
        if hi is not None and value > hi:
            raise NodeValueError(
                f"{_cls_name(n)}({py}={value!r}): input {wire!r} must be <= {_num(hi)}"
            )
    except TypeError:
        pass


class DynamicOption:
    """The chosen option of a DynamicCombo input with values for the inputs it brings::

        ResizeImageMaskNode(input=img, resize_type=DynamicOption("scale longer dimension",
                                                                 longer_size=2048))

    Sub-inputs left out take the editor's defaults; names that are not identifiers go in the
    mapping argument. Passing the option key alone (``resize_type="scale by multiplier"``) is
    the same as an option with every sub-input at its default. Generated classes also have a
    typed class per option, which mypy checks and which is what typed code should use:
    ``ResizeImageMaskNode.ResizeType.ScaleLongerDimension(longer_size=2048)``.
    """

    __slots__ = ("key", "values")

    def __init__(self, key: str, values: Mapping[str, Any] | None = None, /, **kw: Any) -> None:
        self.key = key
        self.values: dict[str, Any] = {
            k: v for k, v in {**(values or {}), **kw}.items() if v is not None
        }

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.values.items())
        return f"DynamicOption({self.key!r}{args})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DynamicOption)
            and other.key == self.key
            and other.values == self.values
        )

    __hash__ = None  # type: ignore[assignment]


_DYN_CACHE: dict[tuple[type, str], Any] = {}


def _dynamic_spec(cls: type, wire: str) -> Any:
    """The parsed spec record of a dynamic input of a generated class (from ``_dynamic_``)."""
    key = (cls, wire)
    hit = _DYN_CACHE.get(key)
    if hit is None:
        from .spec import _parse_input

        raw = cls.__dict__["_dynamic_"][wire]
        section = "required"
        if isinstance(raw, tuple) and len(raw) == 3:
            section, raw = raw[0], [raw[1], raw[2]]
        hit = _DYN_CACHE[key] = _parse_input(
            getattr(cls, "class_type", cls.__name__), wire, section, list(raw), {}
        )
    return hit


def _meta_of(ispec: Any, wire: str) -> _InputMeta:
    """The 9-field input metadata of a spec record (what generated classes carry)."""
    choices = ispec.choices if ispec.type == "COMBO" and not ispec.file_kind else None
    return InputDecl(
        wire,
        wire,
        ispec.type,
        ispec.required,
        ispec.is_widget,
        ispec.min,
        ispec.max,
        tuple(choices) if choices else None,
        ispec.file_kind,
    )


def _editor_default(ispec: Any) -> Any:
    """The value a fresh widget of this input holds in the editor (``None`` for a socket)."""
    from .spec import fresh_widget_value

    return fresh_widget_value(ispec, ispec.widget_type) if ispec.is_widget else None


def _expand_dynamic(n: Node, wire: str, ispec: Any, value: Any, wf: Workflow) -> dict[str, Any]:
    """The prompt keys of one dynamic input given its Python value (docs/dynamic_inputs.md)."""
    from .spec import AutogrowSpec, DynamicComboSpec, MatchTypeSpec

    dyn = ispec.dynamic
    if isinstance(dyn, AutogrowSpec):
        return _expand_autogrow(n, wire, dyn, value, wf)
    if isinstance(dyn, DynamicComboSpec):
        return _expand_combo(n, wire, dyn, value, wf)
    if isinstance(dyn, MatchTypeSpec) and isinstance(value, (Output, Node)):
        return {wire: _matched_output(n, wire, dyn, value)}
    return {wire: _wrap_constant(value)}


def _expand_autogrow(n: Node, wire: str, dyn: Any, value: Any, wf: Workflow) -> dict[str, Any]:
    """An Autogrow's slots from a list (slot i gets item i) or a mapping slot -> value."""
    label = f"{_cls_name(n)}({wire}=...)"
    if isinstance(value, (Output, Node)) or not isinstance(value, (list, tuple, Mapping)):
        value = [value]
    items = (
        list(value.items())
        if isinstance(value, Mapping)
        else [(dyn.names[i] if i < dyn.max else None, v) for i, v in enumerate(value)]
    )
    out: dict[str, Any] = {}
    for slot, v in items:
        if slot is None or slot not in dyn.names:
            what = f"slot {slot!r}" if slot is not None else f"{len(items)} values"
            raise NodeValueError(
                f"{label}: {what} does not fit; input {wire!r} has {dyn.max} slots "
                f"({', '.join(dyn.names[:6])}{', ...' if dyn.max > 6 else ''})"
                + (did_you_mean(slot, list(dyn.names)) if isinstance(slot, str) else "")
            )
        if v is None:
            continue
        if isinstance(v, Node) and not isinstance(v, Output):
            v = _raw_value(n, wire, v)
        key = f"{wire}.{slot}"
        out[key] = _check_value(n, _meta_of(dyn.template, key), v, wf)
    if dyn.template.section == "required" and dyn.min:
        missing = [s for s in dyn.names[: dyn.min] if f"{wire}.{s}" not in out]
        if missing:
            raise NodeInputError(
                f"{label}: input {wire!r} needs at least {dyn.min} value"
                f"{'s' if dyn.min != 1 else ''} (slot{'s' if len(missing) != 1 else ''} "
                f"{', '.join(missing)} missing)"
            )
    return out


def _expand_combo(n: Node, wire: str, dyn: Any, value: Any, wf: Workflow) -> dict[str, Any]:
    """A DynamicCombo's key and the inputs of the chosen option (defaults filled in)."""
    label = f"{_cls_name(n)}({wire}=...)"
    if isinstance(value, DynamicOption):
        key, given = value.key, dict(value.values)
    else:
        key, given = value, {}
    opt = dyn.option(key)
    if opt is None:
        keys = [k for k in dyn.keys if isinstance(k, str)]
        raise NodeValueError(
            f"{label}: {key!r} is not an option of input {wire!r}: "
            + ", ".join(repr(k) for k in keys[:12])
            + (did_you_mean(key, keys) if isinstance(key, str) else "")
        )
    out: dict[str, Any] = {wire: key}
    for sub_name, sub in opt.inputs.items():
        sub_wire = f"{wire}.{sub_name}"
        v = given.pop(sub_name, None)
        if v is None:
            v = _editor_default(sub)
        if v is None:
            if sub.required and sub.dynamic is None:
                raise NodeInputError(
                    f"{label}: option {key!r} needs input {sub_name!r} ({sub.type})"
                )
            continue
        if sub.dynamic is not None:
            out.update(_expand_dynamic(n, sub_wire, sub, v, wf))
        else:
            out[sub_wire] = _check_value(n, _meta_of(sub, sub_wire), v, wf)
    if given:
        names = list(opt.inputs)
        bad = next(iter(given))
        raise TypeError(
            f"option {key!r} of {type(n).__name__}.{wire} got an unexpected input "
            f"{bad!r}; its inputs: {', '.join(names) or 'none'}" + did_you_mean(bad, names)
        )
    return out


def _matched_output(n: Node, wire: str, dyn: Any, value: Output[Any] | Node) -> Any:
    """An output plugged into a MatchType input: of an allowed type, and of the same type as
    what the other inputs of its template hold."""
    label = f"{_cls_name(n)}({wire}=...)"
    if not isinstance(value, Output):
        value = _raw_value(n, wire, value)
        if not isinstance(value, Output):
            return value  # a constant: no type to match
    t = value.type
    if (
        dyn.allowed_types is not None
        and isinstance(t, str)
        and t not in ("*", "COMFY_MATCHTYPE_V3")
        and not ({p.strip() for p in t.split(",")} & dyn.allowed_types)
    ):
        raise NodeInputError(
            f"{label}: input {wire!r} takes {' or '.join(sorted(dyn.allowed_types))}, "
            f"got {_show_type(t)} (output {value.name!r} of node {value.node.id} "
            f"{value.node.class_type})"
        )
    for other in type(n).__dict__.get("_dynamic_") or {}:
        ov = n._inputs.get(other) if hasattr(n, "_inputs") else None
        om = _dynamic_spec(type(n), other).dynamic
        if (
            other != wire
            and isinstance(ov, Output)
            and getattr(om, "template_id", None) == dyn.template_id
            and not types_compatible(ov.type, t)
        ):
            raise NodeInputError(
                f"{label}: inputs {other!r} and {wire!r} share one type; got "
                f"{_show_type(ov.type)} and {_show_type(t)}"
            )
    return value


def _union_of_primitives(typ: str) -> bool:
    return "," in typ and all(p.strip() in _PRIMITIVE for p in typ.split(","))


def _num(x: Any) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) >= 1e15:
        return str(int(x))
    return repr(x)


def _show_type(t: Any) -> str:
    if isinstance(t, (list, tuple)):
        return "COMBO (a list of choices)"
    return str(t)


def _example_output(n: Node) -> str:
    outs = type(n)._outputs_
    if outs:
        return f"node.{outs[0][0]}"
    return "node[0]"


# ---------------------------------------------------------------------------------------------
# workflow


class Workflow:
    """An ordered set of nodes that compiles to a ComfyUI API prompt.

    Node ids are ``"1"``, ``"2"``, ... in creation order unless given (``node_id=``); the
    compiled JSON is deterministic byte for byte.
    """

    __slots__ = ("nodes", "_next_id", "_tokens", "__weakref__")

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self._next_id = 1
        self._tokens: list[Any] = []

    # -- context ------------------------------------------------------------------------------

    def __enter__(self) -> Workflow:
        self._tokens.append(_current.set(self))
        return self

    def __exit__(self, *exc: object) -> None:
        _current.reset(self._tokens.pop())

    def add(self, cls: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Create a node in this workflow without a ``with`` block:
        ``wf.add(KSampler, model=..., ...)`` (or ``wf.add("ClassType", ...)`` for any class)."""
        token = _current.set(self)
        try:
            if isinstance(cls, str):
                return node(cls, *args, **kwargs)
            return cls(*args, **kwargs)
        finally:
            _current.reset(token)

    def _register(self, n: Node, node_id: str | None) -> None:
        if node_id is None:
            while str(self._next_id) in self.nodes:
                self._next_id += 1
            node_id = str(self._next_id)
            self._next_id += 1
        elif not isinstance(node_id, str):
            raise WorkflowError(f"node ids are strings, not {node_id!r}")
        elif node_id in self.nodes:
            raise WorkflowError(f"node id {node_id!r} is taken by {self.nodes[node_id].class_type}")
        n.id = node_id
        n.workflow = self
        self.nodes[node_id] = n
        if _on_register is not None:
            _on_register(n)

    # -- access -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    def __getitem__(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def find(self, key: str) -> Node:
        """A node by id, or by title (``_meta.title``) when no id matches."""
        if key in self.nodes:
            return self.nodes[key]
        hits = [n for n in self.nodes.values() if _title_of(n) == key]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise WorkflowError(
                f"{len(hits)} nodes have the title {key!r} (ids {', '.join(h.id for h in hits)}); "
                "use a node id"
            )
        cands = list(self.nodes) + [t for n in self.nodes.values() if (t := _title_of(n))]
        raise WorkflowError(f"no node with id or title {key!r}" + did_you_mean(key, cands))

    # -- compile ------------------------------------------------------------------------------

    def to_prompt(self) -> dict[str, Any]:
        """The API prompt: ``{id: {"class_type", "inputs", "_meta"?}}`` in creation order."""
        out: dict[str, Any] = {}
        for nid, n in self.nodes.items():
            # the hot path of compilation: copy the cached wire form, links as fresh lists
            wire, links = n._wire or n._build_wire()
            inputs = wire.copy()
            for k in links:
                inputs[k] = inputs[k][:]
            entry: dict[str, Any] = {"class_type": n.class_type, "inputs": inputs}
            if n.meta is not None:
                entry["_meta"] = dict(n.meta)
            elif n.title is not None:
                entry["_meta"] = {"title": n.title}
            out[nid] = entry
        return out

    def to_body(self, webhook_url: str | None = None) -> dict[str, Any]:
        """The request body of ``POST /v1/jobs``: ``{"prompt": ..., "webhook_url"?: ...}``."""
        body: dict[str, Any] = {"prompt": self.to_prompt()}
        if webhook_url is not None:
            body["webhook_url"] = webhook_url
        return body

    def to_json(self, *, indent: int | None = 2, body: bool = True) -> str:
        """The request body (or, with ``body=False``, the bare prompt) as JSON text."""
        data = self.to_body() if body else self.to_prompt()
        return json.dumps(data, indent=indent, ensure_ascii=False)

    # -- import -------------------------------------------------------------------------------

    @classmethod
    def from_prompt(cls, prompt: Mapping[str, Any], spec: Spec | None = None) -> Workflow:
        """Read an API prompt (or a request body ``{"prompt": ...}``) into a workflow.

        Node ids, input order and ``_meta`` are kept, so ``to_prompt()`` gives back the same
        JSON value. Links to nodes in the prompt become :class:`Output` handles; anything else
        (broken links included) is kept as it is, for the linter to report. Nodes of classes
        the ``spec`` knows (default: the bundled core spec) get typed outputs named as the
        generated classes name them; others get ``*`` outputs up to the highest one linked.
        """
        if (
            isinstance(prompt, Mapping)
            and "prompt" in prompt
            and isinstance(prompt.get("prompt"), Mapping)
        ):
            prompt = prompt["prompt"]
        if not isinstance(prompt, Mapping):
            raise WorkflowError(f"an API prompt is a JSON object, not {type(prompt).__name__}")
        if spec is None:
            from .spec import core_spec

            spec = core_spec()
        wf = cls()
        token = _current.set(wf)
        try:
            for nid, entry in prompt.items():
                if not isinstance(entry, Mapping):
                    raise WorkflowError(f"node {nid!r}: expected an object, got {entry!r}")
                ct = entry.get("class_type")
                if not isinstance(ct, str):
                    raise WorkflowError(f"node {nid!r}: class_type is missing or not a string")
                ns: NodeSpec | None = spec.get(ct) if spec is not None else None
                n = RawNode(ct, None, node_id=str(nid))
                n._spec = ns
                if ns is not None:  # typed outputs, named as the generated class names them
                    n._raw_outputs = _output_meta(
                        [o.name for o in ns.outputs], [o.type for o in ns.outputs]
                    )
                meta = entry.get("_meta")
                if isinstance(meta, Mapping):
                    n.meta = dict(meta)
                    t = meta.get("title")
                    n.title = t if isinstance(t, str) else None
                raw_inputs = entry.get("inputs")
                if not isinstance(raw_inputs, Mapping):
                    raise WorkflowError(
                        f"node {nid!r} ({ct}): 'inputs' is "
                        + ("missing" if raw_inputs is None else "not an object")
                    )
                n._inputs = dict(raw_inputs)
        finally:
            _current.reset(token)
        _outputs_from_links(wf)
        for node_ in wf.nodes.values():
            for k, v in node_._inputs.items():
                if is_link(v) and v[0] in wf.nodes:
                    src = wf.nodes[v[0]]
                    node_._inputs[k] = src.output(v[1]) if _has_output(src, v[1]) else v
        return wf

    # -- analysis -----------------------------------------------------------------------------

    def graph(self) -> Any:
        """The workflow as a networkx ``MultiDiGraph``: nodes are ids (with ``class_type`` and
        ``title`` attributes), edges run from source to consumer with ``input`` and ``index``."""
        import networkx as nx

        g = nx.MultiDiGraph()
        for nid, n in self.nodes.items():
            g.add_node(nid, class_type=n.class_type, title=_title_of(n))
        for nid, n in self.nodes.items():
            for k, v in n.inputs.items():
                if isinstance(v, Output):
                    g.add_edge(v.node.id, nid, input=k, index=v.index)
        return g

    def find_cycle(self) -> list[str] | None:
        """A dependency cycle as a list of node ids (``["5", "6", "8"]``), or ``None``."""
        import networkx as nx

        try:
            edges = nx.find_cycle(self.graph())
        except nx.NetworkXNoCycle:
            return None
        return [e[0] for e in edges]

    def validate(self, spec: Spec | None = None, *, profile: str = "comfyui") -> Any:
        """Lint the compiled prompt with ComfyUI's rules (and ours); returns the report."""
        from .validate import validate_prompt

        return validate_prompt(self.to_prompt(), spec, profile=profile)

    def check(self, spec: Spec | None = None, *, profile: str = "comfyui") -> dict[str, Any]:
        """Compile and validate; raise :class:`~cmfy_graph.errors.ValidationError` listing every
        error when the prompt would be refused. Returns the prompt."""
        from .validate import check_prompt

        prompt = self.to_prompt()
        check_prompt(prompt, spec, profile=profile)
        return prompt

    def __repr__(self) -> str:
        return f"<Workflow {len(self.nodes)} nodes>"


def _has_output(n: Node, index: int) -> bool:
    if isinstance(n, RawNode) and n._raw_outputs is None:
        return True
    return index < len(n)


def _title_of(n: Node) -> str | None:
    if n.title is not None:
        return n.title
    if n.meta is not None and isinstance(n.meta.get("title"), str):
        return str(n.meta["title"])
    return None
