"""`feasstm raters / groups / import-ratings / totals / ratings-report` on a real project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import projects
import pytest

from feasstm_gui.cli import main
from feasstm_gui.core.store import Store
from feasstm_gui.core.store import ratings as rdb

A1, A2, B1 = "片段 甲", "片段 乙", "片段 丙"


def make_project(folder: Path, clips: dict[str, tuple[str, str]], n_frames: int = 8) -> Path:
    """The shared test project, closed; returns its folder."""
    projects.make_project(folder, clips, n_frames).close()
    return folder


@pytest.fixture
def project(cjk_dir) -> Path:
    return make_project(cjk_dir / "项目", {A1: ("演员 一", "A"), A2: ("演员 二", ""),
                                          B1: ("演员 一", "B")})


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def add_raters(capsys, project, names_groups):
    for name, group in names_groups:
        assert run(capsys, "raters", project, "add", name, "--group", group)[0] == 0


def test_raters_add_move_list_remove(capsys, project):
    code, out, _ = run(capsys, "raters", project, "add", "评分员 一", "--group", "A")
    assert code == 0 and out.strip() == "added rater 评分员 一 to group A (1 rater(s) in A)"
    assert "moved rater 评分员 一 from group A to group B" in run(
        capsys, "raters", project, "add", "评分员 一", "--group", "B")[1]
    add_raters(capsys, project, [("r2", "A")])
    code, out, _ = run(capsys, "raters", project, "list", "--json")
    assert json.loads(out)["raters"] == [
        {"rater": "r2", "group": "A", "completed": 0, "clips": 1},
        {"rater": "评分员 一", "group": "B", "completed": 0, "clips": 1}]
    assert run(capsys, "raters", project, "remove", "r2")[0] == 0
    code, _, err = run(capsys, "raters", project, "remove", "r2")
    assert code == 2 and err.strip() == "feasstm: no rater 'r2' in the project"
    code, _, err = run(capsys, "raters", project, "add", "x", "--group", " ")
    assert code == 2 and "group name is empty" in err


def test_groups_one_clip_a_csv_and_the_list(capsys, project, cjk_dir):
    code, out, _ = run(capsys, "groups", project, "--clip", A2, "--group", "C")
    assert code == 0 and out.strip() == f"{A2}: group C"
    table = cjk_dir / "分组.csv"
    table.write_text(f"clip,group\n{A1},B\nnope,A\n{A1},C\n", encoding="utf-8")
    code, out, err = run(capsys, "groups", project, "--csv", table)
    assert code == 1
    assert err.splitlines() == [f"{table}:3: no clip 'nope' in the project; line skipped",
                                f"{table}:4: clip '{A1}' is already at line 2; the first line "
                                "is kept"]
    add_raters(capsys, project, [("r1", "B")])
    code, out, _ = run(capsys, "groups", project)
    assert out.splitlines() == ["group B: 2 clip(s), 1 rater(s) (r1)", "group C: 1 clip(s), "
                                "0 rater(s)"]
    # the group change is the annotator's undoable step
    with Store.open(project) as store:
        assert store.undo().description == "rater r1 in group B"
        assert store.undo().description == f"clip {A1} in group B"
        assert store.clip(A1).group == "A"
    code, _, err = run(capsys, "groups", project, "--clip", A1)
    assert code == 2 and "--clip and --group go together" in err


def test_import_ratings_and_totals(capsys, project, cjk_dir):
    add_raters(capsys, project, [("r1", "A"), ("r2", "A"), ("r4", "B")])
    path = cjk_dir / "评分.csv"
    path.write_text("clip,rater,score,description,frames\n"
                    f"{A1},r1,4,眉头紧锁,0;3;6;9;12\n"
                    f"{A1},r2,5,\"笑容,自然\",3;6;9;12;15\n"
                    f"{B1},r4,9,太好,0;3;6;9;12\n"
                    f"{B1},ghost,3,一般,0;3;6;9;12\n", encoding="utf-8")
    code, out, err = run(capsys, "import-ratings", project, path)
    assert code == 1
    assert err.splitlines() == [
        f"{path}:4: clip '{B1}', rater 'r4': score '9' is not a score 1-5 (1 very bad, 2 bad, "
        "3 competent, 4 good, 5 excellent); line skipped",
        f"{path}:5: clip '{B1}', rater 'ghost': rater 'ghost' has no group; add the rater to the "
        "clip's group first (feasstm raters PROJECT add 'ghost' --group G); line skipped"]
    assert out.strip() == "2 rating(s) imported from 评分.csv"

    code, out, err = run(capsys, "totals", project, "--json")
    data = json.loads(out)
    clips = {c["clip"]: c for c in data["clips"]}
    assert (clips[A1]["complete"], clips[A1]["total"], clips[A1]["n_raters"]) == (True, 9, 2)
    assert (clips[B1]["complete"], clips[B1]["total"]) == (False, None)
    assert clips[A2]["group"] == "" and clips[A2]["total"] is None
    assert code == 1 and f"{project}:0: group 'B' has 1 rater(s) (r4)" in err
    code, out, _ = run(capsys, "totals", project)
    lines = out.splitlines()
    assert lines[0].split() == [*A1.split(), "演员", "一", "group", "A", "2/2", "rated", "total",
                                "9"]
    assert "incomplete" in lines[2] and "no group" in lines[1]
    assert "1 of 3 clip(s) complete" in lines
    assert "actor 演员 一: 1/2 clip(s) complete, mean total 9.00" in lines


def test_import_ratings_nothing_usable_exits_2(capsys, project, cjk_dir):
    path = cjk_dir / "bad.csv"
    path.write_text(f"clip,rater,score,description\n{A1},r1,0,x\n", encoding="utf-8")
    code, _, err = run(capsys, "import-ratings", project, path)
    assert code == 2 and "rater 'r1'" in err
    code, _, err = run(capsys, "import-ratings", project, cjk_dir / "missing.csv")
    assert code == 2 and err.startswith("feasstm: ") and "missing.csv" in err
    path.write_text("clip,score\n", encoding="utf-8")
    code, _, err = run(capsys, "import-ratings", project, path)
    assert code == 2 and "missing column(s) rater, description" in err


def test_ratings_report(capsys, project, cjk_dir):
    add_raters(capsys, project, [("r1", "A"), ("r2", "A")])
    run(capsys, "groups", project, "--clip", A2, "--group", "A")
    with Store.open(project) as store:
        for clip, scores in ((A1, (4, 5)), (A2, (2, 1))):
            for rater, score in zip(("r1", "r2"), scores):
                rdb.import_rating(store, clip, rater, score, "描述",
                                  [f.id for f in store.frames(clip)][:5], "test")
                rdb.mark_completed_imported(store, clip, rater, True, "test")
        f = [x.id for x in store.frames(A1)]
        store.set_labels(f[:4], 4, annotator="ann1")
        store.set_labels(f[:2], 4, annotator="ann2")
        store.set_labels(f[2:4], 6, annotator="ann2")
    out_dir = cjk_dir / "报告 一"
    code, out, err = run(capsys, "ratings-report", project, out_dir)
    assert code == 1  # group B has no rater
    assert out.strip() == f"report: {out_dir / 'report.html'}"
    page = (out_dir / "report.html").read_text(encoding="utf-8")
    assert "Acting scores" in page and "Expression labels" in page
    assert any(p.suffix == ".png" for p in out_dir.iterdir())


def test_ratings_report_with_nothing_says_why(capsys, project, cjk_dir):
    code, _, err = run(capsys, "ratings-report", project, cjk_dir / "r")
    assert code == 2 and "nothing to report" in err


def test_command_line_prints_chinese_and_exit_status(project):
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    proc = subprocess.run([sys.executable, "-m", "feasstm_gui.cli", "raters", str(project),
                           "add", "评分员", "--group", "甲组"], capture_output=True, text=True,
                          encoding="utf-8", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "added rater 评分员 to group 甲组 (1 rater(s) in 甲组)"
