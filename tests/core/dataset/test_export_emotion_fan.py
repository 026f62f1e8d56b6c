"""--format emotion-fan: one folder per run of equal codes, AFEW-style lists, read back the way
Emotion-FAN's basic_code/data_generator.py reads them."""

from __future__ import annotations

import os

import pytest
from export_helpers import ClipSpec, build_project, read_lines

from feasstm_gui.core.dataset.export import ExportOptions, export_dataset, plan_export
from feasstm_gui.core.dataset.verify import verify
from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.formats.csvsafe import read_csv
from feasstm_gui.core.formats.emotion_fan import Run, find_runs
from feasstm_gui.core.jobs import drive

# Emotion-FAN's basic_code/load.py: cate2label['AFEW'] (class name -> training label)
AFEW_LABEL = {"Angry": 1, "Disgust": 2, "Fear": 3, "Happy": 0, "Neutral": 5, "Sad": 4,
              "Surprise": 6}


def load_imgs_total_frame(video_root, video_list, rectify_label):
    """Written the way Emotion-FAN's data_generator.load_imgs_total_frame reads a list: split
    each line on whitespace, join the first field to the root, frames in sorted listdir order."""
    imgs_first = []
    index = []
    with open(video_list) as imf:
        for id_, line in enumerate(imf):
            video_label = line.strip().split()
            video_name = video_label[0]
            label = rectify_label[video_label[1]]
            video_path = os.path.join(video_root, video_name)
            img_lists = os.listdir(video_path)
            img_lists.sort()
            for frame in img_lists:
                imgs_first.append((os.path.join(video_path, frame), label))
            index.extend([id_] * len(img_lists))
    return imgs_first, index


A, B = "片段 一", "clip-2"


@pytest.fixture
def built(cjk_dir):
    b = build_project(cjk_dir / "项目", [
        # runs: 4 4 | (x4 dropped, i dropped) 4 | - breaks | 7 7 | n2 breaks | 7 | 3
        ClipSpec(A, ["4", "4", "x4", "i", "4", "-", "7", "7", "n2", "7", "3"], actor="甲"),
        ClipSpec(B, ["6", "6", "6", "1", "1", "6"], actor="乙"),
    ])
    yield b
    b.store.close()


def test_find_runs():
    assert find_runs([4, 4, 4, None, 7, 7, 3]) == [Run(0, 3, 4), Run(4, 6, 7), Run(6, 7, 3)]
    assert find_runs([4, 4, 4, None, 7, 7, 3], min_run=2) == [Run(0, 3, 4), Run(4, 6, 7)]
    assert find_runs([]) == [] and find_runs([None, 0]) == []


def test_runs_folders_and_lists(built, cjk_dir):
    out = cjk_dir / "导出 fan"
    result = drive(export_dataset(built.store, out, ExportOptions(format="emotion-fan",
                                                                   test_fraction=0.5)))
    assert result.exit_status == 1  # the frame with no aligned face is reported
    runs = read_csv(out / "runs.csv")
    assert [(r["folder"], r["frames"], r["first source frame index"],
             r["last source frame index"]) for r in runs] == [
        ("Happy/片段_一_001", "3", "0", "40"),
        ("Neutral/片段_一_002", "2", "60", "70"),
        ("Neutral/片段_一_003", "1", "90", "90"),
        ("Disgust/片段_一_004", "1", "100", "100"),
        ("Angry/clip-2_001", "3", "0", "20"),
        ("Surprise/clip-2_002", "2", "30", "40"),
        ("Angry/clip-2_003", "1", "50", "50"),
    ]
    assert sorted(os.listdir(out / "Happy" / "片段_一_001")) == [
        "0000001.jpg", "0000002.jpg", "0000003.jpg"]
    lines = read_lines(out / "train.txt") + read_lines(out / "test.txt")
    assert sorted(lines) == sorted(f"{r['folder']} {r['class']}" for r in runs)
    assert {r["split"] for r in runs if r["clip"] == A} != {r["split"] for r in runs
                                                           if r["clip"] == B}
    assert verify(out) == []


def test_emotion_fan_loader_reads_the_export(built, cjk_dir):
    out = cjk_dir / "导出 fan"
    drive(export_dataset(built.store, out, ExportOptions(format="emotion-fan", seed=1)))
    frames = {fid: (clip, pos) for clip, rows in built.frames.items() for pos, fid, _ in rows}
    store = built.store
    seen = []
    for name in ("train.txt", "test.txt"):
        imgs, index = load_imgs_total_frame(str(out), str(out / name), AFEW_LABEL)
        assert len(imgs) == len(index)
        seen.extend(imgs)
    assert len(seen) == 13
    # every frame is the project's crop, in source order within its folder, with its label
    prov = {r["image name"]: r for r in read_csv(out / "provenance.csv")}
    last: dict[str, int] = {}
    for path, label in seen:
        rel = os.path.relpath(path, out).replace(os.sep, "/")
        row = prov[rel]
        folder = rel.rsplit("/", 1)[0]
        index = int(row["source frame index"])
        assert index > last.get(folder, -1)
        last[folder] = index
        fid = store.frame_id(row["clip"], index)
        assert open(path, "rb").read() == (store.folder / store.face(fid).crop).read_bytes()
        code = store.frame(fid).code
        assert label == AFEW_LABEL[{1: "Surprise", 2: "Fear", 3: "Disgust", 4: "Happy",
                                    5: "Sad", 6: "Angry", 7: "Neutral"}[code]]
        assert frames[fid][0] == row["clip"]


def test_min_run(built, cjk_dir):
    out = cjk_dir / "导出 fan"
    drive(export_dataset(built.store, out, ExportOptions(format="emotion-fan", min_run=2)))
    assert [r["folder"] for r in read_csv(out / "runs.csv")] == [
        "Happy/片段_一_001", "Neutral/片段_一_002", "Angry/clip-2_001", "Surprise/clip-2_002"]
    assert verify(out) == []
    with pytest.raises(FeasstmError, match="--min-run"):
        plan_export(built.store, ExportOptions(format="emotion-fan", min_run=0))


def test_clip_ids_that_meet_after_replacing_spaces_are_refused(cjk_dir):
    b = build_project(cjk_dir / "项目", [ClipSpec("a b", ["1"]), ClipSpec("a_b", ["2"])])
    with pytest.raises(FeasstmError, match="'a b' and 'a_b' both give the Emotion-FAN folder name 'a_b_001'"):
        plan_export(b.store, ExportOptions(format="emotion-fan"))
    plan_export(b.store)  # the FAF layout keeps the spaces: no clash
    b.store.close()


def test_same_split_as_the_faf_export(built):
    faf = plan_export(built.store, ExportOptions(seed=4))
    fan = plan_export(built.store, ExportOptions(seed=4, format="emotion-fan"))
    assert faf.split == fan.split
