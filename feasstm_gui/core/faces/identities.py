"""The identities of a clip: every face found, grouped by person.

`identities_clip` is a job: each stored frame is searched at all sizes (MTCNN), its faces are
linked to the previous frame's by geometry within a shot (face tracks; a scene cut or a gap
starts new ones), and each track is described by dlib's face descriptor on its first face and
then every `identity_every` frames. Frames are committed in batches with the job's state, so a
killed job resumes where it stopped with the result of an uninterrupted run. At the end the
tracks are grouped by Chinese whispers over their mean descriptors (pairs closer than the
tracker's `identity_distance` are joined), numbered by frame count (0: the most frames).

`set_identity_actor` says "identity K is the actor" (or is not) for the whole clip in one
undoable edit: each frame's face becomes identity K's face (aligned as a new face version) or
the frame becomes irrelevant, and K's descriptors join the actor's references.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.jobs import Job, JobResult, Progress
from feasstm_gui.core.problems import Problem
from feasstm_gui.core.store import Store
from feasstm_gui.core.store import identity as idstore

BATCH = 8


def identities_clip(store: Store, clip_id: str, *, device: str | None = None,
                    redo: bool = False) -> Job:
    """Find, follow and describe every face of a clip, then group them into identities."""
    from feasstm_gui.core.faces import identity
    from feasstm_gui.core.faces.detector import FaceDetector, box_iou
    from feasstm_gui.core.faces.tracker import hist_distance, signature
    from feasstm_gui.core.ingest.full_frames import FullFrames, frame_problem
    from feasstm_gui.core.ingest.pipeline import face_settings

    store.clip(clip_id)  # an unknown clip is an error naming it
    if redo:
        idstore.reset_identities(store, clip_id)
    _, det_settings, trk, _ = face_settings(store, device)
    frames = [f for f in store.frames(clip_id) if f.image]
    if not frames:
        raise FeasstmError(f"clip '{clip_id}' has no frames yet: run `feasstm process` first",
                           path=store.folder)
    resume = idstore.identity_progress(store, clip_id)
    state: dict[str, Any] = resume[1] if resume else {"last": None, "hist": None, "prev": [],
                                                      "next": 0}
    todo = [f for f in frames if resume is None or f.frame_index > resume[0]]
    detector = FaceDetector(det_settings) if todo else None
    problems: list[Problem] = []
    batch: list = []
    done = len(frames) - len(todo)
    full = FullFrames(store)  # a stored preview's full frame comes from the video (issue 19)
    for n, row in enumerate(todo, 1):
        try:
            image, why = full.image(row), None
        except FeasstmError as exc:
            image, why = None, exc
        faces_out: list[dict] = []
        if image is None:
            problems.append(frame_problem(why, full.where(row)))
            state = {**state, "prev": [], "hist": None, "last": row.frame_index}
        else:
            sig = signature(image)
            cut = (state["last"] is None or abs(row.frame_index - state["last"]) > trk.max_gap
                   or state["hist"] is None or hist_distance(sig, state["hist"]) > trk.cut_threshold)
            prev = [] if cut else state["prev"]
            faces = detector.detect(image)
            # link to the previous frame's faces: best overlap first, each face once
            pairs = sorted(((box_iou(f.raw_box, p["raw_box"]), i, j)
                            for i, f in enumerate(faces) for j, p in enumerate(prev)),
                           reverse=True)
            link: dict[int, dict] = {}
            used: set[int] = set()
            for iou, i, j in pairs:
                if iou >= trk.min_iou and i not in link and j not in used:
                    link[i] = prev[j]
                    used.add(j)
            new_prev = []
            for k, f in enumerate(faces):
                p = link.get(k)
                if p is None:
                    track, since = state["next"], None
                    state = {**state, "next": state["next"] + 1}
                else:
                    track, since = p["track"], p["since"]
                emb = None
                if since is None or since + 1 >= trk.identity_every:
                    emb = identity.encode(identity.embed(image, f))
                    since = 0
                else:
                    since += 1
                d = f.to_dict(ndigits=2)
                faces_out.append(dict(k=k, box=d["box"], landmarks=d["landmarks"],
                                      prob=d["prob"], track=track, embedding=emb))
                new_prev.append({"raw_box": d["raw_box"], "track": track, "since": since})
            state = {**state, "prev": new_prev, "hist": sig, "last": row.frame_index}
        batch.append((row.id, faces_out, state))
        if len(batch) >= BATCH or n == len(todo):
            idstore.record_identity_frames(store, batch)
            done += len(batch)
            batch = []
            yield Progress(done, len(frames), f"{clip_id}: faces of frame {row.frame_index}")
    groups = group_tracks(store, clip_id, trk.identity_distance)
    yield Progress(len(frames), len(frames), f"{clip_id}: {groups} identities", problems)
    return JobResult(done=len(todo), problems=problems,
                     summary=f"{clip_id}: {groups} identities in {len(frames)} frames")


def group_tracks(store: Store, clip_id: str, threshold: float) -> int:
    """Cluster a clip's face tracks by their mean descriptors; store each face's identity."""
    from feasstm_gui.core.faces import identity

    rows = idstore.clip_faces(store, clip_id)
    samples: dict[int, list[str]] = {}
    frames: dict[int, set[int]] = {}
    for r in rows:
        frames.setdefault(r.track, set()).add(r.frame_id)
        if r.embedding:
            samples.setdefault(r.track, []).append(r.embedding)
    tracks = sorted(t for t in frames if t in samples)
    if not tracks:
        return 0
    labels = identity.cluster([identity.centroid(samples[t]) for t in tracks], threshold)
    size: dict[int, int] = {}
    first: dict[int, int] = {}
    for t, lab in zip(tracks, labels):
        size[lab] = size.get(lab, 0) + len(frames[t])
        first.setdefault(lab, t)
    order = sorted(size, key=lambda lab: (-size[lab], first[lab]))
    number = {lab: n for n, lab in enumerate(order)}
    idstore.set_identities(store, clip_id, {t: number[lab] for t, lab in zip(tracks, labels)})
    return len(order)


@dataclass
class Identity:
    number: int
    frames: int  # frames where this identity has a face
    actor_frames: int  # of those, frames whose current face is this identity's
    samples: list[tuple[int, int, list[float]]] = field(default_factory=list)  # (frame id, index, box)

    @property
    def is_actor(self) -> bool:
        return self.actor_frames * 2 > self.frames

    def to_dict(self) -> dict[str, Any]:
        return {"identity": self.number, "frames": self.frames, "actor_frames": self.actor_frames,
                "actor": self.is_actor,
                "samples": [{"frame": i, "box": b} for _, i, b in self.samples]}


def _same_face(a, b) -> bool:
    from feasstm_gui.core.faces.detector import box_iou

    return bool(a and b) and box_iou(a, b) > 0.5


def clip_identities(store: Store, clip_id: str, n_samples: int = 6) -> list[Identity]:
    """The identities of a clip (after `identities_clip`), each with how many frames show it,
    in how many it is the frame's current (the actor's) face, and sample faces spread along."""
    rows = [r for r in idstore.clip_faces(store, clip_id) if r.identity is not None]
    if not rows:
        return []
    current = {f.frame_id: f.box for f in store.current_faces(clip_id)}
    relevant = {f.id: not f.irrelevant for f in store.frames(clip_id)}
    out: dict[int, Identity] = {}
    seen: dict[int, set[int]] = {}
    per: dict[int, list] = {}
    for r in rows:
        ident = out.setdefault(r.identity, Identity(r.identity, 0, 0))
        if r.frame_id in seen.setdefault(r.identity, set()):
            continue
        seen[r.identity].add(r.frame_id)
        ident.frames += 1
        if relevant.get(r.frame_id) and _same_face(current.get(r.frame_id), r.box):
            ident.actor_frames += 1
        per.setdefault(r.identity, []).append(r)
    for k, ident in out.items():
        lst = per[k]
        picks = sorted({int(round(x)) for x in np.linspace(0, len(lst) - 1,
                                                           min(n_samples, len(lst)))})
        ident.samples = [(lst[i].frame_id, lst[i].frame_index, lst[i].box) for i in picks]
    return [out[k] for k in sorted(out)]


def set_identity_actor(store: Store, clip_id: str, number: int, is_actor: bool = True, *,
                       device: str | None = None) -> int:
    """Identity `number` is the actor (or is not) in the whole clip, as one undoable edit.
    Returns the number of frames changed."""
    from feasstm_gui.core.faces.detector import Detection
    from feasstm_gui.core.ingest.full_frames import FullFrames
    from feasstm_gui.core.ingest.pipeline import _new_face, face_settings

    rows = [r for r in idstore.clip_faces(store, clip_id) if r.identity is not None]
    numbers = sorted({r.identity for r in rows})
    if number not in numbers:
        known = ", ".join(map(str, numbers)) or "none: run `feasstm identities` first"
        raise FeasstmError(f"clip '{clip_id}' has no identity {number} (identities: {known})",
                           path=store.folder)
    align, _, _, _ = face_settings(store, device)
    mine: dict[int, Any] = {}
    others: dict[int, list] = {}
    for r in rows:
        if r.identity == number:
            if r.frame_id not in mine or r.k < mine[r.frame_id].k:
                mine[r.frame_id] = r
        else:
            others.setdefault(r.frame_id, []).append(r)
    current = {f.frame_id: f for f in store.current_faces(clip_id)}
    full = FullFrames(store)  # a stored preview's full frame comes from the video (issue 19)
    changes: list[tuple[str, dict, Any]] = []
    new_faces: list[tuple[int, dict]] = []
    for f in store.frames(clip_id):
        cur = current.get(f.id)
        here = mine.get(f.id)
        cur_is_here = here is not None and cur is not None and _same_face(cur.box, here.box)
        if is_actor:
            if here is None:
                if not f.irrelevant and cur is not None:
                    changes.append(("irrelevant", {"frame": f.id}, True))
                continue
            if not cur_is_here:
                image = full.get(f)  # the full frame (from the video for a preview)
                if image is None:
                    continue
                det = Detection(box=here.box, prob=here.prob or 1.0, landmarks=here.landmarks)
                face, _, _ = _new_face(store, clip_id, f.id, f.frame_index, image, det, align)
                face["scores"].update(status="identity", mode="identity")
                new_faces.append((f.id, face))
                changes.append(("face_version", {"frame": f.id}, face["version"]))
            if f.irrelevant:
                changes.append(("irrelevant", {"frame": f.id}, False))
        elif cur_is_here and not f.irrelevant:
            changes.append(("irrelevant", {"frame": f.id}, True))
    verb = "is" if is_actor else "is not"
    with store.transaction():
        for frame_id, face in new_faces:
            face = dict(face)
            face.pop("version")
            store.add_face(frame_id, **face, make_current=False)
        changed = store.apply_edits(changes, f"identity {number} {verb} the actor in {clip_id}")
        if is_actor:
            refs = [r.embedding for r in mine.values() if r.embedding][:4]
            actor = idstore.actor_key(store.clip(clip_id))
            idstore.add_actor_refs(store, [dict(actor=actor, source="frame", frame_id=r.frame_id,
                                                box=r.box, embedding=r.embedding)
                                           for r in mine.values() if r.embedding in refs][:4])
    return changed
