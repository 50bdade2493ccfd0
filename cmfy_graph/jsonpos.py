"""Where things are in a JSON text: the line and column of every object key and array element.

>>> pos = json_positions('{"3": {"inputs": {"seed": 5}}}')
>>> pos[("3", "inputs", "seed")]
(1, 19)

Lines and columns count from 1, columns in characters (as editors and ruff count them). The
position of a key is that of its opening quote; of an array element, its first character.
Used by ``lint`` to print ``file:LINE:COL:`` for a finding; the text is assumed to be JSON
that :func:`json.loads` accepted (on anything else the positions found so far are returned).
"""

from __future__ import annotations

import bisect
import json
import re

__all__ = ["JsonPath", "json_positions"]

JsonPath = tuple["str | int", ...]

_TOKEN = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|([{}\[\]:,])|([^\s{}\[\]:,"]+))', re.S)


def json_positions(text: str) -> dict[JsonPath, tuple[int, int]]:
    """``{path: (line, column)}`` for every key and element of the JSON ``text``."""
    newlines = [i for i, ch in enumerate(text) if ch == "\n"]
    offsets: dict[JsonPath, int] = {}
    # stack of [path, is_object, next index or pending key]
    stack: list[list[object]] = []
    path: JsonPath = ()
    expect_key = False
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            break
        pos = m.end()
        string, punct, _scalar = m.groups()
        start = m.start(1) if string else m.start(2) if punct else m.start(3)
        if start < 0:  # trailing whitespace
            break
        if punct in ("}", "]"):
            if stack:
                path = stack.pop()[0]  # type: ignore[assignment]
            expect_key = bool(stack) and stack[-1][1] is True
            continue
        if punct == ",":
            if stack and stack[-1][1] is True:
                expect_key = True
            continue
        if punct == ":":
            continue
        if expect_key and string is not None:
            key = json.loads(string)
            stack[-1][2] = key
            offsets[(*path, key)] = start
            expect_key = False
            continue
        # a value: where is it?
        if stack:
            frame = stack[-1]
            if frame[1] is True:
                here: JsonPath = (*path, frame[2])  # type: ignore[arg-type]
            else:
                idx = frame[2]
                assert isinstance(idx, int)
                here = (*path, idx)
                frame[2] = idx + 1
                offsets[here] = start
        else:
            here = ()
        if punct in ("{", "["):
            stack.append([path, punct == "{", None if punct == "{" else 0])
            path = here
            expect_key = punct == "{"
    return {p: _line_col(newlines, off) for p, off in offsets.items()}


def _line_col(newlines: list[int], offset: int) -> tuple[int, int]:
    line = bisect.bisect_left(newlines, offset)
    col = offset - (newlines[line - 1] + 1 if line else 0)
    return line + 1, col + 1
