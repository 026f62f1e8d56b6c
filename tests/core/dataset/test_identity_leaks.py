"""Identity leakage (issue 15): the same person in train and test under two actor names. The
export warns, `verify` reports it naming the actors and clips, `--split-by identity` keeps the
two clips in one split. The actors are described by reference photos (obama.jpg and obama2.jpg
show the same person; biden.jpg another)."""

from __future__ import annotations

from export_helpers import DATA, ClipSpec, build_project

from feasstm_gui.cli import main
from feasstm_gui.core.dataset.verify import verify
from feasstm_gui.core.faces.actors import add_photo_references
from feasstm_gui.core.formats.csvsafe import read_csv
from feasstm_gui.core.store import Store

FACES = DATA / "faces"


def _project(folder):
    b = build_project(folder, [
        ClipSpec("片段 甲", ["4", "4", "7", "7"], actor="甲"),
        ClipSpec("片段 乙", ["1", "2", "2", "4"], actor="乙"),
        ClipSpec("片段 丙", ["3", "5", "6", "1"], actor="丙"),
    ])
    store = b.store
    add_photo_references(store, "甲", [FACES / "obama.jpg"])
    add_photo_references(store, "乙", [FACES / "obama2.jpg"])
    add_photo_references(store, "丙", [FACES / "biden.jpg"])
    store.close()
    return store.folder


def test_export_warns_and_verify_reports_identity_leakage(cjk_dir, capsys):
    project = _project(cjk_dir / "项目")
    split = cjk_dir / "划分.csv"
    split.write_text("clip,split\n片段 甲,train\n片段 乙,test\n片段 丙,test\n", encoding="utf-8")
    out = cjk_dir / "导出"
    assert main(["export", str(project), str(out), "-q", "--split-file", str(split)]) == 1
    err = capsys.readouterr().err
    assert "identity leakage" in err and "'片段 甲'" in err and "'片段 乙'" in err
    assert "actor '甲'" in err and "actor '乙'" in err and "丙" not in err
    problems = [str(p) for p in verify(out)]
    assert len(problems) == 1 and "identity leakage" in problems[0], problems
    assert "'甲'" in problems[0] and "'乙'" in problems[0]
    assert main(["verify", str(out), "-q"]) == 1

    # the same person in one split: no warning
    out2 = cjk_dir / "导出 二"
    assert main(["export", str(project), str(out2), "-q", "--split-by", "identity",
                 "--test-fraction", "0.34", "--seed", "3"]) == 0, capsys.readouterr().err
    rows = {r["clip"]: r["split"] for r in read_csv(out2 / "clips.csv")}
    assert rows["片段 甲"] == rows["片段 乙"] != rows["片段 丙"], rows
    assert verify(out2) == []


def test_no_references_no_identity_section(cjk_dir):
    b = build_project(cjk_dir / "项目", [ClipSpec("一", ["4", "4"], actor="甲"),
                                        ClipSpec("二", ["1", "2"], actor="乙")])
    b.store.close()
    out = cjk_dir / "导出"
    assert main(["export", str(b.store.folder), str(out), "-q", "--split-by", "identity"]) == 0
    import json

    assert "identity" not in json.loads((out / "manifest.json").read_text("utf-8"))
    with Store.open(b.store.folder, read_only=True):
        pass
