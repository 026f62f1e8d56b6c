"""Stored previews, full frames from the video (issue 19: bytes per frame).

A project stores each video frame as a preview (`extract.preview_side`; 320 px here, on a
640 x 480 mp4v clip whose keyframes are 12 frames apart, so reading a frame by index seeks).
What needs the full frame (re-align, "this face is the actor", identities, references) decodes
it from the video again. Checked against the real MTCNN: the faces do not depend on how the
frames are stored, and re-aligning from the video gives exactly what re-aligning from a
full-size lossless frame gives.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import clipmaker
import cv2
import numpy as np
import pytest
from clipmaker import Shot

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.faces.actors import add_frame_reference
from feasstm_gui.core.ingest.full_frames import FullFrames, full_size, is_preview
from feasstm_gui.core.ingest.importer import import_videos
from feasstm_gui.core.ingest.media import FrameSeeker, iter_frames
from feasstm_gui.core.ingest.pipeline import (
    extract_clip,
    process_clip,
    realign_frames,
    set_actor,
)
from feasstm_gui.core.jobs import drive
from feasstm_gui.core.store import Store
from feasstm_gui.core.store import identity as idstore

DATA = Path(__file__).resolve().parents[2] / "data"
CLIP = "片段 预览"
SHOTS = [
    Shot("a", "obama", 20, (150, -4.0, 300, 215), (170, 4.0, 340, 235), blur={7: "gaussian"}),
    Shot("b", "biden", 6, (160, 2.0, 330, 220), (155, -1.0, 310, 228)),
    Shot("two", "obama2", 8, (120, 0.0, 160, 210), (124, 2.0, 168, 214),
         right="biden", right_pose=(120, 0.0, 480, 215)),
]
PREVIEW = 320


def snapshot(store: Store) -> list[dict]:
    faces = {f.frame_id: f for f in store.current_faces(CLIP)}
    out = []
    for row in store.frames(CLIP):
        face = faces.get(row.id)
        item = {"index": row.frame_index, "irrelevant": row.irrelevant,
                "suggested": sorted(row.suggested)}
        if face is not None:
            item.update(version=face.version, crop=face.crop, prob=face.prob,
                        crop_bytes=(store.folder / face.crop).read_bytes(),
                        box=face.box, landmarks=face.landmarks, scores=face.scores)
        out.append(item)
    return out


def _box(face_truth: dict) -> tuple[float, float, float, float]:
    (cx, cy), side = face_truth["center"], face_truth["side"]
    return cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    folder = tmp_path_factory.mktemp("previews") / "视频 集"
    return clipmaker.make_clip(folder / f"{CLIP}.mp4", SHOTS)


def _project(folder: Path, video: Path, preview_side: int | None) -> Store:
    store = Store.create(folder, annotator="alice")
    store.set_params({"extract.preview_side": preview_side})
    assert drive(import_videos(store, [video])).exit_status == 0
    return store


@pytest.fixture(scope="module")
def projects(video, tmp_path_factory):
    """The clip processed in one pass storing previews, and extracted then aligned storing full
    frames (as before issue 19); folders only (tests copy them before changing anything)."""
    path, truth = video
    base = tmp_path_factory.mktemp("projects")
    with _project(base / "预览 项目", path, PREVIEW) as store:
        assert drive(process_clip(store, CLIP)).exit_status == 0
        previews = snapshot(store)
    with _project(base / "full", path, None) as store:
        assert drive(extract_clip(store, CLIP)).exit_status == 0
        assert drive(process_clip(store, CLIP)).exit_status == 0
        full = snapshot(store)
    return base / "预览 项目", base / "full", previews, full, truth


def _copy(folder: Path, dst: Path) -> Path:
    shutil.copytree(folder, dst)
    return dst


def _lossless(folder: Path, dst: Path, video: Path) -> Path:
    """A copy whose stored frames are the video's frames at full size, losslessly (PNG)."""
    _copy(folder, dst)
    frames = [f.image for f in iter_frames(video)]
    with Store.open(dst, annotator="alice") as store, store.transaction():
        for row in store.frames(CLIP):
            rel = f"frames/{CLIP}/png/{row.frame_index:06d}.png"
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            ok, png = cv2.imencode(".png", frames[row.frame_index])
            (dst / rel).write_bytes(png.tobytes())
            store.db.execute("UPDATE frames SET image=? WHERE id=?", (rel, row.id))
    with Store.open(dst, annotator="alice") as store:
        assert all(r.image.endswith(".png") and not is_preview(r.image)
                   for r in store.frames(CLIP))
    return dst


def assert_same(got: list[dict], want: list[dict]) -> None:
    assert [g["index"] for g in got] == [w["index"] for w in want]
    for g, w in zip(got, want):
        assert g.keys() == w.keys(), g["index"]
        for key in w:
            if key in ("box", "landmarks"):
                np.testing.assert_allclose(g[key], w[key], atol=1e-6, err_msg=str(g["index"]))
            else:
                assert g[key] == w[key], (g["index"], key)


# --- reading a frame by index --------------------------------------------------------------


@pytest.mark.parametrize("name", ["mp4v", "Megamind.avi"])
def test_a_frame_read_by_index_is_the_frame_sequential_decoding_gives(video, name):
    path = video[0] if name == "mp4v" else DATA / "video" / name
    frames = [f.image for f in iter_frames(path)]
    order = list(range(len(frames)))
    random.Random(19).shuffle(order)
    order += [len(frames) - 1, 0, 1, len(frames) // 2, len(frames) // 2 + 3]
    with FrameSeeker(path) as seeker:
        for i in order:
            assert np.array_equal(seeker.frame(i), frames[i]), f"frame {i}"
        assert seeker.seeks > 0  # far jumps sought to a keyframe, not decoded from the start
        with pytest.raises(FeasstmError, match=f"no frame {len(frames) + 5}"):
            seeker.frame(len(frames) + 5)
        assert np.array_equal(seeker.frame(3), frames[3])  # still usable after the error


@pytest.mark.parametrize("bframes", [0, 3])
def test_a_frame_read_by_index_from_h264_is_the_frame_sequential_decoding_gives(tmp_path,
                                                                              bframes):
    """H.264 as films come (keyframes 12 apart, with and without B-frames, whose decoding order
    is not their display order): every frame read by index in any order is the frame decoded
    in sequence."""
    import subprocess

    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    n, (w, h) = 60, (320, 240)
    path = tmp_path / "片段 h264.mp4"
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo",
           "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", "25", "-i", "-", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "12", "-bf", str(bframes),
           str(path)]
    rng = np.random.default_rng(bframes)
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    raw = b"".join(cv2.putText(np.roll(base, 7 * i, axis=1), str(i), (40, 160),
                               cv2.FONT_HERSHEY_SIMPLEX, 4, (255, 255, 255), 8).tobytes()
                   for i in range(n))
    subprocess.run(cmd, input=raw, check=True, timeout=120)
    frames = [f.image for f in iter_frames(path)]
    assert len(frames) == n
    order = list(range(n))
    random.Random(bframes).shuffle(order)
    order += [n - 1, 0, 13, 12, 11, 35, 24]
    with FrameSeeker(path) as seeker:
        for i in order:
            assert np.array_equal(seeker.frame(i), frames[i]), f"frame {i}"
        assert seeker.seeks > 0


# --- what a project stores ---------------------------------------------------------------


def test_previews_are_small_named_by_the_full_size_and_leave_the_faces_alone(projects):
    pfolder, ffolder, previews, full, truth = projects
    with Store.open(pfolder, annotator="alice") as store:
        rows = store.frames(CLIP)
        assert len(rows) == len(truth)
        for row in rows:
            assert is_preview(row.image) and full_size(row.image) == (640, 480), row.image
            image = cv2.imread(str(pfolder / row.image))
            assert image.shape == (240, 320, 3)
    with Store.open(ffolder, annotator="alice") as store:
        assert not any(is_preview(r.image) for r in store.frames(CLIP))

    def size(folder: Path) -> int:
        return sum(f.stat().st_size for f in (folder / "frames").rglob("*") if f.is_file())

    assert size(pfolder) < 0.4 * size(ffolder)
    # the faces come from the decoded video either way: the same crops, boxes and landmarks
    assert_same(previews, full)
    assert sum("crop" in s for s in previews) > 20


def test_the_full_frame_of_a_preview_is_the_video_frame(projects, video):
    frames = [f.image for f in iter_frames(video[0])]
    with Store.open(projects[0], annotator="alice") as store, FullFrames(store) as full:
        for row in reversed(store.frames(CLIP)):  # backwards: every frame sought
            assert np.array_equal(full.image(row), frames[row.frame_index]), row.frame_index


def test_a_stop_and_resume_with_previews_gives_the_uninterrupted_faces(projects, video,
                                                                       tmp_path):
    """extract stopped half way (previews on disk, a few committed), then the one-pass job:
    the earlier frames are aligned from the video, the rest processed; the same faces."""
    with _project(tmp_path / "resumed", video[0], PREVIEW) as store:
        job = extract_clip(store, CLIP)
        next(job)  # one batch of frames committed
        job.close()
        assert 0 < len(store.frames(CLIP)) < len(video[1])
        assert drive(process_clip(store, CLIP)).exit_status == 0
        assert all(is_preview(r.image) for r in store.frames(CLIP))
        assert_same(snapshot(store), projects[2])


# --- what needs the full frame -----------------------------------------------------------


def test_realign_from_the_video_equals_realign_from_a_full_size_frame(projects, video,
                                                                      tmp_path):
    pfolder, _, _, _, truth = projects
    a = _copy(pfolder, tmp_path / "from video")
    b = _lossless(pfolder, tmp_path / "from png", video[0])
    two = next(gt for gt in truth if gt["shot"] == "two")
    biden = next(f for f in two["faces"] if f["person"] == "biden")
    results = []
    for folder in (a, b):
        with Store.open(folder, annotator="alice") as store:
            ids = [store.frame_id(CLIP, i) for i in (3, 17, 22, 31)]
            r1 = drive(realign_frames(store, ids))
            r2 = drive(realign_frames(store, [store.frame_id(CLIP, two["index"])],
                                      {"box": _box(biden)}))
            r3 = drive(realign_frames(store, ids[:1], {"min_face_size": 60}))
            assert (r1.done, r2.done, r3.done) == (4, 1, 1), (r1.problems, r2.problems)
            results.append(snapshot(store))
    assert_same(results[0], results[1])
    got = {s["index"]: s for s in results[0]}
    assert got[3]["version"] == 3 and got[two["index"]]["version"] == 2
    assert got[two["index"]]["box"][0] <= biden["center"][0] <= got[two["index"]]["box"][2]


def test_set_actor_and_references_from_the_video_equal_those_from_full_frames(projects, video,
                                                                               tmp_path):
    pfolder, _, _, _, truth = projects
    two = [gt for gt in truth if gt["shot"] == "two"]
    bi0 = next(f for f in two[0]["faces"] if f["person"] == "biden")
    results = []
    for folder in (_copy(pfolder, tmp_path / "video"),
                   _lossless(pfolder, tmp_path / "png", video[0])):
        with Store.open(folder, annotator="alice") as store:
            result = drive(set_actor(store, store.frame_id(CLIP, two[0]["index"]), _box(bi0)))
            assert result.exit_status == 0 and result.done == len(two)
            add_frame_reference(store, CLIP, 2)
            refs = idstore.actor_refs(store, idstore.actor_key(store.clip(CLIP)))
            results.append((snapshot(store), [(r.source, r.box, r.embedding) for r in refs]))
    assert_same(results[0][0], results[1][0])
    assert results[0][1] == results[1][1] and len(results[0][1]) == 2


def test_identities_from_the_video_equal_those_from_full_frames(projects, video, tmp_path):
    from feasstm_gui.core.faces.identities import clip_identities, identities_clip

    pfolder = projects[0]
    found = []
    for folder in (_copy(pfolder, tmp_path / "video"),
                   _lossless(pfolder, tmp_path / "png", video[0])):
        with Store.open(folder, annotator="alice") as store:
            result = drive(identities_clip(store, CLIP))
            assert result.exit_status == 0 and not result.problems
            found.append([(i.number, i.frames, i.actor_frames, i.is_actor, i.samples)
                          for i in clip_identities(store, CLIP)])
    assert found[0] == found[1] and len(found[0]) == 2  # obama and biden


# --- when the video is not the one the frames came from -------------------------------------


def test_a_missing_video_is_named_and_nothing_is_lost(projects, tmp_path):
    folder = _copy(projects[0], tmp_path / "moved")
    gone = tmp_path / "elsewhere" / "视频.mp4"
    with Store.open(folder, annotator="alice") as store:
        store.update_clip(CLIP, video=str(gone))
        before = snapshot(store)
        frame = store.frame_id(CLIP, 3)
        result = drive(realign_frames(store, [frame]))
        assert result.exit_status == 2 and result.done == 0  # nothing done
        [problem] = result.problems
        text = str(problem)
        assert str(gone) in text and "put the video back" in text and "preview" in text
        with pytest.raises(FeasstmError, match="put the video back"):
            drive(set_actor(store, frame))
        with pytest.raises(FeasstmError, match="put the video back"):
            add_frame_reference(store, CLIP, 3)
        assert_same(snapshot(store), before)
        # the previews themselves are still there for the window
        assert all((folder / r.image).is_file() for r in store.frames(CLIP))


def test_a_replaced_video_is_reported_not_aligned(projects, video, tmp_path):
    folder = _copy(projects[0], tmp_path / "replaced")
    frames = [f.image for f in iter_frames(video[0])]
    other = clipmaker.write_video(tmp_path / "other.mp4", frames[::-1])  # same size, other order
    small = clipmaker.write_video(tmp_path / "small.mp4", [cv2.resize(f, (320, 240))
                                                            for f in frames])
    with Store.open(folder, annotator="alice") as store:
        frame = store.frame_id(CLIP, 5)
        store.update_clip(CLIP, video=str(other))
        result = drive(realign_frames(store, [frame]))
        assert result.done == 0 and "does not look like the stored frame" in \
            str(result.problems[0])
        store.update_clip(CLIP, video=str(small))
        result = drive(realign_frames(store, [frame]))
        assert result.done == 0 and "320 x 240" in str(result.problems[0])


def test_the_preview_setting_off_stores_full_frames(video, tmp_path):
    with _project(tmp_path / "off", video[0], None) as store:
        job = extract_clip(store, CLIP)
        next(job)
        job.close()
        row = store.frames(CLIP)[0]
        assert not is_preview(row.image)
        assert cv2.imread(str(store.folder / row.image)).shape == (480, 640, 3)
