"""Export to the FEASSTM-FAF layout: exactly DATASET.md's files, renumbered, byte-for-byte crops."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import pytest
from export_helpers import ClipSpec, build_project, read_lines

from feasstm_gui.core.dataset import export as export_mod
from feasstm_gui.core.dataset.export import ExportOptions, export_dataset, plan_export
from feasstm_gui.core.dataset.verify import verify
from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.formats.csvsafe import read_csv
from feasstm_gui.core.jobs import drive
from feasstm_gui.core.store import Store

A, B, C = "片段 甲", "=SUM(1)", "片段 丙"


@pytest.fixture
def built(cjk_dir):
    b = build_project(cjk_dir / "项目", [
        ClipSpec(A, ["4", "4", "x4", "i", "-", "7", "n2", "7", "x1", "3"], actor="演员 一",
                 others={"alice": {0: 4, 1: 5}}),
        ClipSpec(B, ["1", "1", "2", "i", "2"], actor="@actor", work="+work", role="-role"),
        ClipSpec(C, ["5", "5", "6", "6", "6", "7"], actor="演员 一"),
    ])
    yield b
    b.store.close()


def run_export(store, out, **options):
    force = options.pop("force", False)
    result = drive(export_dataset(store, out, ExportOptions(**options), force=force))
    assert out.is_dir(), result
    return result


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_layout_is_exactly_dataset_md(built, cjk_dir):
    out = cjk_dir / "导出 一"
    result = run_export(built.store, out)
    # frame 1 of A is labelled 4 by tester and 5 by alice: no final label, so left out
    assert files_under(out) == {
        "manifest.json", "clips.csv", "train.txt", "test.txt", "labels_by_annotator.csv",
        "provenance.csv",
        f"annotations/{A}.txt", f"annotations/{B}.txt", f"annotations/{C}.txt",
        *(f"faces/{A}/{n:06d}.jpg" for n in range(1, 5)),
        *(f"faces/{B}/{n:06d}.jpg" for n in range(1, 5)),
        *(f"faces/{C}/{n:06d}.jpg" for n in range(1, 7)),
    }
    assert read_lines(out / "annotations" / f"{A}.txt") == [
        "000001.jpg 4", "000002.jpg 7", "000003.jpg 7", "000004.jpg 3"]
    assert read_lines(out / "annotations" / f"{B}.txt") == [
        "000001.jpg 1", "000002.jpg 1", "000003.jpg 2", "000004.jpg 2"]
    # the kept frame without an aligned face is reported (exit status 1)
    assert [p.reason for p in result.problems] == [
        f"clip '{A}': 1 kept frame(s) have no aligned face (first: frame 60); left out "
        "(align them first)"]
    assert result.exit_status == 1


def test_images_are_the_project_crops_byte_for_byte_in_source_order(built, cjk_dir):
    out = cjk_dir / "导出"
    run_export(built.store, out)
    kept = [fid for _, fid, token in built.frames[C]]
    for n, fid in enumerate(kept, start=1):
        crop = built.store.folder / built.store.face(fid).crop
        assert (out / "faces" / C / f"{n:06d}.jpg").read_bytes() == crop.read_bytes()
    a = [fid for pos, fid, token in built.frames[A] if token in ("4", "7", "3") and pos != 1]
    for n, fid in enumerate(a, start=1):
        crop = built.store.folder / built.store.face(fid).crop
        assert os.path.samefile(out / "faces" / A / f"{n:06d}.jpg", crop)  # hard link


def test_copy_instead_of_link(built, cjk_dir):
    out = cjk_dir / "导出"
    run_export(built.store, out, link=False)
    image = out / "faces" / C / "000001.jpg"
    crop = built.store.folder / built.store.face(built.frames[C][0][1]).crop
    assert image.read_bytes() == crop.read_bytes() and not os.path.samefile(image, crop)


def test_link_falls_back_to_copy(built, cjk_dir, monkeypatch):
    calls = []

    def no_link(src, dst):
        calls.append(dst)
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(export_mod.os, "link", no_link)
    out = cjk_dir / "导出"
    run_export(built.store, out)
    assert len(calls) == 1  # tried once, then copies for the rest
    assert verify(out) == []
    assert all(os.stat(p).st_nlink == 1 for p in (out / "faces").rglob("*.jpg"))


def test_a_crop_with_too_many_links_is_copied_and_the_others_still_linked(built, cjk_dir,
                                                                         monkeypatch):
    real = export_mod.os.link
    calls = []

    def full_link_count(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # ext4 allows 65,000 links to one file
            raise OSError(errno.EMLINK, "Too many links", str(src))
        return real(src, dst)

    monkeypatch.setattr(export_mod.os, "link", full_link_count)
    out = cjk_dir / "导出"
    run_export(built.store, out)
    assert verify(out) == []
    links = sorted(os.stat(p).st_nlink for p in (out / "faces").rglob("*.jpg"))
    assert len(calls) == len(links) and links[0] == 1 and links[1] > 1


def test_text_files_are_utf8_without_bom_and_lf(built, cjk_dir):
    out = cjk_dir / "导出"
    run_export(built.store, out)
    for rel in ("train.txt", "test.txt", f"annotations/{A}.txt", "clips.csv", "provenance.csv"):
        raw = (out / rel).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw and raw.endswith(b"\n")
        raw.decode("utf-8")
    for line in read_lines(out / "train.txt") + read_lines(out / "test.txt"):
        where, code = line.rsplit(" ", 1)
        assert where.count("/") == 1 and code in "1234567" and "  " not in line


def test_split_lists_hold_every_labelled_image_once_by_whole_clips(built, cjk_dir):
    out = cjk_dir / "导出"
    run_export(built.store, out)
    train, test = read_lines(out / "train.txt"), read_lines(out / "test.txt")
    assert len(train) + len(test) == 14
    assert {line.split("/")[0] for line in train}.isdisjoint(line.split("/")[0] for line in test)
    assert test  # 20% of 14 images: one whole clip
    clips = {r["clip"]: r for r in read_csv(out / "clips.csv")}
    for line in test:
        assert clips[line.split("/")[0]]["split"] == "test"


def test_clips_csv_and_spreadsheet_safe_cells(built, cjk_dir):
    out = cjk_dir / "导出"
    run_export(built.store, out)
    raw = (out / "clips.csv").read_text(encoding="utf-8").splitlines()
    assert raw[0] == "clip,video,work,actor,role,group,start_s,end_s,split"
    b_row = next(line for line in raw if "SUM" in line)
    assert b_row.startswith("'=SUM(1),,'+work,'@actor,'-role,A,,,")
    rows = {r["clip"]: r for r in read_csv(out / "clips.csv")}  # read_csv takes the quote off
    assert rows[B]["actor"] == "@actor" and rows[B]["work"] == "+work"
    assert set(rows) == {A, B, C}
    # the TXT files are not CSV: names are written as they are
    assert any(line.startswith("=SUM(1)/") for line in
               read_lines(out / "train.txt") + read_lines(out / "test.txt"))


def test_provenance_and_labels_by_annotator(built, cjk_dir):
    store = built.store
    f_c = [fid for _, fid, _ in built.frames[C]]
    store.set_labels([f_c[0]], 5, annotator="bob")  # agrees with tester
    store.set_labels([f_c[1]], 6, annotator="bob")  # disagrees ...
    store.adjudicate([f_c[1]], 6)  # ... and is adjudicated (by tester)
    out = cjk_dir / "导出"
    run_export(store, out)
    prov = [r for r in read_csv(out / "provenance.csv") if r["clip"] == C]
    assert list(prov[0]) == ["clip", "image name", "source video", "source frame index",
                             "time (ms)", "detection probability", "sharpness score",
                             "annotator", "labelled at (UTC)", "proposed code",
                             "proposal probability", "accepted proposal"]
    assert [r["source frame index"] for r in prov] == ["0", "10", "20", "30", "40", "50"]
    assert prov[2]["time (ms)"] == "800" and prov[2]["detection probability"] == "0.99"
    assert prov[0]["annotator"] == "bob;tester" and prov[1]["annotator"] == "tester"
    assert prov[3]["annotator"] == "tester" and prov[3]["labelled at (UTC)"].endswith("Z")
    labels = read_csv(out / "labels_by_annotator.csv")
    assert list(labels[0]) == ["clip", "image name", "annotator", "code"]
    mine = [(r["image name"], r["annotator"], r["code"]) for r in labels if r["clip"] == C]
    assert mine[:4] == [("000001.jpg", "bob", "5"), ("000001.jpg", "tester", "5"),
                        ("000002.jpg", "bob", "6"), ("000002.jpg", "tester", "5")]
    assert read_lines(out / "annotations" / f"{C}.txt")[1] == "000002.jpg 6"


def test_include_unlabelled(built, cjk_dir):
    out = cjk_dir / "导出"
    run_export(built.store, out, include_unlabelled=True)
    # A: frames 0 (4), 1 (4 vs 5: no final label), 4 ("-"), 5, 7, 9
    assert read_lines(out / "annotations" / f"{A}.txt") == [
        "000001.jpg 4", "000002.jpg 0", "000003.jpg 0", "000004.jpg 7", "000005.jpg 7",
        "000006.jpg 3"]
    assert read_lines(out / "unlabelled.txt") == [f"{A}/000002.jpg 0", f"{A}/000003.jpg 0"]
    lists = read_lines(out / "train.txt") + read_lines(out / "test.txt")
    assert len(lists) == 14 and not any(line.endswith(" 0") for line in lists)
    labels = read_csv(out / "labels_by_annotator.csv")
    assert {(r["annotator"], r["code"]) for r in labels
            if r["clip"] == A and r["image name"] == "000002.jpg"} == {("tester", "4"),
                                                                     ("alice", "5")}
    assert verify(out) == []


def test_manifest(built, cjk_dir):
    built.store.set_params({"align.detector": "mtcnn", "align.template": "arcface-5"})
    out = cjk_dir / "导出"
    run_export(built.store, out, seed=3)
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["format"] == "feasstm-faf" and m["format_version"] == 1
    assert m["application_version"] and m["created"].endswith("Z")
    assert m["project"] == "测试 项目"
    assert m["alignment"]["detector"] == "mtcnn" and m["alignment"]["crop_size"] == 100
    assert m["alignment"]["landmark_template"] == "arcface-5"
    # no margin set: the default preset's own (Emotion-FAN's padding 0.25)
    assert m["alignment"]["parameters"]["preset"] == "emotion_fan"
    assert m["alignment"]["margin"] == 0.25
    assert m["split"]["by"] == "clip" and m["split"]["seed"] == 3
    assert m["split"]["test_fraction"] == 0.2
    assert m["counts"]["images"] == 14 and m["counts"]["by_code"]["7"] == 3
    assert m["counts"]["by_clip"][B]["images"] == 4
    assert sum(s["images"] for s in m["counts"]["by_split"].values()) == 14
    assert set(m["files"]) == files_under(out) - {"manifest.json"}
    for rel, entry in m["files"].items():
        data = (out / rel).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def test_same_seed_same_export(built, cjk_dir):
    run_export(built.store, cjk_dir / "一", seed=7)
    run_export(built.store, cjk_dir / "二", seed=7)
    for rel in ("train.txt", "test.txt", "clips.csv"):
        assert (cjk_dir / "一" / rel).read_bytes() == (cjk_dir / "二" / rel).read_bytes()


def test_the_project_is_untouched(built, cjk_dir):
    folder = built.store.folder
    built.store.close()

    def snapshot():
        return {p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns,
                                                   hashlib.sha256(p.read_bytes()).hexdigest())
                for p in folder.rglob("*") if p.is_file() and "backups" not in p.parts}

    store = Store.open(folder, read_only=True)
    before = snapshot()
    run_export(store, cjk_dir / "导出")
    store.close()
    after = snapshot()
    assert {k: v for k, v in after.items() if not k.startswith("project.sqlite-")} == \
        {k: v for k, v in before.items() if not k.startswith("project.sqlite-")}


def rename_behind_the_checks(store, old, new):
    """A clip id the store would refuse, written with SQL (an old or hand-edited project)."""
    conn = store._conn
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("UPDATE clips SET id=? WHERE id=?", (new, old))
    conn.execute("UPDATE frames SET clip=? WHERE clip=?", (new, old))
    conn.execute("PRAGMA foreign_keys=ON")


def test_bad_clip_id_in_the_store_is_refused(built, cjk_dir):
    rename_behind_the_checks(built.store, C, "../evil")
    with pytest.raises(FeasstmError, match=r"bad clip id '\.\./evil'.*rename it"):
        plan_export(built.store)
    assert not (cjk_dir / "evil").exists()


@pytest.mark.parametrize("bad", ["CON", "a/b", "x\\y", "C:", " lead", "dot.", "tab\there"])
def test_names_that_cannot_be_file_names(built, bad):
    rename_behind_the_checks(built.store, C, bad)
    with pytest.raises(FeasstmError, match="bad clip id"):
        plan_export(built.store)


def test_clip_ids_differing_only_in_case_are_refused(cjk_dir):
    b = build_project(cjk_dir / "项目", [ClipSpec("Clip", ["1"]), ClipSpec("clip", ["2"])])
    with pytest.raises(FeasstmError, match="differ only in case"):
        plan_export(b.store)
    b.store.close()


def test_nothing_to_export(cjk_dir):
    b = build_project(cjk_dir / "项目", [ClipSpec("c", ["-", "x1", "i"])])
    with pytest.raises(FeasstmError, match="nothing to export.*--include-unlabelled"):
        plan_export(b.store)
    assert len(plan_export(b.store, ExportOptions(include_unlabelled=True)).images) == 1
    b.store.close()


def test_missing_crop_file_is_reported_and_left_out(built, cjk_dir):
    fid = built.frames[C][2][1]
    crop = built.store.folder / built.store.face(fid).crop
    crop.unlink()
    out = cjk_dir / "导出"
    result = run_export(built.store, out)
    assert any(p.path == str(crop) and "is missing" in p.reason for p in result.problems)
    assert len(read_lines(out / "annotations" / f"{C}.txt")) == 5
    assert verify(out) == []


def test_asa_tables_when_the_project_holds_ratings(built, cjk_dir):
    from feasstm_gui.core.ratings import asa
    from feasstm_gui.core.store import ratings as rdb

    store = built.store
    rdb.set_rater(store, "r1", "A")
    fids = [fid for _, fid, _ in built.frames[C]]
    rdb.set_score(store, C, "r1", 4)
    rdb.set_description(store, C, "r1", "=表情变化")
    rdb.set_picks(store, C, "r1", fids[:5])
    asa.complete_rating(store, C, "r1")
    out = cjk_dir / "导出"
    run_export(store, out)
    assert {"asa/ratings.csv", "asa/selected_frames.csv", "asa/totals.csv"} <= files_under(out)
    totals = {r["clip"]: r for r in read_csv(out / "asa" / "totals.csv")}
    clips = {r["clip"]: r for r in read_csv(out / "clips.csv")}
    assert totals[C]["split"] == clips[C]["split"]
    picks = read_csv(out / "asa" / "selected_frames.csv")
    assert [r["image name"] for r in picks] == [f"{n:06d}.jpg" for n in range(1, 6)]
    assert verify(out) == []


def test_no_asa_folder_without_ratings(built, cjk_dir):
    run_export(built.store, cjk_dir / "导出")
    assert not (cjk_dir / "导出" / "asa").exists()


def test_round_trip_through_import_faf(built, cjk_dir):
    from feasstm_gui.core.ingest.importer import import_faf

    out = cjk_dir / "导出"
    run_export(built.store, out, include_unlabelled=True)
    expected = {}
    for clip in (A, B, C):
        expected[clip] = [int(line.split()[-1]) or None
                          for line in read_lines(out / "annotations" / f"{clip}.txt")]
    again = Store.create(cjk_dir / "再 导入")
    result = drive(import_faf(again, out))
    assert result.exit_status == 0, result.problems
    for clip in (A, B, C):
        frames = again.frames(clip)
        assert [f.code for f in frames] == expected[clip]
        assert [f.source_name for f in frames] == [f"{n:06d}.jpg"
                                                   for n in range(1, len(frames) + 1)]
    # and a second export of the imported project gives the same lists and images
    out2 = cjk_dir / "再 导出"
    run_export(again, out2, include_unlabelled=True)
    for rel in (*(f"annotations/{c}.txt" for c in (A, B, C)), "unlabelled.txt"):
        assert (out2 / rel).read_bytes() == (out / rel).read_bytes()
    m1 = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]
    m2 = json.loads((out2 / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert {k: v for k, v in m1.items() if k.startswith("faces/")} == \
        {k: v for k, v in m2.items() if k.startswith("faces/")}
    again.close()


def test_paged_reads_and_final_labels_as_the_view_defines_them(built, cjk_dir, monkeypatch):
    """The big reads go a page at a time and the final label is worked out in Python (issue 19,
    a million frames): the same frames, codes and files as one read and the final_labels view."""
    from feasstm_gui.core.store import export_queries as eq

    store = built.store
    store.adjudicate([built.frames[A][1][1]], 6)  # disputed (4 and 5), adjudicated 6
    store.adjudicate([built.frames[C][0][1]], 2)  # agreed 5, adjudicated 2
    with eq.read_snapshot(store):
        by_view = eq.export_frames(store)
        labels, decided = eq.labels_by_frame(store), eq.adjudications(store)
        assert eq.export_frames(store, labels, decided) == by_view
    assert [f.code for f in by_view if f.id == built.frames[A][1][1]] == [6]
    assert [f.code for f in by_view if f.id == built.frames[A][0][1]] == [4]
    run_export(store, cjk_dir / "一", include_unlabelled=True)
    monkeypatch.setattr(eq, "PAGE", 2)
    with eq.read_snapshot(store):
        assert eq.export_frames(store, eq.labels_by_frame(store), decided) == by_view
        assert eq.labels_by_frame(store) == labels
    run_export(store, cjk_dir / "二", include_unlabelled=True)
    one, two = files_under(cjk_dir / "一"), files_under(cjk_dir / "二")
    assert one == two
    for rel in one - {"manifest.json"}:
        assert (cjk_dir / "一" / rel).read_bytes() == (cjk_dir / "二" / rel).read_bytes(), rel
    m1 = json.loads((cjk_dir / "一" / "manifest.json").read_text(encoding="utf-8"))
    m2 = json.loads((cjk_dir / "二" / "manifest.json").read_text(encoding="utf-8"))
    assert m1["files"] == m2["files"] and m1["counts"] == m2["counts"]
    data = (cjk_dir / "二" / "manifest.json").read_bytes()  # written in pieces, same bytes
    assert data == (json.dumps(m2, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    assert list(m2["files"]) == sorted(m2["files"])
