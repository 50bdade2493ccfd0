"""A finished job's outputs in Python: as PIL images, from the server or from the files a
download wrote (``pip`` dependency Pillow, already needed by contact sheets).

>>> images = client.images(job)            # fetched into memory, nothing written
>>> images = load_images(client.download(job, "out/"))
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import ApiConnectionError

if TYPE_CHECKING:
    from PIL import Image

    from .jobs import Job

__all__ = ["fetch_images", "load_images"]


def load_images(paths: Iterable[str | os.PathLike[str]]) -> list[Image.Image]:
    """The images of downloaded output files (each loaded, its file closed)."""
    from PIL import Image

    out: list[Image.Image] = []
    for p in paths:
        with Image.open(p) as img:
            img.load()
            out.append(img.copy())
    return out


def fetch_images(
    http: Any,
    job: Job,
    headers_for: Callable[[str], Mapping[str, str]] = lambda url: {},
) -> list[Image.Image]:
    """The output images of a completed ``job`` fetched with the httpx client ``http``
    (``headers_for(url)``: the headers of that URL, credentials only for the job's server)."""
    import httpx
    from PIL import Image

    job.require_completed()
    out: list[Image.Image] = []
    for url in job.outputs:
        try:
            r = http.get(url, headers=dict(headers_for(url)))
        except httpx.TransportError as exc:
            raise ApiConnectionError(f"fetch {url}: {type(exc).__name__}: {exc}") from None
        if r.status_code >= 300:
            from ._base import error_from_response

            raise error_from_response(r.status_code, dict(r.headers), r.content, what=url)
        img = Image.open(io.BytesIO(r.content))
        img.load()
        out.append(img)
    return out
