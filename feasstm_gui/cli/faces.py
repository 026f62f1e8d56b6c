"""Frame and face commands: extract, align, realign."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from feasstm_gui.cli.common import add_project_arg, open_store, run_job
from feasstm_gui.cli.numbers import FPS, MAX_PIXELS, bounded_int, finite_float
from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.ingest.pipeline import (
    RealignOptions,
    align_clip,
    extract_clip,
    for_clips,
    frames_in_ranges,
    holding_frames,
    process_clips,
    realign_frames,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="extract the frames of clips' videos",
                       description="Decode each clip's video once, front to back, and store its "
                       "frames (JPEG). Run again to resume; a damaged video keeps the frames read "
                       "before the damage. Exit 0, 1 (problems reported) or 2 (nothing done).")
    add_project_arg(p)
    _add_options(p, clip=True, fps=True)
    p.set_defaults(func=cmd_extract)
    _register_align(sub)


def _add_options(p: argparse.ArgumentParser, *, clip: bool = False, fps: bool = False,
                 device: bool = False) -> None:
    """The options the frame and face commands share."""
    if clip:
        p.add_argument("--clip", action="append", metavar="ID",
                       help="only this clip (repeatable)")
    if fps:
        p.add_argument("--fps", type=FPS, default=None,
                       help="frames per second to keep (default: every frame)")
    if device:
        p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                       help="where MTCNN runs (default: cuda when available, else cpu)")


def cmd_extract(args) -> int:
    if args.fps is not None and args.fps <= 0:
        raise FeasstmError(f"--fps must be positive (got {args.fps})")
    with open_store(args) as store:
        job = for_clips(store, args.clip,
                        lambda s, c: extract_clip(s, c, fps=args.fps), "extract")
        result = run_job(job, "extract")
    print(result.summary)
    return result.exit_status


def _register_align(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("align", help="detect, follow and align the actor's face in clips",
                       description="MTCNN detection (five landmarks), the actor followed across "
                       "frames, similarity alignment to the project's template, quality scores "
                       "and suggested flags. Frames without the actor become irrelevant "
                       "(reversible). Run again to resume. Exit 0, 1 or 2.")
    add_project_arg(p)
    _add_options(p, clip=True, device=True)
    p.set_defaults(func=cmd_align)

    p = sub.add_parser("process", help="extract and align clips in one pass (decode once)",
                       description="`extract` and `align` in one pass over each video: every "
                       "frame is decoded once, stored, and aligned from the same pixels. Same "
                       "result as extract followed by align; run again to resume. Exit 0, 1, 2.")
    add_project_arg(p)
    _add_options(p, clip=True, fps=True, device=True)
    p.set_defaults(func=cmd_process)

    p = sub.add_parser("realign", help="find and align the face again on chosen frames",
                       description="Re-align frames given as CLIP:START-END or CLIP:N (source "
                       "frame indices, comma separated) or one `clip,frame` per line in "
                       "--frames-file. The new crops are undoable (`feasstm undo`).")
    add_project_arg(p)
    p.add_argument("--frames", metavar="CLIP:START-END[,CLIP:N...]", default=None)
    p.add_argument("--frames-file", type=Path, metavar="FILE", default=None)
    p.add_argument("--min-face-size", type=finite_float(12.0, 2000.0), metavar="PX",
                   default=None, help="smallest face to look for (12-2000 pixels)")
    p.add_argument("--threshold", type=finite_float(0.0, 1.0), metavar="P", default=None,
                   help="smallest detection probability to keep")
    p.add_argument("--face", type=bounded_int(0, 10_000), metavar="N", default=None,
                   help="which face, by size: 0 the largest (default: the one nearest the "
                   "current face)")
    p.add_argument("--box", metavar="X,Y,W,H", default=None,
                   help="look for the face inside this box (frame pixels)")
    p.add_argument("--landmarks", metavar="X1,Y1,...,X5,Y5", default=None,
                   help="align on these five points: left eye, right eye, nose, mouth corners")
    _add_options(p, device=True)
    p.set_defaults(func=cmd_realign)


def cmd_process(args) -> int:
    with open_store(args) as store:
        clips = args.clip or [c.id for c in store.clips()]
        job = process_clips(store, clips, fps=args.fps, device=args.device)
        result = run_job(job, "extract+align")
    print(result.summary)
    return result.exit_status


def cmd_align(args) -> int:
    with open_store(args) as store:
        job = for_clips(store, args.clip,
                        lambda s, c: align_clip(s, c, device=args.device), "align")
        result = run_job(job, "align")
    print(result.summary)
    return result.exit_status


def cmd_realign(args) -> int:
    ranges = []
    if args.frames:
        ranges += parse_frame_spec(args.frames)
    if args.frames_file:
        ranges += [(clip, i, i) for clip, i in read_frames_file(args.frames_file)]
    if not ranges:
        raise FeasstmError("give the frames to re-align: --frames CLIP:START-END or "
                           "--frames-file FILE")
    options = RealignOptions(
        min_face_size=args.min_face_size, threshold=args.threshold, face=args.face,
        box=_box_corners(args.box) if args.box else None,
        landmarks=_pairs(_numbers(args.landmarks, 10, "--landmarks")) if args.landmarks else None)
    with open_store(args) as store:
        ids = frames_in_ranges(store, ranges)
        # on a server project the frames' clips are held meanwhile (claims, as process does)
        result = run_job(holding_frames(store, ids, "realign", lambda: realign_frames(
            store, ids, options, device=args.device)), "realign")
    print(result.summary)
    return result.exit_status


def parse_frame_spec(spec: str) -> list[tuple[str, int, int]]:
    """`CLIP:START-END,CLIP:N` -> [(clip, start, end), ...] (N gives (clip, N, N)); the clip id
    is all before the last ':'. Ranges stay ranges: the frames are looked up in the project
    (`frames_in_ranges`), so a huge END costs nothing."""
    ranges: list[tuple[str, int, int]] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        clip, sep, rng = part.rpartition(":")
        if not sep or not clip:
            raise FeasstmError(f"--frames: {part!r} is not CLIP:N or CLIP:START-END")
        try:
            if "-" in rng:
                lo, hi = (_index(v) for v in rng.split("-", 1))
            else:
                lo = hi = _index(rng)
        except ValueError:
            raise FeasstmError(f"--frames: {rng!r} in {part!r} is not a frame number or "
                               "range") from None
        if hi < lo or lo < 0:
            raise FeasstmError(f"--frames: the range {rng!r} is empty or negative")
        ranges.append((clip, lo, hi))
    return ranges


def _index(text: str) -> int:
    """A frame index; digits only (int() would also take ' 1_0 ' and 4300 digits)."""
    text = text.strip()
    if not text.isdigit() or not text.isascii() or len(text) > 30:
        raise ValueError(text)
    return int(text)


def read_frames_file(path: Path) -> list[tuple[str, int]]:
    from feasstm_gui.core.formats.faf import read_text

    keys = []
    for n, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        clip, sep, index = line.rpartition(",")
        try:
            keys.append((clip.strip(), _index(index)))
        except ValueError:
            raise FeasstmError("expected `clip,frame`", path=path, line=n) from None
        if not sep:
            raise FeasstmError("expected `clip,frame`", path=path, line=n)
    return keys


def _numbers(text: str, count: int, option: str) -> list[float]:
    """`count` comma-separated pixel coordinates: finite, within +-MAX_PIXELS (a NaN or 1e300
    box reached OpenCV and numpy's int conversion as a traceback)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise FeasstmError(f"{option} takes {count} numbers separated by commas") from None
    if len(values) != count:
        raise FeasstmError(f"{option} takes {count} numbers separated by commas")
    for v in values:
        if not math.isfinite(v) or abs(v) > MAX_PIXELS:
            raise FeasstmError(f"{option}: {v!r} is not a pixel coordinate (finite, within "
                               f"+-{MAX_PIXELS:,})")
    if option == "--box" and not (values[2] > 0 and values[3] > 0):
        raise FeasstmError(f"--box: the width and height must be above 0 (got {values[2]:g}, "
                           f"{values[3]:g})")
    return values


def _box_corners(text: str) -> tuple[float, float, float, float]:
    """--box X,Y,W,H (as an image viewer shows a selection) as the corners x1, y1, x2, y2 that
    every other part of the application uses."""
    x, y, w, h = _numbers(text, 4, "--box")
    if w <= 0 or h <= 0:
        raise FeasstmError(f"--box is X,Y,W,H with a positive width and height (got {text})")
    return (x, y, x + w, y + h)


def _pairs(values: list[float]) -> list[list[float]]:
    return [values[i:i + 2] for i in range(0, len(values), 2)]
