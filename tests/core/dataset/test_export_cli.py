"""`feasstm export` from the command line: exit status 0/1/2, --dry-run, --force, --with-videos."""

from __future__ import annotations

import shutil

import pytest
from export_helpers import DATA, ClipSpec, build_project, read_lines

from feasstm_gui.cli import main
from feasstm_gui.core.dataset.verify import verify
from feasstm_gui.core.formats.csvsafe import read_csv
from feasstm_gui.core.ingest.media import probe_video


@pytest.fixture
def project(cjk_dir):
    b = build_project(cjk_dir / "项目", [
        ClipSpec("片段 一", ["4", "4", "7", "7"], actor="甲"),
        ClipSpec("片段 二", ["1", "2", "2"], actor="乙"),
    ])
    b.store.close()
    return b.store.folder


def test_export_then_verify(project, cjk_dir, capsys):
    out = cjk_dir / "导出"
    assert main(["export", str(project), str(out), "-q", "--seed", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "exported to" in captured.out
    assert main(["verify", str(out), "-q"]) == 0


def test_existing_output_exit_2_then_force(project, cjk_dir, capsys):
    out = cjk_dir / "导出"
    assert main(["export", str(project), str(out), "-q"]) == 0
    capsys.readouterr()
    assert main(["export", str(project), str(out), "-q", "--seed", "5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"feasstm: {out}: already exists") and "--force" in err
    # two clips cannot balance four codes: said on stderr, exit status 1
    assert main(["export", str(project), str(out), "-q", "--force", "--stratify"]) == 1
    assert "--stratify: code 1 (Surprise) has" in capsys.readouterr().err
    assert verify(out) == []


def test_problems_give_exit_1(project, cjk_dir, capsys):
    (project / "crops" / "片段 二" / "000010.jpg").unlink()
    out = cjk_dir / "导出"
    assert main(["export", str(project), str(out), "-q"]) == 1
    assert "crop of clip '片段 二' frame 10 is missing; frame left out" in capsys.readouterr().err
    assert verify(out) == []


def test_dry_run_writes_nothing(project, cjk_dir, capsys):
    out = cjk_dir / "导出"
    assert main(["export", str(project), str(out), "--dry-run", "--test-fraction", "0.4"]) == 0
    text = capsys.readouterr().out
    assert "4 Happy" in text and "train" in text and "test fraction reached" in text
    assert not out.exists()


def test_bad_arguments_exit_2(project, cjk_dir, capsys):
    out = cjk_dir / "导出"
    assert main(["export", str(project), str(out), "--test-fraction", "2"]) == 2
    assert "--test-fraction must be between 0 and 1" in capsys.readouterr().err
    assert main(["export", str(project / "nope"), str(out)]) == 2
    assert not out.exists()


def test_emotion_fan_format(project, cjk_dir):
    out = cjk_dir / "导出 fan"
    assert main(["export", str(project), str(out), "-q", "--format", "emotion-fan",
                 "--min-run", "2"]) == 0
    lines = read_lines(out / "train.txt") + read_lines(out / "test.txt")
    assert sorted(lines) == ["Fear/片段_二_001 Fear", "Happy/片段_一_001 Happy",
                             "Neutral/片段_一_002 Neutral"]


def test_with_videos(cjk_dir, capsys):
    video = cjk_dir / "视频 源" / "超级 大脑.avi"
    video.parent.mkdir()
    shutil.copyfile(DATA / "video" / "Megamind.avi", video)
    b = build_project(cjk_dir / "项目", [
        ClipSpec("片段 一", ["4", "4"], actor="甲", video=str(video), start_s=1.0, end_s=3.0),
        ClipSpec("片段 二", ["1", "2"], actor="乙", video=str(video)),
        ClipSpec("片段 三", ["5"], actor="丙"),
    ])
    b.store.close()
    out = cjk_dir / "导出"
    assert main(["export", str(b.store.folder), str(out), "-q", "--with-videos"]) == 1
    assert "clip '片段 三' has no source video" in capsys.readouterr().err
    cut = probe_video(out / "videos" / "片段 一.avi")
    assert abs(cut.frame_count - 2.0 * 23.976) <= 2
    whole = out / "videos" / "片段 二.avi"
    assert whole.read_bytes() == video.read_bytes()  # no start or end: copied as it is
    clips = {r["clip"]: r for r in read_csv(out / "clips.csv")}
    assert clips["片段 一"]["video"] == "超级 大脑.avi"  # the file name, not the curator's path
    assert clips["片段 一"]["start_s"] == "1" and clips["片段 一"]["end_s"] == "3"
    assert verify(out) == []
