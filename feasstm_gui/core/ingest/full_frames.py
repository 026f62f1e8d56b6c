"""The full-resolution image of a stored frame, wherever the project keeps it (issue 19).

A frame of a video clip is stored as a *preview*: the frame reduced to the project's
`extract.preview_side` (640 px on its longer side by default), in
`frames/<clip>/preview-<width>x<height>/<index>.jpg`, the folder naming the full frame's size (the
unit of the stored boxes and landmarks). The video is the source of the full frame: what needs
it (re-align, "this face is the actor", the identities of a clip, an actor's reference taken on a
frame) decodes it again, by index (`media.FrameSeeker`), and checks it against the preview, so a
video replaced after extraction is reported rather than aligned. Frames stored at full size
(`frames/<clip>/<index>.jpg`: projects extracted before, videos no larger than the preview side,
`extract.preview_side` 0) are read from their file as before.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath

import numpy as np

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.problems import Problem

_PREVIEW_FOLDER = re.compile(r"^preview-(\d+)x(\d+)$")
#: a decoded frame, reduced as its preview was, differs from the stored preview by JPEG's error
#: (a mean of about 1 grey level at quality 95, 2-3 at 50); another frame or another video by more
MAX_PREVIEW_DIFFERENCE = 6.0


def full_size(path: str | PurePath | None) -> tuple[int, int] | None:
    """(width, height) of the full frame when `path` (relative or absolute) names a stored
    preview; None when it names a full frame (or nothing)."""
    if not path:
        return None
    m = _PREVIEW_FOLDER.match(PurePath(path).parent.name)
    return (int(m.group(1)), int(m.group(2))) if m else None


def is_preview(path: str | PurePath | None) -> bool:
    return full_size(path) is not None


class FullFrames:
    """Full frames of a project's stored frames (rows of `Store.frames`/`Store.frame`). Keeps
    one decoder per clip open, so frames asked for in order are decoded on, not sought; close it
    (or use it in a `with` block) when done. Raises FeasstmError naming the file (the stored
    frame, or the video) and what to do when a frame cannot be had."""

    def __init__(self, store) -> None:
        self.store = store
        self._seekers: dict[str, object] = {}

    def __enter__(self) -> FullFrames:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for seeker in self._seekers.values():
            seeker.close()
        self._seekers.clear()

    __del__ = close  # a job's generator dropped early still releases its decoders

    def get(self, row) -> np.ndarray | None:
        """`image(row)`, or None when the frame cannot be had (for callers that skip it)."""
        try:
            return self.image(row)
        except FeasstmError:
            return None

    def where(self, row) -> Path:
        """The file a problem with this frame names: the stored frame, else the project."""
        return self.store.folder / row.image if row.image else self.store.folder

    def image(self, row) -> np.ndarray:
        """The frame's full-resolution BGR image."""
        from feasstm_gui.core.ingest.images import read_image

        if not row.image:
            raise FeasstmError(f"frame {row.frame_index} of clip '{row.clip}' has no stored "
                               "frame (imported as a face crop)", path=self.store.folder)
        stored = self.store.folder / row.image
        size = full_size(row.image)
        if size is None:  # a full frame on disk
            image = read_image(stored)
            if image is None:
                raise FeasstmError(f"frame {row.frame_index} of clip '{row.clip}' cannot be "
                                   "read (missing or damaged)", path=stored)
            return image
        preview = read_image(stored)
        seeker = self._seeker(row, size)
        image = seeker.frame(row.frame_index)
        if preview is not None and not _matches(image, preview):
            seeker.close()  # a seek that landed elsewhere? decode from the start to be sure
            image = seeker.frame(row.frame_index, exact_seek=False)
            if not _matches(image, preview):
                raise FeasstmError(
                    f"frame {row.frame_index} decoded from this video does not look like the "
                    f"stored frame {row.image}: the video was changed or replaced after its "
                    f"frames were extracted (clip '{row.clip}'); put the original back",
                    path=seeker.path)
        return image

    def _seeker(self, row, size: tuple[int, int]):
        from feasstm_gui.core.ingest.media import FrameSeeker

        seeker = self._seekers.get(row.clip)
        if seeker is not None:
            return seeker
        clip = self.store.clip(row.clip)
        if not clip.video:
            raise FeasstmError(f"frame {row.frame_index} of clip '{row.clip}' is stored as a "
                               "preview only and the clip names no video",
                               path=self.store.folder / row.image)
        video = clip_video(self.store.folder, clip)
        if not video.exists():
            raise FeasstmError(
                f"the video of clip '{row.clip}' is not there (moved or deleted): its frames "
                "are stored as previews, and re-align, 'this face is the actor' and the "
                "identities decode the full frame from the video; put the video back at this "
                "path", path=video)
        seeker = FrameSeeker(video)
        if (seeker.info.width, seeker.info.height) != size:
            seeker.close()
            raise FeasstmError(
                f"this video's frames are {seeker.info.width} x {seeker.info.height} pixels, "
                f"clip '{row.clip}' was extracted from frames of {size[0]} x {size[1]}: the "
                "video was replaced after extraction; put the original back", path=video)
        self._seekers[row.clip] = seeker
        return seeker


def clip_video(project: str | Path, clip) -> Path | None:
    """The clip's source video (a relative path is relative to the project folder), or None.
    Every reader of a clip's video goes through here: extraction, alignment, the full frames,
    the player, the export's videos."""
    if not clip.video:
        return None
    video = Path(clip.video)
    return video if video.is_absolute() else Path(project) / video


def full_frame(store, row) -> np.ndarray:
    """One frame's full-resolution image (see `FullFrames`)."""
    with FullFrames(store) as frames:
        return frames.image(row)


def frame_problem(exc: FeasstmError, where: str | Path) -> Problem:
    """A `FullFrames` error as a batch problem line naming its file (the video, the stored
    frame) once."""
    from feasstm_gui.core.names import quote_name

    path = exc.path or str(where)
    return Problem.at(path, 0, str(exc).removeprefix(f"{quote_name(path)}: "))


def _matches(image: np.ndarray, preview: np.ndarray) -> bool:
    from feasstm_gui.core.ingest.media import preview_image

    if image.ndim != preview.ndim:
        return False
    reduced = preview_image(image, max(preview.shape[:2]))
    if reduced.shape != preview.shape:
        return False
    diff = np.abs(reduced.astype(np.int16) - preview.astype(np.int16))
    return float(diff.mean()) <= MAX_PREVIEW_DIFFERENCE
