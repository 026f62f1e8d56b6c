"""A player of a clip's source video, with its sound (QtMultimedia, FFmpeg back end).

Positions are source frame indices, the same numbers the store keys frames by (see
core/ingest/media.py: index counts decoded frames from 0, time = index / fps). A frame the video
sink hands over carries its start time; its index is round(start * fps), so the index the player
reports is the index of the frame on screen, not of a clock that may be ahead of it. A seek asks
for the middle of the frame's time span, so rounding in milliseconds never lands on a neighbour.

Where the video cannot be played (file missing, not a video, no decoder) the player falls back to
the stored frames (extracted images, or crops), shown at their time stamps, and says why, naming
the file. Where there is no sound device the clip plays without sound and the player says so once.

Keys are not handled here: the window's action registry and rating mode call play/pause, step,
slower/faster and loop.
"""

from __future__ import annotations

import bisect
import math
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLoggingCategory, QRectF, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

#: Playback rates offered (the rater and the annotator may slow a performance down).
RATES = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
NO_SOUND = "No sound device found: the clip plays without sound."

# The FFmpeg back end logs which optional libraries (PipeWire, VA-API) it did not find; they
# are optional and the lines name nothing the user can act on.
QLoggingCategory.setFilterRules("qt.multimedia.symbolsresolver=false\n"
                                "qt.multimedia.playbackengine.codec=false\n"
                                "qt.multimedia.ffmpeg.info=false")

_sound_notice_given = False


def _quiet_ffmpeg() -> None:
    """Keep Qt's FFmpeg from printing its own lines on the console ("Input #0 ...", pixel format
    warnings): they name no file the user can act on, and the player reports what went wrong
    (as media.py does for OpenCV's FFmpeg). QT_FFMPEG_DEBUG=1 brings them back."""
    import ctypes
    import glob
    import os

    import PySide6

    if os.environ.get("QT_FFMPEG_DEBUG"):
        return
    folder = os.path.join(os.path.dirname(PySide6.__file__), "Qt", "lib")
    for path in sorted(glob.glob(os.path.join(folder, "libavutil.so.*")))[:1]:
        try:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL).av_log_set_level(-8)  # AV_LOG_QUIET
        except (OSError, AttributeError):
            pass


def multimedia_problem() -> str | None:
    """Why QtMultimedia cannot be used here (None: it can). It needs PySide6-Addons and, on
    Linux, the PulseAudio client library (libpulse0), even where no sound device exists."""
    try:
        import PySide6.QtMultimedia  # noqa: F401
    except ImportError as exc:
        return (f"QtMultimedia cannot be loaded ({exc}); install PySide6-Addons and, on Linux, "
                "libpulse0")
    return None


@dataclass(frozen=True)
class StoredFrame:
    """A frame the store holds: its source index and an image file (extracted frame or crop)."""

    index: int
    path: str
    #: the whole extracted frame (not a face crop): shown at once on a seek, until the video's
    #: own frame (the same source frame) is decoded
    full: bool = False


class _ImageCache:
    """A small LRU of decoded frame images (stepping back and forth revisits them). Images are
    decoded at about the size they are shown at (a JPEG decodes several times faster at 1/2 or
    1/4 of its size), never larger than they are."""

    def __init__(self, size: int = 64):
        self._items: OrderedDict[tuple[str, int, int], QImage] = OrderedDict()
        self._size = size

    def get(self, path: str, fit: QSize | None = None) -> QImage:
        key = (path, fit.width(), fit.height()) if fit is not None else (path, 0, 0)
        image = self._items.get(key)
        if image is None:
            reader = QImageReader(path)
            reader.setAutoTransform(True)
            full = reader.size()
            if fit is not None and full.isValid() and (full.width() > fit.width()
                                                       or full.height() > fit.height()):
                reader.setScaledSize(full.scaled(fit, Qt.AspectRatioMode.KeepAspectRatio))
            image = reader.read()
            self._items[key] = image
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(key)
        return image


class FrameView(QWidget):
    """Paints one frame, scaled to fit. `painted(index)` once a frame is on screen."""

    painted = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(240, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._image = QImage()
        self._index = -1
        self._text = ""
        self._announced = -1
        self.source = ""  # "video" or "stored": where the frame on screen comes from
        self._smooth = True

    @property
    def index(self) -> int:
        return self._index

    def image(self) -> QImage:
        return self._image

    def set_frame(self, image: QImage, index: int, source: str = "video", *,
                  now: bool = False) -> None:
        """Show `image` (frame `index`). `now`: paint at once, not with the window's next
        paint (a seek answers the hand that chose the frame; playback paints in time anyway)."""
        self._image, self._index, self._text, self.source = image, index, "", source
        self._smooth = now  # paused: a smooth scaling; playing: the cheaper one, in time
        if now and self.isVisible():
            self.repaint()
        else:
            self.update()

    def set_text(self, text: str) -> None:
        self._image, self._index, self._text = QImage(), -1, text
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(480, 270)

    def image_rect(self) -> QRectF:
        """Where the frame is painted (scaled to fit, centred)."""
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        return QRectF((self.width() - size.width()) / 2, (self.height() - size.height()) / 2,
                      size.width(), size.height())

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("black"))
        if not self._image.isNull():
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._smooth)
            p.drawImage(self.image_rect(), self._image)
        elif self._text:
            p.setPen(QColor("#bbbbbb"))
            p.drawText(self.rect().adjusted(8, 8, -8, -8),
                       Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._text)
        p.end()
        if self._index >= 0 and (self._index, self.source) != self._announced:
            self._announced = (self._index, self.source)
            self.painted.emit(self._index)


def _small_button(text: str) -> QToolButton:
    """A button as wide as its text (a QPushButton is at least about 80 pixels wide)."""
    button = QToolButton()
    button.setText(text)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return button


class Player(QWidget):
    """Plays a clip: its source video with sound, or (fallback) its stored frames.

    `frame_shown(index)`: the source index of the frame now on screen (also while playing).
    `notice(text)`: something the window should tell the user (no sound, fallback to frames).
    """

    frame_shown = Signal(int)
    notice = Signal(str)
    playing_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._fps = 25.0
        self._first = 0
        self._last = -1
        self._index = -1
        self._rate = 1.0
        self._loop: tuple[int, int] | None = None
        self._mode = "none"  # "video" | "frames" | "none"
        self._video: Path | None = None
        self._stored: list[StoredFrame] = []
        self._stored_at: list[int] = []  # their source indices, in order
        self._fps_known = False
        self._pending: int | None = None  # seek asked for before the media was loaded
        self._target: int | None = None  # paused seek: frames decoded on the way are not shown
        self._full: dict[int, str] = {}  # source index -> extracted frame file
        self._want_play = False
        self._cache = _ImageCache()
        self._frame_timer = QTimer(self, singleShot=True)
        self._frame_timer.timeout.connect(self._advance_stored)
        self._media = None
        self._sink = None
        self._audio = None
        self.reason = ""  # why the stored frames are shown, when they are
        self._build()

    # -- building ----------------------------------------------------------------------------

    def _build(self) -> None:
        self.view = FrameView()
        self.play_button = _small_button("Play")
        self.play_button.clicked.connect(self.toggle)
        back = _small_button("◀")
        back.setToolTip("One frame back")
        back.clicked.connect(lambda: self.step(-1))
        forward = _small_button("▶")
        forward.setToolTip("One frame forward")
        forward.clicked.connect(lambda: self.step(1))
        self.rate_box = QComboBox()
        for r in RATES:
            self.rate_box.addItem(f"{r:g}×", r)
        self.rate_box.setCurrentIndex(RATES.index(1.0))
        self.rate_box.currentIndexChanged.connect(lambda i: self.set_rate(RATES[i]))
        self.rate_box.setToolTip("Playback speed")
        self.loop_button = _small_button("Loop")
        self.loop_button.setCheckable(True)
        self.loop_button.setToolTip("Loop the range set with In and Out (or the selected frames)")
        self.loop_button.toggled.connect(self._loop_toggled)
        mark_in = _small_button("In")
        mark_in.setToolTip("The loop starts at this frame")
        mark_in.clicked.connect(lambda: self.set_loop_start(self.index))
        mark_out = _small_button("Out")
        mark_out.setToolTip("The loop ends at this frame")
        mark_out.clicked.connect(lambda: self.set_loop_end(self.index))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.valueChanged.connect(self._slider_moved)
        self.time_label = QLabel("")
        # a fixed width: the text changing with every frame must not lay the dock out again
        self.time_label.setMinimumWidth(self.time_label.fontMetrics().horizontalAdvance(
            "0000.00 s  frame 000000  loop 000000-000000"))
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #b9770e")
        row = QHBoxLayout()
        for w in (back, self.play_button, forward, self.rate_box, mark_in, mark_out,
                  self.loop_button):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the strip / the dialog
            row.addWidget(w)
        row.addStretch(1)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # the slider, the buttons and the time one above the other: the dock's narrowest width
        # is that of the widest of them, not of their sum (the window fits a 1440-pixel screen)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.slider)
        layout.addLayout(row)
        layout.addWidget(self.time_label)
        layout.addWidget(self.status)
        self.view.set_text("no clip")

    # -- state -------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def index(self) -> int:
        """Source index of the frame on screen (-1: none)."""
        return self._index

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def loop(self) -> tuple[int, int] | None:
        return self._loop

    @property
    def range(self) -> tuple[int, int]:
        return self._first, self._last

    @property
    def playing(self) -> bool:
        if self._mode == "video":
            from PySide6.QtMultimedia import QMediaPlayer

            return self._media.playbackState() == QMediaPlayer.PlaybackState.PlayingState
        return self._frame_timer.isActive()

    @property
    def has_sound(self) -> bool:
        return self._audio is not None

    # -- loading -----------------------------------------------------------------------------

    def load(self, video: str | Path | None, fps: float | None, stored: list[StoredFrame],
             first: int | None = None, last: int | None = None) -> None:
        """Play `video` (frames first..last, source indices) or, when it cannot be played, the
        stored frames. `fps`: the clip's frame rate (the store's)."""
        self.pause()
        self._stored = sorted(stored, key=lambda f: f.index)
        self._full = {f.index: f.path for f in self._stored if f.full}
        self._target = None
        self._fps_known = bool(fps and math.isfinite(fps) and fps > 0)
        self._fps = fps if self._fps_known else 25.0
        self._stored_at = [f.index for f in self._stored]
        self._loop = None
        self.loop_button.setChecked(False)
        self._index = -1
        self._pending = None
        self.reason = ""
        self.status.setText(self._sound_line())
        self._first = first if first is not None else 0
        self._last = last if last is not None else -1  # video: its duration decides
        path = Path(video) if video else None
        problem = self._video_problem(path)
        if problem is None:
            self._mode = "video"
            self._video = path
            self._pending = self._first
            self._start_media(path)
        else:
            self._fall_back(problem if video else "")
        self._update_slider()

    def unload(self) -> None:
        self.load(None, None, [])

    def _video_problem(self, path: Path | None) -> str | None:
        if path is None:
            return "the clip has no video file"
        problem = multimedia_problem()
        if problem:
            return problem
        if not path.exists():
            return f"{path}: video not found"
        if not path.is_file():
            return f"{path}: not a file"
        return None

    def _start_media(self, path: Path) -> None:
        from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaPlayer, QVideoSink

        if self._media is None:
            self._media = QMediaPlayer(self)
            _quiet_ffmpeg()  # after the back end set FFmpeg's log up
            self._sink = QVideoSink(self)
            self._media.setVideoSink(self._sink)
            self._sink.videoFrameChanged.connect(self._on_video_frame)
            self._media.mediaStatusChanged.connect(self._on_status)
            self._media.errorOccurred.connect(self._on_error)
            self._media.playbackStateChanged.connect(self._on_state)
            if QMediaDevices.audioOutputs():
                self._audio = QAudioOutput(self)
                self._media.setAudioOutput(self._audio)
            else:
                self._say_no_sound()
        self._media.setPlaybackRate(self._rate)
        self._media.setSource(QUrl.fromLocalFile(str(path)))
        self.view.set_text(f"opening {path.name}…")

    def _say_no_sound(self) -> None:
        global _sound_notice_given
        self.status.setText(self._sound_line())
        if not _sound_notice_given:
            _sound_notice_given = True
            self.notice.emit(NO_SOUND)

    def _sound_line(self) -> str:
        return NO_SOUND if self._media is not None and self._audio is None else ""

    def _fall_back(self, reason: str) -> None:
        """Show the stored frames instead of the video; say why (naming the file)."""
        if self._media is not None:
            self._media.stop()
            self._media.setSource(QUrl())
        self._mode = "frames" if self._stored else "none"
        if self._stored and (self._last < 0 or self._last < self._stored[0].index):
            self._last = self._stored[-1].index
        if self._stored and self._first > self._stored[-1].index:
            self._first = self._stored[0].index
        self._update_slider()
        self.reason = reason
        if reason:
            what = "the stored frames are shown instead" if self._stored else "no stored frames"
            text = f"Cannot play the video ({reason}); {what}."
            self.status.setText(text)
            self.notice.emit(text)
        if self._stored:
            self._show_stored(self._nearest_stored(self._first))
        else:
            self.view.set_text(reason or "no frames to play")

    # -- media callbacks -----------------------------------------------------------------------

    def _on_status(self, status) -> None:
        from PySide6.QtMultimedia import QMediaPlayer

        S = QMediaPlayer.MediaStatus
        if self._mode != "video":
            return
        if status == S.LoadedMedia and self._pending is not None:
            if not self._fps_known:  # not extracted yet: the container's rate
                from PySide6.QtMultimedia import QMediaMetaData

                rate = self._media.metaData().value(QMediaMetaData.Key.VideoFrameRate)
                if isinstance(rate, (int, float)) and 0 < rate < 1000:
                    self._fps = float(rate)
            if self._last < 0 and self._media.duration() > 0:
                self._last = max(0, math.ceil(self._media.duration() * self._fps / 1000) - 1)
                self._update_slider()
            index, self._pending = self._pending, None
            self._media.pause()  # a paused player renders the frame a seek lands on
            self._seek_media(index)
            if self._want_play:
                self._want_play = False
                self.play()
        elif status == S.InvalidMedia:
            self._fall_back(f"{self._video}: {self._media.errorString() or 'not a playable video'}")
        elif status == S.EndOfMedia:
            self._media.pause()
            self._set_playing_ui(False)
            if self._index >= 0:
                self._target = self._index  # frames decoded on the way there are not shown
                self._seek_media(self._index)  # the last frame stays up (not the first)

    def _on_error(self, _error, text: str) -> None:
        if self._mode == "video":
            self._fall_back(f"{self._video}: {text or 'cannot be played'}")

    def _on_state(self, _state) -> None:
        self._set_playing_ui(self.playing)

    def _on_video_frame(self, frame) -> None:
        if self._mode != "video" or not frame.isValid():
            return
        from PySide6.QtMultimedia import QMediaPlayer

        if self._media.playbackState() == QMediaPlayer.PlaybackState.StoppedState:
            # we only ever pause; a stopped player is one that ran off the end, and the frame it
            # shows then is the first one, which must not replace the last frame played
            return
        start = frame.startTime()
        index = round(start * self._fps / 1e6) if start >= 0 else \
            round(self._media.position() * self._fps / 1000)
        if self._target is not None and not self.playing:
            if index != self._target:
                return  # a frame decoded on the way to the one asked for
            self._target = None
        if self.playing:
            stop = self._loop[1] if self._loop else self._last
            if stop >= 0 and index > stop:
                if self._loop:
                    self._seek_media(self._loop[0])
                else:
                    self.pause()
                    self._seek_media(stop)
                return
        self._set_index(index, frame.toImage())

    # -- stored frames -------------------------------------------------------------------------

    def _nearest_stored(self, index: int) -> int:
        """Position in _stored of the stored frame at `index`, or the last one before it."""
        pos = bisect.bisect_right(self._stored_at, index) - 1
        return max(0, min(pos, len(self._stored) - 1))

    def _show_stored(self, pos: int) -> None:
        frame = self._stored[pos]
        image = self._cache.get(frame.path, self._fit())
        if image.isNull():
            self.view.set_text(f"cannot read {frame.path}")
            self._index = frame.index
            self.frame_shown.emit(frame.index)
            self._update_time()
            return
        self._set_index(frame.index, image)

    def _advance_stored(self) -> None:
        pos = self._nearest_stored(self._index) + 1
        stop = self._loop[1] if self._loop else self._last
        if pos >= len(self._stored) or self._stored[pos].index > stop:
            if self._loop:
                pos = self._nearest_stored(self._loop[0])
            else:
                self.pause()
                return
        self._show_stored(pos)
        self._schedule_stored()

    def _schedule_stored(self) -> None:
        pos = self._nearest_stored(self._index)
        gap = self._stored[pos + 1].index - self._index if pos + 1 < len(self._stored) else 1
        ms = max(1, min(int(round(gap * 1000 / self._fps / self._rate)), 4000))
        self._frame_timer.start(ms)

    # -- commands ----------------------------------------------------------------------------

    def play(self) -> None:
        if self._mode == "video":
            if self._pending is not None:
                self._want_play = True
                return
            stop = self._loop[1] if self._loop else self._last
            self._target = None
            if stop >= 0 and self._index >= stop:
                self._seek_media(self._loop[0] if self._loop else self._first)
            self._media.play()
        elif self._mode == "frames" and len(self._stored) > 1:
            stop = self._loop[1] if self._loop else self._last
            if self._index >= stop:
                self._show_stored(self._nearest_stored(self._loop[0] if self._loop
                                                       else self._first))
            self._schedule_stored()
        self._set_playing_ui(self.playing)

    def pause(self) -> None:
        self._want_play = False
        if self._mode == "video" and self._media is not None:
            self._media.pause()
        self._frame_timer.stop()
        self._set_playing_ui(False)

    def toggle(self) -> None:
        if self.playing or self._want_play:
            self.pause()
        else:
            self.play()

    def seek(self, index: int) -> None:
        """Show the frame with source index `index` (clamped to the clip)."""
        index = max(self._first, min(int(index), self._last)) if self._last >= 0 else int(index)
        if self._mode == "video":
            if self._pending is not None:
                self._pending = index
                return
            if not self.playing and index in self._full:
                # the same source frame, stored: on screen now, the decoded one replaces it
                image = self._cache.get(self._full[index], self._fit())
                if not image.isNull():
                    self._target = index
                    self._set_index(index, image, "stored")
            self._seek_media(index)
        elif self._mode == "frames":
            self._show_stored(self._nearest_stored(index))

    def step(self, n: int) -> None:
        """Pause and move n frames (in the stored frames' fallback: n stored frames)."""
        self.pause()
        if self._mode == "frames":
            pos = self._nearest_stored(self._index) + n
            self._show_stored(max(0, min(pos, len(self._stored) - 1)))
        else:
            self.seek(self._index + n)

    def set_rate(self, rate: float) -> None:
        self._rate = min(max(float(rate), RATES[0]), RATES[-1])
        if self._media is not None:
            self._media.setPlaybackRate(self._rate)
        nearest = min(range(len(RATES)), key=lambda i: abs(RATES[i] - self._rate))
        if self.rate_box.currentIndex() != nearest:
            self.rate_box.blockSignals(True)
            self.rate_box.setCurrentIndex(nearest)
            self.rate_box.blockSignals(False)

    def change_rate(self, steps: int) -> None:
        """One step slower (-1) or faster (+1) in RATES."""
        i = min(range(len(RATES)), key=lambda k: abs(RATES[k] - self._rate))
        self.set_rate(RATES[max(0, min(i + steps, len(RATES) - 1))])

    def set_loop(self, start: int | None, end: int | None = None) -> None:
        """Loop frames start..end (None: no loop)."""
        if start is None or end is None:
            self._loop = None
        else:
            a, b = sorted((int(start), int(end)))
            self._loop = (max(a, self._first), min(b, self._last) if self._last >= 0 else b)
        self.loop_button.blockSignals(True)
        self.loop_button.setChecked(self._loop is not None)
        self.loop_button.blockSignals(False)
        self._update_time()

    def set_loop_start(self, index: int) -> None:
        end = self._loop[1] if self._loop else self._last
        self.set_loop(index, max(index, end))

    def set_loop_end(self, index: int) -> None:
        start = self._loop[0] if self._loop else self._first
        self.set_loop(min(start, index), index)

    def _loop_toggled(self, on: bool) -> None:
        self.set_loop(self._first, self._last) if on else self.set_loop(None)

    # -- internals ---------------------------------------------------------------------------

    def _fit(self) -> QSize:
        """The size stored frames are decoded at: the screen's, in steps of 64 pixels (a
        resized dock reuses what was decoded)."""
        w, h = self.view.width(), self.view.height()
        return QSize(max(64, -(-w // 64) * 64), max(64, -(-h // 64) * 64))

    def _seek_media(self, index: int) -> None:
        # the middle of the frame's span: index / fps <= t < (index + 1) / fps
        self._media.setPosition(int(math.floor((index + 0.5) * 1000.0 / self._fps)))

    def _set_index(self, index: int, image: QImage, source: str = "video") -> None:
        self._index = index
        self.view.set_frame(image, index, source if self._mode == "video" else "stored",
                            now=not self.playing)
        self.slider.blockSignals(True)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self._update_time()
        self.frame_shown.emit(index)

    def _slider_moved(self, value: int) -> None:
        self.pause()
        self.seek(value)

    def _update_slider(self) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(self._first, max(self._first, self._last))
        self.slider.blockSignals(False)
        self._update_time()

    def _update_time(self) -> None:
        if self._index < 0:
            self.time_label.setText("")
            return
        loop = f"  loop {self._loop[0]}-{self._loop[1]}" if self._loop else ""
        self.time_label.setText(f"{self._index / self._fps:.2f} s  frame {self._index}{loop}")

    def _set_playing_ui(self, playing: bool) -> None:
        text = "Pause" if playing else "Play"
        if self.play_button.text() != text:
            self.play_button.setText(text)
            self.playing_changed.emit(playing)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.pause()
        super().closeEvent(event)
