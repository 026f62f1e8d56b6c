"""Image files: read, check and write them with paths in any script, on any system.

`cv2.imread`/`imwrite` cannot open non-ASCII paths on Windows, and Chinese file names are normal
for this dataset, so every image goes through bytes: `np.fromfile` + `cv2.imdecode` to read,
`cv2.imencode` + an atomic file write to write.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import cv2
import numpy as np

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.files import IMAGE_MAX_BYTES, NotReadable, atomic_write, read_regular

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")

_JPEG_SOI = b"\xff\xd8\xff"
_JPEG_EOI = b"\xff\xd9"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"IEND"


def is_image_name(name: str | Path) -> bool:
    """True for a file name with one of IMAGE_EXTENSIONS (any case)."""
    return Path(name).suffix.lower() in IMAGE_EXTENSIONS


def read_image(path: str | Path) -> np.ndarray | None:
    """The image as a BGR array, or None when the file cannot be read or decoded."""
    try:
        data = np.fromfile(os.fspath(path), dtype=np.uint8)
    except OSError:
        return None
    return _decode(data)


def check_image(path: str | Path) -> tuple[np.ndarray | None, str | None]:
    """Read and decode `path` once: (image, None) when it decodes completely, else (None, reason).

    Lets a caller that needs the pixels avoid decoding the file a second time.
    """
    try:
        data = read_regular(path, IMAGE_MAX_BYTES)
    except NotReadable as exc:  # not a regular file, too large, or an error opening it
        special = exc.errno in (errno.EINVAL, errno.EFBIG)
        return None, exc.reason if special else f"cannot be read ({exc.reason})"
    reason = _container_problem(data)
    if reason:
        return None, reason
    image = _decode(np.frombuffer(data, dtype=np.uint8))
    if image is None:
        kind = _kind(data)
        return None, f"damaged {kind} (cannot be decoded)" if kind else "not an image"
    return image, None


def image_problem(path: str | Path) -> str | None:
    """None when the file decodes completely, else why it does not ("truncated JPEG ...")."""
    return check_image(path)[1]


def write_jpeg(
    path: str | Path, image: np.ndarray, quality: int = 95, *, durable: bool = False
) -> Path:
    """Write `image` (BGR or grey) as a JPEG; the file appears complete or not at all."""
    if image is None or getattr(image, "size", 0) == 0:
        raise ValueError("write_jpeg needs a non-empty image")
    ok, buf = cv2.imencode(".jpg", image, [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise FeasstmError("could not encode the image as JPEG", path=path)
    return atomic_write_bytes(path, buf.tobytes(), durable=durable)


class BackgroundWriter:
    """Writes files (`atomic_write_bytes`) on one background thread, so a job's main thread
    goes on with the next frame meanwhile. `wait()` before recording the files in the store: it
    returns once every file handed over so far is complete, and raises the write error if one
    failed. A failure sticks: every later `wait()` raises it and `succeeded()` is False, so a
    job that stops on it records none of the files after it. Use as a context manager (leaving it
    waits for the files in flight, without raising)."""

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(1, "feasstm-write")
        self._pending: list = []
        self._folders: set[Path] = set()
        self._error: BaseException | None = None

    def write(self, path: str | Path, data: bytes) -> None:
        path = Path(path)
        mkdir = path.parent not in self._folders
        self._folders.add(path.parent)
        self._pending.append(self._pool.submit(self._write, path, data, mkdir))

    @staticmethod
    def _write(path: Path, data: bytes, mkdir: bool) -> None:
        if mkdir:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _write_error(path.parent, exc) from exc
        atomic_write_bytes(path, data)

    def succeeded(self) -> bool:
        """Wait for the files in flight; True when every file so far was written."""
        pending, self._pending = self._pending, []
        for future in pending:
            exc = future.exception()
            if exc is not None and self._error is None:
                self._error = exc
        return self._error is None

    def wait(self) -> None:
        """Wait for the files in flight; raise the first write error (again, once failed)."""
        if not self.succeeded():
            raise self._error  # type: ignore[misc]

    def close(self) -> None:
        """Wait for the files in flight and stop the thread (errors are left to `wait`)."""
        self.succeeded()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def atomic_write_bytes(path: str | Path, data: bytes, *, durable: bool = False) -> Path:
    """`files.atomic_write`, its failure told as a FeasstmError naming the file (a crash leaves
    either the old file or the new one, never half of one)."""
    try:
        return atomic_write(path, data, durable=durable)
    except OSError as exc:
        raise _write_error(Path(path), exc) from exc


def _write_error(path: Path, exc: OSError) -> FeasstmError:
    if exc.errno == errno.ENOSPC:
        return FeasstmError(f"disk full while writing {path}; free some space and try again")
    if exc.errno == errno.EDQUOT:
        return FeasstmError(f"disk quota exceeded while writing {path}; free some space")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return FeasstmError(
            f"cannot write {path}: permission denied; choose a folder you can write to"
        )
    if exc.errno == errno.ENOENT:
        return FeasstmError(f"cannot write {path}: its folder does not exist")
    return FeasstmError(f"cannot write {path}: {exc.strerror or exc}")


def _decode(data: np.ndarray) -> np.ndarray | None:
    if data.size == 0:
        return None
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error:
        return None
    if image is None or image.size == 0:
        return None
    return image


def _kind(data: bytes) -> str | None:
    if data.startswith(_JPEG_SOI):
        return "JPEG"
    if data.startswith(_PNG_SIGNATURE):
        return "PNG"
    if data.startswith(b"BM") and len(data) >= 6:
        return "BMP"
    return None


def _container_problem(data: bytes) -> str | None:
    """Cheap checks that the file is whole, before decoding it (a cut JPEG may decode partly)."""
    if not data:
        return "empty file"
    kind = _kind(data)
    if kind == "JPEG" and not data.rstrip(b"\x00").endswith(_JPEG_EOI):
        return "truncated JPEG (no end-of-image marker)"
    if kind == "PNG":
        at = data.rfind(_PNG_IEND)
        if at < len(_PNG_SIGNATURE) or len(data) < at + len(_PNG_IEND) + 4:
            return "truncated PNG (no IEND chunk)"
    if kind == "BMP":
        declared = int.from_bytes(data[2:6], "little")
        if declared > len(data):
            return f"truncated BMP ({len(data)} of {declared} bytes)"
    return None
