"""Names at import (issue 13): GBK bytes, look-alike clip ids, a failed clip leaving nothing."""

from __future__ import annotations

import os
import shutil

import pytest

from feasstm_gui.core.ingest.importer import import_faf
from feasstm_gui.core.jobs import drive
from feasstm_gui.core.names import clip_id_problem, fs_text, one_line, quote_name
from feasstm_gui.core.problems import Problem
from feasstm_gui.core.store import Store


@pytest.fixture
def store(cjk_dir):
    s = Store.create(cjk_dir / "项目", annotator="tester")
    yield s
    s.close()


def _faf(root, clips: dict[str, list[str]], photo) -> None:
    for clip, images in clips.items():
        (root / clip).mkdir(parents=True)
        for name in images:
            shutil.copyfile(photo, root / clip / name)


def test_names_read_as_gbk_only_when_the_bytes_come_back():
    gbk = os.fsdecode("人工 片段".encode("gbk"))
    assert fs_text(gbk) == "人工 片段"
    assert fs_text(os.fsdecode(b"caf\xe9.jpg")) is None  # Latin-1: refused by name
    assert fs_text("已是 文本.jpg") == "已是 文本.jpg"
    assert "\n" not in str(Problem.at("a\nb.jpg", 0, "x\ny"))
    assert quote_name("a\nb") == "'a\\nb'" and one_line("a\nb") == "a\\nb"


def test_clip_ids_are_limited_in_bytes():
    assert clip_id_problem("长" * 66) is None  # 198 bytes
    assert "201 bytes" in clip_id_problem("长" * 67)
    assert clip_id_problem("a" * 100) is None


def test_case_twins_in_one_folder_and_against_the_project(store, cjk_dir, face_images):
    root = cjk_dir / "输入"
    _faf(root, {"d1": ["000001.jpg"], "D1": ["000001.jpg"]}, face_images["obama"])
    result = drive(import_faf(store, root))
    assert sorted(c.id for c in store.clips()) == ["D1"]  # natural order: D1 first, d1 skipped
    assert any("differs only in case from clip 'D1'" in p.reason for p in result.problems)
    again = cjk_dir / "再次"
    _faf(again, {"d1": ["000001.jpg"]}, face_images["obama"])
    result = drive(import_faf(store, again, replace=True))  # --replace does not cover twins
    assert sorted(c.id for c in store.clips()) == ["D1"]
    assert result.failed


def test_a_failed_clip_import_leaves_no_empty_folder(store, cjk_dir, face_images, monkeypatch):
    root = cjk_dir / "输入"
    _faf(root, {"片段": ["000001.jpg"]}, face_images["obama"])

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "add_frames", fail)
    with pytest.raises(OSError):
        drive(import_faf(store, root))
    assert not (store.folder / "crops" / "片段").exists()
