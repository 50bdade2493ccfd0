"""Where things are in a JSON text: the line and column of an object key or an array element.

>>> loc = JsonLocator('{"3": {"inputs": {"seed": 5}}}')
>>> loc.locate(("3", "inputs", "seed"))
(1, 19)

Lines and columns count from 1, columns in characters (as editors and ruff count them). The
position of a key is that of its opening quote; of an array element, its first character.

Used by ``lint`` to print ``file:LINE:COL:`` for a finding. It is lazy: a lookup decodes only
the containers on its path (with the C decoder of :mod:`json`, each container once), so
locating a few findings in a large workflow costs about one ``json.loads`` of the parts it
walks through, up to the member it looks for, not a Python-level scan of the whole text. The
text is assumed to be JSON that :func:`json.loads` accepted; a path that is not there gives
``None``. With duplicate keys (which :func:`json.loads` resolves to the last) the first is
found.
"""

from __future__ import annotations

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


class _Scan:
    """How far one container has been read: its members so far, and where the next starts."""

    __slots__ = ("members", "next")

    def __init__(self, members: dict[str, tuple[int, int]] | list[int], nxt: int | None) -> None:
        self.members = members
        self.next = nxt


class JsonLocator:
    """Positions in one JSON text (see the module docstring)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._scans: dict[int, _Scan] = {}  # offset of a container -> how far it was read

    def _scan(self, at: int) -> _Scan:
        sc = self._scans.get(at)
        if sc is None:
            s = self.text
            i = _skip(s, at + 1)
            empty = s[i] == ("}" if s[at] == "{" else "]")
            members: dict[str, tuple[int, int]] | list[int] = {} if s[at] == "{" else []
            sc = self._scans[at] = _Scan(members, None if empty else i)
        return sc

    def _advance(self, sc: _Scan) -> None:
        """Read one more member of the container (decoding its value to skip it)."""
        s = self.text
        i = sc.next
        assert i is not None
        if isinstance(sc.members, dict):
            key, j = _scanstring(s, i + 1)
            v = _skip(s, _skip(s, j) + 1)  # past the ':'
            sc.members.setdefault(key, (i, v))
            _, end = _DECODER.raw_decode(s, v)
        else:
            sc.members.append(i)
            _, end = _DECODER.raw_decode(s, i)
        end = _skip(s, end)
        sc.next = _skip(s, end + 1) if s[end] == "," else None

    def _member(self, at: int, p: str | int) -> tuple[int, int] | None:
        """(offset of member ``p`` of the container at ``at``, offset of its value)."""
        sc = self._scan(at)
        if isinstance(sc.members, dict):
            if not isinstance(p, str):
                return None
            while p not in sc.members and sc.next is not None:
                self._advance(sc)
            return sc.members.get(p)
        if isinstance(p, bool) or not isinstance(p, int) or p < 0:
            return None
        while len(sc.members) <= p and sc.next is not None:
            self._advance(sc)
        if p >= len(sc.members):
            return None
        return sc.members[p], sc.members[p]

    def _walk(self, path: JsonPath) -> tuple[int | None, int] | None:
        """(offset of the path's key or element, offset of its value), or None."""
        s = self.text
        at = _skip(s, 0)
        pos = None
        for p in path:
            if at >= len(s) or s[at] not in "{[":
                return None
            got = self._member(at, p)
            if got is None:
                return None
            pos, at = got
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
        line = self.text.count("\n", 0, off) + 1
        col = off - (self.text.rfind("\n", 0, off) + 1) + 1
        return line, col

    def children(self, path: JsonPath) -> list[str | int]:
        """The keys (or indexes) of the container at ``path`` (empty for a scalar)."""
        got = self._walk(path)
        if got is None or got[1] >= len(self.text) or self.text[got[1]] not in "{[":
            return []
        sc = self._scan(got[1])
        while sc.next is not None:
            self._advance(sc)
        return list(sc.members) if isinstance(sc.members, dict) else list(range(len(sc.members)))


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
