"""Following the actor's face through a clip.

Frames often show other people. Within a shot the actor is followed by geometry: the face whose
box overlaps the last one and whose landmarks continue the last ones. Across a scene cut (found
from colour histograms of downscaled frames) geometry means nothing, so the tracker asks who the
new shot's faces are: each face's 128-D descriptor (`identity.py`, dlib's face-recognition
network) is compared with the actor's references, and the nearest face within
`identity_distance` is the actor. The references are, in this order: the ones the project holds
for the clip's actor (a reference photo, "this face is the actor", labelled frames: shared by
every clip of that actor), the faces the user pointed at in this run (`set_actor`), else the face
taken automatically (the largest face of the first frame with a face).

The faces of a shot vote: every face is followed by geometry inside the shot, and compared again
only every `identity_every` frames; the mean of its distances decides. So one odd frame does not
flip the identity, and descriptors are computed only where they are needed (at cuts, for a face
new to the shot, and sampled along the shot): about 0.02 s each on one core (dlib_resnet.py).

Determinism and resuming: everything the tracker remembers is `state`, a small JSON-serialisable
dict, saved with each committed frame. A tracker rebuilt from the state saved with frame k gives
for frame k+1 onwards exactly what an uninterrupted run gives: the state is the tracker's only
memory (it goes through JSON after every step, so nothing rides along in memory), full-frame
detections and identity samples are scheduled by frame index and by what the state holds, and
torch's thread count is fixed by the detector.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from feasstm_gui.core.faces.align import align_face
from feasstm_gui.core.faces.detector import (
    Detection,
    FaceDetector,
    box_iou,
    order_faces,
)
from feasstm_gui.core.project_settings import StoredSettings

STATE_VERSION = 1


@dataclass(frozen=True)
class TrackerSettings(StoredSettings):
    """How the tracker follows the actor (stored in the project)."""

    #: a whole-frame detection on every frame whose index is a multiple of this
    full_every: int = 30
    #: that periodic detection searches the whole frame at the actor's scale (the pyramid levels
    #: of faces ``roi_face_range`` times the actor's size: same landmarks, a tenth of the cost);
    #: True searches all sizes. Scene cuts, a lost track and a fresh start always search all sizes.
    periodic_all_sizes: bool = False
    #: while the actor is absent within a shot, the whole frame is searched at all sizes at
    #: each cut and again once this many frames have passed since the last all-sizes search,
    #: and at the actor's last scale (as the periodic check) on the frames between; 1 searches
    #: all sizes on every absent frame. (Counted from the last all-sizes search, not by frame
    #: index: a shot of someone else shorter than this costs one all-sizes search, at its cut,
    #: as it does without identity.)
    absent_full_every: int = 50
    #: while the actor is absent within a shot, the search at the actor's scale runs on one
    #: frame in this many (counted from the last such search); the frames between are not
    #: searched (absent). An actor walking in mid-shot is found at most this many frames
    #: minus one late; a cut, a lost track and the all-sizes searches are unchanged. 1: every
    #: absent frame is searched.
    absent_every: int = 3
    #: the region searched around the last face: this many face sizes wide
    roi_scale: float = 2.5
    #: pyramid levels searched in the region: faces from lo to hi times the last face's size
    roi_face_range: tuple[float, float] = (0.4, 3.0)
    #: a jump in frame index larger than this starts afresh (full detection, appearance test)
    max_gap: int = 5
    #: scene cut: Bhattacharyya distance between consecutive frames' colour histograms above this
    cut_threshold: float = 0.3
    #: geometry: smallest box overlap (IoU) for the same face in the next frame
    min_iou: float = 0.3
    #: geometry: largest mean landmark move, in inter-ocular distances, for the same face
    max_landmark_move: float = 1.0
    #: identity: a face is the actor when the mean distance of its descriptors (sampled along the
    #: shot) to the nearest of the actor's references is at most this. Measured: the same person
    #: in other light and framing 0.27-0.57, other people 0.56-0.91 (identity.py)
    identity_distance: float = 0.55
    #: identity: a face up to this much further than `identity_distance` is still the actor when
    #: it also looks like the actor's last frame (aligned grey thumbnails, similarity at least
    #: `min_similarity`: same light and framing); beyond it, never
    identity_margin: float = 0.15
    #: appearance: smallest thumbnail similarity (0-1) for that second chance (another person
    #: measured 0.23-0.25, the same face in the same shot 0.92-1.0)
    min_similarity: float = 0.75
    #: identity: a face followed within a shot is compared with the references again every this
    #: many frames (its samples vote); at a cut and for a face new to the shot, at once
    identity_every: int = 25
    #: identity: a face's vote is settled once its mean distance is more than this away from
    #: `identity_distance` (on either side): it keeps its identity, and is not described again,
    #: until a cut or a jump. Only faces in the uncertain band are sampled every
    #: `identity_every` frames (measured: the actor's other photographs 0.27-0.41 from a
    #: reference on the test clips, other people 0.68-0.91; 2 or more: every face is sampled)
    identity_settled: float = 0.15
    #: identity: at most this many faces of a frame (largest first) are compared; the
    #: comparison stops at a face that is clearly the actor (settled, below the limit)
    identity_max_faces: int = 4
    #: False: no face descriptors at all; each shot takes its largest face (what a plain
    #: "first face found" script does; the identity benchmark's baseline)
    identity: bool = True
    #: appearance: a tracked face less similar than this to the last frame's is someone else
    #: (a cut the histograms missed)
    switch_similarity: float = 0.5
    #: at most this many seeds (faces the user pointed at in this run) are remembered
    max_exemplars: int = 4
    #: within a shot, confirm the actor with MTCNN's last stage (ONet) alone, on the box where
    #: its last landmarks put ONet's input, before searching the region (`FaceDetector.confirm`);
    #: the region is searched only when ONet does not confirm the face. False: always search
    confirm: bool = True
    #: a second ONet pass, on the box the first pass's landmarks give, when that box is further
    #: than this fraction of its side from the first (the face moved)
    confirm_refine: float = 0.05
    #: the region is still searched on every frame whose index is a multiple of this (1: every
    #: frame, no confirmation); those frames' landmarks are exactly full-frame MTCNN's, and each
    #: such search refines where ONet's input is placed (a running mean over the shot)
    search_every: int = 3
    #: that running mean forgets: at most this many searches weigh in
    net_memory: int = 16


@dataclass
class TrackResult:
    frame_index: int
    actor: Detection | None  # the actor's face in this frame, or None (absent)
    status: str  # tracked | reacquired | acquired | seeded | absent
    #: how the frame was searched: confirm (ONet alone on the box the last landmarks give),
    #: roi (around the last face), frame (whole frame, the actor's scale), full (whole frame,
    #: all sizes), manual (set_actor)
    mode: str
    cut: bool  # a scene cut between the previous frame and this one
    faces: list[Detection] = field(default_factory=list)  # every face found this frame
    #: the actor's mean identity distance to its references in this shot, when known
    distance: float | None = None
    state: dict[str, Any] = field(default_factory=dict)  # save with the committed frame
    #: descriptors computed for this frame (the cost of identity work)
    embedded: int = 0


def new_state() -> dict[str, Any]:
    return {"v": STATE_VERSION, "last": None, "hist": None, "track": None,
            "exemplars": [], "recent": None, "auto": True, "vote": None, "others": []}


class ActorTracker:
    """Follows one actor; `step` each frame in order (forward or backward).

    `references`: the actor's reference descriptors held by the project (encoded, see
    identity.encode); with none, the tracker uses the faces seeded in this run, else takes the
    largest face of the first frame with a face."""

    def __init__(
        self,
        detector: FaceDetector,
        settings: TrackerSettings | None = None,
        state: dict[str, Any] | None = None,
        references: list[str] | None = None,
    ) -> None:
        self.detector = detector
        self.settings = settings or TrackerSettings()
        self.references = list(references or [])
        self._state = _roundtrip(state) if state is not None else new_state()
        if self._state.get("v") != STATE_VERSION:
            self._state = new_state()
        self._state.setdefault("vote", None)
        self._state.setdefault("others", [])

    @property
    def state(self) -> dict[str, Any]:
        """The tracker's whole memory (a copy): save it with each committed frame."""
        return _roundtrip(self._state)

    def _refs(self) -> list[str]:
        return self.references or list(self._state["exemplars"])

    # -- the user says "this face is the actor"

    def set_actor(
        self, detection: Detection, image: np.ndarray, frame_index: int, *, bgr: bool = True
    ) -> TrackResult:
        """Seed the track with a face the user chose on one frame; later steps propagate it."""
        from feasstm_gui.core.faces import identity

        st = self._state
        desc = identity.encode(identity.embed(image, detection, bgr=bgr))
        if st.get("auto"):
            st["exemplars"] = []
        st["auto"] = False
        st["exemplars"] = (st["exemplars"] + [desc])[-self.settings.max_exemplars :]
        if self.references:  # the user's choice wins over the project's references here
            self.references = []
        st["recent"] = appearance(image, detection, bgr=bgr)
        st["track"] = _track_dict(detection)
        st["net"] = _net_relative(detection)
        st["vote"] = {"n": 1, "sum": 0.0, "at": int(frame_index)}
        st["others"] = []
        st["last"] = int(frame_index)
        st["hist"] = signature(image)
        self._state = _roundtrip(st)
        return TrackResult(int(frame_index), detection, "seeded", "manual", False, [detection],
                           0.0, self.state, 1)

    # -- one frame

    def step(self, frame_index: int, image: np.ndarray, *, bgr: bool = True,
             detections: list[Detection] | None = None,
             hist: list[int] | None = None) -> TrackResult:
        """Find the actor in one frame (BGR unless ``bgr=False``) and advance the state.

        ``detections``: the frame's faces from a whole-frame detection at all sizes done
        beforehand (`FaceDetector.detect_batch`, frames batched for a GPU); the tracker then
        searches nothing itself and treats every frame as a `full` search. ``hist``: the frame's
        `signature`, computed beforehand (on another thread); else computed here."""
        s = self.settings
        st = self._state
        idx = int(frame_index)
        sig = signature(image, bgr=bgr) if hist is None else hist
        last = st["last"]
        fresh = last is None or abs(idx - last) > s.max_gap
        cut = (not fresh) and st["hist"] is not None and hist_distance(sig, st["hist"]) > s.cut_threshold
        track = None if (fresh or cut or st["track"] is None) else _track_det(st["track"])
        self._embedded = 0

        actor: Detection | None = None
        status = "absent"
        mode = "full"
        faces: list[Detection] = []

        stages: list[tuple[str, dict[str, Any] | None]] = []
        if track is not None:
            side = track.size
            lo, hi = s.roi_face_range
            sizes = (lo * side, hi * side)
            if (idx % s.full_every != 0 and idx % max(1, s.search_every) != 0 and s.confirm
                    and st.get("net") and detections is None):
                stages.append(("confirm", None))
            if idx % s.full_every != 0:
                cx, cy = track.center
                half = s.roi_scale * side / 2.0
                stages.append(("roi", {"roi": (cx - half, cy - half, cx + half, cy + half),
                                       "face_size": sizes}))
            elif not s.periodic_all_sizes:
                stages.append(("frame", {"face_size": sizes}))
        elif not fresh and not cut:
            stages.extend(self._absent_stages(idx))
        if track is not None or not stages:
            stages.append(("full", {}))  # and whenever the track is lost
        if detections is not None:  # found beforehand, at all sizes: nothing to search
            stages = [("full", None)]
        for stage, search in stages:
            mode = stage
            if stage == "confirm":
                found = self._confirm(image, track, st["net"], bgr)
                faces = [found] if found is not None else []
            elif stage == "skip":  # the actor absent: this frame not searched (absent_every)
                faces = []
            else:
                faces = (list(detections) if search is None
                         else self.detector.detect(image, bgr=bgr, **search))
            if stage == "full":
                st["full_at"] = idx
            st["absent_at"] = idx if track is None and stage == "frame" else st.get("absent_at")
            if track is not None:
                actor = self._match_geometry(track, faces)
                if actor is not None:
                    status = "tracked"
                    break
        if fresh or cut:
            st["others"] = []  # geometry means nothing across a cut: every face is new
            st["absent_at"] = None  # a new shot: its first absent frame is searched
        look = None  # (face, its appearance): computed once per step (an aligned crop)
        if actor is not None and st["recent"] is not None:
            look = (actor, appearance(image, actor, bgr=bgr))
            similarity = descriptor_similarity(look[1], st["recent"])
            if similarity < s.switch_similarity:  # someone else in the actor's place
                actor, status, cut = None, "absent", True
                st["vote"], st["others"] = None, []
        refs = self._refs() if s.identity else []
        if actor is not None and refs:
            # the followed face votes again now and then; a shot whose votes say "someone
            # else" drops it (one odd sample does not: the mean decides)
            vote = self._sample(st.get("vote"), idx, image, actor, refs, bgr)
            st["vote"] = vote
            limit = s.identity_distance + (s.identity_margin if vote.get("look") else 0.0)
            if vote["n"] >= 2 and vote["sum"] / vote["n"] > limit:
                st["others"] = [{**_track_dict(actor), **vote}]
                actor, status, st["vote"] = None, "absent", None
        if actor is None and faces:
            if refs:
                actor = self._match_identity(image, faces, idx, refs, bgr)
                if actor is not None:
                    status = "reacquired"
            elif not s.identity:
                actor, status = order_faces(faces, "size")[0], "acquired"
            elif st["auto"]:
                from feasstm_gui.core.faces import identity

                actor = order_faces(faces, "size")[0]
                st["exemplars"] = [identity.encode(identity.embed(image, actor, bgr=bgr))]
                self._embedded += 1
                st["vote"] = {"n": 1, "sum": 0.0, "at": idx}
                status = "acquired"
        if actor is None:
            st["vote"] = None
        distance = None
        if actor is not None and st.get("vote"):
            distance = round(st["vote"]["sum"] / max(1, st["vote"]["n"]), 4)

        st["last"] = idx
        st["hist"] = sig
        st["track"] = _track_dict(actor) if actor is not None else None
        if actor is None:
            st["net"] = None
        elif mode != "confirm":  # where the cascade's ONet input sits relative to the landmarks
            st["net"] = _net_mean(st.get("net") if track is not None else None,
                                  _net_relative(actor), s.net_memory)
        if actor is not None:
            st["scale"] = round(actor.size, 3)  # the actor's size, for searches while absent
            st["recent"] = (look[1] if look is not None and look[0] is actor
                            else appearance(image, actor, bgr=bgr))
        elif fresh:
            st["scale"] = None  # nothing known: search all sizes until the actor is found
        text = json.dumps(st)  # the state as the store keeps it: the tracker's, and a copy
        self._state = json.loads(text)
        return TrackResult(idx, actor, status, mode, bool(cut), faces, distance, json.loads(text),
                           self._embedded)

    def _confirm(self, image, track: Detection, net: list[float], bgr: bool) -> Detection | None:
        """The actor by ONet alone: on the box the last landmarks give (ONet's input placed
        relative to them as the last region search placed it), and once more on the box the
        new landmarks give when the face moved. None: not confirmed (search the region)."""
        s = self.settings
        h, w = image.shape[:2]

        def inside(b) -> bool:  # past the frame's edge MTCNN squeezes the crop: search instead
            return b[0] >= 1 and b[1] >= 1 and b[2] <= w and b[3] <= h

        box = _net_box(track.landmarks, net)
        if not inside(box):
            return None
        found = self.detector.confirm(image, box, bgr=bgr)
        if found is None:
            return None
        again = _net_box(found.landmarks, net)
        side = box[2] - box[0]
        if max(abs(a - b) for a, b in zip(again, box)) > s.confirm_refine * side:
            if not inside(again):
                return None
            found = self.detector.confirm(image, again, bgr=bgr)
        return found

    def _absent_stages(self, idx: int) -> list[tuple[str, dict[str, Any]]]:
        """While the actor is absent within a shot: the whole frame at the actor's last scale
        (else at the scale of the faces this shot showed), and nothing here (all sizes) once
        `absent_full_every` frames have passed since the last all-sizes search. A face that comes
        back much smaller or larger than that scale waits for the next all-sizes search."""
        s, st = self.settings, self._state
        full_at = st.get("full_at")
        if s.absent_full_every <= 1 or full_at is None or abs(idx - full_at) >= s.absent_full_every:
            return []
        absent_at = st.get("absent_at")
        if s.absent_every > 1 and absent_at is not None and abs(idx - absent_at) < s.absent_every:
            return [("skip", None)]
        scale = st.get("scale")
        if not scale and st["others"]:  # the actor never seen yet: the others' scale
            scale = max(_track_det(o).size for o in st["others"])
        if not scale:
            return []
        lo, hi = s.roi_face_range
        return [("frame", {"face_size": (lo * scale, hi * scale)})]

    # -- matching

    def _match_geometry(self, track: Detection, faces: list[Detection]) -> Detection | None:
        s = self.settings
        best, best_score = None, -1e9
        iod = max(track.iod, 1.0)
        for f in faces:
            iou = box_iou(f.raw_box, track.raw_box)
            move = float(np.linalg.norm(f.landmarks - track.landmarks, axis=1).mean()) / iod
            if iou < s.min_iou or move > s.max_landmark_move:
                continue
            score = iou - 0.25 * move
            if score > best_score:
                best, best_score = f, score
        return best

    def _sample(self, vote, idx, image, face, refs, bgr) -> dict[str, Any]:
        """A face's vote, with one more sample when it is due (new, or `identity_every` frames
        since its last one)."""
        from feasstm_gui.core.faces import identity

        s = self.settings
        if vote is not None and (abs(idx - vote["at"]) < s.identity_every
                                 or _settled(vote, s)):
            return vote
        d = identity.nearest(identity.embed(image, face, bgr=bgr), refs)
        self._embedded += 1
        vote = dict(vote or {"n": 0, "sum": 0.0})
        vote["n"] += 1
        vote["sum"] = round(vote["sum"] + d, 4)
        vote["at"] = idx
        return vote

    def _match_identity(self, image, faces, idx, refs, bgr) -> Detection | None:
        """The face (of the largest `identity_max_faces`) whose votes put it nearest the actor's
        references, within `identity_distance`; the others are remembered with their votes, so
        they are compared again only when a sample is due."""
        s = self.settings
        previous = [(_track_det(o), o) for o in self._state["others"]]
        others: list[dict[str, Any]] = []
        best, best_mean = None, float("inf")
        for f in order_faces(faces, "size")[: s.identity_max_faces]:
            vote = None
            linked = self._match_geometry_pairs(f, previous)
            if linked is not None:
                vote = {k: linked[k] for k in ("n", "sum", "at", "look") if k in linked}
            vote = self._sample(vote, idx, image, f, refs, bgr)
            mean = vote["sum"] / vote["n"]
            if (s.identity_distance < mean <= s.identity_distance + s.identity_margin
                    and self._state.get("recent") is not None and "look" not in vote):
                # not sure by identity: does it look like the actor's last frame?
                sim = descriptor_similarity(appearance(image, f, bgr=bgr), self._state["recent"])
                vote["look"] = sim >= s.min_similarity
            ok = mean <= s.identity_distance or (
                vote.get("look") and mean <= s.identity_distance + s.identity_margin)
            if ok and mean < best_mean:
                if best is not None:
                    others.append({**_track_dict(best[0]), **best[1]})
                best, best_mean = (f, vote), mean
                if _settled(vote, s):  # clearly the actor: the smaller faces are not asked
                    break
            else:
                others.append({**_track_dict(f), **vote})
        self._state["others"] = others
        if best is None:
            return None
        self._state["vote"] = best[1]
        return best[0]

    def _match_geometry_pairs(self, face: Detection, previous) -> dict[str, Any] | None:
        match = self._match_geometry(face, [p for p, _ in previous])
        if match is None:
            return None
        for p, o in previous:
            if p is match:
                return o
        return None


def _settled(vote: dict[str, Any], s: TrackerSettings) -> bool:
    """A vote far enough from the decision that another sample would not change it."""
    if vote["n"] < 1:
        return False
    return abs(vote["sum"] / vote["n"] - s.identity_distance) > s.identity_settled


# --------------------------------------------------------------------------- state helpers


def _roundtrip(state: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(state))


def _track_dict(d: Detection) -> dict[str, Any]:
    return d.to_dict(ndigits=3)


def _track_det(d: dict[str, Any]) -> Detection:
    return Detection.from_dict(d)


def _landmark_frame(landmarks: np.ndarray) -> tuple[float, float, float]:
    """Centre (mean of the five landmarks) and inter-ocular distance of a face."""
    lm = np.asarray(landmarks, dtype=np.float64)
    c = lm.mean(axis=0)
    return float(c[0]), float(c[1]), max(float(np.linalg.norm(lm[1] - lm[0])), 1.0)


def _net_relative(d: Detection) -> list[float] | None:
    """ONet's input box relative to the landmarks: (left - cx, top - cy, side), in
    inter-ocular distances; None when the detection does not say (a whole-frame search)."""
    if d.net_box is None:
        return None
    cx, cy, iod = _landmark_frame(d.landmarks)
    x1, y1, x2, y2 = d.net_box
    return [round((x1 - cx) / iod, 6), round((y1 - cy) / iod, 6),
            round(max(x2 - x1, y2 - y1) / iod, 6)]


def _net_mean(old: list[float] | None, new: list[float] | None, memory: int) -> list | None:
    """Running mean of the relative ONet boxes (the last three numbers: mean, then count)."""
    if new is None:
        return old
    if not old:
        return [*new, 1]
    n = min(int(old[3]), max(1, memory) - 1)
    return [round((o * n + v) / (n + 1), 6) for o, v in zip(old[:3], new)] + [n + 1]


def _net_box(landmarks: np.ndarray, net: list[float]) -> tuple[float, float, float, float]:
    """The square box ONet runs on, placed relative to landmarks as `_net_relative` says."""
    cx, cy, iod = _landmark_frame(landmarks)
    x1, y1, side = cx + net[0] * iod, cy + net[1] * iod, net[2] * iod
    return (x1, y1, x1 + side, y1 + side)


# --------------------------------------------------------------------------- scene cuts

HIST_BINS = (16, 4, 8)  # hue x saturation, value


def signature(image: np.ndarray, *, bgr: bool = True) -> list[int]:
    """Colour histogram of a 64 x 36 thumbnail (hue x saturation, and value), in 1/10000ths."""
    import cv2

    step = max(1, min(image.shape[0] // 144, image.shape[1] // 256))  # every n-th pixel first
    h, w = image.shape[:2]
    if step > 1 and h % step == 0 and w % step == 0:  # the same pixels, without a strided copy
        sampled = cv2.resize(image, (w // step, h // step), interpolation=cv2.INTER_NEAREST)
    else:
        sampled = image[::step, ::step]
    small = cv2.resize(sampled, (64, 36), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV if bgr else cv2.COLOR_RGB2HSV)
    hb, sb, vb = HIST_BINS
    hs = cv2.calcHist([hsv], [0, 1], None, [hb, sb], [0, 180, 0, 256]).ravel()
    v = cv2.calcHist([hsv], [2], None, [vb], [0, 256]).ravel()
    hist = np.concatenate([hs / max(hs.sum(), 1), v / max(v.sum(), 1)]) / 2.0
    return np.rint(hist * 10000).astype(np.int64).tolist()  # round half to even, as round()


def hist_distance(a: list[int], b: list[int]) -> float:
    """Bhattacharyya distance between two signatures: 0 same colours, 1 nothing in common."""
    p = np.asarray(a, dtype=np.float64)
    q = np.asarray(b, dtype=np.float64)
    p = p / max(p.sum(), 1.0)
    q = q / max(q.sum(), 1.0)
    return float(np.sqrt(max(0.0, 1.0 - float(np.sqrt(p * q).sum()))))


# --------------------------------------------------------------------------- appearance

THUMB = 16


def appearance(image: np.ndarray, detection: Detection, *, bgr: bool = True) -> str:
    """What a face looks like, compactly: its aligned grey 16 x 16 thumbnail, standardised and
    quantised to int8, base64 (344 characters)."""
    import cv2

    crop, _ = align_face(image, detection.landmarks, preset="arcface", size=48)
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY if bgr else cv2.COLOR_RGB2GRAY)
    t = cv2.resize(grey, (THUMB, THUMB), interpolation=cv2.INTER_AREA).astype(np.float64)
    t -= t.mean()
    sd = t.std()
    if sd > 1e-6:
        t /= sd
    q = np.clip(np.round(t * 31.0), -127, 127).astype(np.int8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def descriptor_similarity(a: str, b: str) -> float:
    """Normalised correlation of two appearance descriptors, clipped to 0-1."""
    x = np.frombuffer(base64.b64decode(a), dtype=np.int8).astype(np.float64)
    y = np.frombuffer(base64.b64decode(b), dtype=np.int8).astype(np.float64)
    x -= x.mean()
    y -= y.mean()
    den = float(np.linalg.norm(x) * np.linalg.norm(y))
    if den <= 0:
        return 0.0
    return float(max(0.0, min(1.0, float(x @ y) / den)))
