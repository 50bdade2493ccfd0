"""Where things are in a JSON text: the line and column of an object key or an array element.

>>> loc = JsonLocator('{"3": {"inputs": {"seed": 5}}}')
>>> loc.locate(("3", "inputs", "seed"))
(1, 19)

Lines and columns count from 1, columns in characters (as editors and ruff count them). The
position of a key is that of its opening quote; of an array element, its first character.

Used by ``lint`` to print ``file:LINE:COL:`` for a finding. It is lazy: a lookup decodes only
the containers on its path (with the C decoder of :mod:`json`, each container once), so
locating a few findings in a large workflow costs about one ``json.loads`` of the parts it
walks through, not a Python-level scan of the whole text. The text is assumed to be JSON that
:func:`json.loads` accepted; a path that is not there gives ``None``. With duplicate keys the
last one wins, as in :func:`json.loads`.
"""

from __future__ import annotations

import bisect
import json
import re
from json import decoder as _json_decoder
from typing import Any

__all__ = ["JsonPath", "JsonLocator", "json_positions"]

JsonPath = tuple["str | int", ...]

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip(s: str, i: int) -> int:
    """The offset of the first non-whitespace character at or after ``i``."""
    m = _WS.match(s, i)
    return m.end() if m is not None else i


_scanstring: Any = getattr(_json_decoder, "scanstring")  # noqa: B009 - C version; untyped in typeshed


class JsonLocator:
    """Positions in one JSON text (see the module docstring)."""

    def __init__(self, text: str) -> None:
        self.text = text
        # offset of a container -> {key: (key offset, value offset)} or [element offsets]
        self._members: dict[int, dict[str, tuple[int, int]] | list[int]] = {}
        self._newlines: list[int] | None = None

    def _container(self, at: int) -> dict[str, tuple[int, int]] | list[int]:
        hit = self._members.get(at)
        if hit is not None:
            return hit
        s = self.text
        i = _skip(s, at + 1)
        out: dict[str, tuple[int, int]] | list[int]
        if s[at] == "{":
            members: dict[str, tuple[int, int]] = {}
            while s[i] == '"':
                key, j = _scanstring(s, i + 1)
                j = _skip(s, j) + 1  # past the ':'
                v = _skip(s, j)
                members[key] = (i, v)
                _, end = _DECODER.raw_decode(s, v)
                i = _skip(s, end)
                if s[i] != ",":
                    break
                i = _skip(s, i + 1)
            out = members
        else:
            elements: list[int] = []
            while s[i] != "]":
                elements.append(i)
                _, end = _DECODER.raw_decode(s, i)
                i = _skip(s, end)
                if s[i] != ",":
                    break
                i = _skip(s, i + 1)
            out = elements
        self._members[at] = out
        return out

    def _walk(self, path: JsonPath) -> tuple[int | None, int] | None:
        """(offset of the path's key or element, offset of its value), or None."""
        s = self.text
        at = _skip(s, 0)
        pos = None
        for p in path:
            if at >= len(s) or s[at] not in "{[":
                return None
            members = self._container(at)
            if isinstance(members, dict):
                if not isinstance(p, str) or p not in members:
                    return None
                pos, at = members[p]
            else:
                if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p < len(members):
                    return None
                pos = at = members[p]
        return pos, at

    def offset(self, path: JsonPath) -> int | None:
        """The character offset of ``path`` (a key's quote, an element's first character),
        or None when the text has no such path (or for ``()``, the document itself)."""
        got = self._walk(path)
        return got[0] if got is not None else None

    def locate(self, path: JsonPath) -> tuple[int, int] | None:
        """``(line, column)`` of ``path``, or None when it is not in the text."""
        off = self.offset(path)
        if off is None:
            return None
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer("\n", self.text)]
        line = bisect.bisect_left(self._newlines, off)
        col = off - (self._newlines[line - 1] + 1 if line else 0)
        return line + 1, col + 1

    def children(self, path: JsonPath) -> list[str | int]:
        """The keys (or indexes) of the container at ``path`` (empty for a scalar)."""
        got = self._walk(path)
        if got is None or got[1] >= len(self.text) or self.text[got[1]] not in "{[":
            return []
        members = self._container(got[1])
        return list(members) if isinstance(members, dict) else list(range(len(members)))


def json_positions(text: str) -> dict[JsonPath, tuple[int, int]]:
    """``{path: (line, column)}`` for every key and element of the JSON ``text`` (a full walk:
    for tests and small texts; :class:`JsonLocator` looks up only what it is asked)."""
    loc = JsonLocator(text)
    out: dict[JsonPath, tuple[int, int]] = {}
    todo: list[JsonPath] = [()]
    while todo:
        path = todo.pop()
        for child in loc.children(path):
            sub = (*path, child)
            got = loc.locate(sub)
            if got is not None:
                out[sub] = got
                todo.append(sub)
    return out
