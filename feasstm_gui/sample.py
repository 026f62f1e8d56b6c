"""The sample project a new user opens first: real photographs turned into short clips, then
extracted and aligned by the real pipeline, with a few labels and a rating.

The clips are written from `resources/sample/recipe.json`: the camera pans, zooms and rolls over
a portrait, cuts to another photograph, blurs some frames on purpose and cuts away to a faceless
image, so the strip shows faces, irrelevant frames and blur suggestions within a minute on two
CPU cores. The same job runs from `feasstm sample PROJECT` and the welcome screen's
"Open sample". No Qt here.

    store = create_sample_project(folder, annotator="me")
    drive(sample_job(store), on_progress)
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from feasstm_gui.core.files import replacing
from feasstm_gui.core.jobs import Job, JobResult, Progress
from feasstm_gui.core.problems import Problem
from feasstm_gui.core.store import Clip, Store

#: The project name the sample project is created with.
SAMPLE_NAME = "FEASSTM sample"
#: The sample's labels are by these two annotators; the second disagrees on a few frames (the
#: adjudication panel's example).
FIRST_ANNOTATOR = "示例 标注员一"
SECOND_ANNOTATOR = "示例 标注员二"
#: Where the clips' videos live inside the project folder.
VIDEOS_DIR = "videos"


def resources_dir() -> Path:
    """The `resources/` folder: $FEASSTM_RESOURCES, the PyInstaller bundle's, or the source
    tree's (beside the package)."""
    env = os.environ.get("FEASSTM_RESOURCES")
    if env:
        return Path(env)
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[1] / "resources"


def load_recipe(path: str | Path | None = None) -> dict[str, Any]:
    path = Path(path) if path else resources_dir() / "sample" / "recipe.json"
    return json.loads(path.read_text("utf-8"))


def default_location() -> Path:
    """Where the GUI builds the sample project: beside the user's settings."""
    from feasstm_gui.core.settings import config_dir

    return Path(config_dir()) / "sample-project"


# ---------------------------------------------------------------------------------------------
# Clips from photographs
# ---------------------------------------------------------------------------------------------


def _read(path: Path):
    import cv2
    import numpy as np

    data = np.fromfile(str(path), np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"{path}: cannot decode the photograph")
    return image


def _fill(image, size: tuple[int, int]):
    """A faceless image scaled and centre-cropped to fill the frame."""
    import cv2

    w, h = size
    s = max(w / image.shape[1], h / image.shape[0])
    big = cv2.resize(image, (round(image.shape[1] * s + 0.5), round(image.shape[0] * s + 0.5)),
                     interpolation=cv2.INTER_AREA)
    y0, x0 = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return big[y0:y0 + h, x0:x0 + w].copy()


def _camera(image, face: list[float], pose: list[float], size: tuple[int, int]):
    """The photograph as a camera sees it with the face at `pose` (side, roll, centre x, y)."""
    import cv2

    fx, fy, fside = face
    side, roll, cx, cy = pose
    s = side / fside
    small = cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    sx, sy = small.shape[1] / image.shape[1], small.shape[0] / image.shape[0]
    centre = ((fx + 0.5) * sx - 0.5, (fy + 0.5) * sy - 0.5)
    m = cv2.getRotationMatrix2D(centre, -roll, 1.0)
    m[0, 2] += cx - centre[0]
    m[1, 2] += cy - centre[1]
    return cv2.warpAffine(small, m, size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def _blur(frame, kind: str):
    import cv2
    import numpy as np

    if kind == "motion":
        kernel = np.zeros((17, 17), np.float32)
        kernel[8, :] = 1.0 / 17
        return cv2.filter2D(frame, -1, kernel)
    return cv2.GaussianBlur(frame, (0, 0), 3.5)


def render_clip(spec: dict, recipe: dict, photos: Path) -> list:
    """The frames (BGR) of one clip of the recipe."""
    size = tuple(recipe["size"])
    cache: dict[str, Any] = {}

    def photo(name: str):
        if name not in cache:
            cache[name] = _read(photos / name)
        return cache[name]

    frames = []
    for shot in spec["shots"]:
        n = int(shot["frames"])
        blur = {int(k): v for k, v in shot.get("blur", {}).items()}
        splice = {int(k): v for k, v in shot.get("splice", {}).items()}
        face = recipe["faces"].get(shot["photo"])
        for k in range(n):
            if k in splice or face is None:
                frame = _fill(photo(splice.get(k, shot["photo"])), size)
            else:
                t = k / max(1, n - 1)
                pose = [a + (b - a) * t for a, b in zip(shot["start"], shot["end"])]
                frame = _camera(photo(shot["photo"]), face, pose, size)
            frames.append(_blur(frame, blur[k]) if k in blur else frame)
    return frames


def write_video(path: Path, frames: list, fps: float) -> Path:
    """MJPG in .avi: every frame decodes on its own, and every OpenCV build writes it."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    with replacing(path, path.with_name(path.stem + ".part.avi")) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
        if not writer.isOpened():
            raise OSError(f"{path}: OpenCV cannot write MJPG video here")
        writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
        for frame in frames:
            writer.write(frame)
        writer.release()
    return path


def clip_frame_count(spec: dict) -> int:
    return sum(int(s["frames"]) for s in spec["shots"])


# ---------------------------------------------------------------------------------------------
# The project and its job
# ---------------------------------------------------------------------------------------------


def create_sample_project(folder: str | Path, annotator: str = "") -> Store:
    """A new, empty project for the sample (the folder must be new or empty); fill it with
    `sample_job`. An unfinished sample project is opened as it is, and the job resumes it."""
    from feasstm_gui.core.errors import FeasstmError

    folder = Path(folder)
    if not (folder / "project.sqlite").exists():
        store = Store.create(folder, annotator=annotator, name=SAMPLE_NAME)
        store.set_params({"sample.recipe": 1})
        return store
    store = Store.open(folder, annotator=annotator)
    if store.param("sample.recipe") is None:
        store.close()
        raise FeasstmError("this project is not a sample project; choose a new folder",
                           path=folder)
    return store


def is_complete(folder: str | Path) -> bool:
    """Whether a sample project was built to the end (its marker parameter is set)."""
    folder = Path(folder)
    if not (folder / "project.sqlite").exists():
        return False
    store = Store.open(folder, read_only=True)
    try:
        return bool(store.param("sample.complete", False))
    finally:
        store.close()


def sample_job(store: Store, recipe: dict | None = None, *, device: str | None = None) -> Job:
    """Write the clips, import them with their metadata, extract and align them, then add a few
    labels and a rating. Progress counts frames over all stages (write, extract, align) plus one
    step for the annotations. Run again on a half-built sample, it resumes."""
    from feasstm_gui.core.ingest.pipeline import align_clip, extract_clip

    recipe = recipe or load_recipe()
    photos = resources_dir() / "sample" / "photos"
    specs = recipe["clips"]
    counts = [clip_frame_count(s) for s in specs]
    total = 3 * sum(counts) + 1
    offset = 0
    problems: list[Problem] = []
    for spec, n in zip(specs, counts):
        video = store.folder / VIDEOS_DIR / f"{spec['id']}.avi"
        if not video.exists():
            write_video(video, render_clip(spec, recipe, photos), float(recipe["fps"]))
        if not store.has_clip(spec["id"]):
            store.add_clip(Clip(spec["id"], video=str(video), work=spec["work"],
                                actor=spec["actor"], role=spec["role"], group=spec["group"],
                                fps=float(recipe["fps"])))
        offset += n
        yield Progress(offset, total, f"{spec['id']}: clip written")
    for stage, make in (("extract", lambda c: extract_clip(store, c)),
                        ("align", lambda c: align_clip(store, c, device=device))):
        for spec, n in zip(specs, counts):
            result = yield from _shifted(make(spec["id"]), offset, n, total, stage)
            if isinstance(result, JobResult):
                problems += result.problems
            offset += n
    if not store.param("sample.complete", False):
        annotate(store, recipe)
        store.set_params({"sample.complete": True})
    summary = store.status()
    yield Progress(total, total, "sample ready")
    return JobResult(done=summary["frames"], problems=problems,
                     summary=f"sample project: {summary['clips']} clips, {summary['frames']} "
                     f"frames, {summary['faces']} faces, {summary['irrelevant']} irrelevant")


def _shifted(job: Job, offset: int, span: int, total: int, stage: str) -> Job:
    """Re-yield an inner job's progress as a part of the whole sample job. Cancelled between
    two yields, the inner job is closed at once (it commits what it holds)."""
    try:
        while True:
            p = next(job)
            done = offset + min(span, p.done * span // max(1, p.total or span))
            yield Progress(done, total, f"{stage} {p.message}".strip(), p.problems)
    except StopIteration as stop:
        return stop.value
    finally:
        job.close()


def _ranges(spec: dict[str, int]) -> Iterable[tuple[range, int]]:
    for key, code in spec.items():
        lo, _, hi = key.partition("-")
        yield range(int(lo), int(hi or lo) + 1), int(code)


def annotate(store: Store, recipe: dict) -> None:
    """A few labels (two annotators disagreeing on some frames) and one ASA rating, so every
    panel has something to show. Only frames with a face get a label."""
    from feasstm_gui.core.store import ratings

    for spec in recipe["clips"]:
        frames = {f.frame_index: f for f in store.frames(spec["id"])}
        for indices, code in _ranges(spec.get("labels", {})):
            ids = [frames[i].id for i in indices
                   if i in frames and frames[i].crop and not frames[i].irrelevant]
            if ids:
                store.set_labels(ids, code, annotator=FIRST_ANNOTATOR)
        by_code: dict[int, list[int]] = {}
        for f in store.frames(spec["id"]):
            if f.code is not None:
                by_code.setdefault(f.code, []).append(f.id)
        labelled = sorted(i for ids in by_code.values() for i in ids)
        disagree = set(labelled[-3:])  # the second annotator agrees except on three frames
        for code, ids in by_code.items():
            store.set_labels([i for i in ids if i not in disagree], code,
                             annotator=SECOND_ANNOTATOR)
        for code, ids in by_code.items():
            other = [i for i in ids if i in disagree]
            if other:
                store.set_labels(other, 7 if code == 4 else 4, annotator=SECOND_ANNOTATOR)
    rating = recipe.get("rating")
    if rating and store.has_clip(rating["clip"]):
        ratings.set_rater(store, rating["rater"], rating["group"])
        ratings.set_score(store, rating["clip"], rating["rater"], int(rating["score"]))
        ratings.set_description(store, rating["clip"], rating["rater"], rating["description"])
        faces = [f.id for f in store.frames(rating["clip"]) if f.crop and not f.irrelevant]
        if len(faces) >= 5:
            step = len(faces) // 5
            ratings.set_picks(store, rating["clip"], rating["rater"], faces[::step][:5])
    # enough raters per group for the agreement panel's acting-score table (issue 20)
    if rating and store.has_clip(rating["clip"]):
        ratings.set_completed(store, rating["clip"], rating["rater"], True)
    for n, more in enumerate(recipe.get("more_ratings", []), 1):
        ratings.set_rater(store, more["rater"], more["group"])
        for clip, score in more["scores"].items():
            faces = [f.id for f in store.frames(clip) if f.crop and not f.irrelevant]
            if not store.has_clip(clip) or len(faces) < 5:
                continue
            ratings.set_score(store, clip, more["rater"], int(score))
            ratings.set_description(store, clip, more["rater"], f"sample rating {n}")
            step = len(faces) // 5
            ratings.set_picks(store, clip, more["rater"],
                              [faces[(i * step + n) % len(faces)] for i in range(5)])
            ratings.set_completed(store, clip, more["rater"], True)
