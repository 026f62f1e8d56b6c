"""The Foundation's acceptance scenario: a hand-made FAF folder with every kind of problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest


def feasstm(*args, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "feasstm_gui.cli", *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", env=env, cwd=cwd)


def write_crop(src: Path, dst: Path) -> None:
    image = cv2.imread(str(src))
    ok, buf = cv2.imencode(".jpg", cv2.resize(image, (100, 100)), [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(buf.tobytes())


@pytest.fixture
def messy_faf(cjk_dir, face_images) -> dict:
    """Layout (b): one folder per clip, TXT beside it, GBK + CRLF with a Chinese header."""
    root = cjk_dir / "手工 FAF"
    clip = "演员 甲 片段"
    folder = root / clip
    photos = [face_images[n] for n in ("obama", "obama2", "biden", "astronaut", "camera",
                                       "messi5")]
    names = [f"{i:06d}.jpg" for i in range(1, 7)]
    for name, photo in zip(names, photos):
        write_crop(photo, folder / name)
    # 000003.jpg truncated (half its bytes): it must not be imported
    data = (folder / "000003.jpg").read_bytes()
    (folder / "000003.jpg").write_bytes(data[: len(data) // 2])
    lines = [
        "图片 标签",          # 1 header
        "000001.jpg 4",       # 2 good
        "000002\t\t7",        # 3 good, no extension, tabs
        "000003.jpg 2",       # 4 truncated image
        "000004.jpg 9",       # 5 unknown code
        "000005.jpg",         # 6 no code
        "000099.jpg 1",       # 7 missing image
    ]                         # 000006.jpg unlisted
    (root / f"{clip}.txt").write_bytes("\r\n".join(lines).encode("gbk") + b"\r\n")
    # a second clip, clean, UTF-8 with BOM, single folder holding its TXT
    clip2 = "第二 片段"
    for i, photo in enumerate(photos[:3], 1):
        write_crop(photo, root / clip2 / f"{i:06d}.jpg")
    (root / clip2 / "labels.txt").write_bytes(
        "\ufeff000001.jpg 1\n000002.jpg 3\n000003.jpg 3\n".encode())
    return {"root": root, "clip": clip, "clip2": clip2, "txt": root / f"{clip}.txt",
            "folder": folder}


def test_messy_faf_import_reports_every_problem_and_keeps_good_lines(cjk_dir, messy_faf):
    project = cjk_dir / "项目 A"
    assert feasstm("new", project).returncode == 0
    run = feasstm("import-faf", project, messy_faf["root"])
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    txt = str(messy_faf["txt"])
    err = run.stderr.splitlines()
    expected = {
        f"{txt}:1:",  # header line
        f"{messy_faf['folder'] / '000003.jpg'}:0:",  # truncated JPEG
        f"{txt}:5:",  # unknown code 9
        f"{txt}:6:",  # no code
        f"{txt}:7:",  # no image 000099
        f"{txt}:0:",  # 000006.jpg unlisted
    }
    for prefix in expected:
        assert any(line.startswith(prefix) for line in err), (prefix, err)
    assert any("000006.jpg" in line and line.startswith(f"{txt}:0:") for line in err)
    assert any("000099" in line for line in err)

    status = json.loads(feasstm("status", project, "--json").stdout)
    # clip 1: 5 images imported (000003 truncated), labelled: 000001 -> 4, 000002 -> 7
    # clip 2: 3 images, labels 1, 3, 3
    assert status["clips"] == 2
    assert status["frames"] == 8
    assert status["faces"] == 8
    assert status["labelled"] == 5
    assert status["labels"] == {"1": 1, "2": 0, "3": 2, "4": 1, "5": 0, "6": 0, "7": 1}
    assert status["deleted"] == 0
    assert status["deleted_by_reason"] == {"alignment_failure": 0, "incomplete": 0, "blur": 0,
                                           "other": 0}
    check = feasstm("check", project)
    assert check.returncode == 0, check.stderr


def test_existing_clip_needs_replace(cjk_dir, messy_faf):
    project = cjk_dir / "项目 B"
    feasstm("new", project)
    assert feasstm("import-faf", project, messy_faf["root"]).returncode == 1
    again = feasstm("import-faf", project, messy_faf["root"])
    assert again.returncode == 2
    assert "--replace" in again.stderr and messy_faf["clip"] in again.stderr
    replaced = feasstm("import-faf", project, messy_faf["root"], "--replace")
    assert replaced.returncode == 1
    status = json.loads(feasstm("status", project, "--json").stdout)
    assert status["frames"] == 8 and status["labelled"] == 5
    assert feasstm("check", project).returncode == 0
    # the replaced clip's old files are gone: one import folder per clip
    crops = project / "crops" / messy_faf["clip"]
    assert len([p for p in crops.iterdir() if p.is_dir()]) == 1


def test_bad_input_never_prints_a_traceback(cjk_dir, tmp_path):
    project = cjk_dir / "项目 C"
    feasstm("new", project)
    not_sqlite = tmp_path / "fake project"
    not_sqlite.mkdir()
    (not_sqlite / "project.sqlite").write_bytes(b"this is not a database at all" * 100)
    cases = [
        ("status", tmp_path / "no such folder"),
        ("status", not_sqlite),
        ("import-faf", project, tmp_path / "missing faf"),
        ("import", project, "--clips", tmp_path / "none.csv"),
        ("import", project, tmp_path / "no video.mp4"),
    ]
    for args in cases:
        run = feasstm(*args)
        assert run.returncode != 0, args
        assert "Traceback" not in run.stderr, run.stderr
        assert run.stderr.strip(), args
    # the message names the file
    run = feasstm("status", not_sqlite)
    assert str(not_sqlite) in run.stderr


def test_second_new_on_existing_project_is_refused(cjk_dir):
    project = cjk_dir / "项目 D"
    assert feasstm("new", project).returncode == 0
    run = feasstm("new", project)
    assert run.returncode == 2 and str(project) in run.stderr
