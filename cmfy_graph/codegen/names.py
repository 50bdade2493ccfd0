"""The one sanitiser for identifiers and the one writer of literals in generated code.

A node spec can come from an untrusted server, so no text of it reaches generated code except
through :func:`identifier` / :func:`class_name` (which keep only ``[A-Za-z0-9_]``) and
:func:`literal` / :func:`docstring` (which write Python literals that are parsed back and
checked before use).
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

__all__ = [
    "identifier",
    "class_name",
    "snake",
    "literal",
    "docstring",
    "wrap",
    "Namer",
    "is_literal_safe",
]

_NON_WORD = re.compile(r"[^0-9A-Za-z]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _fix(word: str, fallback: str, reserved: Iterable[str]) -> str:
    if not word:
        word = fallback
    if word[0].isdigit():
        word = f"{fallback}_{word}"
    if keyword.iskeyword(word) or keyword.issoftkeyword(word) or word in reserved:
        word += "_"
    assert word.isidentifier() and word.isascii()
    return word


def identifier(name: str, *, fallback: str = "x", reserved: Iterable[str] = ()) -> str:
    """A Python-safe identifier for ``name``: ASCII letters, digits and ``_`` only, no leading
    digit, no keyword, not in ``reserved`` (a trailing ``_`` is added). Case is kept."""
    s = _NON_WORD.sub("_", _ascii(name)).strip("_")
    return _fix(s, fallback, reserved)


def snake(name: str, *, fallback: str = "output", reserved: Iterable[str] = ()) -> str:
    """snake_case: ``"CLIP_VISION"`` -> ``clip_vision``, ``"LatentImage"`` -> ``latent_image``."""
    s = _ascii(name)
    if not s.isupper():
        s = _CAMEL.sub("_", s)
    s = _NON_WORD.sub("_", s).strip("_").lower()
    return _fix(s, fallback, reserved)


def class_name(class_type: str, *, reserved: Iterable[str] = ()) -> str:
    """A class name for a ``class_type``: kept when it is already an identifier, else its words
    joined in CamelCase (``"Image Resize (rgthree)"`` -> ``ImageResizeRgthree``)."""
    if class_type.isidentifier() and class_type.isascii() and not keyword.iskeyword(class_type):
        base = class_type
    else:
        words = [w for w in _NON_WORD.split(_ascii(class_type)) if w]
        base = "".join(w[0].upper() + w[1:] for w in words)
    base = base.lstrip("_")
    return _fix(base, "Node", reserved)


class Namer:
    """Hands out unique names: the first ``x`` is ``x``, then ``x_2``, ``x_3`` ... in call order
    (deterministic for a deterministic order of calls)."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.taken = set(taken)

    def __call__(self, name: str) -> str:
        cand, i = name, 2
        while cand in self.taken:
            cand = f"{name}_{i}"
            i += 1
        self.taken.add(cand)
        return cand


def is_literal_safe(value: Any) -> bool:
    """True for values :func:`literal` can write: JSON-like data with finite floats."""
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(is_literal_safe(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_literal_safe(v) for k, v in value.items())
    return False


def _str_lit(s: str) -> str:
    r = repr(s)
    if r.startswith("'") and '"' not in s:
        # prefer double quotes, as the formatter does
        r = '"' + r[1:-1].replace("\\'", "'") + '"'
    return r


def _lit(value: Any) -> str:
    if isinstance(value, str):
        return _str_lit(value)
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, tuple):
        inner = ", ".join(_lit(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_lit(v) for v in value) + "]"
    return "{" + ", ".join(f"{_str_lit(k)}: {_lit(v)}" for k, v in value.items()) + "}"


def literal(value: Any) -> str:
    """Python source for a JSON-like value (``repr()`` of each scalar, double quotes preferred),
    checked by parsing it back."""
    if isinstance(value, str):
        return _str_lit(value)  # repr() of a str is always a valid literal of that str
    if value is None or isinstance(value, (bool, int)):
        return repr(value)
    if not is_literal_safe(value):
        raise ValueError(f"not a literal value: {value!r}")
    text = _lit(value)
    back = ast.literal_eval(text)
    if back != value or type(back) is not type(value):
        raise ValueError(f"literal does not round-trip: {value!r}")  # pragma: no cover
    return text


def wrap(open_: str, items: list[str], close: str, indent: int, width: int = 100) -> str:
    """``open_ + items + close`` on one line when it fits in ``width`` at ``indent``, else one
    item per line with a trailing comma (the formatter's layout)."""
    one = open_ + ", ".join(items) + close
    if indent + len(one) <= width and not any("\n" in i for i in items):
        return one
    pad = " " * (indent + 4)
    return open_ + "\n" + "".join(f"{pad}{i},\n" for i in items) + " " * indent + close


def docstring(text: str, indent: str = "    ") -> str:
    """A triple-quoted docstring holding ``text``; no spec text can end it early. Control
    characters are dropped and backslashes and quotes escaped; the result is parsed back and
    checked, falling back to ``repr()``."""
    lines = []
    for ln in text.replace("\r\n", "\n").strip().split("\n"):
        if not ln.isprintable():  # drop control and format characters (slow path, rare)
            ln = "".join(ch for ch in ln if unicodedata.category(ch)[0] != "C")
        lines.append(ln.rstrip())
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    body = "\n".join(lines)
    esc = body.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if esc.endswith('"'):
        esc = esc[:-1] + '\\"'
    if "\n" in esc:
        parts = esc.split("\n")
        src = '"""' + parts[0] + "\n" + "\n".join((indent + p) if p else "" for p in parts[1:])
        src += "\n" + indent + '"""'
    else:
        src = '"""' + esc + '"""'
    try:
        parsed = ast.literal_eval(src)
    except (SyntaxError, ValueError):  # pragma: no cover - defensive
        return repr(body)
    expect = body if "\n" not in body else None
    if expect is not None and parsed != expect:  # pragma: no cover - defensive
        return repr(body)
    return src
