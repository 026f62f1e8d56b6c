"""One writer per project: an OS file lock, with who holds it written beside it."""

from __future__ import annotations

import json
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

from feasstm_gui.core.errors import ProjectLocked
from feasstm_gui.core.files import atomic_write
from feasstm_gui.core.settings import login_name

LOCK_NAME = "project.lock"
INFO_NAME = "project.lock.json"


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - Linux first
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _unlock(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def read_holder(folder: Path) -> dict:
    """Who holds the project's lock, as written when it was taken ({} if unknown)."""
    try:
        return json.loads((folder / INFO_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def describe_holder(holder: dict) -> str:
    if not holder:
        return "another program"
    return (
        f"{holder.get('user', '?')} on {holder.get('host', '?')} "
        f"(process {holder.get('pid', '?')}, since {holder.get('since', '?')})"
    )


class ProjectLock:
    """An exclusive lock on a project folder, released when the process ends (even by kill -9)."""

    def __init__(self, folder: Path, annotator: str | None = None):
        self.folder = Path(folder)
        self.annotator = annotator
        self._fd: int | None = None

    def acquire(self) -> None:
        path = self.folder / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ProjectLocked(
                f"cannot create the lock file ({exc.strerror}); open the project read-only",
                path=path,
            ) from exc
        if not _try_lock(fd):
            os.close(fd)
            holder = read_holder(self.folder)
            raise ProjectLocked(
                f"the project is open for writing by {describe_holder(holder)}; "
                "close it there, or open it read-only",
                path=self.folder,
                holder=holder,
            )
        self._fd = fd
        info = {
            "user": self.annotator or login_name(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        try:
            atomic_write(self.folder / INFO_NAME, json.dumps(info))  # no temp file is left
        except OSError:
            pass  # the lock itself holds; the note of who holds it is a courtesy

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            (self.folder / INFO_NAME).unlink(missing_ok=True)
        except OSError:
            pass
        _unlock(self._fd)
        os.close(self._fd)
        self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None
