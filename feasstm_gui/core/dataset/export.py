"""Export a project as the FEASSTM dataset (DATASET.md, "Export layout"), or as Emotion-FAN lists.

Two steps, both without Qt:
- `plan_export(store, options)` reads the project once and decides everything: which frames go
  out (deleted and irrelevant frames never; unlabelled ones only when asked), their new names
  (continuous from 000001 per clip, in source-frame order), the split of each clip, the counts.
  The GUI shows this plan before anything is written.
- `export_dataset(store, out, options)` is a job (a generator yielding Progress) that writes the
  plan into a hidden sibling of `out` and renames it into place only when complete. A crash, a
  cancel or a full disk leaves nothing under `out` (the sibling is removed, or, after a crash,
  removed by the next export to the same place); the project is only read. An existing `out` is
  replaced only with `force`, and then atomically: old aside, new in, old deleted.

Crops are hard-linked when the export is on the project's file system (else copied), byte for
byte, never re-encoded. Every file's SHA-256 goes into manifest.json; `verify.py` checks them.
See docs/EXPORT.md for the decisions (unlabelled frames, CSV cells, Emotion-FAN runs).
"""

from __future__ import annotations

import errno
import hashlib
import heapq
import json
import os
import re
import secrets
import shutil
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from json.encoder import encode_basestring as _encode_str
from pathlib import Path
from typing import Any

from feasstm_gui import __version__
from feasstm_gui.core.dataset.split import SPLITS, TEST, TRAIN, choose_test_groups, read_split_file
from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.formats import emotion_fan as ef
from feasstm_gui.core.formats.csvsafe import csv_bytes, safe_cell
from feasstm_gui.core.ingest.images import IMAGE_EXTENSIONS
from feasstm_gui.core.jobs import Job, JobResult, Progress
from feasstm_gui.core.names import clip_id_problem
from feasstm_gui.core.problems import Problem
from feasstm_gui.core.store import Clip, Store
from feasstm_gui.core.store.export_queries import (
    ExportFrame,
    LabelRow,
    adjudications,
    export_frames,
    has_ratings,
    labels_by_frame,
    read_snapshot,
)
from feasstm_gui.core.store.proposals import proposals_for_export
from feasstm_gui.core.vocab import CODES

FORMAT_VERSION = 1
FORMATS = ("faf", "emotion-fan")
SPLIT_BY = ("clip", "actor", "identity")
MANIFEST = "manifest.json"

CLIPS_HEADER = ("clip", "video", "work", "actor", "role", "group", "start_s", "end_s", "split")
LABELS_HEADER = ("clip", "image name", "annotator", "code")
PROVENANCE_HEADER = ("clip", "image name", "source video", "source frame index", "time (ms)",
                     "detection probability", "sharpness score", "annotator",
                     "labelled at (UTC)", "proposed code", "proposal probability",
                     "accepted proposal")
#: --label-distribution: per image, the share of annotators who gave each code, and how many.
DISTRIBUTION_HEADER = ("clip", "image name", *(f"{c} {n}" for c, n in CODES.items()),
                       "annotators")
RUNS_HEADER = ("folder", "clip", "run", "code", "class", "frames", "first source frame index",
               "last source frame index", "split")

#: Images copied (or linked) between two progress reports: a cancel waits at most this long.
CHUNK = 500
_PARTIAL = ".partial-"
_OLD = ".old-"
_TRASH = ".trash-"  # an old export being deleted: never put back (it may be half deleted)
_VIDEO_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")
_CUT_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".avi"}


@dataclass(frozen=True)
class ExportOptions:
    """What `feasstm export` and the export dialog let the user choose (DATASET.md defaults)."""

    split_by: str = "clip"  # clip | actor
    test_fraction: float = 0.2  # of images, reached with whole clips (or actors)
    seed: int = 0
    stratify: bool = False
    split_file: Path | None = None  # CSV clip,split: fixes the split instead
    format: str = "faf"  # faf | emotion-fan
    include_unlabelled: bool = False  # faf only: unlabelled frames in faces/ with code 0
    with_videos: bool = False  # videos/<clip>.<ext> (FEASSTM-V)
    min_run: int = 1  # emotion-fan: shortest run of equal codes exported as a folder
    link: bool = True  # hard-link crops when on the same file system (else copy)
    label_distribution: bool = False  # label_distribution.csv: the annotators' codes per image


@dataclass(slots=True)
class PlannedImage:
    """One image of the export. `path` is relative to the export folder (POSIX); `name` is how
    the lists and CSVs name it (faf: `000001.jpg`; emotion-fan: `Happy/clip_001/0000001.jpg`).
    A million of these stay in memory: the paths are worked out when asked for, from strings
    shared by all the images of a folder."""

    frame: ExportFrame
    folder: str  # the folder `path` is in; "" when `name` is the whole path (emotion-fan)
    name: str
    code: int  # 0: unlabelled
    split: str

    @property
    def src(self) -> str:
        """The crop, relative to the project folder (POSIX)."""
        return self.frame.crop

    @property
    def path(self) -> str:
        return f"{self.folder}/{self.name}" if self.folder else self.name


@dataclass
class PlannedRun:
    """Emotion-FAN: one folder of consecutive frames with one code."""

    clip: str
    number: int
    code: int
    folder: str  # <ClassName>/<clip>_<run>
    images: list[PlannedImage]
    split: str


@dataclass
class ExportPlan:
    """Everything the export will write, decided before writing anything."""

    options: ExportOptions
    project: str
    project_folder: Path
    clips: list[Clip]
    split: dict[str, str]  # clip id -> train | test (every clip of the project)
    images: list[PlannedImage]
    runs: list[PlannedRun] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    alignment: dict[str, Any] = field(default_factory=dict)
    split_method: str = "fraction"
    labels: dict[int, tuple[LabelRow, ...]] = field(default_factory=dict)  # every annotator's own
    adjudications: dict[int, LabelRow] = field(default_factory=dict)
    #: frame id -> (proposed code, its probability), and -> {annotator: accepted code}
    proposals: dict[int, tuple[int, float]] = field(default_factory=dict)
    accepted: dict[int, dict[str, int]] = field(default_factory=dict)
    #: the actors' face descriptors per clip and the distance that means the same person
    identity: dict[str, Any] = field(default_factory=dict)

    @property
    def labelled(self) -> list[PlannedImage]:
        return [i for i in self.images if i.code]

    def counts_by_split(self) -> dict[str, dict[int, int]]:
        """Images per split and code (labelled images only; unlabelled are in no split)."""
        out: dict[str, dict[int, int]] = {s: dict.fromkeys(CODES, 0) for s in SPLITS}
        for image in self.images:
            if image.code:
                out[image.split][image.code] += 1
        return out

    def counts(self) -> dict[str, Any]:
        """The counts manifest.json and the dialog show: per split, code and clip."""
        by_split = self.counts_by_split()
        clips: dict[str, dict[str, Any]] = {}
        for clip in self.clips:
            clips[clip.id] = {"split": self.split.get(clip.id, ""), "images": 0,
                              "unlabelled": 0, "codes": {}}
        for image in self.images:
            c = clips[image.frame.clip]
            c["images"] += 1
            if image.code:
                c["codes"][str(image.code)] = c["codes"].get(str(image.code), 0) + 1
            else:
                c["unlabelled"] += 1
        out: dict[str, Any] = {
            "images": len(self.images),
            "labelled": sum(1 for i in self.images if i.code),
            "unlabelled": sum(1 for i in self.images if not i.code),
            "by_split": {
                s: {"images": sum(codes.values()),
                    "clips": sum(1 for c in clips.values() if c["split"] == s and c["images"]),
                    "codes": {str(k): v for k, v in codes.items()}}
                for s, codes in by_split.items()},
            "by_code": {str(k): sum(by_split[s][k] for s in SPLITS) for k in CODES},
            "by_clip": clips,
        }
        if self.options.format == "emotion-fan":
            out["sequences"] = {s: sum(1 for r in self.runs if r.split == s) for s in SPLITS}
        return out

    def test_fraction_reached(self) -> float:
        n = [sum(v.values()) for v in self.counts_by_split().values()]
        return n[1] / sum(n) if sum(n) else 0.0


# ============================================================================ plan


@dataclass
class ProjectSnapshot:
    """What the export reads from the project, read once in one transaction. The dialog keeps
    one while the user tries options, so a new plan does not read the database again."""

    folder: Path
    name: str
    clips: list[Clip]
    frames: list[ExportFrame]
    labels: dict[int, tuple[LabelRow, ...]]
    adjudications: dict[int, LabelRow]
    params: dict[str, Any]
    proposals: dict[int, tuple[int, float]] = field(default_factory=dict)
    accepted: dict[int, dict[str, int]] = field(default_factory=dict)


def read_project(store: Store) -> ProjectSnapshot:
    with read_snapshot(store):
        params = store.params()
        labels, decided = labels_by_frame(store), adjudications(store)
        return ProjectSnapshot(store.folder, params.get("project.name") or store.folder.name,
                               store.clips(), export_frames(store, labels, decided), labels,
                               decided, params, *proposals_for_export(store))


def plan_export(store: Store, options: ExportOptions | None = None, *,
                snapshot: ProjectSnapshot | None = None) -> ExportPlan:
    """Decide the whole export from the project (read only; from `snapshot` when given).
    Raises FeasstmError for what the user must fix first (a bad clip id, a bad split file,
    nothing to export)."""
    options = options or ExportOptions()
    _check_options(options)
    snap = snapshot or read_project(store)
    clips = snap.clips
    _check_names([c.id for c in clips], "clip id", snap.folder)
    problems: list[Problem] = []
    frames_by_clip: dict[str, list[ExportFrame]] = defaultdict(list)
    for frame in snap.frames:
        frames_by_clip[frame.clip].append(frame)
    listing = _Listing(snap.folder)
    exported: dict[str, tuple[list[ExportFrame], set[int]]] = {}
    for clip in clips:
        exported[clip.id] = _exportable(listing, clip.id, frames_by_clip.pop(clip.id, []),
                                        options, problems)
    weights = {cid: Counter(f.code for f in rows if f.code and f.crop is not None
                            and f.id not in bad)
               for cid, (rows, bad) in exported.items()}
    from feasstm_gui.core.dataset import identity_leaks as leaks
    from feasstm_gui.core.faces.tracker import TrackerSettings

    centroids = leaks.clip_centroids(store)
    threshold = TrackerSettings.from_dict(snap.params.get("align.tracker") or {}).identity_distance
    groups = leaks.identity_groups(clips, centroids, threshold) \
        if options.split_by == "identity" else None
    split, method = _split(snap.folder, clips, weights, options, problems, groups)
    problems.extend(leaks.leak_problems(
        snap.folder, centroids, threshold, split, {c.id: c.actor.strip() for c in clips},
        {c.id: c.work.strip() for c in clips}))
    if options.format == "emotion-fan":
        images, runs = _emotion_fan_images(exported, split, options)
    else:
        images, runs = _faf_images(exported, split, options), []
    if not images:
        hint = ""
        if not options.include_unlabelled and any(
                f.code is None and not f.irrelevant and not f.deleted and f.crop
                for f in snap.frames):
            hint = " (frames without a final label are left out unless --include-unlabelled)"
        raise FeasstmError("nothing to export: no frame that is aligned, kept and labelled"
                           + hint, path=snap.folder)
    alignment = {k.split(".", 1)[1]: v for k, v in snap.params.items() if k.startswith("align.")}
    return ExportPlan(options, snap.name, snap.folder, clips, split, images, runs, problems,
                      alignment, method, snap.labels, snap.adjudications, snap.proposals,
                      snap.accepted,
                      {"distance": threshold, "clips": centroids} if centroids else {})


def _effective_margin(alignment: dict) -> float | None:
    """The margin in force: the stored one, or the preset's own when none was set."""
    margin = alignment.get("margin")
    if margin is None:
        from feasstm_gui.core.faces.align import PRESETS

        preset = PRESETS.get(alignment.get("preset") or "")
        margin = preset.default_margin if preset else None
    return margin


def _check_options(options: ExportOptions) -> None:
    if options.format not in FORMATS:
        raise FeasstmError(f"unknown export format {options.format!r} (one of {', '.join(FORMATS)})")
    if options.split_by not in SPLIT_BY:
        raise FeasstmError(f"--split-by must be clip, actor or identity, not "
                           f"{options.split_by!r}")
    if not 0.0 <= float(options.test_fraction) <= 1.0:
        raise FeasstmError(f"--test-fraction must be between 0 and 1, not {options.test_fraction}")
    if int(options.min_run) < 1:
        raise FeasstmError(f"--min-run must be 1 or more, not {options.min_run}")


def _check_names(names: list[str], what: str, where: Path | str) -> None:
    """Names that become file or folder names: valid, and distinct even where the file system
    ignores case (Windows, macOS)."""
    seen: dict[str, str] = {}
    for name in names:
        problem = clip_id_problem(name)
        if problem:
            raise FeasstmError(f"bad {what} {name!r}: {problem}; rename it before exporting",
                               path=where)
        key = name.casefold()
        if key in seen and seen[key] != name:
            raise FeasstmError(f"{what}s {seen[key]!r} and {name!r} differ only in case and would "
                               "name the same folder on Windows and macOS; rename one",
                               path=where)
        seen[key] = name


class _Listing:
    """Which crop files exist, one directory listing per folder (22k stat calls cost more)."""

    def __init__(self, folder: Path):
        self.base = os.fspath(folder)
        self._names: dict[str, set[str]] = {}

    def path(self, rel: str) -> str:
        return _abs(self.base, rel)

    def exists(self, rel: str) -> bool:
        parent, _, name = rel.rpartition("/")
        names = self._names.get(parent)
        if names is None:
            try:
                names = set(os.listdir(os.path.join(self.base, *parent.split("/"))))
            except OSError:
                names = set()
            self._names[parent] = names
        return name in names


def _exportable(listing: _Listing, clip_id: str, frames: list[ExportFrame],
                options: ExportOptions, problems: list[Problem]
                ) -> tuple[list[ExportFrame], set[int]]:
    """The clip's kept frames (not deleted, not irrelevant) in source order, and the ids of
    those among them whose crop file is missing or not an image (reported; such a frame, like
    one without a crop, is not exported). Unlabelled frames are kept in the sequence
    (Emotion-FAN runs end at them); the faf plan drops them unless asked."""
    out: list[ExportFrame] = []
    bad: set[int] = set()
    no_face: list[ExportFrame] = []
    for frame in frames:
        if frame.irrelevant or frame.deleted:
            continue
        wanted = frame.code is not None or (options.include_unlabelled
                                            and options.format == "faf")
        src = frame.crop
        if src is not None:
            image = _suffix(src) in IMAGE_EXTENSIONS
            if wanted and not (image and listing.exists(src)):
                why = "is missing" if image else "is not a JPEG, PNG or BMP file"
                problems.append(Problem.at(listing.path(src), 0, f"crop of clip '{clip_id}' "
                                           f"frame {frame.frame_index} {why}; frame left out"))
                bad.add(frame.id)
        elif wanted:
            no_face.append(frame)
        out.append(frame)
    if no_face:
        problems.append(Problem.at(
            listing.base, 0, f"clip '{clip_id}': {len(no_face)} kept frame(s) have no aligned "
            f"face (first: frame {no_face[0].frame_index}); left out (align them first)"))
    return out, bad


def _suffix(src: str) -> str:
    if src.endswith(".jpg"):  # nearly every crop: no splitext
        return ".jpg"
    s = os.path.splitext(src)[1].lower()
    return ".jpg" if s == ".jpeg" else s


def _abs(base: str, rel: str) -> str:
    """A path relative to the project folder (POSIX separators) made absolute."""
    if os.sep == "/" and not rel.startswith("/"):
        return f"{base}/{rel}"
    return os.path.join(base, *rel.split("/"))


def _faf_images(exported, split, options) -> list[PlannedImage]:
    images = []
    append = images.append
    unlabelled = options.include_unlabelled
    for clip_id, (rows, bad) in exported.items():
        n = 0
        folder = f"faces/{clip_id}"
        clip_split = split[clip_id]
        for frame in rows:
            src = frame.crop
            if src is None or (frame.code is None and not unlabelled) or frame.id in bad:
                continue
            n += 1
            code = frame.code or 0
            append(PlannedImage(frame, folder, f"{n:06d}{_suffix(src)}", code,
                                clip_split if code else ""))
    return images


def _emotion_fan_images(exported, split, options) -> tuple[list[PlannedImage], list[PlannedRun]]:
    images: list[PlannedImage] = []
    runs: list[PlannedRun] = []
    owner: dict[str, str] = {}  # folder name (case folded) -> clip id
    for clip_id, (rows, bad) in exported.items():
        codes = [f.code if f.crop is not None and f.id not in bad else None for f in rows]
        for number, run in enumerate(ef.find_runs(codes, int(options.min_run)), start=1):
            folder = ef.folder_name(clip_id, number)
            other = owner.setdefault(folder.casefold(), clip_id)
            if other != clip_id:
                raise FeasstmError(
                    f"clip ids {other!r} and {clip_id!r} both give the Emotion-FAN folder name "
                    f"{folder!r} (whitespace becomes '_', case is ignored); rename one")
            rel = f"{ef.AFEW_CLASSES[run.code]}/{folder}"
            planned = PlannedRun(clip_id, number, run.code, rel, [], split[clip_id])
            for k, frame in enumerate(rows[run.start:run.stop], start=1):
                name = f"{rel}/{ef.frame_name(k, _suffix(frame.crop))}"
                planned.images.append(PlannedImage(frame, "", name, run.code, split[clip_id]))
            images.extend(planned.images)
            runs.append(planned)
    return images, runs


# ---------------------------------------------------------------------------- split


def _split(folder: Path, clips: list[Clip], weights: dict[str, Counter],
           options: ExportOptions, problems: list[Problem],
           identity_groups: dict[str, str] | None = None) -> tuple[dict[str, str], str]:
    if options.split_file is not None:
        return _split_from_file(clips, weights, options, problems), "file"
    if identity_groups is not None:  # --split-by identity: one actor name, one person, one group
        key_of = identity_groups
        groups = defaultdict(Counter)
        for clip in clips:
            groups[key_of[clip.id]].update(weights[clip.id])
    elif options.split_by == "actor":
        groups: dict[str, Counter] = defaultdict(Counter)
        key_of = {}
        for clip in clips:
            actor = clip.actor.strip()
            if not actor:
                problems.append(Problem.at(folder, 0, f"clip '{clip.id}' has no actor; "
                                           "--split-by actor treats it as an actor of its own"))
            key_of[clip.id] = f"actor:{actor}" if actor else f"clip:{clip.id}"
            groups[key_of[clip.id]].update(weights[clip.id])
    else:
        groups = {clip.id: weights[clip.id] for clip in clips}
        key_of = {clip.id: clip.id for clip in clips}
    result = choose_test_groups(groups, float(options.test_fraction), int(options.seed),
                                options.stratify, unit=options.split_by)
    problems.extend(Problem.at(folder, 0, note) for note in result.notes)
    return {cid: TEST if key in result.test else TRAIN for cid, key in key_of.items()}, "fraction"


def _split_from_file(clips, weights, options, problems) -> dict[str, str]:
    path = Path(options.split_file)
    given = read_split_file(path)
    known = {c.id for c in clips}
    for clip_id in given:
        if clip_id not in known:
            problems.append(Problem.at(path, 0, f"clip {clip_id!r} is not in the project; ignored"))
    missing = [c.id for c in clips if c.id not in given and sum(weights[c.id].values())]
    if missing:
        listed = ", ".join(repr(m) for m in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise FeasstmError(f"{len(missing)} clip(s) with labelled images are not in the split "
                           f"file: {listed}; add a line 'clip,train' or 'clip,test' for each",
                           path=path)
    split = {c.id: given.get(c.id, TRAIN) for c in clips}
    if options.split_by == "actor":
        by_actor: dict[str, set[str]] = defaultdict(set)
        for c in clips:
            if c.actor.strip() and sum(weights[c.id].values()):
                by_actor[c.actor.strip()].add(split[c.id])
        both = sorted(a for a, s in by_actor.items() if len(s) > 1)
        if both:
            raise FeasstmError("with --split-by actor, every clip of an actor must be in one "
                               "split; the split file puts " + ", ".join(repr(a) for a in both)
                               + " in both", path=path)
    return split


# ============================================================================ export job


def export_dataset(store: Store, out: str | Path, options: ExportOptions | None = None, *,
                   force: bool = False, plan: ExportPlan | None = None) -> Job:
    """Write the export as a job. `plan` (from plan_export) saves reading the project twice."""
    out = Path(out).absolute()
    plan = plan or plan_export(store, options)
    _remove_stale_siblings(out)
    _check_destination(out, store.folder, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}{_PARTIAL}{os.getpid()}-{secrets.token_hex(4)}"
    writer = _Writer(tmp, plan.options.link, plan.project_folder, len(plan.images))
    problems = list(plan.problems)
    total = len(plan.images) + 1 + (len(plan.clips) if plan.options.with_videos else 0)
    done = False
    try:
        tmp.mkdir()
        yield Progress(0, total, "planned", list(plan.problems))
        n = 0
        for chunk in _chunks(plan.images, CHUNK):
            writer.images(chunk, n)
            n += len(chunk)
            yield Progress(n, total, chunk[-1].frame.clip)
        _write_lists(writer, plan)
        _write_tables(writer, plan)
        yield Progress(n + 1, total, "lists and tables")
        n += 1
        if plan.options.with_videos:
            for clip, found in _write_videos(writer, plan):
                problems.extend(found)
                n += 1
                yield Progress(n, total, f"video {clip}", found)
        found = _write_asa(writer, store, plan)
        problems.extend(found)
        _write_manifest(writer, plan)
        writer.sync()
        _swap_in(tmp, out, force)
        done = True
    except OSError as exc:
        raise _os_error(exc, out) from exc
    finally:
        if not done:
            shutil.rmtree(tmp, ignore_errors=True)
    return JobResult(done=len(plan.images), problems=problems, summary=_summary(plan, out))


def _summary(plan: ExportPlan, out: Path) -> str:
    counts = plan.counts()
    by_split = counts["by_split"]
    parts = [f"{s} {by_split[s]['images']} images" for s in SPLITS]
    if plan.options.format == "emotion-fan":
        seq = counts["sequences"]
        parts = [f"{s} {seq[s]} sequences ({by_split[s]['images']} images)" for s in SPLITS]
    unl = sum(1 for i in plan.images if not i.code)
    extra = f", {unl} unlabelled" if unl else ""
    return f"exported to {out}: {', '.join(parts)}{extra}"


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _check_destination(out: Path, project: Path, force: bool) -> None:
    o, p = out.resolve(), project.resolve()
    if o == p or p in o.parents or o in p.parents:
        raise FeasstmError("the export cannot be written inside the project folder or over a "
                           f"folder that holds the project ({project}); choose another place",
                           path=out)
    if (out.exists() or out.is_symlink()) and not force:
        raise FeasstmError("already exists; choose a new name, or use --force to replace it",
                           path=out)
    _check_replaceable(out)


def _check_replaceable(out: Path) -> None:
    """--force replaces only an earlier export (a folder with an export's manifest.json) or an
    empty folder: never a home folder, another project, a plain file or a link."""
    what = not_an_export(out)
    if what:
        raise FeasstmError(f"{what} is there, not an earlier export; --force replaces only an "
                           "earlier export (a folder with its manifest.json) or an empty folder. "
                           "Choose a new name, or move it away yourself", path=out)


def not_an_export(out: Path) -> str | None:
    """What is at `out` when it is neither absent, an empty folder nor an earlier export (what
    replacing it would destroy); None when it may be replaced."""
    if out.is_symlink():
        return f"a symbolic link (to {os.readlink(out)})"
    if not out.exists():
        return None
    if not out.is_dir():
        kind = "a file" if out.is_file() else "a special file (not a folder)"
        return f"{kind} of {out.stat().st_size} bytes" if out.is_file() else kind
    try:
        names = sorted(p.name for p in out.iterdir())
    except OSError as exc:
        return f"a folder that cannot be listed ({exc.strerror})"
    if not names:
        return None
    if "project.sqlite" in names:
        return "a FEASSTM project (project.sqlite)"
    if MANIFEST in names and _is_export_manifest(out / MANIFEST):
        return None
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    manifest = f"a {MANIFEST} that is not an export's" if MANIFEST in names else f"no {MANIFEST}"
    entries = "1 entry" if len(names) == 1 else f"{len(names)} entries"
    return f"a folder with {entries} ({shown}) and {manifest}"


def _is_export_manifest(path: Path) -> bool:
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > 256 * 1024 * 1024:
            return False
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(data, dict) and data.get("application") == "FEASSTM Studio"
            and data.get("format") in ("feasstm-faf", "emotion-fan"))


def _remove_stale_siblings(out: Path) -> None:
    """Remove what a crashed export to the same place left (its process is gone)."""
    if os.name != "posix" or not out.parent.is_dir():
        return
    prefix = f".{out.name}"
    for entry in out.parent.iterdir():
        rest = entry.name[len(prefix):] if entry.name.startswith(prefix) else ""
        for tag in (_PARTIAL, _OLD, _TRASH):
            if rest.startswith(tag):
                pid = rest[len(tag):].split("-", 1)[0]
                if not pid.isdigit() or _alive(int(pid)):
                    continue
                if tag == _OLD and not (out.exists() or out.is_symlink()):
                    os.rename(entry, out)  # it crashed between its two renames: put it back
                else:
                    shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _swap_in(tmp: Path, out: Path, force: bool) -> None:
    """Rename the finished export into place; an old one (with force) goes aside first and is
    deleted only once the new one is in place."""
    if out.exists() or out.is_symlink():
        if not force:
            raise FeasstmError("appeared while exporting; nothing was replaced", path=out)
        _check_replaceable(out)  # again: it may have changed while the export was written
        aside = out.parent / f".{out.name}{_OLD}{os.getpid()}-{secrets.token_hex(4)}"
        os.rename(out, aside)
        try:
            os.rename(tmp, out)
        except OSError:
            os.rename(aside, out)
            raise
        if aside.is_dir() and not aside.is_symlink():
            # Renamed before deleting: a crash in the middle of rmtree must not leave a half
            # deleted export under the `.old-` name, which a later export would put back.
            trash = out.parent / f".{out.name}{_TRASH}{os.getpid()}-{secrets.token_hex(4)}"
            os.rename(aside, trash)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            aside.unlink(missing_ok=True)
    else:
        os.rename(tmp, out)
    _fsync_dir(out.parent)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _os_error(exc: OSError, out: Path) -> FeasstmError:
    where = exc.filename or out
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        why = "the disk is full" if exc.errno == errno.ENOSPC else "the disk quota is exceeded"
        return FeasstmError(f"{why} while writing {where}; nothing was exported (the partial "
                            "export was removed). Free some space and try again", path=out)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "the file system is read-only" if exc.errno == errno.EROFS else "permission denied"
        return FeasstmError(f"cannot write {where}: {why}; nothing was exported. "
                            "Choose a folder you can write to", path=out)
    return FeasstmError(f"could not write {where} ({exc.strerror or exc}); nothing was "
                        "exported", path=out)


# ---------------------------------------------------------------------------- file writing


def _copy_file(src: str | Path, dst: str | Path, link: bool) -> tuple[bytes, int, bool | None]:
    """Put `src`'s bytes at `dst` (new file): a hard link when `link`, else a copy. Returns the
    SHA-256 (32 bytes), the size, and whether a link was made (False: it fell back to a copy;
    None: this file has too many links already, copied, but links still work for others)."""
    if link:
        try:
            os.link(src, dst)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EEXIST):
                raise
            if exc.errno == errno.EMLINK:  # this crop's link count is full (ext4: 65,000)
                return (*_copy_file(src, dst, False)[:2], None)
        else:
            with open(dst, "rb", buffering=0) as f:
                data = f.readall()
            return hashlib.sha256(data).digest(), len(data), True
    with open(src, "rb", buffering=0) as f:
        data = f.readall()
    with open(dst, "xb") as f:
        f.write(data)
    return hashlib.sha256(data).digest(), len(data), False


class _Writer:
    """Writes files under the temporary export folder and remembers each one's hash: the
    images' in two flat arrays in plan order (32 bytes and one integer each: a million images
    take 40 MB, not the 300 MB of a dict), every other file's in `hashes`."""

    def __init__(self, root: Path, link: bool, project: Path | str = "", n_images: int = 0):
        self.root = root
        self.link = link
        self.hashes: dict[str, tuple[str, int]] = {}
        self._dirs: set[str] = set()
        self._root = os.fspath(root)
        self._project = os.fspath(project)
        self.digests = bytearray(32 * n_images)
        self.sizes = array("q", bytes(8 * n_images))

    def images(self, images: list[PlannedImage], start: int) -> None:
        """Put `images` (plan.images[start:start + len(images)]) in place, each in one tight
        step: the folder made once, the link (or copy), the hash."""
        root, project, dirs = self._root, self._project, self._dirs
        digests, sizes = self.digests, self.sizes
        k = start
        last, prefix = None, ""
        posix = os.sep == "/"
        for image in images:
            folder = image.folder
            if not folder:  # emotion-fan: the name is the path
                folder = image.name.rpartition("/")[0]
            if folder is not last:
                if folder not in dirs:
                    (self.root / folder).mkdir(parents=True, exist_ok=True)
                    dirs.add(folder)
                last = folder
                prefix = f"{root}/{image.folder}/" if image.folder else f"{root}/"
            crop = image.frame.crop
            if posix and not crop.startswith("/"):
                src, dst = f"{project}/{crop}", prefix + image.name
            else:
                src, dst = _abs(project, crop), _abs(root, image.path)
            digest, size, linked = _copy_file(src, dst, self.link)
            if self.link and linked is False:
                self.link = False  # another file system, or links not allowed: copy the rest
            digests[32 * k:32 * k + 32] = digest
            sizes[k] = size
            k += 1

    def _target(self, rel: str) -> Path:
        parent = rel.rpartition("/")[0]
        if parent and parent not in self._dirs:
            (self.root / parent).mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        return self.root / rel

    def bytes(self, rel: str, data: bytes) -> None:
        with open(self._target(rel), "xb") as f:
            f.write(data)
        self.hashes[rel] = (hashlib.sha256(data).hexdigest(), len(data))

    def path(self, rel: str) -> Path:
        return self._target(rel)

    def text(self, rel: str) -> _TextOut:
        """A new text file written in pieces (UTF-8, hashed on the way): `with` it."""
        return _TextOut(self, rel)

    def add_existing(self, rel: str) -> None:
        h = hashlib.sha256()
        size = 0
        with open(self.root / rel, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
                size += len(block)
        self.hashes[rel] = (h.hexdigest(), size)

    def sync(self) -> None:
        """Flush everything to disk before the rename makes the export visible."""
        if hasattr(os, "sync"):
            os.sync()


class _TextOut:
    """A file of the export written as text in pieces of about a megabyte, hashed as written
    (a million lines never held in memory at once). The hash is recorded on a clean close."""

    def __init__(self, writer: _Writer, rel: str):
        self.writer, self.rel = writer, rel
        self._file = open(writer._target(rel), "xb")
        self._hash = hashlib.sha256()
        self._size = 0
        self._pieces: list[str] = []
        self._chars = 0

    def write(self, text: str) -> None:
        self._pieces.append(text)
        self._chars += len(text)
        if self._chars >= 1 << 20:
            self.flush()

    def flush(self) -> None:
        data = "".join(self._pieces).encode("utf-8")
        self._pieces.clear()
        self._chars = 0
        self._hash.update(data)
        self._size += len(data)
        self._file.write(data)

    def __enter__(self) -> _TextOut:
        return self

    def __exit__(self, kind, value, tb) -> None:
        try:
            if kind is None:
                self.flush()
        finally:
            self._file.close()
        if kind is None:
            self.writer.hashes[self.rel] = (self._hash.hexdigest(), self._size)


def _write_lists(writer: _Writer, plan: ExportPlan) -> None:
    if plan.options.format == "emotion-fan":
        for s in SPLITS:
            lines = [ef.list_line(r.code, r.folder.split("/", 1)[1]) for r in plan.runs
                     if r.split == s]
            writer.bytes(f"{s}.txt", "".join(lines).encode("utf-8"))
        return
    per_clip: dict[str, list[str]] = defaultdict(list)  # a plan holds each clip's images in a row
    outs = {s: writer.text(f"{s}.txt") for s in SPLITS}
    try:
        if plan.options.include_unlabelled:
            outs["unlabelled"] = writer.text("unlabelled.txt")
        last = None
        for image in plan.images:
            clip = image.frame.clip
            if clip != last:
                if last is not None and len(per_clip[last]) > 256:  # written below, in order
                    per_clip[last] = ["".join(per_clip[last])]
                last = clip
            line = f"{image.name} {image.code}\n"
            per_clip[clip].append(line)
            out = outs.get(image.split or "unlabelled")
            if out is not None:
                out.write(f"{clip}/{line}")
        for clip, lines in per_clip.items():
            writer.bytes(f"annotations/{clip}.txt", "".join(lines).encode("utf-8"))
        for out in outs.values():
            out.__exit__(None, None, None)
        outs = {}
    finally:
        for out in outs.values():  # an error: close what is open (the folder is removed)
            out._file.close()


class _Safe(dict):
    """safe_cell of text cells, remembered: clip ids, video and annotator names repeat over a
    million rows."""

    def __missing__(self, text: str) -> Any:
        value = self[text] = safe_cell(text)
        return value


def _csv_out(writer: _Writer, rel: str, header, rows) -> None:
    """What writer.bytes(rel, csv_bytes(header, rows)) writes, streamed, for rows whose cells
    are already safe (numbers, or text through safe_cell)."""
    import csv

    with writer.text(rel) as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow([safe_cell(h) for h in header])
        w.writerows(rows)


def _write_tables(writer: _Writer, plan: ExportPlan) -> None:
    writer.bytes("clips.csv", csv_bytes(CLIPS_HEADER, (
        (c.id, Path(c.video).name if c.video else "", c.work, c.actor, c.role, c.group,
         _num(c.start_s), _num(c.end_s), plan.split.get(c.id, "")) for c in plan.clips)))
    labels, decided = plan.labels, plan.adjudications
    safe = _Safe()
    videos = {c.id: safe[Path(c.video).name] if c.video else "" for c in plan.clips}
    # Image names are ours (digits, or an Emotion-FAN class name first): never a formula.

    def label_rows():
        for image in plan.images:
            f = image.frame
            clip = safe[f.clip]
            for row in labels.get(f.id, ()):
                yield clip, image.name, safe[row.annotator], row.code

    def provenance():
        for image in plan.images:
            f = image.frame
            adjudication = decided.get(f.id)
            who, when = _final_author(f.code, labels.get(f.id, ()), adjudication)
            yield (safe[f.clip], image.name, videos[f.clip], f.frame_index, _num(f.time_ms),
                   _num(f.prob), _num(f.sharpness), safe[who], safe_cell(when),
                   *_proposal_cells(plan, f.id, f.code, adjudication))

    _csv_out(writer, "labels_by_annotator.csv", LABELS_HEADER, label_rows())
    _csv_out(writer, "provenance.csv", PROVENANCE_HEADER, provenance())
    if plan.options.label_distribution:
        writer.bytes("label_distribution.csv", csv_bytes(DISTRIBUTION_HEADER, (
            (i.frame.clip, i.name, *_distribution(labels.get(i.frame.id, ())))
            for i in plan.images)))
    if plan.options.format == "emotion-fan":
        writer.bytes("runs.csv", csv_bytes(RUNS_HEADER, (
            (r.folder, r.clip, r.number, r.code, ef.AFEW_CLASSES[r.code], len(r.images),
             r.images[0].frame.frame_index, r.images[-1].frame.frame_index, r.split)
            for r in plan.runs)))


def _proposal_cells(plan: ExportPlan, frame_id: int, code: int | None,
                    adjudication: LabelRow | None) -> tuple:
    """The model's proposal for an image (code, probability) and whether its final label was an
    accepted proposal ("yes": an annotator who gave the final label accepted it; an adjudicated
    label is the adjudicator's own). Empty where there is no proposal, or no final label."""
    proposed = plan.proposals.get(frame_id)
    cells: tuple = (proposed[0], round(proposed[1], 6)) if proposed else ("", "")
    if not code:
        return (*cells, "")
    accepted = plan.accepted.get(frame_id, {})
    yes = adjudication is None and any(c == code for c in accepted.values())
    return (*cells, "yes" if yes else "no")


def _distribution(labels) -> tuple:
    """Seven proportions (codes 1-7) and the number of annotators."""
    counts = Counter(r.code for r in labels)
    n = sum(counts.values())
    return (*(_num(round(counts[c] / n, 6)) if n else 0 for c in CODES), n)


def _final_author(code: int | None, labels, adjudication: LabelRow | None) -> tuple[str, str]:
    """Who gave the final label and when: the adjudicator, else the annotators who agree on it
    (names joined by `;`, the latest time)."""
    if not code:
        return "", ""
    if adjudication is not None:
        return adjudication.annotator, adjudication.labelled_at
    agreeing = [r for r in labels if r.code == code]
    return ";".join(r.annotator for r in agreeing), max((r.labelled_at for r in agreeing),
                                                        default="")


def _num(value: float | None) -> Any:
    if value is None:
        return ""
    return int(value) if float(value).is_integer() else float(value)


def _write_videos(writer: _Writer, plan: ExportPlan) -> Iterator[tuple[str, list[Problem]]]:
    """Each clip's video into videos/, cut to its start and end: one clip per step."""
    from feasstm_gui.core.ingest.full_frames import clip_video
    from feasstm_gui.core.ingest.media import VideoDamaged, cut_video

    for clip in plan.clips:
        if not clip.video:
            yield clip.id, [Problem.at(plan.project_folder, 0, f"clip '{clip.id}' has no source "
                                       "video (imported from a FAF folder); not in videos/")]
            continue
        src = clip_video(plan.project_folder, clip)
        if not src.is_file():
            yield clip.id, [Problem.at(src, 0, f"source video of clip '{clip.id}' is missing; "
                                       "not in videos/")]
            continue
        cut = clip.start_s is not None or clip.end_s is not None
        suffix = src.suffix.lower()
        if not _VIDEO_SUFFIX.match(suffix) or (cut and suffix not in _CUT_SUFFIXES):
            suffix = ".mp4"
        rel = f"videos/{clip.id}{suffix}"
        try:
            cut_video(src, writer.path(rel), clip.start_s, clip.end_s)
        except VideoDamaged as exc:
            _discard(writer.root / rel)
            yield clip.id, [Problem.at(src, 0, f"{exc}; video of clip '{clip.id}' not in "
                                       "videos/")]
            continue
        except FeasstmError as exc:
            cause = exc.__cause__
            if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
                raise cause from exc
            _discard(writer.root / rel)
            yield clip.id, [Problem.at(src, 0, f"{exc}; video of clip '{clip.id}' not in "
                                       "videos/")]
            continue
        writer.add_existing(rel)
        yield clip.id, []


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".part").unlink(missing_ok=True)


def _write_asa(writer: _Writer, store: Store, plan: ExportPlan) -> list[Problem]:
    """asa/*.csv from the ratings developer's module, when the project holds ratings."""
    if not has_ratings(store):
        return []
    try:
        from feasstm_gui.core.ratings.asa import write_asa_tables
    except ModuleNotFoundError as exc:
        if exc.name != "feasstm_gui.core.ratings.asa":
            raise
        return [Problem.at(plan.project_folder, 0, "the project holds acting-skill ratings, but "
                           "this version cannot export them; asa/ not written")]
    asa_dir = writer.root / "asa"
    asa_dir.mkdir(exist_ok=True)
    names = {image.frame.id: image.name for image in plan.images}
    write_asa_tables(store, asa_dir, dict(plan.split), names)
    for path in sorted(asa_dir.rglob("*")):
        if path.is_file():
            writer.add_existing(path.relative_to(writer.root).as_posix())
    return []


def _write_manifest(writer: _Writer, plan: ExportPlan) -> None:
    o = plan.options
    a = plan.alignment
    manifest = {
        "format": "feasstm-faf" if o.format == "faf" else "emotion-fan",
        "format_version": FORMAT_VERSION,
        "application": "FEASSTM Studio",
        "application_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00",
                                                                                     "Z"),
        "project": plan.project,
        "alignment": {
            "detector": a.get("detector"),
            "crop_size": a.get("size"),
            "margin": _effective_margin(a),
            "landmark_template": a.get("template", a.get("landmark_template", a.get("preset"))),
            "parameters": a,
        },
        "split": {
            "by": o.split_by,
            "method": plan.split_method,
            "test_fraction": o.test_fraction if plan.split_method == "fraction" else None,
            "seed": o.seed if plan.split_method == "fraction" else None,
            "stratify": o.stratify if plan.split_method == "fraction" else None,
            "split_file": Path(o.split_file).name if o.split_file else None,
            "test_fraction_reached": round(plan.test_fraction_reached(), 6),
        },
        "options": {"include_unlabelled": o.include_unlabelled, "with_videos": o.with_videos,
                    "label_distribution": o.label_distribution,
                    **({"min_run": o.min_run} if o.format == "emotion-fan" else {})},
        **({"identity": plan.identity} if plan.identity else {}),
        "csv_text_prefix": "a text cell starting with = + - @ tab or CR has a ' prepended",
        "counts": plan.counts(),
    }
    # What json.dumps(manifest + "files", ensure_ascii=False, indent=1) gives, with the
    # files table written in pieces (a million entries through json.dumps: a minute, 1 GB).
    head = json.dumps(manifest, ensure_ascii=False, indent=1)
    assert head.endswith("\n}")
    with open(writer.root / MANIFEST, "xb") as f:
        f.write(head[:-2].encode("utf-8"))
        f.write(b',\n "files": {')
        first = True
        piece: list[str] = []
        for rel, digest, size in _manifest_files(writer, plan):
            piece.append(f'{"" if first else ","}\n  {_json_str(rel)}: {{\n   "sha256": '
                         f'"{digest}",\n   "bytes": {size}\n  }}')
            first = False
            if len(piece) >= 4096:
                f.write("".join(piece).encode("utf-8"))
                piece.clear()
        f.write("".join(piece).encode("utf-8"))
        f.write(b"}\n}\n" if first else b"\n }\n}\n")
        f.flush()
        os.fsync(f.fileno())


def _json_str(text: str) -> str:
    return _encode_str(text)


def _manifest_files(writer: _Writer, plan: ExportPlan) -> Iterator[tuple[str, str, int]]:
    """(path, SHA-256, bytes) of every file written, in path order (sorted() of the paths):
    the images' from the writer's arrays folder by folder, merged with the other files'."""
    images = plan.images
    folders: dict[str, list[int]] = {}  # folder -> [first, last + 1] in plan order
    spans: list[tuple[str, int, int]] = []
    start = 0
    for k in range(1, len(images) + 1):
        if k == len(images) or _folder(images[k]) != _folder(images[start]):
            folder = _folder(images[start])
            if folder in folders:  # not one run (no plan makes that): sort every image
                spans = [("", 0, len(images))]
                break
            folders[folder] = [start, k]
            spans.append((folder, start, k))
            start = k
    # Paths of different folders at the same depth compare as their folders followed by "/".
    spans.sort(key=lambda s: s[0] + "/")
    digests, sizes = writer.digests, writer.sizes

    def image_entries() -> Iterator[tuple[str, str, int]]:
        for _, a, b in spans:
            order = range(a, b)
            paths = [images[k].path for k in order]
            if any(paths[i] > paths[i + 1] for i in range(len(paths) - 1)):
                order = sorted(order, key=lambda k: images[k].path)
                paths = [images[k].path for k in order]
            for k, rel in zip(order, paths):
                yield rel, digests[32 * k:32 * k + 32].hex(), sizes[k]

    others = ((rel, h, n) for rel, (h, n) in sorted(writer.hashes.items()))
    return heapq.merge(image_entries(), others, key=lambda e: e[0])


def _folder(image: PlannedImage) -> str:
    return image.folder or image.name.rpartition("/")[0]
