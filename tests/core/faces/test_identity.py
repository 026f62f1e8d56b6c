"""The actor across cuts by face identity (issue 15), on clips made from real photographs.

Person A (obama.jpg), a cut to person B (biden.jpg), a cut to another photograph of A (obama2.jpg:
other light, framing, expression), A beside B: A must be found again after the cuts with no user
action, B's shot is irrelevant, and the two-person frames keep A. A reference photo picks the
actor when the clip starts with someone else. Identities of a clip, "identity K is the actor" as
one undoable edit, and a kill -9 during the identities job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import clipmaker
import cv2
import numpy as np
import pytest
from clipmaker import Shot

from feasstm_gui.cli import main as cli_main
from feasstm_gui.core.faces import identity
from feasstm_gui.core.faces.detector import DetectorSettings, FaceDetector
from feasstm_gui.core.faces.identities import (
    clip_identities,
    identities_clip,
    set_identity_actor,
)
from feasstm_gui.core.ingest.importer import import_videos
from feasstm_gui.core.ingest.pipeline import process_clip
from feasstm_gui.core.jobs import drive
from feasstm_gui.core.store import Store
from feasstm_gui.core.store import identity as idstore

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "faces"

#: A, cut to B, cut to another photo of A, A beside B.
SHOTS = [
    Shot("a1", "obama", 8, (150, -3.0, 300, 215), (165, 3.0, 330, 230)),
    Shot("b", "biden", 6, (160, 2.0, 330, 220), (155, -1.0, 310, 228)),
    Shot("a2", "obama2", 8, (165, 0.0, 320, 230), (150, 3.0, 350, 220)),
    Shot("two", "obama2", 6, (120, 0.0, 160, 210), (124, 2.0, 168, 214),
         right="biden", right_pose=(120, 0.0, 480, 215)),
]
#: Starts with someone else: B, then A (another photo than the reference).
SHOTS_B_FIRST = [
    Shot("b", "biden", 6, (160, 2.0, 330, 220), (155, -1.0, 310, 228)),
    Shot("a2", "obama2", 8, (165, 0.0, 320, 230), (150, 3.0, 350, 220)),
]


def _photo(stem: str) -> np.ndarray:
    p = next(DATA.glob(stem + ".*"))
    return cv2.imread(str(p))


def _descriptor(stem: str) -> np.ndarray:
    img = _photo(stem)
    face = FaceDetector(DetectorSettings(device="cpu")).detect(img)[0]
    return identity.embed(img, face)


def test_distances_between_photographs_separate_people():
    d = {s: _descriptor(s) for s in ("obama", "obama2", "biden", "biden2", "astronaut")}
    assert d["obama"].shape == (128,)
    same = [identity.distance(d["obama"], d["obama2"]), identity.distance(d["biden"], d["biden2"])]
    other = [identity.distance(d[a], d[b]) for a in ("obama", "obama2") for b in ("biden", "biden2")]
    other.append(identity.distance(d["astronaut"], d["obama"]))
    assert max(same) < 0.5 < 0.6 < min(other), (same, other)
    # the encoded form round-trips exactly
    assert identity.distance(identity.encode(d["obama"]), d["obama"]) == 0.0
    assert identity.cluster([d["obama"], d["biden"], d["obama2"], d["biden2"]], 0.55) == \
        [0, 1, 0, 1]


def test_torch_network_gives_dlibs_descriptors(monkeypatch):
    """The descriptor network runs on torch (dlib_resnet.py) from dlib's own model file: the
    same descriptors as dlib's implementation, so the measured distances still hold."""
    det = FaceDetector(DetectorSettings(device="cpu"))
    for stem in ("obama", "obama2", "biden2", "astronaut", "messi5"):
        img = _photo(stem)
        for face in det.detect(img)[:2]:
            monkeypatch.setattr(identity, "RUNTIME", "dlib")
            ours_off = identity.embed(img, face)
            monkeypatch.setattr(identity, "RUNTIME", "torch")
            ours = identity.embed(img, face)
            assert ours.shape == (128,) and ours.dtype == np.float32
            assert np.abs(ours - ours_off).max() < 1e-5, stem
            assert identity.distance(ours, ours_off) < 1e-5


def test_torch_network_refuses_a_file_that_is_not_dlibs_network(tmp_path):
    from feasstm_gui.core.faces import dlib_resnet

    model = identity.models_folder() / identity.DESCRIPTOR_MODEL
    data = model.read_bytes()
    for name, content in [("empty.dat", b""), ("half.dat", data[: len(data) // 2]),
                          ("shape.dat", (identity.models_folder()
                                         / identity.SHAPE_MODEL).read_bytes())]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError):
            dlib_resnet.read_weights(tmp_path / name)


def _project(folder: Path, shots, name: str, actor: str = "") -> tuple[Store, list[dict], str]:
    path, truth = clipmaker.make_clip(folder / "视频" / f"{name}.avi", shots)
    store = Store.create(folder / "项目", annotator="alice")
    assert drive(import_videos(store, [path], actor=actor)).exit_status == 0
    return store, truth, name


def _who(box, faces_truth) -> str | None:
    if box is None:
        return None
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    for f in faces_truth:
        if np.hypot(cx - f["center"][0], cy - f["center"][1]) < 0.4 * f["side"]:
            return f["person"]
    return "?"


def _kept(store: Store, clip: str, truth: list[dict]) -> dict[int, str | None]:
    """frame index -> whose face the frame keeps (None: irrelevant / no face)."""
    faces = {f.frame_id: f for f in store.current_faces(clip)}
    out = {}
    for row in store.frames(clip):
        face = faces.get(row.id)
        out[row.frame_index] = None if row.irrelevant or face is None else \
            _who(face.box, truth[row.frame_index]["faces"])
    return out


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("identity") / "身份 测试"
    store, truth, clip = _project(folder, SHOTS, "镜头 切换", actor="奥巴马")
    result = drive(process_clip(store, clip))
    assert result.exit_status == 0
    yield store, truth, clip
    store.close()


def test_actor_found_again_after_cuts_with_no_user_action(processed):
    store, truth, clip = processed
    kept = _kept(store, clip, truth)
    for i, t in enumerate(truth):
        if t["shot"] in ("a1", "a2", "two"):
            assert kept[i] == "obama", (i, t["shot"], kept[i])
        else:
            assert kept[i] is None, (i, t["shot"], kept[i])  # B's shot: irrelevant


def test_identities_of_a_clip_and_identity_k_is_the_actor_as_one_edit(processed):
    store, truth, clip = processed
    drive(identities_clip(store, clip))
    ids = clip_identities(store, clip)
    assert len(ids) == 2
    actor = [i for i in ids if i.is_actor]
    assert len(actor) == 1 and actor[0].frames == 22  # a1, a2 and two
    other = next(i for i in ids if not i.is_actor)
    assert other.frames == 12 and other.actor_frames == 0  # b and two
    before = _kept(store, clip, truth)
    changed = set_identity_actor(store, clip, other.number, True)
    assert changed > 0
    after = _kept(store, clip, truth)
    for i, t in enumerate(truth):
        want = "biden" if t["shot"] in ("b", "two") else None
        assert after[i] == want, (i, t["shot"], after[i])
    ids2 = {i.number: i for i in clip_identities(store, clip)}
    assert ids2[other.number].is_actor and not ids2[actor[0].number].is_actor
    # one undo takes the whole switch back
    store.undo()
    assert _kept(store, clip, truth) == before


def _copy(store: Store, folder: Path) -> Path:
    """A copy of a project the fixture holds open (the copy is not locked)."""
    import shutil

    store.wait_for_backup()
    shutil.copytree(store.folder, folder, ignore=shutil.ignore_patterns("backups", "*.lock"))
    return folder


def test_identities_cli_lists_json(processed, capsys, tmp_path):
    store, truth, clip = processed
    folder = _copy(store, tmp_path / "副本")
    assert cli_main(["identities", str(folder), "--clip", clip, "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["clip"] == clip
    assert sorted(i["frames"] for i in out["identities"]) == [12, 22]
    assert cli_main(["identities", str(folder), "--clip", clip, "--actor", "9"]) == 2
    assert "no identity 9" in capsys.readouterr().err


def test_reference_photo_picks_the_actor_when_the_clip_starts_with_someone_else(tmp_path,
                                                                              face_images):
    """The photo comes with the clip table (column actor_photo); a second clip of the same actor
    with a photo of someone else is reported naming the photo, and nothing is added for it."""
    from feasstm_gui.core.ingest.importer import import_clip_table

    folder = tmp_path / "参考 照片"
    path, truth = clipmaker.make_clip(folder / "视频" / "先 拜登.avi", SHOTS_B_FIRST)
    table = folder / "片段 表.csv"
    table.write_text("clip,video,work,actor,role,group,actor_photo\n"
                     f"先 拜登,视频/先 拜登.avi,作品,A 演员,角色,1,{face_images['obama']}\n",
                     encoding="utf-8")
    store = Store.create(folder / "项目", annotator="alice")
    try:
        assert drive(import_clip_table(store, table)).exit_status == 0
        assert [r.source for r in idstore.actor_refs(store, "A 演员")] == ["photo"]
        clip = "先 拜登"
        assert drive(process_clip(store, clip)).exit_status == 0
        kept = _kept(store, clip, truth)
        for i, t in enumerate(truth):
            assert kept[i] == ("obama" if t["shot"] == "a2" else None), (i, kept[i])
        # another clip of the same actor whose photo shows someone else
        bad = folder / "片段 表 二.csv"
        bad.write_text("clip,video,work,actor,role,group,actor_photo\n"
                       f"二,视频/先 拜登.avi,作品,A 演员,角色,1,{face_images['biden']}\n",
                       encoding="utf-8")
        result = drive(import_clip_table(store, bad))
        assert result.exit_status == 1 and store.has_clip("二")
        text = " ".join(str(p) for p in result.problems)
        assert str(face_images["biden"]) in text and "does not match" in text
        assert f"{bad}:2:" in text
        assert len(idstore.actor_refs(store, "A 演员")) == 1
    finally:
        store.close()


def test_actor_command_and_its_bad_photos(tmp_path, capsys, face_images):
    folder = tmp_path / "项目"
    Store.create(folder).close()
    two = tmp_path / "两 人.jpg"
    left, right = _photo("obama"), _photo("biden")
    h = 600
    pair = np.hstack([cv2.resize(left, (int(left.shape[1] * h / left.shape[0]), h)),
                      cv2.resize(right, (int(right.shape[1] * h / right.shape[0]), h))])
    cv2.imwrite(str(two), pair)
    broken = tmp_path / "坏 照片.jpg"
    broken.write_bytes(face_images["obama"].read_bytes()[:3000])
    cases = [(face_images["coffee"], "no face found"), (two, "2 faces"),
             (broken, "reference photo"), (tmp_path / "不存在.jpg", "reference photo")]
    for photo, message in cases:
        assert cli_main(["actor", str(folder), "--name", "甲", "--photo", str(photo)]) == 2
        err = capsys.readouterr().err
        assert str(photo) in err and message in err, err
        assert "Traceback" not in err
    # two photos of different people for one actor: refused together, nothing stored
    assert cli_main(["actor", str(folder), "--name", "甲", "--photo", str(face_images["obama"]),
                     "--photo", str(face_images["biden"])]) == 2
    err = capsys.readouterr().err
    assert str(face_images["biden"]) in err and "does not match" in err
    with Store.open(folder, read_only=True) as store:
        assert idstore.actor_refs(store, "甲") == []
    # the same person twice is fine; then a mismatching third photo changes nothing
    assert cli_main(["actor", str(folder), "--name", "甲", "--photo", str(face_images["obama"]),
                     "--photo", str(face_images["obama2"])]) == 0
    assert cli_main(["actor", str(folder), "--name", "甲", "--photo",
                     str(face_images["biden"])]) == 2
    assert "does not match" in capsys.readouterr().err
    with Store.open(folder, read_only=True) as store:
        assert [r.source for r in idstore.actor_refs(store, "甲")] == ["photo", "photo"]


_RUNNER = """
import sys
from feasstm_gui.core.faces.identities import identities_clip
from feasstm_gui.core.store import Store
store = Store.open(sys.argv[1], annotator="bob")
for p in identities_clip(store, sys.argv[2]):
    print(p.done, flush=True)
"""


def _identity_rows(store: Store, clip: str):
    return [(r.frame_index, r.k, r.box, r.track, r.embedding, r.identity)
            for r in idstore.clip_faces(store, clip)]


def test_kill_during_identity_work_resumes_to_the_uninterrupted_result(processed, tmp_path):
    store, truth, clip = processed
    want = _identity_rows(store, clip)
    assert want and all(r[5] is not None for r in want)
    # a copy of the project, its identity work forgotten, killed after the first batch
    folder = _copy(store, tmp_path / "副本")
    with Store.open(folder, annotator="bob") as copy:
        idstore.reset_identities(copy, clip)
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    proc = subprocess.Popen([sys.executable, "-c", _RUNNER, str(folder), clip],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8", env=env, cwd=ROOT)
    try:
        first = proc.stdout.readline()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert first.strip(), proc.stderr.read()
    assert proc.returncode == -signal.SIGKILL
    with Store.open(folder, annotator="bob") as copy:
        progress = idstore.identity_progress(copy, clip)
        assert progress is not None and progress[0] < len(truth) - 1
        drive(identities_clip(copy, clip))
        assert _identity_rows(copy, clip) == want


def test_labelled_frames_become_references_of_their_actor(processed):
    from feasstm_gui.core.faces.actors import add_label_references, references_for

    store, truth, clip = processed
    rows = [r for r in store.frames(clip) if not r.irrelevant]
    store.set_labels([r.id for r in rows[:6]], 4)
    before = len(idstore.actor_refs(store, "奥巴马"))
    refs = references_for(store, clip)
    labelled = [r for r in idstore.actor_refs(store, "奥巴马") if r.source == "label"]
    assert len(labelled) == 4 and len(refs) == before + 4
    assert {r.frame_id for r in labelled} <= {r.id for r in rows[:6]}
    # each is the actor's face: close to a photo of the actor
    photo = identity.encode(_descriptor("obama2"))
    assert all(identity.distance(r.embedding, photo) < 0.55 for r in labelled)
    assert add_label_references(store, "奥巴马") == 0  # once


def test_actor_command_takes_a_face_on_a_frame(processed, tmp_path, capsys):
    store, truth, clip = processed
    folder = _copy(store, tmp_path / "副本")
    two = next(t["index"] for t in truth if t["shot"] == "two")
    assert cli_main(["actor", str(folder), "--clip", clip, "--frame", str(two), "--face",
                     "5"]) == 2
    assert "has 2 face(s); --face 5 is not one of them" in capsys.readouterr().err
    with Store.open(folder, read_only=True) as s:
        before = len(idstore.actor_refs(s, "奥巴马"))
    assert cli_main(["actor", str(folder), "--clip", clip, "--frame", str(two)]) == 0
    assert "'奥巴马': face on frame" in capsys.readouterr().out
    with Store.open(folder, read_only=True) as s:
        refs = idstore.actor_refs(s, "奥巴马")
    assert len(refs) == before + 1 and refs[-1].source == "frame"
    # the frame's current face is the actor's (obama2 on the left): close to the actor's photo
    assert identity.distance(refs[-1].embedding, _descriptor("obama2")) < 0.55
    assert cli_main(["actor", str(folder), "--name", "奥巴马"]) == 0
    assert f"奥巴马: {before + 1} reference(s)" in capsys.readouterr().out


def test_import_videos_with_the_actors_photo(tmp_path, capsys, face_images):
    """`feasstm import VIDEO --actor NAME --actor-photo FILE` (the window's Import videos dialog
    calls the same job): a bad photo stops the import before anything is added, naming the
    file; a good one becomes the actor's reference."""
    folder = tmp_path / "项目 导入"
    Store.create(folder).close()
    video, _ = clipmaker.make_clip(tmp_path / "视频" / "片段 一.avi", SHOTS_B_FIRST[:1])
    cases = [(["--actor", "甲", "--actor-photo", str(face_images["coffee"])],
              [str(face_images["coffee"]), "no face found"]),
             (["--actor-photo", str(face_images["obama"])],
              [str(face_images["obama"]), "actor's name"]),
             (["--actor", "甲", "--actor-photo", str(tmp_path / "没有.jpg")],
              [str(tmp_path / "没有.jpg"), "reference photo"])]
    for extra, words in cases:
        assert cli_main(["import", str(folder), str(video), *extra]) == 2
        err = capsys.readouterr().err
        assert all(w in err for w in words) and "Traceback" not in err, err
        with Store.open(folder, read_only=True) as store:
            assert store.clips() == [] and idstore.actor_refs(store, "甲") == []
    table = tmp_path / "表.csv"
    table.write_text("clip,video\n一,x.avi\n", encoding="utf-8")
    assert cli_main(["import", str(folder), "--clips", str(table), "--actor-photo",
                     str(face_images["obama"])]) == 2
    assert "actor_photo" in capsys.readouterr().err
    assert cli_main(["import", str(folder), str(video), "--actor", "甲", "--actor-photo",
                     str(face_images["obama"]), "--actor-photo", str(face_images["obama2"])]) == 0
    assert "2 reference photo(s) of 甲" in capsys.readouterr().out
    with Store.open(folder, read_only=True) as store:
        assert [c.id for c in store.clips()] == ["片段 一"]
        assert sorted(r.photo for r in idstore.actor_refs(store, "甲")) == sorted(
            str(face_images[k].resolve()) for k in ("obama", "obama2"))
