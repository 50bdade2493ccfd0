"""Project settings: the ``[tool.cmfy-graph]`` table of a ``pyproject.toml``.

Found the way ruff and mypy find theirs: from the current directory upwards, the first
``pyproject.toml`` that has a ``[tool.cmfy-graph]`` table; the search stops at the top of a
repository (a directory holding ``.git`` or ``.hg``) and at the filesystem root::

    [tool.cmfy-graph]
    spec = "nodes/object_info.json"   # or a list, or a server URL, or "core" / "core-2025"
    profile = "cmfy"                  # lint profile: "comfyui" or "cmfy"
    server = "http://127.0.0.1:8188"  # ComfyUI server(s) of the comfyui backend (or a list)
    api_url = "https://api.cmfy.cloud"  # the cmfy.cloud API's base URL

Each setting is a default: a command-line flag wins over it, and so does an environment
variable where one exists (``CMFY_API_URL``). A relative spec path is relative to the
directory of the ``pyproject.toml``. An unknown key or a value of the wrong type is an error
that names the file (exit code 2), not a silent default.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .errors import CmfyGraphError, did_you_mean

if TYPE_CHECKING:
    from .spec import Spec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "Config",
    "ConfigError",
    "find_config",
    "load_config",
    "api_url",
    "project_spec",
    "KEYS",
]

#: the settings of ``[tool.cmfy-graph]``
KEYS = ("spec", "profile", "server", "api_url")

_PROFILES = ("comfyui", "cmfy")


class ConfigError(CmfyGraphError):
    """A ``[tool.cmfy-graph]`` table that cannot be used (names the file and the key)."""

    exit_code = 2


@attrs.frozen(slots=True)
class Config:
    """The project settings; empty (every field unset) when no file has them."""

    #: the ``pyproject.toml`` they came from, or ``None``
    path: Path | None = None
    #: node spec files, URLs or bundled names (relative paths already resolved)
    spec: tuple[str, ...] = ()
    #: the lint profile
    profile: str | None = None
    #: ComfyUI servers of the comfyui backend
    server: tuple[str, ...] = ()
    #: the cmfy.cloud API base URL
    api_url: str | None = None


def find_config(start: str | os.PathLike[str] | None = None) -> Config:
    """The settings of the nearest ``pyproject.toml`` with a ``[tool.cmfy-graph]`` table at or
    above ``start`` (the current directory); an empty :class:`Config` when there is none."""
    here = Path(start if start is not None else os.getcwd()).resolve()
    for d in (here, *here.parents):
        candidate = d / "pyproject.toml"
        if candidate.is_file():
            table = _table(candidate)
            if table is not None:
                return _parse(candidate, table)
        if (d / ".git").exists() or (d / ".hg").exists():
            break
    return Config()


def load_config(path: str | os.PathLike[str]) -> Config:
    """The settings of one ``pyproject.toml`` (an empty :class:`Config` if it has none)."""
    p = Path(path)
    table = _table(p)
    return Config() if table is None else _parse(p.resolve(), table)


def _table(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    tool = doc.get("tool")
    table = tool.get("cmfy-graph") if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.cmfy-graph] must be a table")
    return table


def _strings(path: Path, key: str, value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise ConfigError(
            f"{path}: [tool.cmfy-graph] {key} must be a string or a list of strings, "
            f"not {value!r}"
        )
    return tuple(items)


def _parse(path: Path, table: dict[str, Any]) -> Config:
    for key in table:
        if key not in KEYS:
            raise ConfigError(
                f"{path}: [tool.cmfy-graph] has no setting {key!r}"
                + did_you_mean(key.replace("-", "_"), KEYS)
                + f" (settings: {', '.join(KEYS)})"
            )
    spec = tuple(_spec_path(path.parent, s) for s in _strings(path, "spec", table.get("spec", [])))
    profile = table.get("profile")
    if profile is not None and profile not in _PROFILES:
        raise ConfigError(
            f"{path}: [tool.cmfy-graph] profile must be one of {', '.join(_PROFILES)}, "
            f"not {profile!r}" + did_you_mean(str(profile), _PROFILES)
        )
    api_url = table.get("api_url")
    if api_url is not None and (not isinstance(api_url, str) or not api_url):
        raise ConfigError(f"{path}: [tool.cmfy-graph] api_url must be a URL string")
    server = _strings(path, "server", table.get("server", []))
    return Config(path, spec, profile, server, api_url)


def _spec_path(base: Path, value: str) -> str:
    from .spec import is_core_name

    if is_core_name(value) or "://" in value or os.path.isabs(value):
        return value
    return str(base / value)


def api_url(flag: str | None, cfg: Config) -> str | None:
    """The cmfy.cloud API URL: the flag, else ``CMFY_API_URL``, else the config's (``None``:
    the client's default)."""
    return flag or os.environ.get("CMFY_API_URL") or cfg.api_url


def project_spec(flag: Sequence[str] | str | None, cfg: Config | None = None) -> Spec | None:
    """The spec a command uses: loaded from its ``--spec`` flag(s), else from the config's
    ``spec`` (``cfg``, or the one :func:`find_config` finds); ``None`` when neither names one
    (the command's own default applies)."""
    if isinstance(flag, str):
        sources: list[str] = [flag]
    elif flag:
        sources = list(flag)
    else:
        sources = list((cfg if cfg is not None else find_config()).spec)
    if not sources:
        return None
    from .spec import load_spec

    return load_spec(*sources)
