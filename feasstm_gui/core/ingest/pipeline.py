"""The jobs that turn a clip into aligned faces: extract, align, re-align.

Each is a generator (see core/jobs.py): it commits a unit of work to the store, then yields a
Progress. Killed and run again, a job resumes where the store says it stopped and ends with the
same result as an uninterrupted run.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.faces.actors import references_for
from feasstm_gui.core.ingest.full_frames import FullFrames, clip_video, frame_problem, is_preview
from feasstm_gui.core.jobs import Job, JobResult, Progress, steps
from feasstm_gui.core.problems import Problem
from feasstm_gui.core.store import FRAMES_DIR, Store, claims

#: Frames committed together by the extraction job (a kill loses at most this many).
EXTRACT_BATCH = 25
#: Frames committed together by the alignment job: one disk sync per batch, and a kill or a
#: cancel loses at most this many frames' work (their crop files are written again).
ALIGN_BATCH = 8


@contextmanager
def _opencv_single_threaded():
    """OpenCV's own thread pool set to one thread while an alignment job runs: the job keeps
    the cores busy with threads of its own (decoding, the frames' JPEGs, the crops), and OpenCV
    splitting each small resize over a pool of its own cost about a tenth of the job's CPU time
    (docs/ALIGNMENT.md). The results do not depend on it."""
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def extract_clip(store: Store, clip_id: str, *, fps: float | None = None) -> Job:
    """Decode a clip's video once, front to back, and store its frames as JPEG files.

    Frames already in the project are not written again. A damaged video keeps the frames read
    before the damage; the clip is marked `damaged` with the message."""

    clip = store.clip(clip_id)
    if clip.source != "video" or not clip.video:
        return JobResult(summary=f"clip '{clip_id}' has no video (imported as faces)")
    rel_dir, rate, existing, extraction = _start_extraction(store, clip, fps, workers=2)
    total = _expected_frames(extraction.info, clip, rate)
    done = len(existing)
    pending: list[tuple[int, float, str, None]] = []
    try:
        for frame in extraction:
            pending.append((frame.index, float(frame.time_ms),
                            _stored_rel(rel_dir, extraction, frame), None))
            if len(pending) >= EXTRACT_BATCH:
                store.add_frames(clip_id, pending)
                done += len(pending)
                pending = []
                yield Progress(done, max(total, done), f"{clip_id}: frame {frame.index}")
    finally:
        if pending:  # frames on disk and complete: commit them, even when stopping early
            store.add_frames(clip_id, pending)
            done += len(pending)
        extraction.close()
    result = extraction.result
    problems = _finish_extraction(store, clip_id, extraction)
    yield Progress(done, done, f"{clip_id}: extracted", problems)
    written = result.written if result else 0
    return JobResult(done=written, problems=problems,
                     summary=f"{clip_id}: {written} new frames, {done} in all")


def _start_extraction(store: Store, clip, fps: float | None, *, workers: int,
                      decode_ahead: int = 0, analyse=None):
    """Open a clip's video for extraction into frames/<clip>/, past the frames already stored
    (``analyse``: see `Extraction`). Returns (folder relative to the project, target rate,
    stored indices, Extraction)."""
    from feasstm_gui.core.ingest.media import extract_frames

    rel_dir = Path(FRAMES_DIR) / clip.id
    rate = fps if fps is not None else store.param("extract.fps")
    existing = store.frame_indices(clip.id)
    extraction = extract_frames(clip_video(store.folder, clip), store.folder / rel_dir, fps=rate,
                                start_s=clip.start_s, end_s=clip.end_s, existing=existing,
                                quality=int(store.param("extract.jpeg_quality", 95)),
                                preview_side=int(store.param("extract.preview_side") or 0),
                                workers=workers, decode_ahead=decode_ahead,
                                analyse=analyse)
    if clip.fps is None and extraction.info.fps:
        store.update_clip(clip.id, fps=extraction.info.fps)
    return rel_dir, rate, existing, extraction


def _stored_rel(rel_dir: Path, extraction, frame) -> str:
    """The stored frame's file relative to the project: `frames/<clip>/<index>.jpg`, or a
    preview's `frames/<clip>/preview-<w>x<h>/<index>.jpg` (issue 19: core/ingest/full_frames)."""
    return (rel_dir / frame.path.relative_to(extraction.out_dir)).as_posix()


def _finish_extraction(store: Store, clip_id: str, extraction) -> list[Problem]:
    """Mark the clip extracted, or damaged with the message; the damage as a problem."""
    damage = extraction.result.damage if extraction.result else None
    if damage is not None:
        store.update_clip(clip_id, extract_status="damaged", error=str(damage))
        return [damage.problem()]
    store.update_clip(clip_id, extract_status="done", error=None)
    return []


def _expected_frames(info, clip, rate) -> int:
    duration = info.duration_s or 0.0
    start = clip.start_s or 0.0
    end = clip.end_s if clip.end_s is not None else duration
    span = max(0.0, end - start)
    fps = rate or info.fps or 25.0
    return max(1, int(round(span * fps))) if span else max(1, info.frame_count)


def for_clips(store: Store, clip_ids: Sequence[str] | None, make_job, what: str) -> Job:
    """Run a per-clip job over several clips (all by default). A clip that fails is reported
    and the others go on; the whole fails only when nothing could be done. A clip that stops
    half way (a lock, a full disk) keeps what it committed, and the summary counts it; a clip
    whose video gave no frame at all is not counted as done.

    On a server project several workers (machines, processes) may run this over the same clips
    at once: each clip is claimed first (core/store/claims.py), a clip another worker holds is
    left for later, and one that another worker finished meanwhile is not done again; a worker
    whose remaining clips are all held waits for them (a killed worker's clip is taken over)."""
    ids = list(clip_ids) if clip_ids else [c.id for c in store.clips()]
    unknown = [c for c in ids if not store.has_clip(c)]
    if unknown:
        raise FeasstmError("no such clip: " + ", ".join(repr(c) for c in unknown),
                           path=store.folder)
    total = JobResult()
    ok = kept = 0
    if claims.is_shared(store):
        store.check_folder()  # the images go where every workstation finds them
    finished = _FINISHED.get(what) if claims.is_shared(store) else None
    done_at_start = {c for c in ids if finished(store, c)} if finished else set()
    queue = list(ids)
    while queue:
        claim = None
        for clip_id in queue:
            claim = claims.try_claim(store, clip_id, what)
            if claim is not None:
                break
        if claim is None:  # every clip left is being worked on by another worker
            yield Progress(0, None, f"waiting for {len(queue)} clip(s) other workers hold: "
                           + ", ".join(queue[:3]) + (" ..." if len(queue) > 3 else ""))
            time.sleep(claims.POLL_S)
            continue
        queue.remove(clip_id)
        if finished and clip_id not in done_at_start and finished(store, clip_id):
            claim.release("finished-by-other", 0)
            ok += 1
            yield Progress(0, None, f"{clip_id}: done by another worker")
            continue
        before = _committed(store, clip_id)
        outcome = "stopped"
        try:
            result = yield from make_job(store, clip_id)
            outcome = "done"
        except FeasstmError as exc:
            outcome = "failed"
            after = _committed(store, clip_id)
            saved = max(after[0] - before[0], after[1] - before[1])
            reason = _strip_where(str(exc), exc)
            if saved:
                reason += (f" ({saved} frames of clip '{clip_id}' committed before it stopped "
                           "are kept: run the same command again to go on)")
            problem = Problem.at(exc.path or store.folder, exc.line or 0, reason)
            total.problems.append(problem)
            kept += saved
            yield Progress(0, None, f"{clip_id}: {what} failed", [problem])
            continue
        finally:
            if claim.row is not None:
                try:
                    after = _committed(store, clip_id)
                    claim.release(outcome, max(after[0] - before[0], after[1] - before[1]))
                except FeasstmError:
                    claim.release(outcome)
            else:
                claim.release(outcome)
        if isinstance(result, JobResult):
            total.done += result.done
            total.problems.extend(result.problems)
            if result.problems and not store.frame_indices(clip_id):
                continue  # nothing usable came out of it (no frame could be decoded)
        ok += 1
    total.done += kept
    total.failed = ok == 0 and total.done == 0 and bool(ids)
    total.summary = f"{what}: {ok} of {len(ids)} clips, {total.done} frames"
    if kept:
        total.summary += f" ({kept} of them in clips that stopped half way)"
    return total


def holding_clip(store: Store, clip_id: str, what: str, make_job, kind: str = "frames") -> Job:
    """One clip's job (`make_job()`), run while this worker holds the clip: on a server project
    it waits while another worker holds it (a killed worker's clip is free again at once), and
    the claim is recorded (core/store/claims.py). `make_job` decides, once the clip is held,
    whether anything is left to do."""
    if claims.is_shared(store):
        store.check_folder()
    while True:
        claim = claims.try_claim(store, clip_id, what, kind)
        if claim is not None:
            break
        yield Progress(0, None, f"waiting: another worker holds clip '{clip_id}'")
        time.sleep(claims.POLL_S)
    outcome = "stopped"
    try:
        result = yield from make_job()
        outcome = "done"
        return result
    except FeasstmError:
        outcome = "failed"
        raise
    finally:
        claim.release(outcome)


def holding_frames(store: Store, frame_ids: Sequence[int], what: str, make_job) -> Job:
    """`make_job()` run while this worker holds the clips of `frame_ids` (a re-align, "this
    face is the actor": they write new face versions, as align does, so they share its claim):
    on a server project, the clips are taken one by one in sorted order (two jobs wanting
    overlapping clips never wait for each other in a circle), waiting while another worker
    holds one; each claim is recorded in job_claims. On SQLite: `make_job()` as it is."""
    if not claims.is_shared(store):
        return (yield from make_job())
    ordered = claims.clips_of_frames(store, frame_ids)

    def held(i: int) -> Job:
        if i == len(ordered):
            return (yield from make_job())
        return (yield from holding_clip(store, ordered[i], what, lambda: held(i + 1)))

    return (yield from held(0))


#: Whether a clip is finished for a job, by the job's name in for_clips (shared workers skip a
#: clip another worker finished).
_FINISHED = {
    "extract": lambda s, c: s.clip(c).extract_status in ("done", "damaged"),
    "align": lambda s, c: s.clip(c).align_status == "done",
    "extract and align": lambda s, c: (s.clip(c).extract_status in ("done", "damaged")
                                       and s.clip(c).align_status == "done"),
}


def _committed(store: Store, clip_id: str) -> tuple[int, int]:
    """(frames, aligned frames) of a clip in the store: what a job that stops half way has
    committed shows in one of the two."""
    frames = len(store.frame_indices(clip_id))
    return frames, frames - len(store.unaligned_frames(clip_id))


def unfinished_clips(store: Store) -> list[str]:
    """Clips with a video whose frames are not all extracted and aligned yet, in list order.
    A damaged video counts as extracted (its damage is reported once, on the clip)."""
    return [c.id for c in store.clips()
            if c.source == "video" and c.video
            and not (c.extract_status in ("done", "damaged") and c.align_status == "done")]


def process_clips(store: Store, clip_ids: Sequence[str] | None = None, *,
                  fps: float | None = None, device: str | None = None) -> Job:
    """Extract and align several clips, one pass each (`process_clip`): the given ones, or every
    unfinished clip. Progress messages say which clip of how many; a clip that fails is reported
    and the others go on."""
    ids = list(clip_ids) if clip_ids is not None else unfinished_clips(store)
    if not ids:
        done = clip_ids is None and bool(store.clips())
        return JobResult(summary="every clip is already extracted and aligned" if done
                         else "no clips to extract and align")
    count = len(ids)
    numbers = iter(range(1, count + 1))

    def numbered(s: Store, clip_id: str) -> Job:
        prefix = f"clip {next(numbers)} of {count} · " if count > 1 else ""
        return _prefixed(process_clip(s, clip_id, fps=fps, device=device), prefix)

    return (yield from for_clips(store, ids, numbered, "extract and align"))


def import_then_process(store: Store, import_job: Job, *, fps: float | None = None,
                        device: str | None = None) -> Job:
    """An import, then extraction and alignment in one pass (`process_clips`) of the clips it
    added: the window's import with "extract and align now", and `feasstm import --process`."""
    before = {c.id for c in store.clips()}
    imported = yield from steps(import_job)
    added = [c.id for c in store.clips() if c.id not in before]
    if not added:
        return imported
    processed = yield from process_clips(store, added, fps=fps, device=device)
    return JobResult(done=processed.done, problems=imported.problems + processed.problems,
                     failed=processed.failed,
                     summary=f"{imported.summary}; {processed.summary}")


def _prefixed(job: Job, prefix: str) -> Job:
    """The same job, its progress messages starting with `prefix`."""
    return (yield from steps(job, each=lambda p: replace(p, message=prefix + p.message)))


def _strip_where(message: str, exc: FeasstmError) -> str:
    where = f"{exc.path}:{exc.line}: " if exc.line is not None else f"{exc.path}: "
    return message[len(where):] if exc.path and message.startswith(where) else message


def frames_in_ranges(store: Store, ranges: Iterable[tuple[str, int, int]]) -> list[int]:
    """Frame ids of the frames that exist in each (clip, first, last) range of source frame
    indices, in the order given, each once.

    A range is clipped to the frames the clip has, so `clip:0-99999999999999999999` costs what
    the clip holds, never the range's length. A single index (first == last) that the clip
    lacks, a range holding no frame and an unknown clip are errors naming them."""
    by_clip: dict[str, list[tuple[int, int]]] = {}
    out: list[int] = []
    seen: set[int] = set()
    for clip, first, last in ranges:
        if clip not in by_clip:
            if not store.has_clip(clip):
                raise FeasstmError(f"no clip {clip!r} in the project", path=store.folder)
            by_clip[clip] = [(f.frame_index, f.id) for f in store.frames(clip)]
        frames = by_clip[clip]
        lo = bisect.bisect_left(frames, (first, -1))
        hi = bisect.bisect_right(frames, (last, math.inf))
        if lo == hi:
            what = f"frame {first}" if first == last else f"frame in {first}-{last}"
            held = (f" (it holds frames {frames[0][0]}-{frames[-1][0]})" if frames
                    else " (it has no frames yet)")
            raise FeasstmError(f"clip {clip!r} has no {what}{held}", path=store.folder)
        for _, frame_id in frames[lo:hi]:
            if frame_id not in seen:
                seen.add(frame_id)
                out.append(frame_id)
    return out


# ---------------------------------------------------------------------------------------------
# Detection and alignment
# ---------------------------------------------------------------------------------------------


def face_settings(store: Store, device: str | None = None):
    """The project's alignment, detector, tracker and quality settings (stored parameters)."""
    from feasstm_gui.core.faces.align import AlignSettings
    from feasstm_gui.core.faces.detector import DetectorSettings
    from feasstm_gui.core.faces.quality import QualityThresholds
    from feasstm_gui.core.faces.tracker import TrackerSettings

    align = AlignSettings(preset=store.param("align.preset"), size=int(store.param("align.size")),
                          margin=store.param("align.margin"))
    detector = DetectorSettings.from_dict(store.param("align.detector") or {})
    if device:
        detector = DetectorSettings.from_dict({**detector.to_dict(), "device": device})
    tracker = TrackerSettings.from_dict(store.param("align.tracker") or {})
    quality = QualityThresholds.from_dict(store.param("quality.thresholds") or {})
    return align, detector, tracker, quality


def _record_settings(store: Store, align, detector, tracker, quality) -> None:
    """Write the settings in force into the project, so the export manifest names them."""
    values = {"align.template": align.to_dict()["template"],
              "align.detector": {**detector.to_dict(), "model": "facenet-pytorch MTCNN"},
              "align.tracker": tracker.to_dict(), "quality.thresholds": quality.to_dict()}
    if any(store.param(k) != v for k, v in values.items()):
        store.set_params(values)


def _crop_name(clip_id: str, index: int, version: int) -> str:
    suffix = "" if version == 1 else f"_v{version}"
    return (Path("crops") / clip_id / f"{index:06d}{suffix}.jpg").as_posix()


def _write_crop(store: Store, rel: str, crop, writer=None):
    """Write a crop (JPEG q95) and return it as decoded back, so later scores that compare with
    it do not depend on whether the run was interrupted. With a `BackgroundWriter` the file is
    written on its thread: wait for it before the store records the crop."""
    import cv2

    from feasstm_gui.core.ingest.images import atomic_write_bytes

    ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise FeasstmError("OpenCV could not encode the crop", path=store.folder / rel)
    path = store.folder / rel
    if writer is not None:
        writer.write(path, buf.tobytes())
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buf.tobytes())
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def align_clip(store: Store, clip_id: str, *, device: str | None = None) -> Job:
    """Detect, follow and align the actor's face in every frame of a clip; frames without the
    actor are marked irrelevant (reversible). Commits every ALIGN_BATCH frames; resumes where
    it stopped.

    Resuming restarts the tracker from the state saved with the last processed frame, and
    full-frame detections are scheduled by frame index, so an interrupted and resumed run ends
    with the same faces as an uninterrupted one."""
    from feasstm_gui.core.faces.detector import FaceDetector
    from feasstm_gui.core.faces.tracker import ActorTracker
    from feasstm_gui.core.ingest.images import BackgroundWriter

    clip = store.clip(clip_id)
    if clip.source == "faf":
        return JobResult(summary=f"clip '{clip_id}' holds imported crops; nothing to align")
    todo = store.unaligned_frames(clip_id)
    all_frames = store.frames(clip_id)
    if not all_frames:  # nothing extracted (yet, or a damaged video): not "done"
        where = clip_video(store.folder, clip) or store.folder
        state = "its video is damaged" if clip.extract_status == "damaged" else \
            "run `feasstm extract` first"
        problem = Problem.at(where, 0, f"clip '{clip_id}' has no frames to align: {state}")
        return JobResult(problems=[problem], failed=True,
                         summary=f"{clip_id}: no frames to align")
    if todo:
        first = todo[0][1]
        todo = [(f.id, f.frame_index, f.image) for f in all_frames if f.frame_index >= first]
    total = len(all_frames)
    align, det_settings, trk_settings, quality = face_settings(store, device)
    problems: list[Problem] = []
    if todo:
        _record_settings(store, align, det_settings, trk_settings, quality)
        store.update_clip(clip_id, align_status="partial")
        resume = store.last_track_state(clip_id, before_index=todo[0][1])
        tracker = ActorTracker(FaceDetector(det_settings), trk_settings,
                               state=resume[1] if resume else None,
                               references=references_for(store, clip_id))
        done = total - len(todo)
        batch: list = []  # frames worked out, written to the store together
        images = _todo_images(store, clip, todo)
        # crops aligned, scored and written on threads of their own while the next frame is
        # tracked; a cancelled run waits for them but records none of an unfinished batch
        worker = _FaceWorker(store, clip_id, align, quality,
                             _previous_crop(store, clip_id, todo[0][1]), BackgroundWriter())
        with worker, _opencv_single_threaded():
            for n, ((frame_id, index, image_rel), image) in enumerate(zip(todo, images), 1):
                if image is None:
                    why = ("is stored as a preview only and its video cannot be read"
                           if is_preview(image_rel) else "cannot be read")
                    problem = Problem.at(store.folder / (image_rel or ""), 0,
                                         f"frame {index} of clip '{clip_id}' {why}; skipped")
                    problems.append(problem)
                    batch.append((frame_id, None, tracker.state, problem))
                else:
                    result = tracker.step(index, image)
                    # the store is read on this thread only: the crop's version here
                    version = store.next_face_version(frame_id)
                    batch.append((frame_id, worker.submit(frame_id, index, image, result,
                                                          version), result.state, None))
                if len(batch) >= ALIGN_BATCH or n == len(todo):
                    # the crops are complete on disk before the store names them
                    records = worker.done([b[1] for b in batch])
                    _commit_frames(store, [(frame_id, record, state, problem) for
                                           (frame_id, _, state, problem), record
                                           in zip(batch, records)])
                    done += len(batch)
                    found = [b[3] for b in batch if b[3] is not None]
                    batch = []
                    yield Progress(done, total, f"{clip_id}: frame {index}", found)
    _finish_clip_scores(store, clip_id, quality)
    store.update_clip(clip_id, align_status="done")
    faces = sum(1 for f in store.frames(clip_id) if f.crop)
    return JobResult(done=len(todo), problems=problems,
                     summary=f"{clip_id}: {faces} faces in {total} frames")


def _todo_images(store: Store, clip, todo: Sequence[tuple[int, int, str | None]]):
    """The image of each frame to align, in order: decoded from the clip's video (one pass,
    front to back; the frames not to align are decoded but not converted), or read from the
    stored JPEG where the video cannot give it (gone, damaged, another rate). Decoding the video
    is cheaper than decoding the stored JPEGs, gives the source pixels, and does not depend on
    where a run was interrupted: a resumed run decodes the same frames again."""
    from feasstm_gui.core.ingest.images import read_image

    reader = None
    wanted = {index for _, index, _ in todo}
    video = clip_video(store.folder, clip)
    if video is not None and wanted and video.is_file():
        from feasstm_gui.core.ingest.media import Prefetch, iter_frames

        try:
            reader = Prefetch(
                iter_frames(video, skip=set(range(max(wanted) + 1)) - wanted), ahead=4
            )
        except FeasstmError:
            reader = None
    decoded = None
    try:
        for _, index, rel in todo:
            while reader is not None and (decoded is None or decoded.index < index):
                decoded = next(reader, None)
                if decoded is None:
                    reader.close()
                    reader = None
            if decoded is not None and decoded.index == index:
                yield decoded.image
            else:  # a preview is no frame to align on (issue 19)
                yield read_image(store.folder / rel) if rel and not is_preview(rel) else None
    finally:
        if reader is not None:
            reader.close()


def _previous_crop(store: Store, clip_id: str, before_index: int):
    """The crop of the last face stored before `before_index`, as stored (resume). An
    uninterrupted run carries its last crop across frames without the actor (splices, other
    people), so the last *face* counts here, not the last processed frame."""
    from feasstm_gui.core.ingest.images import read_image

    last = None
    for row in store.frames(clip_id):
        if row.frame_index >= before_index:
            break
        if row.crop:
            last = row.crop
    return read_image(store.folder / last) if last else None


def _prepare_frame(store, clip_id, frame_id, index, image, result, align, quality, previous,
                   version=None, writer=None):
    """Align and score the actor's face of one frame and write its crop file. Returns what the
    store is to record (None when the actor is absent) and the crop later frames compare with."""
    from feasstm_gui.core.faces.quality import suggest_flags

    det = result.actor
    if det is None:
        return None, previous
    face, scores, stored = _new_face(store, clip_id, frame_id, index, image, det, align,
                                     previous, version, writer)
    face.pop("version")  # add_face gives the row the same next version number
    face["scores"].update(status=result.status, mode=result.mode, cut=result.cut,
                          n_faces=len(result.faces))
    return (face, sorted(suggest_flags(scores, quality))), stored


class _FaceWorker:
    """`_prepare_frame` (align, score, encode the crop; the file goes to a `BackgroundWriter`)
    for each frame on one thread of its own, in the order the frames are handed over, while the
    job's thread follows the actor in the next frame. Each frame's score against the previous
    crop is the same as worked in line (one thread, in order). `submit` returns a future of the
    frame's record; `done(futures)` waits for a batch and raises the first failure. The worker
    never touches the store (one connection, used by the job's thread): the caller gives each
    frame its face version."""

    def __init__(self, store, clip_id, align, quality, previous, writer) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(1, "feasstm-faces")
        self._work = (store, clip_id, align, quality)
        self._previous = previous
        self._writer = writer

    def submit(self, frame_id, index, image, result, version: int):
        return self._pool.submit(self._prepare, frame_id, index, image, result, version)

    def _prepare(self, frame_id, index, image, result, version):
        store, clip_id, align, quality = self._work
        record, self._previous = _prepare_frame(store, clip_id, frame_id, index, image, result,
                                                align, quality, self._previous, version=version,
                                                writer=self._writer)
        return record

    def done(self, futures) -> list:
        """The records of a batch (None for None: a frame not worked out), once their crops
        are complete on disk; raises the first failure, of the work or of a write."""
        records = [None if f is None else f.result() for f in futures]
        self._writer.wait()
        return records

    def succeeded(self, futures) -> bool:
        """Wait for a batch; True when every frame of it was worked out and written."""
        return all(f.exception() is None for f in futures) and self._writer.succeeded()

    def close(self) -> None:
        """Wait for the frames in flight (their failures are left to `done`) and stop."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._writer.close()

    def __enter__(self) -> _FaceWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _new_face(store, clip_id, frame_id, index, image, det, align, previous=None, version=None,
              writer=None):
    """Align a detected face, write its crop (a new version) and score it. Returns the fields
    of `Store.add_face`, the scores, and the crop as stored."""
    from feasstm_gui.core.faces.align import align_face
    from feasstm_gui.core.faces.quality import score_face

    crop, matrix = align_face(image, det.landmarks, align)
    version = version or store.next_face_version(frame_id)
    rel = _crop_name(clip_id, index, version)
    stored = _write_crop(store, rel, crop, writer)
    scores = score_face(image.shape, det, stored, matrix, align, previous)
    face = dict(crop=rel, box=list(det.box), landmarks=det.landmarks, prob=det.prob,
                params=align.to_dict() | {"source": det.source}, sharpness=scores.sharpness,
                scores=scores.to_dict(), version=version)
    return face, scores, stored


def _switch_face(store, frame_id, face: dict, quality, description: str) -> None:
    """Store a new face version and make it current as one undoable edit (the frame becomes
    relevant again), with the suggestions its scores give."""
    from feasstm_gui.core.faces.quality import FaceQuality, suggest_flags

    version = face.pop("version")
    with store.transaction():
        store.add_face(frame_id, **face, make_current=False)
        store.apply_edits([("face_version", {"frame": frame_id}, version),
                           ("irrelevant", {"frame": frame_id}, False)], description)
        store.set_suggestions(frame_id, dict.fromkeys(sorted(
            suggest_flags(FaceQuality.from_dict(face["scores"]), quality))))


def _commit_frames(store, batch) -> None:
    """Record a batch of processed frames in one transaction (one disk sync for all)."""
    with store.transaction():
        for frame_id, record, state, problem in batch:
            if problem is None:
                if record is None:
                    store.set_irrelevant_system(frame_id, True)
                    store.set_suggestions(frame_id, {})
                else:
                    face, flags = record
                    store.add_face(frame_id, **face)
                    store.set_irrelevant_system(frame_id, False)  # no change unless it was
                    store.set_suggestions(frame_id, dict.fromkeys(flags))
            store.mark_aligned(frame_id, state)


def _finish_clip_scores(store: Store, clip_id: str, quality) -> None:
    """Sharpness relative to the clip's median, and the blur suggestions that follow from it."""
    from feasstm_gui.core.faces.quality import (
        FaceQuality,
        normalise_sharpness,
        suggest_flags,
    )

    faces = [f for f in store.current_faces(clip_id) if f.scores and "fit_residual" in f.scores]
    rel = normalise_sharpness(f.sharpness for f in faces)
    with store.transaction():
        for face, r in zip(faces, rel):
            scores = dict(face.scores)
            scores["sharpness_rel"] = None if r is None else round(float(r), 5)
            store.update_face_scores(face.frame_id, face.version, scores)
            q = FaceQuality.from_dict(scores)
            store.set_suggestions(face.frame_id,
                                  dict.fromkeys(sorted(suggest_flags(q, quality))))


def process_clip(store: Store, clip_id: str, *, fps: float | None = None,
                 device: str | None = None, detect_batch: int | None = None) -> Job:
    """Extract and align a clip in one pass over its video: each frame is decoded once, written
    as JPEG, and aligned from the same decoded pixels; its row and its face are committed together
    every ALIGN_BATCH frames. Frames extracted earlier but not aligned are aligned first; killed
    and run again, it resumes with the same result as `extract` followed by `align`.

    ``detect_batch`` > 1: frames are detected whole, at all sizes, that many at a time
    (`FaceDetector.detect_batch`), and the tracker follows the actor among those faces instead of
    searching regions itself; the default is GPU_BATCH on a CUDA device (a GPU gains from big
    batches, not from small regions) and 1 (region tracking) on the CPU."""
    from feasstm_gui.core.faces.detector import FaceDetector
    from feasstm_gui.core.faces.tracker import ActorTracker, signature
    from feasstm_gui.core.ingest.images import BackgroundWriter

    clip = store.clip(clip_id)
    if clip.source != "video" or not clip.video:
        return (yield from align_clip(store, clip_id, device=device))
    problems: list[Problem] = []
    if store.unaligned_frames(clip_id):  # a separate extract ran before: align those first
        earlier = yield from align_clip(store, clip_id, device=device)
        problems += earlier.problems
    # one JPEG encoder thread: two compete with torch's two threads on two cores; it also
    # computes each frame's colour signature (scene cuts) for the tracker
    rel_dir, rate, existing, extraction = _start_extraction(store, clip, fps, workers=1,
                                                            decode_ahead=8, analyse=signature)
    align, det_settings, trk_settings, quality = face_settings(store, device)
    _record_settings(store, align, det_settings, trk_settings, quality)
    store.update_clip(clip_id, align_status="partial")
    first_new = max(existing) + 1 if existing else 0
    resume = store.last_track_state(clip_id, before_index=first_new)
    detector = FaceDetector(det_settings)
    tracker = ActorTracker(detector, trk_settings,
                           state=resume[1] if resume else None,
                           references=references_for(store, clip_id))
    if detect_batch is None:
        detect_batch = GPU_BATCH if detector.device.startswith("cuda") else 1
    info = extraction.info  # at most about 256 MB of frames held for a batch (16 at 1080p)
    detect_batch = min(detect_batch, max(1, (256 << 20) // max(1, info.width * info.height * 3)))
    done = len(existing)
    total = max(_expected_frames(extraction.info, clip, rate), done)
    batch: list = []
    futures: list = []
    # crops aligned, scored and written on threads of their own while the next frame is tracked
    worker = _FaceWorker(store, clip_id, align, quality,
                         _previous_crop(store, clip_id, first_new), BackgroundWriter())
    with _opencv_single_threaded():
        try:
            for frame, faces in _detected(extraction, detector, detect_batch):
                result = tracker.step(frame.index, frame.image, detections=faces,
                                      hist=frame.analysis)
                futures.append(worker.submit(None, frame.index, frame.image, result, 1))
                batch.append((frame.index, float(frame.time_ms),
                              _stored_rel(rel_dir, extraction, frame), result.state))
                if len(batch) >= ALIGN_BATCH:
                    # the crops are complete on disk before the store names them
                    _commit_new_frames(store, clip_id, batch, worker.done(futures))
                    done += len(batch)
                    batch, futures = [], []
                    yield Progress(done, max(total, done), f"{clip_id}: frame {frame.index}")
            worker.done(futures)  # a failure is raised here, and the batch is not recorded
        finally:
            try:
                # stopping early (cancelled, or an error): keep the frames worked out whose files
                # are complete on disk; none once a crop could not be written
                if batch and worker.succeeded(futures):
                    _commit_new_frames(store, clip_id, batch, worker.done(futures))
                    done += len(batch)
            finally:
                worker.close()
                extraction.close()
    problems += _finish_extraction(store, clip_id, extraction)
    _finish_clip_scores(store, clip_id, quality)
    store.update_clip(clip_id, align_status="done")
    yield Progress(done, done, f"{clip_id}: done", problems)
    faces = sum(1 for f in store.frames(clip_id) if f.crop)
    return JobResult(done=done - len(existing), problems=problems,
                     summary=f"{clip_id}: {faces} faces in {done} frames")


#: frames detected together on a GPU (process_clip): 16 frames of 720p are about 130 MB of
#: float32 pixels on the device, a fraction of any CUDA card's memory
GPU_BATCH = 16


def _detected(frames, detector, batch: int):
    """(frame, its faces) in order: faces None (the tracker searches) when ``batch`` <= 1, else
    whole-frame detections of ``batch`` frames at a time."""
    if batch <= 1:
        for frame in frames:
            yield frame, None
        return
    group: list = []
    for frame in frames:
        group.append(frame)
        if len(group) >= batch:
            yield from zip(group, detector.detect_batch([f.image for f in group]))
            group = []
    if group:
        yield from zip(group, detector.detect_batch([f.image for f in group]))


def _commit_new_frames(store: Store, clip_id: str, batch: list, records: list) -> None:
    """New frames' rows and their faces (or irrelevance) in one transaction."""
    with store.transaction():
        ids = store.add_frames(clip_id, [(i, t, rel, None) for i, t, rel, _ in batch])
        _commit_frames(store, [(fid, record, state, None)
                               for fid, (_, _, _, state), record in zip(ids, batch, records)])


# ---------------------------------------------------------------------------------------------
# Re-align selected frames, and "this face is the actor"
# ---------------------------------------------------------------------------------------------


@dataclass
class RealignOptions:
    """How to find the face again on chosen frames (CLI options and the GUI dialog)."""

    min_face_size: float | None = None  # pixels
    threshold: float | None = None  # smallest detection probability kept
    face: int | None = None  # which face, by size (0 = largest); None: nearest the current one
    #: detect inside this box: corners x1, y1, x2, y2 in frame pixels (as stored and drawn)
    box: tuple[float, float, float, float] | None = None
    landmarks: list[list[float]] | None = None  # five points given by hand: align on them

    def __post_init__(self) -> None:
        if self.box is not None:
            corners = [float(v) for v in self.box]
            if len(corners) != 4:
                raise FeasstmError("a box is two corners: x1, y1, x2, y2")
            x1, y1, x2, y2 = corners
            self.box = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
            if self.box[2] - self.box[0] <= 0 or self.box[3] - self.box[1] <= 0:
                raise FeasstmError("a box needs a positive width and height")
        if self.landmarks is not None:
            pts = [[float(x), float(y)] for x, y in self.landmarks]
            if len(pts) != 5:
                raise FeasstmError("give five landmarks: left eye, right eye, nose, mouth left, "
                                   "mouth right")
            self.landmarks = pts

    @classmethod
    def from_dict(cls, d: dict | None) -> RealignOptions:
        """The options a dialog gives (None or missing: the default)."""
        d = dict(d or {})
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if d.get(k) is not None})


def _pick_face(store: Store, frame_id: int, image, detector, options: RealignOptions):
    from feasstm_gui.core.faces.detector import Detection, box_iou

    if options.landmarks is not None:
        return Detection.from_landmarks(options.landmarks, image.shape)
    if options.box is not None:
        return detector.detect_in_box(image, options.box)
    faces = detector.detect(image, min_face_size=options.min_face_size,
                            min_prob=options.threshold)
    if not faces:
        return None
    if options.face is not None:
        return faces[options.face] if options.face < len(faces) else None
    current = store.face(frame_id)
    if current is not None and current.box:
        return max(faces, key=lambda f: box_iou(f.box, current.box))
    return faces[0]


def realign_frames(store: Store, frame_ids: Sequence[int],
                   options: RealignOptions | dict | None = None, *,
                   device: str | None = None) -> Job:
    """Find and align the face again on chosen frames. Each frame's new crop is a new version
    (the old ones stay as history) and the switch is an undoable edit."""
    from feasstm_gui.core.faces.detector import FaceDetector

    opts = options if isinstance(options, RealignOptions) else RealignOptions.from_dict(options)
    align, det_settings, _, quality = face_settings(store, device)
    detector = FaceDetector(det_settings)
    problems: list[Problem] = []
    done = 0
    with FullFrames(store) as full:  # a preview's full frame comes from the video (issue 19)
        for n, frame_id in enumerate(frame_ids, 1):
            clip_id, index = store.frame_key(frame_id)
            row = store.frame(frame_id)
            try:
                image = full.image(row)
            except FeasstmError as exc:  # no stored frame, unreadable, its video gone
                problems.append(frame_problem(exc, full.where(row)))
                yield Progress(n, len(frame_ids), f"{clip_id}: frame {index}", problems[-1:])
                continue
            det = _pick_face(store, frame_id, image, detector, opts)
            if det is None:
                problems.append(Problem.at(store.folder / row.image, 0,
                                           f"no face found on frame {index} of clip "
                                           f"'{clip_id}' with these options"))
                yield Progress(n, len(frame_ids), f"{clip_id}: frame {index}", problems[-1:])
                continue
            face, scores, _ = _new_face(store, clip_id, frame_id, index, image, det, align)
            info = face["scores"]
            info.update(status="realigned", mode=det.source)
            old = store.face(frame_id)
            if old and old.scores and old.scores.get("sharpness_rel") is not None \
                    and old.sharpness:
                # keep the clip's scale: relative sharpness against the same median as before
                median = old.sharpness / old.scores["sharpness_rel"]
                info["sharpness_rel"] = round(scores.sharpness / median, 5) if median else None
            _switch_face(store, frame_id, face, quality, f"re-align frame {index} of {clip_id}")
            done += 1
            yield Progress(n, len(frame_ids), f"{clip_id}: frame {index}")
    return JobResult(done=done, problems=problems, failed=done == 0 and bool(frame_ids),
                     summary=f"re-aligned {done} of {len(frame_ids)} frames")


def set_actor(store: Store, frame_id: int, box: Sequence[float] | None = None, *,
              device: str | None = None) -> Job:
    """"This face is the actor": take the face at `box` (x1, y1, x2, y2; default the frame's
    current face) on one frame and follow it forward through the shot, re-aligning every frame
    where the followed face differs from the stored one. Each changed frame is an undoable edit."""
    with FullFrames(store) as full:  # a preview's full frame comes from the video (issue 19)
        return (yield from _set_actor(store, full, frame_id, box, device))


def _set_actor(store: Store, full: FullFrames, frame_id: int, box, device) -> Job:
    from feasstm_gui.core.faces.detector import FaceDetector, box_iou
    from feasstm_gui.core.faces.tracker import ActorTracker

    clip_id, start_index = store.frame_key(frame_id)
    align, det_settings, trk_settings, quality = face_settings(store, device)
    detector = FaceDetector(det_settings)
    frames = [f for f in store.frames(clip_id) if f.frame_index >= start_index]
    first = full.image(frames[0])  # FeasstmError: no stored frame, unreadable, video gone
    if box is None:
        current = store.face(frame_id)
        if current is None or not current.box:
            raise FeasstmError("draw a box around the actor's face first (this frame has none)")
        box = current.box
    seed = detector.detect_in_box(first, box)
    if seed is None:
        raise FeasstmError(f"no face found in the box on frame {start_index} of '{clip_id}'")
    tracker = ActorTracker(detector, trk_settings)
    changed = 0
    for n, row in enumerate(frames, 1):
        if n == 1:
            image, result = first, tracker.set_actor(seed, first, start_index)
            # the face is the actor's for every clip of this actor: a reference (issue 15)
            from feasstm_gui.core.store import identity as idstore

            idstore.add_actor_refs(store, [dict(
                actor=idstore.actor_key(store.clip(clip_id)), source="frame", frame_id=frame_id,
                box=list(seed.box), embedding=tracker.state["exemplars"][-1])])
        else:
            try:
                image = full.image(row)
            except FeasstmError:
                continue  # as a frame that cannot be read: the others are followed
            result = tracker.step(row.frame_index, image)
            if result.cut or result.actor is None:
                break  # the shot ends, or the actor left it: propagation stops here
        det = result.actor
        current = store.face(row.id)
        if current is not None and current.box and box_iou(current.box, det.box) > 0.7 \
                and not row.irrelevant:
            yield Progress(n, len(frames), f"{clip_id}: frame {row.frame_index} unchanged")
            continue
        face, _, _ = _new_face(store, clip_id, row.id, row.frame_index, image, det, align)
        face["scores"].update(status="actor", mode=det.source)
        _switch_face(store, row.id, face, quality, f"actor: frame {row.frame_index} of {clip_id}")
        changed += 1
        yield Progress(n, len(frames), f"{clip_id}: frame {row.frame_index} now the actor")
    return JobResult(done=changed, summary=f"actor followed: {changed} frames changed")
