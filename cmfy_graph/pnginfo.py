"""Read and write PNG text chunks (``tEXt``, ``zTXt``, ``iTXt``) with the standard library.

ComfyUI's SaveImage stores the API prompt under the keyword ``"prompt"`` and the editor's UI
workflow under ``"workflow"``, each as JSON text (Pillow writes ``tEXt`` when the text is
Latin-1, else ``iTXt``). :func:`read_text_chunks` returns every text chunk;
:func:`add_text_chunks` writes some into a PNG.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator, Mapping

__all__ = [
    "PNG_SIGNATURE",
    "PngError",
    "is_png",
    "iter_chunks",
    "read_text_chunks",
    "add_text_chunks",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: Refuse to inflate a compressed text chunk beyond this many bytes (a zip bomb guard).
MAX_TEXT_BYTES = 64 * 1024 * 1024


class PngError(ValueError):
    """The data is not a PNG, or its chunks are damaged."""


def is_png(data: bytes) -> bool:
    """True when ``data`` starts with the PNG signature."""
    return data[:8] == PNG_SIGNATURE


def iter_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Yield ``(chunk_type, chunk_data)`` up to ``IEND``; a truncated tail ends the walk.

    Raises :class:`PngError` when ``data`` is not a PNG. CRCs are not checked (a reader should
    not refuse a file ComfyUI itself would read).
    """
    if not is_png(data):
        raise PngError("not a PNG file (bad signature)")
    pos = 8
    n = len(data)
    while pos + 8 <= n:
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        start = pos + 8
        end = start + length
        if end + 4 > n:
            return
        yield ctype, data[start:end]
        if ctype == b"IEND":
            return
        pos = end + 4


def _inflate(raw: bytes) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(raw, MAX_TEXT_BYTES)
    if d.unconsumed_tail:
        raise PngError("a compressed text chunk is too large")
    return out


def _parse_text(ctype: bytes, body: bytes) -> tuple[str, str] | None:
    key, sep, rest = body.partition(b"\x00")
    if not sep:
        return None
    keyword = key.decode("latin-1")
    if ctype == b"tEXt":
        return keyword, rest.decode("latin-1")
    if ctype == b"zTXt":
        if not rest:
            return None
        return keyword, _inflate(rest[1:]).decode("latin-1")
    if ctype == b"iTXt":
        if len(rest) < 2:
            return None
        compressed, _method = rest[0], rest[1]
        rest = rest[2:]
        _lang, _, rest = rest.partition(b"\x00")
        _tkey, _, text = rest.partition(b"\x00")
        if compressed:
            text = _inflate(text)
        return keyword, text.decode("utf-8", errors="replace")
    return None


def read_text_chunks(data: bytes) -> dict[str, str]:
    """Every text chunk of a PNG as ``{keyword: text}`` (the first of a repeated keyword wins).

    Raises :class:`PngError` when ``data`` is not a PNG or a compressed chunk is broken.
    """
    out: dict[str, str] = {}
    for ctype, body in iter_chunks(data):
        if ctype in (b"tEXt", b"zTXt", b"iTXt"):
            try:
                kv = _parse_text(ctype, body)
            except zlib.error as exc:
                raise PngError(f"a compressed text chunk is damaged: {exc}") from None
            if kv is not None and kv[0] not in out:
                out[kv[0]] = kv[1]
    return out


def _chunk(ctype: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(ctype + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", crc)


def _text_chunk(key: str, text: str) -> bytes:
    k = key.encode("latin-1")
    if not 1 <= len(k) <= 79 or b"\x00" in k:
        raise ValueError(f"invalid PNG text keyword {key!r}")
    try:
        return _chunk(b"tEXt", k + b"\x00" + text.encode("latin-1"))
    except UnicodeEncodeError:
        return _chunk(b"iTXt", k + b"\x00\x00\x00\x00\x00" + text.encode("utf-8"))


def add_text_chunks(data: bytes, texts: Mapping[str, str]) -> bytes:
    """Return the PNG ``data`` with a text chunk per item of ``texts`` inserted before the
    first ``IDAT`` (``tEXt`` when the text is Latin-1, else ``iTXt``). Existing text chunks
    with the same keywords are dropped."""
    if not is_png(data):
        raise PngError("not a PNG file (bad signature)")
    out = [PNG_SIGNATURE]
    inserted = False
    for ctype, body in iter_chunks(data):
        if ctype in (b"tEXt", b"zTXt", b"iTXt"):
            kw = body.partition(b"\x00")[0].decode("latin-1")
            if kw in texts:
                continue
        if ctype in (b"IDAT", b"IEND") and not inserted:
            out.extend(_text_chunk(k, v) for k, v in texts.items())
            inserted = True
        out.append(_chunk(ctype, body))
    return b"".join(out)
