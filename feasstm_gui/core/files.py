"""Files: read safely, written whole.

Reading input files that may not be what their names say: only regular files, up to a size.
A named pipe called `labels.txt` or `000099.jpg` blocked a read forever; a symbolic link to
`/dev/zero` or `/dev/urandom` was read without end; a 10 GB file named `.jpg` was read whole; a
symbolic link loop made a folder listing fail and the whole import with it. Here a file is opened
without blocking (O_NONBLOCK: opening a pipe with no writer returns at once), checked with
`fstat` on the open descriptor (so a file swapped after a check is still caught), and read only
when it is a regular file no larger than the caller's cap. `entry_kind` names what a folder entry
is, without opening it, for a listing that must go on past odd entries.

Writing: files that appear whole or not at all, written under a temporary name beside the
target, then renamed over it, so a reader (or a crash) sees the old file or the whole new one. The
one helper for every such write: images and crops, clip tables and TXT files, settings, the lock
note, the rating report, video copies and cuts, database backups.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Largest image file read from an input folder (an 8K PNG photograph is about 50 MB).
IMAGE_MAX_BYTES = 64 * 1024 * 1024
#: Largest text file read (label TXT, clip table, ratings CSV, frame list).
TEXT_MAX_BYTES = 64 * 1024 * 1024

_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


class NotReadable(OSError):
    """The file is not a regular file, is too large, or cannot be opened; `reason` says which,
    for a person ("a named pipe, not a file"), without the path."""

    def __init__(self, reason: str, path: str | Path, err: int = errno.EINVAL):
        super().__init__(err, reason, str(path))
        self.reason = reason


def mode_kind(mode: int) -> str | None:
    """None for a regular file's st_mode, else what it is ("a named pipe", ...)."""
    if stat.S_ISREG(mode):
        return None
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def entry_kind(path: str | Path) -> str:
    """What a folder entry is: "file", "folder", or why it cannot be used ("a named pipe", "a
    symbolic link loop", "a broken symbolic link", ...). Never raises."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return _os_reason(exc, path)
    if stat.S_ISDIR(mode):
        return "folder"
    kind = mode_kind(mode)
    if kind is None:
        return "file"
    return _with_target(kind, path)


def read_regular(path: str | Path, limit: int) -> bytes:
    """The bytes of `path` when it is a regular file (symbolic links followed) of at most
    `limit` bytes; NotReadable (an OSError) naming why otherwise. Never blocks on a pipe."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(
        os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise NotReadable(_os_reason(exc, path), path, exc.errno or errno.EIO) from exc
    try:
        info = os.fstat(fd)
        kind = mode_kind(info.st_mode)
        if kind is not None:
            raise NotReadable(f"{_with_target(kind, path)}, not a file", path)
        if info.st_size > limit:
            raise NotReadable(f"{_size(info.st_size)}, larger than the {_size(limit)} this "
                              "file may have", path, errno.EFBIG)
        chunks, total = [], 0
        while True:  # a file growing while read stops at the cap too
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise NotReadable(f"larger than the {_size(limit)} this file may have", path,
                                  errno.EFBIG)
        return b"".join(chunks)
    except NotReadable:
        raise
    except OSError as exc:
        raise NotReadable(_os_reason(exc, path), path, exc.errno or errno.EIO) from exc
    finally:
        os.close(fd)


def regular_file_problem(path: str | Path) -> str | None:
    """None when `path` is a regular file (links followed), else why not; for files that are
    handed to another reader (a video to FFmpeg) rather than read here."""
    kind = entry_kind(path)
    if kind == "file":
        return None
    return kind if kind != "folder" else "a folder, not a file"


def _os_reason(exc: OSError, path: str | Path) -> str:
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop (the link leads back to itself)"
    if exc.errno == errno.ENOENT:
        return "a broken symbolic link" if os.path.islink(path) else "no such file"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENXIO:
        return "a socket or device that cannot be read"
    return exc.strerror or str(exc)


def _with_target(kind: str, path: str | Path) -> str:
    """'a character device' -> 'a character device (a link to /dev/zero)'."""
    try:
        if os.path.islink(path):
            return f"{kind} (a link to {os.path.realpath(path)})"
    except OSError:
        pass
    return kind


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


# ------------------------------------------------------------ writing


def atomic_write(path: str | Path, data: bytes | bytearray | memoryview | str, *,
                 durable: bool = False, encoding: str = "utf-8") -> Path:
    """Write `data` (text is encoded with `encoding`) to a new temporary file beside `path`,
    then rename it over `path`. `durable` also flushes the data to disk before the rename
    (slower; worth it for small, precious files). Raises OSError; nothing is left behind."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode(encoding)
    tmp = None
    try:
        fd, tmp = _create_temp_beside(path)
        try:
            _write_all(fd, data)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            _remove_quietly(tmp)
    return path


@contextmanager
def replacing(path: str | Path, tmp: str | Path | None = None) -> Iterator[Path]:
    """For a writer that makes the file itself (a copy, an encoder, SQLite's backup): yields
    the temporary path to write (`tmp`, or a name beside `path`); when the block ends without
    an error it is renamed over `path`, else removed."""
    path = Path(path)
    tmp = Path(tmp) if tmp is not None else path.with_name(
        f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise


def _create_temp_beside(path: Path) -> tuple[int, Path]:
    """A new file in the same folder (so the rename stays on one file system)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def _write_all(fd: int, data) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _remove_quietly(tmp: Path) -> None:
    # The write already failed and is being reported; a leftover temp file is the lesser problem.
    try:
        os.unlink(tmp)
    except OSError:
        pass
