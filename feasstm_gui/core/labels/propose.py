"""The proposal job: a model's expression code and probabilities for every aligned face.

A generator like the other jobs (core/jobs.py): it reads the crops of a batch of faces, runs the
model once over the batch, commits the batch's proposals, and yields. Run again it resumes: a
face already proposed by the same model from the same crop is not done again; a re-aligned face,
or another model, is. A crop that cannot be read is reported (`crop:0: reason`) and gets no
proposal; the other faces go on.
"""

from __future__ import annotations

import stat
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from feasstm_gui.core.jobs import Job, JobResult, Progress
from feasstm_gui.core.labels.expression_model import ExpressionModel
from feasstm_gui.core.problems import Problem
from feasstm_gui.core.store import Store
from feasstm_gui.core.store import proposals as sp

#: Faces read, proposed and committed together (a kill loses at most this many).
PROPOSE_BATCH = 256

_JPEG_EOI = b"\xff\xd9"


def read_crop(path: Path, grey: bool) -> tuple[np.ndarray | None, str | None]:
    """A crop decoded for the model (grey or BGR), or (None, why it cannot be used)."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a pipe or a device would never end
            return None, "crop is not a regular file"
        data = path.read_bytes()
    except FileNotFoundError:
        return None, "crop file missing (re-align the frame to make it again)"
    except IsADirectoryError:
        return None, "crop is a folder, not an image"
    except OSError as exc:
        return None, f"crop cannot be read ({exc.strerror or exc})"
    if not data:
        return None, "crop is an empty file"
    if data[:3] == b"\xff\xd8\xff" and not data.rstrip(b"\x00").endswith(_JPEG_EOI):
        return None, "crop is a truncated JPEG (no end-of-image marker); re-align the frame"
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8),
                             cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        return None, "crop cannot be decoded as an image; re-align the frame"
    return image, None


def propose_clip(store: Store, clip_id: str, model: ExpressionModel, *,
                 batch: int = PROPOSE_BATCH) -> Job:
    """Propose a code for each aligned face of a clip that has no current proposal from
    `model`. Returns a JobResult whose `done` is the number of faces proposed."""
    todo = sp.faces_to_propose(store, clip_id, model.id)
    total = sp.aligned_count(store, clip_id)
    already = total - len(todo)
    done, problems = 0, []
    if not todo:
        what = "every face already proposed" if total else "no aligned face yet (align it first)"
        yield Progress(total, total, f"{clip_id}: {what}")
        return JobResult(summary=f"{clip_id}: {what}")
    workers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feasstm-crops")
    try:
        chunks = [todo[i:i + batch] for i in range(0, len(todo), batch)]
        ahead = workers.submit(_read_batch, store.folder, chunks[0], model)
        for k, _chunk in enumerate(chunks):
            rows, batch_x, bad = ahead.result()
            if k + 1 < len(chunks):  # read the next batch while the model runs on this one
                ahead = workers.submit(_read_batch, store.folder, chunks[k + 1], model)
            if rows:
                probs = model.predict_prepared(batch_x)
                ok = np.isfinite(probs).all(axis=1)
                for (frame_id, _v), good in zip(rows, ok):
                    if not good:
                        bad.append(Problem.at(store.folder, 0, f"frame {frame_id}: the model "
                                              "gave no valid probabilities (NaN or infinite); "
                                              "nothing proposed for it"))
                rows = [r for r, good in zip(rows, ok) if good]
                sp.store_proposals(store, rows, probs[ok], model.id)
            done += len(rows)
            problems.extend(bad)
            yield Progress(already + done + len(problems), total,
                           f"{clip_id}: {already + done} of {total} faces proposed", bad)
    finally:
        workers.shutdown(wait=True, cancel_futures=True)
    return JobResult(done=done, problems=problems,
                     summary=f"{clip_id}: {done} faces proposed, {already + done} of {total}")


def _read_batch(folder: Path, chunk: Sequence[tuple[int, int, str]], model: ExpressionModel):
    """Decode a batch's crops and make them the model's input (OpenCV releases the GIL)."""
    results = [read_crop(folder / crop, model.grey) for _, _, crop in chunk]
    rows, images, bad = [], [], []
    for (frame_id, version, crop), (image, why) in zip(chunk, results):
        if image is None:
            bad.append(Problem.at(folder / crop, 0, why or "crop cannot be read"))
        else:
            rows.append((frame_id, version))
            images.append(image)
    return rows, model.prepare_batch(images) if images else None, bad


def propose(store: Store, clip_ids: Sequence[str] | None, model: ExpressionModel) -> Job:
    """Propose on several clips (all by default); a clip that fails is reported and the others
    go on (see pipeline.for_clips)."""
    from feasstm_gui.core.ingest.pipeline import for_clips

    result = yield from for_clips(store, clip_ids,
                                  lambda s, c: propose_clip(s, c, model), "propose")
    result.summary = result.summary.replace(" frames", " faces proposed")
    return result
