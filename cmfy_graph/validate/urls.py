"""The cmfy profile's URL rules: model URLs (HTTPS, pinned Hugging Face revisions) and webhook URLs
(HTTPS, public).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from ..rules import rule
from ._common import _short
from .report import Finding

# -- URLs (cmfy.cloud) ----------------------------------------------------------------------------

_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet")


def _url_finding(code: str, message: str, hint: str | None = None) -> Finding:
    return Finding(code=code, severity=rule(code).severity, message=message, hint=hint)


def check_model_url(url: str) -> list[Finding]:
    """cmfy.cloud's rules for a model given by URL (``../shared/cmfy_cloud_api.md``).

    HTTPS only (``model_url_not_allowed``); a Hugging Face URL should be a ``/resolve/`` URL
    pinned to a commit (``hf_blob_url``, ``hf_unpinned_revision``). Findings carry no node.
    """
    out: list[Finding] = []
    try:
        parts = urlsplit(url)
    except ValueError:
        return [_url_finding("model_url_not_allowed", f"{url!r} is not a valid URL")]
    if parts.scheme != "https" or not parts.hostname:
        out.append(
            _url_finding(
                "model_url_not_allowed",
                f"{url!r}: model URLs must be https:// URLs (Hugging Face, Civitai, S3, "
                "Azure Blob or plain HTTPS)",
            )
        )
        return out
    host = parts.hostname.lower()
    if host in ("huggingface.co", "hf.co", "www.huggingface.co"):
        seg = [s for s in parts.path.split("/") if s]
        if len(seg) >= 4 and seg[2] == "blob":
            out.append(
                _url_finding(
                    "hf_blob_url",
                    f"{url!r} is a Hugging Face page, not the file",
                    hint="use /resolve/ instead of /blob/",
                )
            )
        if len(seg) >= 5 and seg[2] in ("resolve", "blob"):
            rev = unquote(seg[3])
            if not _HEX40.match(rev):
                out.append(
                    _url_finding(
                        "hf_unpinned_revision",
                        f"{url!r} uses the revision {rev!r}: the file can change under you "
                        "and the cache key stays the same",
                        hint="pin a commit hash: /resolve/<40-hex commit>/",
                    )
                )
    return out


def _normalise_url(url: str) -> str:
    try:
        p = urlsplit(url)
    except ValueError:
        return url
    host = (p.hostname or "").lower()
    port = p.port if p.port not in (None, 443, 80) else None
    netloc = host + (f":{port}" if port else "")
    query = "&".join(
        sorted(q for q in p.query.split("&") if q and q.lower() not in ("download=true",))
    )
    path = unquote(p.path).rstrip("/")
    if host == "hf.co":
        netloc = "huggingface.co"
    return f"{p.scheme.lower()}://{netloc}{path}" + (f"?{query}" if query else "")


def check_webhook_url(url: Any, allow_insecure: bool = False) -> list[Finding]:
    """cmfy.cloud's rules for ``webhook_url``: HTTPS and publicly reachable.

    Returns warnings (``webhook_not_https``, ``webhook_private``, ``webhook_invalid``); with
    ``allow_insecure`` (a local test receiver) plain HTTP and private hosts pass.
    """
    if not isinstance(url, str) or not url:
        return [_url_finding("webhook_invalid", f"webhook_url {_short(url)} is not a URL string")]
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return [_url_finding("webhook_invalid", f"webhook_url {url!r} is not a valid URL")]
    if parts.scheme not in ("http", "https") or not host:
        return [_url_finding("webhook_invalid", f"webhook_url {url!r} is not an http(s) URL")]
    out: list[Finding] = []
    if allow_insecure:
        return out
    if parts.scheme != "https":
        out.append(
            _url_finding(
                "webhook_not_https",
                f"webhook_url {url!r} is not HTTPS: cmfy.cloud requires https://",
            )
        )
    if _is_private_host(host):
        out.append(
            _url_finding(
                "webhook_private",
                f"webhook_url host {host!r} is not publicly reachable: cmfy.cloud cannot "
                "deliver to it",
            )
        )
    return out


def _is_private_host(host: str) -> bool:
    h = host.lower().rstrip(".")
    if h == "localhost" or h.endswith(_PRIVATE_SUFFIXES) or "." not in h and ":" not in h:
        return True
    try:
        ip = ipaddress.ip_address(h)
    except ValueError:
        return False
    return not ip.is_global
