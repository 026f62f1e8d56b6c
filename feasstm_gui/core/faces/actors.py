"""The actor as an identity: reference descriptors from a photo or from a face on a frame.

References are kept per actor name (`store.identity.actor_key`), so one designation serves every
clip of that actor: the tracker of each clip compares faces with them at every cut. A reference
photo must show exactly one face; a second photo for the same actor must show the same person as
the references already held (within the tracker's `identity_distance`), otherwise nothing is
stored and the message names the file.
"""

from __future__ import annotations

from pathlib import Path

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.store import Store
from feasstm_gui.core.store import identity as idstore


def _settings(store: Store, device: str | None = None):
    from feasstm_gui.core.ingest.pipeline import face_settings

    _, detector, tracker, _ = face_settings(store, device)
    return detector, tracker


def photo_descriptor(path: str | Path, detector_settings) -> tuple[str, list[float]]:
    """The descriptor (encoded) and box of the one face in a reference photo; FeasstmError
    naming the file when it cannot be read or holds no face or several."""
    from feasstm_gui.core.faces import identity
    from feasstm_gui.core.faces.detector import FaceDetector
    from feasstm_gui.core.ingest.images import check_image

    path = Path(path)
    image, reason = check_image(path)
    if image is None:
        raise FeasstmError(f"the actor's reference photo {reason}", path=path)
    faces = FaceDetector(detector_settings).detect(image)
    if not faces:
        raise FeasstmError("no face found in the actor's reference photo; give a photo where "
                           "the actor's face is clearly visible", path=path)
    if len(faces) > 1:
        raise FeasstmError(f"{len(faces)} faces in the actor's reference photo; give a photo of "
                           "the actor alone", path=path)
    return identity.encode(identity.embed(image, faces[0])), list(faces[0].box)


def check_consistent(new: list[tuple[str, str]], existing: list[str], limit: float,
                     actor: str) -> None:
    """New references ((where, descriptor)) must match each other and the existing ones."""
    from feasstm_gui.core.faces import identity

    seen: list[tuple[str, str]] = [("the references already held", e) for e in existing]
    for where, desc in new:
        for other_where, other in seen:
            d = identity.distance(desc, other)
            if d > limit:
                raise FeasstmError(
                    f"this face does not match {other_where} for actor '{actor}' (distance "
                    f"{d:.2f} > {limit:.2f}): not the same person? nothing was changed",
                    path=where)
        seen.append((where, desc))


def add_photo_references(store: Store, actor: str, photos: list[str | Path], *,
                         device: str | None = None) -> int:
    """Add reference photos for an actor name (all checked first; all or nothing)."""
    refs = photo_references(store, actor, photos, device=device)
    idstore.add_actor_refs(store, refs)
    return len(refs)


def photo_references(store: Store, actor: str, photos: list[str | Path], *,
                     device: str | None = None) -> list[dict]:
    """The reference rows reference photos would add for an actor name, every photo checked
    (one face each, matching each other and the references held), nothing stored yet: a caller
    may check them before doing anything else (an import with an actor's photo). FeasstmError
    naming the file otherwise. Photos the actor already holds are left out."""
    actor = actor.strip()
    if not actor:
        raise FeasstmError("give the actor's name (--name)")
    det, trk = _settings(store, device)
    held = {r.photo for r in idstore.actor_refs(store, actor) if r.photo}
    new = []
    for p in dict.fromkeys(Path(p) for p in photos):
        if str(p.resolve()) in held:
            continue
        desc, box = photo_descriptor(p, det)
        new.append((str(p), desc, box))
    existing = [r.embedding for r in idstore.actor_refs(store, actor)]
    check_consistent([(w, d) for w, d, _ in new], existing, trk.identity_distance, actor)
    return [dict(actor=actor, source="photo", photo=str(Path(w).resolve()), box=box,
                 embedding=d) for w, d, box in new]


def add_frame_reference(store: Store, clip_id: str, frame_index: int, face: int | None = None,
                        *, device: str | None = None) -> str:
    """"This face is the actor" on a frame: the frame's current face, or its face number `face`
    (0 = largest) as found by the detector. Returns the actor name it was added to."""
    from feasstm_gui.core.faces import identity
    from feasstm_gui.core.faces.detector import Detection, FaceDetector
    from feasstm_gui.core.ingest.full_frames import full_frame

    clip = store.clip(clip_id)
    frame_id = store.frame_id(clip_id, frame_index)
    row = store.frame(frame_id)
    image = full_frame(store, row)  # FeasstmError naming the file (issue 19: a preview's video)
    det_settings, _ = _settings(store, device)
    if face is None:
        current = store.face(frame_id)
        if current is None or not current.landmarks:
            raise FeasstmError(f"frame {frame_index} of clip '{clip_id}' has no face; give "
                               "--face K (0 = the largest face found)")
        det = Detection(box=current.box, prob=current.prob or 1.0, landmarks=current.landmarks)
    else:
        faces = FaceDetector(det_settings).detect(image)
        if face < 0 or face >= len(faces):
            raise FeasstmError(f"frame {frame_index} of clip '{clip_id}' has {len(faces)} "
                               f"face(s); --face {face} is not one of them (0 = the largest)")
        det = faces[face]
    actor = idstore.actor_key(clip)
    idstore.add_actor_refs(store, [dict(actor=actor, source="frame", frame_id=frame_id,
                                        box=list(det.box),
                                        embedding=identity.encode(identity.embed(image, det)))])
    return actor


#: Labelled frames that become references of their actor (spread over the labelled frames).
LABEL_REFERENCES = 4


def add_label_references(store: Store, actor: str, limit: int = LABEL_REFERENCES) -> int:
    """Frames an annotator has labelled show the actor: up to `limit` of them (spread over the
    actor's labelled frames, in clip and frame order) become references, once."""
    from feasstm_gui.core.faces import identity
    from feasstm_gui.core.faces.detector import Detection
    from feasstm_gui.core.ingest.full_frames import FullFrames

    held = idstore.actor_refs(store, actor)
    want = limit - sum(1 for r in held if r.source == "label")
    if want <= 0 or store.read_only:
        return 0
    used = {r.frame_id for r in held if r.frame_id is not None}
    candidates = []
    for clip in store.clips():
        if idstore.actor_key(clip) != actor:
            continue
        faces = {f.frame_id: f for f in store.current_faces(clip.id)}
        for row in store.frames(clip.id):
            face = faces.get(row.id)
            if (row.code and not row.irrelevant and not row.deleted and row.image
                    and row.id not in used and face is not None and face.landmarks
                    and face.box):
                candidates.append((row, face))
    if not candidates:
        return 0
    step = max(1, len(candidates) // want)
    new = []
    full = FullFrames(store)  # a stored preview's full frame comes from the video (issue 19)
    for row, face in candidates[::step][:want]:
        image = full.get(row)
        if image is None:
            continue
        det = Detection(box=face.box, prob=face.prob or 1.0, landmarks=face.landmarks)
        new.append(dict(actor=actor, source="label", frame_id=row.id, box=list(face.box),
                        embedding=identity.encode(identity.embed(image, det))))
    if new:
        idstore.add_actor_refs(store, new)
    return len(new)


def references_for(store: Store, clip_id: str) -> list[str]:
    """The reference descriptors the tracker of a clip compares faces with: the actor's
    references, completed with labelled frames of the actor when there are some."""
    actor = idstore.actor_key(store.clip(clip_id))
    add_label_references(store, actor)
    return [r.embedding for r in idstore.actor_refs(store, actor)]


def import_actor_photos(store: Store, items: list[tuple[str, Path, Path, int]], *,
                        device: str | None = None) -> list:
    """The clip table's actor photos ((clip, photo, table, line)): each actor's new photos are
    added together (all checked first); a photo already held is not added again. Returns a
    Problem for each actor whose photos could not be added (nothing added for that actor)."""
    from feasstm_gui.core.problems import Problem

    by_actor: dict[str, list[tuple[Path, Path, int]]] = {}
    for clip_id, photo, table, line in items:
        actor = idstore.actor_key(store.clip(clip_id))
        by_actor.setdefault(actor, []).append((Path(photo), table, line))
    problems = []
    for actor, photos in by_actor.items():
        held = {r.photo for r in idstore.actor_refs(store, actor) if r.photo}
        new = list(dict.fromkeys(p for p, _, _ in photos if str(p.resolve()) not in held))
        if not new:
            continue
        try:
            add_photo_references(store, actor, new, device=device)
        except FeasstmError as exc:
            bad = Path(exc.path) if exc.path else photos[0][0]
            table, line = next(((t, ln) for p, t, ln in photos if p == bad), photos[0][1:])
            reason = str(exc)
            if exc.path and reason.startswith(f"{exc.path}: "):
                reason = reason[len(exc.path) + 2:]
            problems.append(Problem.at(table, line, f"actor photo {bad}: {reason}"))
    return problems
