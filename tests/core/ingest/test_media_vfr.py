"""Variable frame rate (issue 13): frame times come from the container's time stamps, checked
against FFmpeg's own reading of the same file (imageio-ffmpeg's binary, a test dependency)."""

from __future__ import annotations

import pytest

from feasstm_gui.core.ingest.media import iter_frames, packet_times, probe_video

pytest.importorskip("imageio_ffmpeg")

from vfrclip import make_vfr_clip  # noqa: E402


@pytest.fixture
def vfr_clip(cjk_dir):
    path = cjk_dir / "变速 片段.mp4"
    return path, make_vfr_clip(path)


def test_variable_rate_times_are_the_time_stamps(vfr_clip):
    path, truth = vfr_clip
    assert len(truth) == 20 and truth[11] < 1500  # frame 11 is shown before 1.5 s
    info = probe_video(path)
    assert round(11 * 1000 / info.fps) > 2000  # where the average rate would put it
    reader = iter_frames(path)
    frames = list(reader)
    assert reader.damage is None  # uneven time stamps are not missing frames
    assert [f.index for f in frames] == list(range(20))
    assert [f.time_ms for f in frames] == [round(t) for t in truth]


def test_target_rate_on_a_variable_rate_clip_picks_by_time(vfr_clip):
    path, truth = vfr_clip
    picked = [f.time_ms for f in iter_frames(path, fps=2)]
    # the first frame of each 0.5 s interval, by the frames' real times
    expected, last = [], None
    for t in truth:
        bucket = int(t // 500)
        if bucket != last:
            expected.append(round(t))
            last = bucket
    assert picked == expected


def test_constant_rate_keeps_index_over_fps(data_dir):
    assert packet_times(data_dir / "video" / "Megamind.avi",
                        probe_video(data_dir / "video" / "Megamind.avi")) is None
