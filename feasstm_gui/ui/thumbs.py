"""Images decoded off the GUI thread, kept in a bounded LRU cache.

`ImageLoader.get(path)` never touches the disk: it answers from the cache or returns None and
queues a decode. Worker threads decode to QImage (newest request first, so a fast scroll does
not wait for thumbnails that have scrolled away); the GUI thread turns them into pixmaps and
emits `ready(path)`. A file that is missing or cannot be decoded is remembered as failed, shown
as a placeholder, and reported once through `failed(path, reason)`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QFont, QImage, QImageReader, QPainter, QPixmap

from feasstm_gui.core.ingest.full_frames import full_size


@dataclass
class Loaded:
    """A decoded image and the size of the file it came from (box coordinates use that)."""

    pixmap: QPixmap
    source_size: QSize


class Failed:
    """A file that could not be read: why."""

    def __init__(self, reason: str):
        self.reason = reason


class _Sink(QObject):
    """Lives on the GUI thread; worker threads emit through it (queued)."""

    decoded = Signal(str, QImage, QSize, str)


class _Drain(QRunnable):
    """Decodes queued requests, newest first, until the queue is empty."""

    def __init__(self, loader: ImageLoader):
        super().__init__()
        self._loader = loader
        self.setAutoDelete(True)

    def run(self) -> None:
        loader = self._loader
        while True:
            path = loader._pop_request()
            if path is None:
                return
            try:
                image, size, error = _decode(path, loader.max_side, loader.exact)
            except Exception as exc:  # noqa: BLE001 - a failed image, never a stopped loader
                image, size, error = QImage(), QSize(), f"cannot be decoded ({exc})"
            try:
                loader._sink.decoded.emit(path, image, size, error)
            except RuntimeError:  # the window closed while this image was decoded
                return


def _decode(path: str, limit: int, exact: bool) -> tuple[QImage, QSize, str]:
    reader = QImageReader(path)
    reader.setAutoTransform(False)
    size = reader.size()
    longer = max(size.width(), size.height())
    if size.isValid() and limit and (longer > limit or (exact and longer != limit)):
        reader.setScaledSize(size.scaled(limit, limit, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        return image, size, reader.errorString() or "cannot be decoded"
    full = full_size(path)  # a stored preview: boxes and landmarks are in the full frame's pixels
    if full is not None:
        size = QSize(*full)
    return image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied), size, ""


class ImageLoader(QObject):
    """Asynchronous image decoding with an LRU cache bounded in bytes. Images are scaled to
    `max_side` (their longer side) as they are decoded, down only unless `exact`; 0 keeps the
    file's size."""

    ready = Signal(str)
    failed = Signal(str, str)

    def __init__(self, *, max_bytes: int = 96 << 20, max_side: int = 0, exact: bool = False,
                 threads: int = 2, max_pending: int = 512, parent: QObject | None = None):
        super().__init__(parent)
        self.exact = exact
        self.max_bytes = max_bytes
        self.max_side = max_side
        self.max_pending = max_pending
        self._cache: OrderedDict[str, Loaded | Failed] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._pending: OrderedDict[str, None] = OrderedDict()  # newest last
        self._requested: set[str] = set()  # pending or being decoded
        self._draining = 0  # _Drain runnables started and not finished
        self._threads = threads
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._sink = _Sink()
        self._sink.decoded.connect(self._on_decoded, Qt.ConnectionType.QueuedConnection)

    # -- the GUI side ---------------------------------------------------------------------

    def get(self, path: str) -> Loaded | Failed | None:
        """The cached image, a Failed marker, or None (then a decode is queued)."""
        hit = self._cache.get(path)
        if hit is not None:
            self._cache.move_to_end(path)
            return hit
        self.request(path)
        return None

    def peek(self, path: str) -> Loaded | Failed | None:
        return self._cache.get(path)

    def request(self, path: str) -> None:
        with self._lock:
            if path in self._requested:
                if path in self._pending:
                    self._pending.move_to_end(path)
                return
            self._requested.add(path)
            self._pending[path] = None
            while len(self._pending) > self.max_pending:  # scrolled away: forget the oldest
                old, _ = self._pending.popitem(last=False)
                self._requested.discard(old)
            if self._draining >= self._threads:
                return
            self._draining += 1
        self._pool.start(_Drain(self))

    def forget(self, path: str) -> None:
        """Drop a cached image (its file was rewritten, e.g. by re-align)."""
        item = self._cache.pop(path, None)
        if isinstance(item, Loaded):
            self._bytes -= _cost(item)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
            self._requested.clear()
        self._cache.clear()
        self._bytes = 0

    def set_max_side(self, side: int) -> None:
        """Decode at this size from now on (thumbnails at the size they are painted, so
        painting is a plain copy); what is cached at another size is dropped."""
        if side != self.max_side:
            self.max_side = side
            self.clear()

    def wait(self, msecs: int = 5000) -> bool:
        """Wait for queued decodes (tests and benchmarks)."""
        return self._pool.waitForDone(msecs)

    @property
    def cached_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._cache)

    # -- worker side ------------------------------------------------------------------------

    def _pop_request(self) -> str | None:
        with self._lock:
            if not self._pending:
                self._draining -= 1  # under the lock: a request after this starts a new one
                return None
            path, _ = self._pending.popitem(last=True)  # newest first
            return path

    def _on_decoded(self, path: str, image: QImage, size: QSize, error: str) -> None:
        with self._lock:
            self._requested.discard(path)
        if error:
            self._cache[path] = Failed(error)
            self.failed.emit(path, error)
        else:
            item = Loaded(QPixmap.fromImage(image), size)
            self._cache[path] = item
            self._bytes += _cost(item)
            self._evict()
        self.ready.emit(path)

    def _evict(self) -> None:
        while self._bytes > self.max_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            if isinstance(old, Loaded):
                self._bytes -= _cost(old)


def _cost(item: Loaded) -> int:
    return item.pixmap.width() * item.pixmap.height() * 4 + 256


_PLACEHOLDERS: dict[tuple[str, int], QPixmap] = {}


def placeholder(kind: str, size: int) -> QPixmap:
    """A grey square while a thumbnail loads ('loading'), or a crossed one when the file is
    missing or unreadable ('missing'), or when a frame has no aligned face ('noface')."""
    key = (kind, size)
    pix = _PLACEHOLDERS.get(key)
    if pix is not None:
        return pix
    pix = QPixmap(size, size)
    pix.fill(QColor("#2b2b2b") if kind == "loading" else QColor("#402020"))
    if kind != "loading":
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QColor("#c0392b") if kind == "missing" else QColor("#888888"))
        if kind == "missing":
            p.drawLine(6, 6, size - 6, size - 6)
            p.drawLine(size - 6, 6, 6, size - 6)
        font = QFont()
        font.setPixelSize(max(9, size // 9))
        p.setFont(font)
        p.setPen(QColor("#eeeeee"))
        text = "missing" if kind == "missing" else "no face"
        p.drawText(pix.rect(), Qt.AlignmentFlag.AlignCenter, text)
        p.end()
    _PLACEHOLDERS[key] = pix
    return pix
