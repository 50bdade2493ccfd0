"""One sweep per directory: an advisory lock on ``DIR/.lock``.

The lock is an OS file lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows), so it goes
away with the process that holds it, crash or ``kill -9`` included: there is never a stale lock
to delete by hand. The file also says who holds it (process id, host, start time, command), so
that a second sweep into the same directory is refused with an error naming the first.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from ..sweep import SweepError

__all__ = ["DirLock", "LOCK_NAME"]

LOCK_NAME = ".lock"


def _try_lock(fh: IO[str]) -> bool:
    try:
        if sys.platform == "win32":  # pragma: no cover - not run on CI
            import msvcrt

            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class DirLock:
    """Hold ``DIR/.lock`` for the life of a ``with`` block; :class:`SweepError` (exit code 2)
    when another process holds it."""

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.path = Path(out_dir) / LOCK_NAME
        self._fh: IO[str] | None = None

    def __enter__(self) -> DirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until __exit__
        if not _try_lock(fh):
            fh.seek(0)
            holder = _describe(fh.read())
            fh.close()
            raise SweepError(
                f"{self.path.parent} is in use by another sweep ({holder}); wait for it to "
                "end, or give this one another --out"
            )
        fh.seek(0)
        fh.truncate()
        fh.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "argv": sys.argv,
                }
            )
            + "\n"
        )
        fh.flush()
        self._fh = fh
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            fh.close()  # closing the descriptor releases the lock


def _describe(text: str) -> str:
    try:
        info: Any = json.loads(text)
    except ValueError:
        return "a process that has not said which"
    if not isinstance(info, dict):
        return "a process that has not said which"
    parts = [f"process {info.get('pid')} on {info.get('host')}"]
    if info.get("started"):
        parts.append(f"started {info['started']}")
    argv = info.get("argv")
    if isinstance(argv, list) and argv:
        parts.append("`" + " ".join(str(a) for a in argv)[:200] + "`")
    return ", ".join(parts)
