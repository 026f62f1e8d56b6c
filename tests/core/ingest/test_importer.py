"""Importing clips: a clip table CSV and video files, with bad rows reported by line."""

from __future__ import annotations

import shutil

import pytest

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.ingest.importer import import_clip_table, import_videos
from feasstm_gui.core.jobs import drive
from feasstm_gui.core.store import Store


@pytest.fixture
def store(cjk_dir):
    with Store.create(cjk_dir / "项目", annotator="alice") as s:
        yield s


@pytest.fixture
def videos(cjk_dir, data_dir):
    folder = cjk_dir / "视频 文件"
    folder.mkdir()
    good = folder / "大 电影.avi"
    shutil.copyfile(data_dir / "video" / "Megamind.avi", good)
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    text = folder / "notes.mp4"
    text.write_text("not a video")
    return {"good": good, "empty": empty, "text": text, "folder": folder}


def test_clip_table_import(store, videos):
    table = videos["folder"] / "clips.csv"
    table.write_text(
        "clip,video,work,actor,role,group,start_s,end_s\n"
        "演员 甲 片段,大 电影.avi,作品,演员甲,角色,A,0,5\n"
        "bad/id,大 电影.avi,w,a,r,A,,\n"
        "second,大 电影.avi,w,a,r,B,3,1\n"
        "zero,empty.mp4,w,a,r,B,,\n"
        "text,notes.mp4,w,a,r,C,,\n",
        encoding="gbk",
    )
    result = drive(import_clip_table(store, table))
    assert result.exit_status == 1
    lines = sorted(str(p) for p in result.problems)
    assert any(line.startswith(f"{table}:3:") and "bad/id" in line for line in lines)
    assert any(line.startswith(f"{table}:4:") for line in lines)
    assert any(line.startswith(f"{videos['empty']}:0:") for line in lines)
    assert any(line.startswith(f"{videos['text']}:0:") for line in lines)
    clip = store.clip("演员 甲 片段")
    assert (clip.work, clip.actor, clip.group, clip.start_s, clip.end_s) == (
        "作品", "演员甲", "A", 0.0, 5.0)
    assert clip.fps == pytest.approx(23.976, abs=0.01)
    assert [c.id for c in store.clips()] == ["演员 甲 片段"]


def test_video_files_become_clips_named_by_file(store, videos):
    result = drive(import_videos(store, [videos["good"], videos["empty"]], group="B"))
    assert result.exit_status == 1
    assert [c.id for c in store.clips()] == ["大 电影"]
    assert store.clip("大 电影").group == "B"
    again = drive(import_videos(store, [videos["good"]]))
    assert again.exit_status == 2 and "--replace" in str(again.problems[0])


def test_clip_table_without_columns_is_refused(store, videos):
    table = videos["folder"] / "bad.csv"
    table.write_text("name,file\nx,y\n", encoding="utf-8")
    with pytest.raises(FeasstmError) as err:
        drive(import_clip_table(store, table))
    assert str(table) in str(err.value)
