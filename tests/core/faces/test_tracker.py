"""Following the actor through a real video file built from the test photographs."""

from __future__ import annotations

import json

import clipmaker
import numpy as np
import pytest

from feasstm_gui.core.faces.detector import DetectorSettings, FaceDetector, get_detector
from feasstm_gui.core.faces.tracker import (
    ActorTracker,
    TrackerSettings,
    descriptor_similarity,
    hist_distance,
    signature,
)


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return get_detector(DetectorSettings(device="cpu"))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """The standard clip written as MJPG .avi under a Chinese path with spaces, decoded back."""
    folder = tmp_path_factory.mktemp("clips") / "演员 跟踪" / "第一 集"
    path, truth = clipmaker.make_clip(folder / "镜头 一.avi")
    frames = clipmaker.read_frames(path)
    assert len(frames) == len(truth) == 110
    return frames, truth


@pytest.fixture(scope="module")
def auto_run(detector, clip):
    frames, _ = clip
    tracker = ActorTracker(detector)
    return [tracker.step(i, f) for i, f in enumerate(frames)]


def who(result_face, truth_frame) -> str | None:
    """Which ground-truth face a detection is (by its centre)."""
    if result_face is None:
        return None
    for f in truth_frame["faces"]:
        if np.hypot(result_face.center[0] - f["center"][0], result_face.center[1] - f["center"][1]) < 0.4 * f["side"]:
            return f["photo"]
    return "?"


def test_clips_write_and_read_back_in_both_codecs(tmp_path):
    shots = [clipmaker.Shot("s", "astronaut", 8, (120, 0, 320, 240), (130, 3, 330, 230))]
    for name in ("短 片.avi", "短 片.mp4"):
        path, truth = clipmaker.make_clip(tmp_path / "视频 文件" / name, shots, truth_json=True)
        frames = clipmaker.read_frames(path)
        assert len(frames) == len(truth) == 8
        assert frames[0].shape == (480, 640, 3)
        assert json.loads(path.with_suffix(".truth.json").read_text("utf-8"))[3]["index"] == 3
    damaged = clipmaker.truncated_copy(path, tmp_path / "坏 的.mp4", keep=0.5)
    assert damaged.stat().st_size < path.stat().st_size


def test_scene_cuts_are_found_where_the_shots_change(auto_run, clip):
    _, truth = clip
    found = {r.frame_index for r in auto_run if r.cut}
    expected = {t["index"] for t in truth if t["cut"]}
    assert found == expected


def test_follows_the_actor_and_never_takes_the_other_person(auto_run, clip):
    _, truth = clip
    for r, t in zip(auto_run, truth):
        if t["shot"] == "a1" and not t["splice"]:
            assert who(r.actor, t) == "obama", (r.frame_index, r.status)
            assert r.status in ("acquired", "tracked", "reacquired")
        if t["splice"] or t["shot"] in ("b", "nonface"):
            assert r.actor is None, (r.frame_index, r.status)
        assert who(r.actor, t) != "biden"
    # within the shot, most frames are searched in a region around the last face
    a1 = [r for r, t in zip(auto_run, truth) if t["shot"] == "a1"]
    # (searched, or confirmed by ONet alone on the box the last landmarks give)
    assert sum(r.mode in ("roi", "confirm") for r in a1) > 0.7 * len(a1)


def test_region_tracking_gives_full_frame_landmarks(auto_run, clip, detector):
    frames, truth = clip
    tracked = [r for r in auto_run if r.mode == "roi" and r.actor is not None][::4]
    assert len(tracked) >= 5
    for r in tracked:
        full = detector.detect(frames[r.frame_index])
        err = min(np.linalg.norm(f.landmarks - r.actor.landmarks, axis=1).mean() / f.iod for f in full)
        assert err < 0.02, r.frame_index


def test_confirmed_frames_keep_full_frame_landmarks_within_bounds(auto_run, clip, detector):
    """Issue 19's bound: the actor's landmarks within 0.02 (median) and 0.05 (worst) of the
    inter-ocular distance of full-frame MTCNN's on the same frame, over the tracked frames
    (searched every 3rd frame: exact there; ONet alone between: about 0.02 there)."""
    frames, truth = clip
    confirmed = [r for r in auto_run if r.mode == "confirm" and r.actor is not None]
    assert len(confirmed) >= 40  # most frames within a shot
    tracked = [r for r in auto_run if r.mode in ("confirm", "roi") and r.actor is not None][::2]
    errs: dict[str, list[float]] = {"confirm": [], "roi": []}
    for r in tracked:
        assert who(r.actor, truth[r.frame_index]).startswith("obama"), r.frame_index  # the actor
        full = detector.detect(frames[r.frame_index])
        errs[r.mode].append(min(np.linalg.norm(f.landmarks - r.actor.landmarks, axis=1).mean()
                                / f.iod for f in full))
    every = errs["confirm"] + errs["roi"]
    assert len(errs["confirm"]) >= 10
    assert float(np.median(every)) <= 0.02, errs
    assert max(every) <= 0.05, errs
    assert float(np.median(errs["confirm"])) <= 0.03, errs  # ONet alone: about 0.02
    assert max(errs["roi"]) < 0.01, errs  # searched: full-frame MTCNN's own


def test_without_confirmation_every_tracked_frame_is_searched(clip, detector):
    frames, _ = clip
    for settings in (TrackerSettings(confirm=False), TrackerSettings(search_every=1)):
        tracker = ActorTracker(detector, settings)
        modes = {tracker.step(i, frames[i]).mode for i in range(0, 8)}
        assert modes == {"full", "roi"}


def test_a_fresh_tracker_gives_the_same_results_twice(auto_run, clip, detector):
    frames, _ = clip
    again = ActorTracker(FaceDetector(DetectorSettings(device="cpu")))
    for i in range(30):
        r, s = again.step(i, frames[i]), auto_run[i]
        assert (r.mode, r.status) == (s.mode, s.status)
        assert r.state == s.state
        if s.actor is not None:
            assert r.actor.to_dict(6) == s.actor.to_dict(6), i


def test_user_says_this_face_is_the_actor_and_it_propagates(auto_run, clip, detector):
    """After a cut to another shot of the actor the plain appearance test is not sure; the user
    points at the face once, and the tracker follows it, also into the two-person shot."""
    frames, truth = clip
    start = next(i for i, t in enumerate(truth) if t["shot"] == "a2")
    tracker = ActorTracker(detector, state=auto_run[start - 1].state)
    first = tracker.step(start, frames[start])
    assert len(first.faces) == 1
    seeded = tracker.set_actor(first.faces[0], frames[start], start)
    assert seeded.status == "seeded"
    results = [tracker.step(i, frames[i]) for i in range(start + 1, len(frames))]
    by_index = {r.frame_index: r for r in results}
    for i, t in enumerate(truth):
        if i <= start:
            continue
        r = by_index[i]
        if t["shot"] == "a2":
            assert who(r.actor, t) == "obama2", (i, r.status)
        if t["shot"] == "two":  # obama2 left, biden right, same size: the actor is the left one
            assert len(r.faces) == 2 or r.mode in ("roi", "confirm")
            assert who(r.actor, t) == "obama2", (i, r.status, r.distance)
        if t["shot"] == "nonface":
            assert r.actor is None


def test_choosing_the_other_person_follows_them_instead(clip, detector):
    frames, truth = clip
    two = [i for i, t in enumerate(truth) if t["shot"] == "two"]
    k = two[3]
    tracker = ActorTracker(detector)
    faces = detector.detect(frames[k])
    right = max(faces, key=lambda f: f.center[0])
    tracker.set_actor(right, frames[k], k)
    for i in two[4:]:
        r = tracker.step(i, frames[i])
        assert who(r.actor, truth[i]) == "biden", (i, r.status)


def test_propagates_backwards_too(clip, detector):
    frames, truth = clip
    a2 = [i for i, t in enumerate(truth) if t["shot"] == "a2"]
    k = a2[10]
    tracker = ActorTracker(detector)
    tracker.set_actor(detector.detect(frames[k])[0], frames[k], k)
    for i in reversed(a2[:10]):
        r = tracker.step(i, frames[i])
        assert who(r.actor, truth[i]) == "obama2", (i, r.status)


def test_resuming_from_a_saved_state_gives_the_same_results(auto_run, clip, detector):
    frames, _ = clip
    end = 40
    straight = auto_run[:end]
    confirmed = [i for i in range(5, end - 3) if straight[i].mode == "confirm"]
    assert confirmed  # resumed right after a frame ONet alone confirmed, and through others
    for k in sorted({9, 16, 29, confirmed[0]}):
        saved = json.dumps(straight[k].state)  # what the store keeps with committed frame k
        resumed = ActorTracker(FaceDetector(DetectorSettings(device="cpu")), state=json.loads(saved))
        for i in range(k + 1, end):
            r = resumed.step(i, frames[i])
            s = straight[i]
            assert (r.status, r.mode, r.cut) == (s.status, s.mode, s.cut), (k, i)
            if s.actor is None:
                assert r.actor is None
            else:
                assert r.actor.to_dict(6) == s.actor.to_dict(6), (k, i)
            assert r.state == s.state


def test_full_detections_are_scheduled_by_frame_index(clip, detector):
    frames, truth = clip
    tracker = ActorTracker(detector, TrackerSettings(full_every=10))
    modes = {i: tracker.step(i, frames[i]).mode for i in range(0, 16)}
    assert modes[0] == "full"  # fresh start: all sizes
    assert modes[10] == "frame"  # periodic: whole frame at the actor's scale
    assert all(modes[i] == "roi" for i in (3, 6, 12, 15))  # every search_every-th: the region
    assert all(modes[i] == "confirm" for i in (2, 4, 5, 11, 13, 14))  # ONet alone
    assert modes[1] == "roi"  # the fresh start's search says nothing about ONet's input box
    tracker = ActorTracker(detector, TrackerSettings(full_every=10, periodic_all_sizes=True))
    modes = {i: tracker.step(i, frames[i]).mode for i in range(0, 12)}
    assert modes[10] == "full" and modes[11] in ("roi", "confirm")


def test_while_the_actor_is_absent_most_frames_search_at_its_scale(detector):
    """Absent frames search the whole frame at the actor's last scale, and at all sizes at a
    cut and once `absent_full_every` frames have passed since the last all-sizes search; the
    actor coming back at another scale after a cut is found at once, and the results equal
    searching all sizes on every frame."""
    shots = [clipmaker.Shot("close", "obama", 5, (200, 0.0, 320, 240), (204, 1.0, 322, 242)),
             clipmaker.Shot("other", "biden", 9, (180, 2.0, 320, 240), (186, -1.0, 330, 236)),
             clipmaker.Shot("none", "rocket", 4, (0, 0, 0, 0), (0, 0, 0, 0)),
             clipmaker.Shot("wide", "obama", 5, (70, 3.0, 200, 300), (72, 2.0, 210, 296))]
    frames, truth = clipmaker.render_clip(shots)
    fast = ActorTracker(detector, TrackerSettings(absent_full_every=5, absent_every=1))
    slow = ActorTracker(detector, TrackerSettings(absent_full_every=1))
    a = [fast.step(i, f) for i, f in enumerate(frames)]
    b = [slow.step(i, f) for i, f in enumerate(frames)]
    for r, s, t in zip(a, b, truth):
        assert (r.actor is None) == (s.actor is None) == (t["shot"] in ("other", "none")), \
            r.frame_index
        if r.actor is not None:
            assert r.actor.to_dict(6) == s.actor.to_dict(6)
    modes = {r.frame_index: r.mode for r in a}
    first_other = next(i for i, t in enumerate(truth) if t["shot"] == "other")
    first_wide = next(i for i, t in enumerate(truth) if t["shot"] == "wide")
    assert modes[first_other] in ("roi", "full")  # the cut: the last face's region, then all
    absent = [i for i, t in enumerate(truth) if t["shot"] in ("other", "none")]
    due, last_full = [], None
    for i in absent:
        if truth[i]["cut"] or last_full is None or i - last_full >= 5:
            due.append(i)
            last_full = i
    assert [i for i in absent if modes[i] == "full"] == due
    assert len(due) > sum(truth[i]["cut"] for i in absent)  # one within the long shot too
    assert all(modes[i] == "frame" for i in absent if i not in due)
    assert a[first_wide].status == "reacquired" and a[first_wide].mode == "full"
    assert all(r.mode == "full" for r in b if r.actor is None)


def test_while_the_actor_is_absent_one_frame_in_absent_every_is_searched(detector):
    """With absent_every=3 (the default) an absent actor is looked for at its scale on one
    frame in three; the frames between are not searched; cuts and the all-sizes searches are
    as before, the actor coming back at a cut is found at once, and a run stopped and resumed
    from its saved state gives the same frames."""
    shots = [clipmaker.Shot("close", "obama", 5, (200, 0.0, 320, 240), (204, 1.0, 322, 242)),
             clipmaker.Shot("other", "biden", 12, (180, 2.0, 320, 240), (186, -1.0, 330, 236)),
             clipmaker.Shot("wide", "obama", 5, (70, 3.0, 200, 300), (72, 2.0, 210, 296))]
    frames, truth = clipmaker.render_clip(shots)
    settings = TrackerSettings(absent_full_every=50)
    assert settings.absent_every == 3
    thin = ActorTracker(detector, settings)
    every = ActorTracker(detector, TrackerSettings(absent_full_every=50, absent_every=1))
    a = [thin.step(i, f) for i, f in enumerate(frames)]
    b = [every.step(i, f) for i, f in enumerate(frames)]
    for r, s_, t in zip(a, b, truth):
        assert (r.actor is None) == (s_.actor is None) == (t["shot"] == "other"), r.frame_index
        if r.actor is not None:
            assert r.actor.to_dict(6) == s_.actor.to_dict(6)
    absent = [r for r, t in zip(a, truth) if t["shot"] == "other"]
    searched = [r.frame_index for r in absent if r.mode == "frame"]
    skipped = [r.frame_index for r in absent if r.mode == "skip"]
    assert skipped and searched and all(m - n >= 3 for n, m in zip(searched, searched[1:]))
    assert all(any(0 < i - n < 3 for n in searched) for i in skipped)
    assert all(r.mode != "skip" for r in b)
    # stopped after a skipped frame and resumed from its state: the same results
    stop = skipped[0]
    resumed = ActorTracker(detector, settings, state=a[stop].state)
    again = [resumed.step(i, frames[i]) for i in range(stop + 1, len(frames))]
    assert [(r.mode, r.actor is None) for r in again] == \
        [(r.mode, r.actor is None) for r in a[stop + 1:]]


def test_a_face_track_whose_identity_is_clear_is_described_once(auto_run, clip, detector):
    """Descriptors where they are needed: a face new to a shot is described; one whose
    distance is clearly on one side of the limit keeps its identity until a cut or a jump
    (`identity_settled`), so following it within the shot costs none; with the band wide
    enough to hold every face, followed faces are sampled every `identity_every` frames."""
    tracked = [r for r in auto_run if r.status == "tracked" and not r.cut]
    assert len(tracked) > 60 and all(r.embedded == 0 for r in tracked)
    assert 0 < sum(r.embedded for r in auto_run) <= 2 * sum(r.cut for r in auto_run) + 2
    frames, _ = clip
    sampled = ActorTracker(detector, TrackerSettings(identity_settled=2.0, identity_every=10))
    results = [sampled.step(i, frames[i]) for i in range(25)]
    again = [r.frame_index for r in results if r.status == "tracked" and r.embedded]
    assert again and all(i >= 10 for i in again)
    assert [r.actor is None for r in results] == [r.actor is None for r in auto_run[:25]]


def test_state_is_small_json(auto_run):
    st = auto_run[30].state
    text = json.dumps(st)
    assert len(text) < 3000
    assert set(st) >= {"last", "hist", "track", "exemplars", "recent"}
    assert json.loads(text) == st


def test_signatures_and_appearance(clip):
    frames, truth = clip
    a, b = signature(frames[0]), signature(frames[1])
    cut = next(i for i, t in enumerate(truth) if t["shot"] == "b")
    assert hist_distance(a, b) < 0.15 < 0.3 < hist_distance(a, signature(frames[cut]))
    assert descriptor_similarity("AAAA", "AAAA") == 0.0  # flat thumbnails say nothing


@pytest.mark.parametrize("size", [(720, 1280), (1080, 1920), (480, 854), (2160, 3840), (100, 130)])
def test_signature_samples_the_same_pixels_at_every_frame_size(size):
    """The signature reads every n-th pixel of the frame; where n divides the frame's sides it
    takes them with OpenCV's nearest-pixel resize instead of a strided copy: the same values as
    the strided copy at every size."""
    import cv2

    from feasstm_gui.core.faces import tracker as trk

    rng = np.random.default_rng(sum(size))
    image = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
    step = max(1, min(size[0] // 144, size[1] // 256))
    small = cv2.resize(np.ascontiguousarray(image[::step, ::step]), (64, 36),
                       interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    hb, sb, vb = trk.HIST_BINS
    hs = cv2.calcHist([hsv], [0, 1], None, [hb, sb], [0, 180, 0, 256]).ravel()
    v = cv2.calcHist([hsv], [2], None, [vb], [0, 256]).ravel()
    expected = np.concatenate([hs / max(hs.sum(), 1), v / max(v.sum(), 1)]) / 2.0
    assert trk.signature(image) == [int(round(x * 10000)) for x in expected]
