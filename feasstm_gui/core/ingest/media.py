"""Videos: probe, decode front to back, extract frames as JPEG files, cut a clip segment.

Every video is decoded once, from its first frame, with OpenCV's FFmpeg backend; nothing seeks.
A frame's identity is (clip, source frame index): the index counts decoded frames from 0 and the
time is index / fps (CAP_PROP_POS_MSEC is not trusted), so a rerun numbers frames the same way.
Only `FrameSeeker` (one frame again, by index, for a project that stores previews) seeks, and it
keeps a sought frame only when its time stamp says it is that index.

Damage (a file cut off, or frames missing in the middle) never loses what was decoded before it:
decoding stops at the first sign of damage, the frames before it are kept, and the reader's
`damage` (a `VideoDamaged`, not raised) says which file and at which frame and time it stopped.
Stopping, rather than decoding on, keeps every kept index true: after a gap the decoder's frame
count no longer matches the source's frame numbers.

Paths in any script work on Linux and macOS (OpenCV hands FFmpeg UTF-8). On Windows OpenCV's
video I/O cannot open non-ASCII paths; this module then reads through the 8.3 short name or an
ASCII-named hard link (or copy) in a temporary folder, and writes a cut video to an ASCII
temporary folder before moving it into place. JPEG files are written with `cv2.imencode` and
Python file I/O, which handle any path everywhere.
"""

from __future__ import annotations

import errno
import math
import os
import queue
import shutil
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Collection, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.files import entry_kind, replacing
from feasstm_gui.core.problems import Problem

# Containers whose frame count comes from an index (exact); elsewhere OpenCV estimates it from
# the duration, which may include a longer audio track, so a small shortfall is not damage.
_EXACT_COUNT_SUFFIXES = {".avi", ".mp4", ".m4v", ".mov", ".3gp"}
# FourCC that this OpenCV build both writes and reads back, by output suffix (cut_video).
_WRITE_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "XVID"}
PART_SUFFIX = ".part"
#: Decoded frames waiting for their turn take at most about this much memory (decoding ahead).
AHEAD_BYTES = 64 * 1024 * 1024

# FFmpeg's own log lines ("moov atom not found", "Error at MB") name no file and repeat what
# VideoDamaged and FeasstmError say; keep them quiet unless the user asked for them.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
_EPS = 1e-6


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video. `frame_count` is 0 when unknown, and may be an
    estimate (see `frame_count_exact`)."""

    path: Path
    fps: float
    frame_count: int
    width: int
    height: int
    duration_s: float
    codec: str
    frame_count_exact: bool = True


@dataclass(frozen=True, eq=False)
class DecodedFrame:
    """One decoded frame: source index from 0, time in ms from index / fps, BGR image."""

    index: int
    time_ms: int
    image: np.ndarray


@dataclass(frozen=True)
class ExtractedFrame:
    """A frame written to disk, yielded only once its file is complete under its final name."""

    index: int
    time_ms: int
    path: Path
    width: int
    height: int
    #: the decoded frame itself (BGR), for a job that works on it right away (extract + align)
    image: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: what the extraction's `analyse` gave for the frame (computed beside its JPEG), else None
    analysis: Any = field(default=None, compare=False, repr=False)


class VideoDamaged(FeasstmError):
    """Decoding stopped early: the file is cut off or damaged at `index` (the first frame not kept).

    Readers store it in `.damage` rather than raising it, because the frames before it are good;
    a caller may raise it, show `str()` or report `.problem()`.
    """

    def __init__(self, path: str | Path, index: int, time_ms: int, detail: str):
        self.index = index
        self.time_ms = time_ms
        self.detail = detail
        kept = "the frames before it are kept" if index > 0 else "no frame could be decoded"
        super().__init__(
            f"decoding stopped at frame {index} ({time_ms / 1000:.3f} s): {detail}; {kept}. "
            "Replace or re-encode the video, then run extract again to add the missing frames",
            path=path,
        )

    def problem(self) -> Problem:
        """The same message as one batch problem line (`file:0: reason`)."""
        from feasstm_gui.core.names import quote_name

        return Problem.at(self.path or "", 0,
                          str(self).removeprefix(f"{quote_name(self.path or '')}: "))


@dataclass(frozen=True)
class ExtractionResult:
    """How an extraction ended. `damage` is None when the video (or the start/end range) was
    decoded to its end."""

    video: Path
    decoded: int
    written: int
    skipped: int
    damage: VideoDamaged | None = None

    @property
    def stopped_early(self) -> bool:
        return self.damage is not None


# --- opening -----------------------------------------------------------------------------------


def probe_video(path: str | Path) -> VideoInfo:
    """Open `path` and read what its container says; FeasstmError names the file if it cannot."""
    cap, _ = _open(Path(path))
    try:
        return _info(Path(path), cap)
    finally:
        cap.release()


def _open(path: Path) -> tuple[cv2.VideoCapture, _Alias | None]:
    kind = entry_kind(path)
    if kind == "no such file":
        raise FeasstmError("video not found: check the path in the clip table", path=path)
    if kind == "folder":
        raise FeasstmError("this is a folder, not a video file", path=path)
    if kind != "file":  # a pipe would block FFmpeg; a link to /dev/zero would never end
        raise FeasstmError(f"this is {kind}, not a video file; give the video file itself",
                           path=path)
    if path.stat().st_size == 0:
        raise FeasstmError("the video file is empty (0 bytes): copy it again", path=path)
    alias = _Alias(path) if _needs_ascii_alias(path) else None
    cap = cv2.VideoCapture(str(alias.path if alias else path), cv2.CAP_FFMPEG)
    if not cap.isOpened() or cap.get(cv2.CAP_PROP_FRAME_WIDTH) <= 0:
        cap.release()
        if alias:
            alias.close()
        raise FeasstmError(
            "OpenCV cannot open this file as a video (not a video, damaged at the start, or a "
            "codec this build cannot decode): convert it to MP4 (H.264) and import it again",
            path=path,
        )
    return cap, alias


def _info(path: Path, cap: cv2.VideoCapture) -> VideoInfo:
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    if not math.isfinite(fps) or fps <= 0 or fps > 1000:
        raise FeasstmError(
            f"the frame rate ({fps}) cannot be read, so frame times are unknown: re-encode the "
            "video at a constant frame rate",
            path=path,
        )
    count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    count = int(count) if math.isfinite(count) and count > 0 else 0
    fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF
    codec = fourcc.to_bytes(4, "little").decode("latin-1").strip("\0 ")
    return VideoInfo(
        path=path,
        fps=fps,
        frame_count=count,
        width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
        height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        duration_s=count / fps,
        codec=codec,
        frame_count_exact=path.suffix.lower() in _EXACT_COUNT_SUFFIXES,
    )


# --- frame selection ---------------------------------------------------------------------------


def frame_range(fps: float, start_s: float | None, end_s: float | None) -> tuple[int, int | None]:
    """Source indices [first, stop) whose times t = index / fps satisfy start_s <= t < end_s."""
    if start_s is not None and start_s < 0:
        raise FeasstmError(f"start_s must not be negative (got {start_s})")
    if start_s is not None and end_s is not None and end_s <= start_s:
        raise FeasstmError(f"end_s ({end_s}) must be after start_s ({start_s})")
    for name, value in (("start_s", start_s), ("end_s", end_s)):
        if value is not None and not (math.isfinite(value) and value * fps < 2**53):
            raise FeasstmError(f"{name} ({value}) is not a time within a video")
    first = 0 if start_s is None else math.ceil(start_s * fps - _EPS)
    stop = None if end_s is None else math.ceil(end_s * fps - _EPS)
    return first, stop


def packet_times(path: str | Path, info: VideoInfo) -> list[float] | None:
    """Each frame's presentation time in ms (from the first frame), read from the container's
    packets without decoding them (OpenCV's raw mode), when the video has a variable frame rate;
    None when its time stamps are evenly spaced (a constant rate: index / fps is exact) or
    cannot be read.

    Phones and screen recorders write variable frame rates; there the average rate puts frame
    11 of a clip at 2.2 s when it is shown at 1.4 s. A constant-rate file whose packets are
    evenly spaced keeps index / fps (and the damage check on jumps while decoding)."""
    try:
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_FORMAT, -1])
    except cv2.error:
        return None
    try:
        if not cap.isOpened() or cap.get(cv2.CAP_PROP_FORMAT) != -1:
            return None
        times = []
        while cap.grab():
            ms = cap.get(cv2.CAP_PROP_POS_MSEC)
            if not math.isfinite(ms):
                return None
            times.append(ms)
    finally:
        cap.release()
    if len(times) < 3:
        return None
    times.sort()  # decode order -> presentation order (B-frames)
    deltas = np.diff(times)
    typical = float(np.median(deltas))
    if typical <= 0 or (deltas.max() <= 1.5 * typical and deltas.min() >= 0.5 * typical):
        return None
    return [t - times[0] for t in times]


def _time_range(times: list[float], start_s: float | None, end_s: float | None
                ) -> tuple[int, int | None]:
    """frame_range for a variable frame rate: the frames whose time stamps t satisfy
    start_s <= t < end_s."""
    import bisect

    first = 0 if start_s is None else bisect.bisect_left(times, start_s * 1000 - _EPS)
    stop = None if end_s is None else bisect.bisect_left(times, end_s * 1000 - _EPS)
    return first, stop


def _rate_bucket(index: int, first: int, src_fps: float, target_fps: float | None) -> int:
    """Frames that share a bucket fall in the same 1/target_fps interval from the first frame;
    the first frame of each bucket is selected. Depends on index and rates only."""
    if target_fps is None or target_fps >= src_fps:
        return index
    return math.floor((index - first) * target_fps / src_fps + _EPS)


# --- decoding ----------------------------------------------------------------------------------


T = TypeVar("T")


class _Stream(Iterator[T]):
    """Frames from a generator (`self._frames`), in a `with` block that closes it early."""

    _frames: Generator[T, None, None]

    def __next__(self) -> T:
        return next(self._frames)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        raise NotImplementedError  # pragma: no cover - each stream says what it releases


class FrameReader(_Stream[DecodedFrame]):
    """Decoded frames of one video, front to back, in index order.

    Frames outside [start_s, end_s), frames dropped by the target rate and indices in `skip` are
    decoded (the stream has to be) but not converted to images nor yielded. When iteration ends,
    `damage` is None if the video or the range was read to its end, else a `VideoDamaged`.
    """

    def __init__(
        self,
        path: str | Path,
        fps: float | None = None,
        start_s: float | None = None,
        end_s: float | None = None,
        *,
        skip: Collection[int] = frozenset(),
    ):
        if fps is not None and not fps > 0:
            raise FeasstmError(f"the target frame rate must be positive (got {fps})")
        self.path = Path(path)
        self._cap, self._alias = _open(self.path)
        try:
            self.info = _info(self.path, self._cap)
            #: each frame's time in ms from the container's time stamps, for a variable frame
            #: rate video; None for a constant rate (times are index / fps)
            self.vfr_times = packet_times(self._alias.path if self._alias else self.path,
                                          self.info)
            self.first, self.stop = frame_range(self.info.fps, start_s, end_s)
            if self.vfr_times is not None:
                self.first, self.stop = _time_range(self.vfr_times, start_s, end_s)
        except BaseException:
            self._release()
            raise
        self.target_fps = fps
        self.skip = frozenset(skip)
        self.damage: VideoDamaged | None = None
        self.decoded = 0  # frames decoded from the start of the file
        self.skipped = 0  # selected frames not yielded because they are in `skip`
        self.finished = False
        self._prev_pts: float | None = None
        self._last_bucket: int | None = None
        self._frames = self._generate()

    def close(self) -> None:
        """Stop early and release the decoder (done anyway when iteration ends)."""
        self._frames.close()
        self._release()

    def _release(self) -> None:
        _release_capture(self)

    def time_ms(self, index: int) -> int:
        """When frame `index` is shown: index / fps, or for a variable frame rate video the
        container's time stamp (frame 11 at 1.4 s, not at 11 / the average rate)."""
        if self.vfr_times is not None and index < len(self.vfr_times):
            return round(self.vfr_times[index])
        return round(index * 1000 / self.info.fps)

    def _generate(self) -> Iterator[DecodedFrame]:
        # A frame is yielded only once the next one has decoded: the last frame before a cut is
        # often only partly there, so it is dropped with the damage rather than kept.
        held: DecodedFrame | None = None
        try:
            while self.stop is None or self.decoded < self.stop:
                if not self._cap.grab():
                    if self._check_end() and held is not None and held.index == self.decoded - 1:
                        held = None
                    break
                index = self.decoded
                self.decoded += 1
                if self._gap(index):
                    self.decoded -= 1
                    break
                if held is not None:
                    yield held
                    held = None
                if self._wanted(index):
                    ok, image = self._cap.retrieve()
                    if not ok or image is None:
                        self._damaged(index, "the decoder returned no image for this frame")
                        break
                    held = DecodedFrame(index, self.time_ms(index), image)
            if held is not None:
                yield held
            if self.decoded <= self.first and self.damage is None:
                self._nothing_in_range()
            self.finished = True
        finally:
            self._release()

    def _gap(self, index: int) -> bool:
        """Time stamps that jump by more than one frame: packets were lost, so the decoder's count
        no longer matches the source's frame numbers from here on."""
        if self.vfr_times is not None:
            return False  # uneven time stamps are what a variable frame rate is
        pts = self._cap.get(cv2.CAP_PROP_PTS)  # in frames (OpenCV scales it by the frame rate)
        prev, self._prev_pts = self._prev_pts, (pts if pts >= 0 else None)
        if prev is None or pts < 0 or pts - prev <= 1.5:
            return False
        self._damaged(
            index,
            f"frames are missing (time stamps jump from frame {prev:.0f} to {pts:.0f}): the file "
            "is damaged, or has a variable frame rate (re-encode it at a constant rate)",
        )
        return True

    def _wanted(self, index: int) -> bool:
        """In range, first of its rate interval, and not already stored."""
        if index < self.first:
            return False
        if self.vfr_times is not None and self.target_fps is not None \
                and index < len(self.vfr_times):
            since = self.vfr_times[index] - self.vfr_times[min(self.first, index)]
            bucket = math.floor(since * self.target_fps / 1000 + _EPS)
        else:
            bucket = _rate_bucket(index, self.first, self.info.fps, self.target_fps)
        if bucket == self._last_bucket:
            return False
        self._last_bucket = bucket
        if index in self.skip:
            self.skipped += 1
            return False
        return True

    def _nothing_in_range(self) -> None:
        if self.first == 0:
            self._damaged(0, "the decoder returned no frame at all")
            return
        raise FeasstmError(
            f"the start ({self.first / self.info.fps:.3f} s) is at or after the end of the video "
            f"({self.decoded / self.info.fps:.3f} s): check start_s in the clip table",
            path=self.path,
        )

    def _check_end(self) -> bool:
        """The decoder gave up: the end of the file, or damage (True) if frames were expected.
        The last decoded frame is then suspect: the damage starts there."""
        expected = self.info.frame_count
        if self.stop is not None:
            expected = min(expected, self.stop)
        tolerance = 0 if self.info.frame_count_exact else max(2, math.ceil(0.02 * expected))
        if not expected or self.decoded >= expected - tolerance:
            return False
        where = f"past frame {self.decoded - 1}" if self.decoded else "its first frame"
        self._damaged(
            max(0, self.decoded - 1),
            f"the file should hold {self.info.frame_count} frames but the decoder could not read "
            f"{where}: it is cut off or damaged there",
        )
        return True

    def _damaged(self, index: int, detail: str) -> None:
        self.damage = VideoDamaged(self.path, index, self.time_ms(index), detail)


def iter_frames(
    path: str | Path,
    fps: float | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    *,
    skip: Collection[int] = frozenset(),
) -> FrameReader:
    """Decoded frames of `path` (all, or the first of each 1/fps interval, within start/end).

    Raises FeasstmError at once if the file cannot be opened. The returned reader is an iterator;
    after it is exhausted, `reader.damage` tells whether decoding stopped early.
    """
    return FrameReader(path, fps, start_s, end_s, skip=skip)


class Prefetch(Iterator[DecodedFrame]):
    """A FrameReader decoding on its own thread, up to `ahead` frames ahead of the consumer
    (OpenCV releases the GIL while decoding). Frames, their order and the reader's `damage` are
    the same as reading it directly; an error in the decoder is raised in the consumer."""

    _END = object()

    def __init__(self, reader: FrameReader, ahead: int = 4) -> None:
        self.reader = reader
        self._queue: queue.Queue = queue.Queue(max(1, int(ahead)))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feasstm-decode", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        item: object = self._END
        try:
            for frame in self.reader:
                if not self._put(frame):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            item = exc
        finally:
            self.reader.close()
        self._put(item)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __next__(self) -> DecodedFrame:
        if self._stop.is_set():
            raise StopIteration
        item = self._queue.get()
        if item is self._END or isinstance(item, BaseException):
            self._stop.set()
            self._thread.join()
            if item is self._END:
                raise StopIteration
            raise item
        return item  # type: ignore[return-value]

    def close(self) -> None:
        """Stop decoding and wait for the thread (the reader is released there)."""
        self._stop.set()
        self._thread.join()


class FrameSeeker:
    """Frames of one video by source index, in any order, with the pixels `FrameReader` gives
    for that index (the index counts decoded frames from the first; see the module's note).

    Reading forward (the next frames, or a few ahead) decodes on from where the decoder is.
    Further ahead, or back, it seeks: OpenCV's FFmpeg backend goes to the keyframe before the
    frame and decodes forward to it, and the frame's presentation time stamp (in frames from
    the first) must then equal the index; when it does not (or the video has a variable frame
    rate, or no time stamps), the video is decoded again from its start. `seeks` and
    `rewinds` count which way frames were reached (tests, benchmarks).
    """

    #: frames decoded forward rather than seeking (a seek decodes from a keyframe anyway)
    FORWARD = 48

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._cap: cv2.VideoCapture | None = None
        self._alias: _Alias | None = None
        self._pos = -1  # index of the frame the decoder last grabbed
        try:
            self._open()
            self.info = _info(self.path, self._cap)
            self._vfr = packet_times(self._alias.path if self._alias else self.path,
                                     self.info) is not None
            pts = self._cap.get(cv2.CAP_PROP_PTS)  # the first frame's
            self._pts0 = pts if math.isfinite(pts) and pts >= 0 else None
        except BaseException:
            self.close()
            raise
        self.seeks = 0
        self.rewinds = 0

    def _open(self) -> None:
        """Open the video with the decoder on its first frame (grabbed)."""
        self._cap, self._alias = _open(self.path)
        self._pos = -1
        if not self._grab():
            raise FeasstmError("the video has no frame at all", path=self.path)

    def _grab(self) -> bool:
        if not self._cap.grab():
            return False
        self._pos += 1
        return True

    def close(self) -> None:
        _release_capture(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def frame(self, index: int, *, exact_seek: bool = True) -> np.ndarray:
        """The BGR image of frame `index`. FeasstmError (naming the video) when the video has
        no such frame. ``exact_seek=False`` never seeks: decoding from the start (or on from
        where the decoder is) is the reference the seek is checked against."""
        index = int(index)
        if index < 0:
            raise FeasstmError(f"no frame {index}: frame numbers start at 0", path=self.path)
        if self._cap is None:
            self._open()
        if self._pos < 0 or not (self._pos <= index <= self._pos + self.FORWARD):
            if not (exact_seek and self._seek(index)):
                self._rewind()
        while self._pos < index:
            if not self._grab():
                raise FeasstmError(
                    f"the video has no frame {index} (it ends after frame {self._pos}): it is "
                    "not the video the frames were extracted from, or it was cut short",
                    path=self.path)
        ok, image = self._cap.retrieve()
        if not ok or image is None:
            raise FeasstmError(f"the decoder returned no image for frame {index}",
                               path=self.path)
        return image

    def _seek(self, index: int) -> bool:
        """Put the decoder on frame `index` (grabbed, not yet retrieved) by seeking; False
        when that cannot be trusted (the decoder is then reopened by the caller)."""
        if self._vfr or self._pts0 is None or index == 0:
            return False
        self.seeks += 1
        if not self._cap.set(cv2.CAP_PROP_POS_FRAMES, float(index)) or not self._cap.grab():
            self._pos = -2  # unknown
            return False
        pts = self._cap.get(cv2.CAP_PROP_PTS)
        if not math.isfinite(pts) or pts < 0 or round(pts - self._pts0) != index:
            self._pos = -2
            return False
        self._pos = index
        return True

    def _rewind(self) -> None:
        """Decode from the first frame again (the reference numbering)."""
        self.rewinds += 1
        self.close()
        self._open()


# --- extraction --------------------------------------------------------------------------------


class Extraction(_Stream[ExtractedFrame]):
    """Writes the selected frames of one video to `out_dir/<index:06d>.jpg`, yielding each once
    its file is complete, in index order. `result` is set when iteration ends normally.

    Decoding runs in the consuming thread, or with `decode_ahead` on a thread of its own up to
    that many frames ahead; JPEG encoding and writing run on a small thread pool (OpenCV releases
    the GIL), at most a few frames ahead. With `preview_side`, frames whose longer side exceeds
    it are written reduced to that side into `preview-<width>x<height>/` (the video stays the
    source of the full frame: `FrameSeeker`). Indices in `existing` are decoded but
    neither encoded, written nor yielded: a rerun after a crash continues without duplicates.
    With `analyse`, a function of the decoded frame (BGR) computed on the encoding thread, its
    result comes with the frame (`ExtractedFrame.analysis`).
    """

    def __init__(
        self,
        path: str | Path,
        out_dir: str | Path,
        *,
        fps: float | None = None,
        start_s: float | None = None,
        end_s: float | None = None,
        existing: Collection[int] = frozenset(),
        quality: int = 95,
        workers: int = 2,
        decode_ahead: int = 0,
        preview_side: int = 0,
        analyse: Callable[[np.ndarray], Any] | None = None,
    ):
        if not 1 <= quality <= 100:
            raise FeasstmError(f"the JPEG quality must be 1-100 (got {quality})")
        self.out_dir = Path(out_dir)
        self.quality = int(quality)
        self.workers = max(0, int(workers))
        #: > 0: frames longer than this are written reduced (see `preview_folder`)
        self.preview_side = max(0, int(preview_side or 0))
        self.analyse = analyse
        self._folders: set[Path] = set()
        self.reader = FrameReader(path, fps, start_s, end_s, skip=existing)
        self.info = self.reader.info
        # frames held ahead, at most about AHEAD_BYTES of pixels (8 at 720p, 2 at 4K)
        frame_bytes = max(1, self.info.width * self.info.height * 3)
        self.decode_ahead = min(max(0, int(decode_ahead)), max(1, AHEAD_BYTES // frame_bytes))
        self.result: ExtractionResult | None = None
        self.written = 0
        self._frames = self._generate()

    def close(self) -> None:
        """Stop early: wait for files in flight, release the decoder."""
        self._frames.close()
        self.reader.close()

    def _generate(self) -> Iterator[ExtractedFrame]:
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _write_error(self.out_dir, exc) from exc
        _remove_stale_parts(self.out_dir)
        params = [cv2.IMWRITE_JPEG_QUALITY, self.quality]
        side = self.preview_side
        pool = ThreadPoolExecutor(self.workers, "feasstm-jpeg") if self.workers else None
        ahead = 2 * self.workers + self.decode_ahead  # frames in flight, being encoded
        pending: deque[tuple[DecodedFrame, Path, Any]] = deque()  # Future, or done in line
        source: Iterator[DecodedFrame] = (
            Prefetch(self.reader, self.decode_ahead) if self.decode_ahead else self.reader
        )
        try:
            for frame in source:
                dest = self._dest(frame)
                if pool is None:
                    pending.append(
                        (frame, dest, _encode_write(frame.image, dest, params, side, self.analyse))
                    )
                else:
                    pending.append((frame, dest, pool.submit(
                        _encode_write, frame.image, dest, params, side, self.analyse)))
                while pending and (len(pending) > ahead or _done(pending[0][2])):
                    yield self._finish(*pending.popleft())
            while pending:
                yield self._finish(*pending.popleft())
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            if isinstance(source, Prefetch):
                source.close()
            self.reader.close()
        self.result = ExtractionResult(
            video=self.reader.path,
            decoded=self.reader.decoded,
            written=self.written,
            skipped=self.reader.skipped,
            damage=self.reader.damage,
        )

    def _dest(self, frame: DecodedFrame) -> Path:
        name = f"{frame.index:06d}.jpg"
        height, width = frame.image.shape[:2]
        if not self.preview_side or max(width, height) <= self.preview_side:
            return self.out_dir / name
        folder = self.out_dir / preview_folder(width, height)
        if folder not in self._folders:
            self._folders.add(folder)
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _write_error(folder, exc) from exc
            _remove_stale_parts(folder)
        return folder / name

    def _finish(self, frame: DecodedFrame, dest: Path, written: Any) -> ExtractedFrame:
        """``written``: the encoding's future, or its result (`_encode_write`'s analysis)."""
        analysis = written.result() if isinstance(written, Future) else written
        self.written += 1
        height, width = frame.image.shape[:2]
        return ExtractedFrame(frame.index, frame.time_ms, dest, width, height, frame.image,
                              analysis)


def extract_frames(path: str | Path, out_dir: str | Path, **options: Any) -> Extraction:
    """Extract frames of `path` into `out_dir` as `<index:06d>.jpg` (see `Extraction` for the
    options: fps, start_s, end_s, existing, quality, workers, decode_ahead, preview_side; with
    `preview_side` a frame longer than that is written reduced, as a preview, into
    `out_dir/preview-<width>x<height>/`, and `ExtractedFrame.path` names that file).

    The caller commits each yielded frame; after the loop `extraction.result` says how many frames
    were written and whether the video stopped early (`result.damage`). A write failure (a full
    disk) raises FeasstmError naming the file; the frames yielded before it are complete on disk.
    """
    return Extraction(path, out_dir, **options)


def _done(written: Any) -> bool:
    """An encoding finished: its future done, or done in line (its result itself)."""
    return not isinstance(written, Future) or written.done()


#: A stored preview's folder: `preview-<width>x<height>` names the full frame's size (what the
#: face boxes and landmarks are measured in) beside the reduced image.
PREVIEW_PREFIX = "preview-"


def preview_folder(width: int, height: int) -> str:
    return f"{PREVIEW_PREFIX}{int(width)}x{int(height)}"


def preview_image(image: np.ndarray, side: int) -> np.ndarray:
    """`image` reduced so that its longer side is at most `side` (area averaging: no aliasing;
    an exact 1/2 or 1/3 of 720p or 1080p is also its fastest case), or itself."""
    height, width = image.shape[:2]
    if not side or max(width, height) <= side:
        return image
    scale = side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _encode_write(image: np.ndarray, dest: Path, params: list[int], side: int = 0,
                  analyse: Callable[[np.ndarray], Any] | None = None) -> Any:
    """Write the frame's JPEG (a preview of at most ``side`` pixels when given); returns
    ``analyse(image)`` (None without it)."""
    ok, buf = cv2.imencode(".jpg", preview_image(image, side), params)
    if not ok:
        raise FeasstmError("OpenCV could not encode this frame as JPEG", path=dest)
    _write_atomic(dest, buf)
    return None if analyse is None else analyse(image)


def _write_atomic(dest: Path, data: np.ndarray | bytes) -> None:
    """Write under a temporary name, then rename: a reader sees the whole file or none."""
    try:
        with replacing(dest, dest.with_name(dest.name + PART_SUFFIX)) as tmp, \
                open(tmp, "wb") as f:
            f.write(memoryview(data))
    except OSError as exc:
        raise _write_error(dest, exc) from exc


def _write_error(path: Path, exc: OSError) -> FeasstmError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        what = "the disk is full"
        todo = "free some space, then run extract again (frames already written are kept)"
    else:
        what = f"cannot write ({exc.strerror or exc})"
        todo = "check the folder's permissions and free space, then run extract again"
    return FeasstmError(f"{what}: {todo}", path=path)


def _remove_stale_parts(out_dir: Path) -> None:
    """Half-written files left by a killed run; their frames are written again."""
    for part in out_dir.glob("*.jpg" + PART_SUFFIX):
        part.unlink(missing_ok=True)


# --- cutting -----------------------------------------------------------------------------------


def cut_video(src: str | Path, dst: str | Path, start_s: float | None, end_s: float | None) -> Path:
    """Write the segment [start_s, end_s) of `src` to `dst`, re-encoded with cv2.VideoWriter
    (video only, no audio; codec from dst's suffix). With neither start nor end, copy the file
    byte for byte. `dst` appears only when complete. Damage in the segment raises VideoDamaged.
    """
    src, dst = Path(src), Path(dst)
    if start_s is None and end_s is None:
        _open(src)[0].release()  # the same checks as every other reader
        try:
            with replacing(dst, dst.with_name(dst.name + PART_SUFFIX)) as tmp:
                shutil.copyfile(src, tmp)
        except OSError as exc:
            raise _write_error(dst, exc) from exc
        return dst
    fourcc = _WRITE_FOURCC.get(dst.suffix.lower())
    if fourcc is None:
        raise FeasstmError(
            f"cannot write a video with the suffix {dst.suffix!r}: use one of "
            + ", ".join(sorted(_WRITE_FOURCC)),
            path=dst,
        )
    with FrameReader(src, None, start_s, end_s) as reader:
        work = Path(tempfile.mkdtemp(prefix=".feasstm-cut-", dir=_ascii_work_dir(dst.parent)))
        try:
            tmp = work / ("cut" + dst.suffix)
            _write_segment(reader, tmp, fourcc, dst)
            try:
                if work.parent == dst.parent:
                    os.replace(tmp, dst)
                else:  # Windows, non-ASCII destination: the segment was written elsewhere
                    with replacing(dst, dst.with_name(dst.name + PART_SUFFIX)) as part:
                        shutil.copyfile(tmp, part)
            except OSError as exc:
                raise _write_error(dst, exc) from exc
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return dst


def _write_segment(reader: FrameReader, tmp: Path, fourcc: str, dst: Path) -> None:
    info = reader.info
    writer = cv2.VideoWriter(
        str(tmp),
        cv2.CAP_FFMPEG,
        cv2.VideoWriter_fourcc(*fourcc),
        info.fps,
        (info.width, info.height),
    )
    if not writer.isOpened():
        raise FeasstmError(f"OpenCV cannot write {fourcc} video here", path=dst)
    try:
        for frame in reader:
            writer.write(frame.image)
    finally:
        writer.release()
    if reader.damage is not None:
        raise reader.damage


# --- non-ASCII paths on Windows ----------------------------------------------------------------


def _needs_ascii_alias(path: Path) -> bool:
    return os.name == "nt" and not str(path).isascii()


class _Alias:
    """An ASCII path to the same file, for OpenCV's video I/O on Windows: the 8.3 short name when
    the volume keeps them, else a hard link (or a copy) in a temporary ASCII folder."""

    def __init__(self, path: Path):
        self._dir: Path | None = None
        short = _short_path(path)
        if short is not None:
            self.path = short
            return
        self._dir = Path(tempfile.mkdtemp(prefix="feasstm-", dir=_ascii_work_dir(path.parent)))
        self.path = self._dir / ("video" + "".join(c for c in path.suffix if c.isascii()))
        try:
            os.link(path, self.path)
        except OSError:
            try:
                shutil.copyfile(path, self.path)
            except OSError as exc:
                self.close()
                raise FeasstmError(
                    f"cannot make an ASCII-named copy for OpenCV ({exc.strerror or exc}): rename "
                    "the video and its folders with ASCII characters only",
                    path=path,
                ) from exc

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _short_path(path: Path) -> Path | None:
    if os.name != "nt":
        return None
    import ctypes  # Windows only

    buf = ctypes.create_unicode_buffer(32768)
    n = ctypes.windll.kernel32.GetShortPathNameW(str(path), buf, len(buf))  # type: ignore[attr-defined]
    return Path(buf.value) if 0 < n < len(buf) and buf.value.isascii() else None


def _ascii_work_dir(near: Path) -> str:
    """Where OpenCV may read or write a temporary video: `near` itself unless this is Windows and
    its path is not ASCII; then the first writable ASCII folder among TEMP, PUBLIC, ProgramData."""
    if not _needs_ascii_alias(near):
        return str(near)
    candidates = [tempfile.gettempdir(), os.environ.get("PUBLIC"), os.environ.get("ProgramData")]
    for cand in candidates:
        if cand and cand.isascii() and os.access(cand, os.W_OK):
            return cand
    raise FeasstmError(
        "no folder with an ASCII-only path is writable for OpenCV's temporary video files: "
        "set TEMP to such a folder",
        path=near,
    )


def _release_capture(owner) -> None:
    """Release an owner's decoder (`_cap`) and the ASCII alias of its path (`_alias`), once."""
    if owner._cap is not None:
        owner._cap.release()
        owner._cap = None
    if owner._alias is not None:
        owner._alias.close()
        owner._alias = None
