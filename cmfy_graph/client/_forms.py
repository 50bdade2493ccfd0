"""``multipart/form-data`` bodies read by the project's fake servers (uploads)."""

from __future__ import annotations

import email.parser
import email.policy
from typing import Any

__all__ = ["parse_form"]


def parse_form(content_type: str, raw: bytes) -> dict[str, Any]:
    """The fields of a multipart form: ``name -> (filename, bytes)`` for a file, ``name ->
    str`` for a plain field."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    fields: dict[str, Any] = {}
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        name = str(part.get_param("name", header="content-disposition"))
        fname = part.get_filename()
        fields[name] = (fname, data) if fname is not None else data.decode()
    return fields
