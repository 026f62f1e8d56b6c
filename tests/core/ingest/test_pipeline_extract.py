"""The extract job: frames into the project, resumable, damage reported and what was read kept."""

from __future__ import annotations

import shutil

import pytest

from feasstm_gui.core.ingest.importer import import_videos
from feasstm_gui.core.ingest.pipeline import extract_clip, for_clips
from feasstm_gui.core.jobs import drive
from feasstm_gui.core.store import Store


@pytest.fixture
def project(cjk_dir, data_dir):
    video = cjk_dir / "大 电影.avi"
    shutil.copyfile(data_dir / "video" / "Megamind.avi", video)
    cut = cjk_dir / "截断 视频.avi"
    data = video.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])
    store = Store.create(cjk_dir / "项目", annotator="alice")
    assert drive(import_videos(store, [video, cut])).exit_status == 0
    yield store, video, cut
    store.close()


def test_extract_all_frames_once_and_resume(project):
    store, video, _ = project
    result = drive(extract_clip(store, "大 电影"))
    assert result.done == 270 and not result.problems
    frames = store.frames("大 电影")
    assert [f.frame_index for f in frames] == list(range(270))
    assert frames[24].time_ms == pytest.approx(24 * 1000 / 23.976, abs=1)
    assert all((store.folder / f.image).is_file() for f in frames)
    assert store.clip("大 电影").extract_status == "done"
    again = drive(extract_clip(store, "大 电影"))
    assert again.done == 0 and len(store.frames("大 电影")) == 270


def test_stopping_midway_then_running_again_gives_every_frame_once(project):
    store, _, _ = project
    job = extract_clip(store, "大 电影")
    for _ in range(3):  # three committed batches, then the user cancels
        next(job)
    job.close()
    partial = len(store.frames("大 电影"))
    assert 0 < partial < 270
    drive(extract_clip(store, "大 电影"))
    assert [f.frame_index for f in store.frames("大 电影")] == list(range(270))


def test_damaged_video_keeps_frames_and_names_the_file(project):
    store, _, cut = project
    result = drive(for_clips(store, None, extract_clip, "extract"))
    assert result.exit_status == 1
    [problem] = result.problems
    assert str(problem).startswith(f"{cut}:0:") and "frame" in str(problem)
    clip = store.clip("截断 视频")
    assert clip.extract_status == "damaged" and str(cut) in clip.error
    kept = store.frames("截断 视频")
    assert 50 < len(kept) < 270
    assert [f.frame_index for f in kept] == list(range(len(kept)))
