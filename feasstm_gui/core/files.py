"""Files that appear whole or not at all: written under a temporary name beside the target,
then renamed over it, so a reader (or a crash) sees the old file or the whole new one.

The one helper for every such write: images and crops, clip tables and TXT files, settings, the
lock note, the rating report, video copies and cuts, database backups.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
