"""Video probing, decoding and frame extraction on real files in folders with Chinese names."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.ingest import media
from feasstm_gui.core.ingest.media import (
    Prefetch,
    VideoDamaged,
    cut_video,
    extract_frames,
    iter_frames,
    probe_video,
)

MEGAMIND_FRAMES = 270
MEGAMIND_FPS = 23.976


@pytest.fixture
def megamind(cjk_dir, data_dir) -> Path:
    dst = cjk_dir / "超级 大坏蛋.avi"
    shutil.copyfile(data_dir / "video" / "Megamind.avi", dst)
    return dst


@pytest.fixture
def truncated(megamind) -> Path:
    """The same video cut off at 60 % of its bytes, as an interrupted download leaves it."""
    data = megamind.read_bytes()
    dst = megamind.with_name("截断 的 视频.avi")
    dst.write_bytes(data[: int(len(data) * 0.6)])
    return dst


def read_jpeg(path: Path) -> np.ndarray:
    data = path.read_bytes()
    assert data.endswith(b"\xff\xd9"), f"{path} has no end-of-image marker"
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, path
    return image


def frame_time_ms(index: int, fps: float = MEGAMIND_FPS) -> int:
    return round(index * 1000 / fps)


# --- probing and opening ------------------------------------------------------------------------


def test_probe_real_video(megamind):
    info = probe_video(megamind)
    assert (info.width, info.height) == (720, 528)
    assert info.fps == pytest.approx(MEGAMIND_FPS, abs=1e-3)
    assert info.frame_count == MEGAMIND_FRAMES
    assert info.duration_s == pytest.approx(MEGAMIND_FRAMES / MEGAMIND_FPS)
    assert info.codec == "FMP4"
    assert info.path == megamind


def test_zero_byte_file_is_refused_naming_it(cjk_dir):
    empty = cjk_dir / "空 文件.mp4"
    empty.write_bytes(b"")
    for call in (probe_video, iter_frames, lambda p: extract_frames(p, cjk_dir / "out")):
        with pytest.raises(FeasstmError, match="empty") as err:
            call(empty)
        assert err.value.path == str(empty)
        assert str(empty) in str(err.value)
    assert not (cjk_dir / "out").exists()


def test_text_file_named_mp4_is_refused_naming_it(cjk_dir):
    fake = cjk_dir / "不是 视频.mp4"
    fake.write_text("这不是视频 / not a video\n" * 20, encoding="utf-8")
    with pytest.raises(FeasstmError, match="cannot open this file as a video") as err:
        probe_video(fake)
    assert str(err.value).startswith(f"{fake}: ")


def test_missing_file_and_folder_are_refused(cjk_dir):
    with pytest.raises(FeasstmError, match="not found"):
        probe_video(cjk_dir / "没有 这个.avi")
    with pytest.raises(FeasstmError, match="folder"):
        probe_video(cjk_dir)


# --- decoding -----------------------------------------------------------------------------------


def test_all_frames_with_indices_and_times(megamind):
    reader = iter_frames(megamind)
    frames = [(f.index, f.time_ms, f.image.shape) for f in reader]
    assert frames == [(i, frame_time_ms(i), (528, 720, 3)) for i in range(MEGAMIND_FRAMES)]
    assert reader.damage is None and reader.finished
    assert reader.decoded == MEGAMIND_FRAMES


def test_target_rate_subsamples_deterministically(megamind):
    picked = [f.index for f in iter_frames(megamind, fps=5)]
    assert picked == [f.index for f in iter_frames(megamind, fps=5)]
    # The first frame of every 1/5 s interval: 270 frames of 1/23.976 s span 57 intervals.
    assert len(picked) == 57
    assert picked[:6] == [0, 5, 10, 15, 20, 24]
    times = [frame_time_ms(i) for i in picked]
    assert all(t // 200 == k for k, t in enumerate(times))
    # A rate at or above the source rate keeps every frame.
    assert len(list(iter_frames(megamind, fps=30))) == MEGAMIND_FRAMES


def test_start_and_end_select_a_time_range(megamind):
    frames = list(iter_frames(megamind, start_s=2.0, end_s=4.0))
    indices = [f.index for f in frames]
    expected = [i for i in range(MEGAMIND_FRAMES) if 2.0 <= i / MEGAMIND_FPS < 4.0]
    assert indices == expected == list(range(48, 96))
    # Same source indices as a full decode: the range does not renumber frames.
    full = {f.index: f.image for f in iter_frames(megamind, end_s=4.0)}
    assert np.array_equal(full[48], frames[0].image)
    sub = [f.index for f in iter_frames(megamind, fps=2, start_s=2.0, end_s=4.0)]
    assert sub == [48, 60, 72, 84]


def test_start_after_the_end_is_an_error(megamind):
    with pytest.raises(FeasstmError, match="after the end of the video"):
        list(iter_frames(megamind, start_s=20.0))
    with pytest.raises(FeasstmError, match="after start_s"):
        iter_frames(megamind, start_s=3.0, end_s=2.0)


def test_truncated_video_keeps_frames_before_the_damage(truncated, megamind):
    reader = iter_frames(truncated)
    indices = [f.index for f in reader]
    damage = reader.damage
    assert isinstance(damage, VideoDamaged)
    assert 0 < damage.index < MEGAMIND_FRAMES
    assert indices == list(range(damage.index))
    assert damage.path == str(truncated)
    message = str(damage)
    assert str(truncated) in message
    assert f"frame {damage.index} ({frame_time_ms(damage.index) / 1000:.3f} s)" in message
    assert str(damage.problem()).startswith(f"{truncated}:0: decoding stopped at frame ")
    # The kept frames are exactly those of the whole file; the last decoded one, often only
    # partly there, is not kept.
    whole = iter_frames(megamind, end_s=(damage.index + 1) / MEGAMIND_FPS)
    originals = [f.image for f in whole]
    kept = [f.image for f in iter_frames(truncated)]
    assert all(np.array_equal(a, b) for a, b in zip(kept, originals))


def test_corrupt_bytes_in_the_middle_stop_decoding(megamind):
    data = bytearray(megamind.read_bytes())
    data[500_000:520_000] = b"\x55" * 20_000
    corrupt = megamind.with_name("损坏 视频.avi")
    corrupt.write_bytes(bytes(data))
    reader = iter_frames(corrupt)
    indices = [f.index for f in reader]
    assert reader.damage is not None
    assert indices == list(range(reader.damage.index))
    assert str(corrupt) in str(reader.damage)


# --- synthetic clips: which codecs this OpenCV build writes and reads back ------------------------


def write_numbered_clip(path: Path, fourcc: str, n: int = 30, fps: float = 25.0) -> None:
    """640x480 frames whose grey level encodes the frame number (7 levels apart, 24-227: clear
    of the limited-range clipping that YUV codecs apply near black and white)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (640, 480))
    assert writer.isOpened(), f"this OpenCV cannot write {fourcc} to {path.suffix}"
    for i in range(n):
        frame = np.full((480, 640, 3), 24 + 7 * i, np.uint8)
        cv2.putText(frame, str(i), (40, 200), cv2.FONT_HERSHEY_SIMPLEX, 4, (255, 255, 255), 6)
        writer.write(frame)
    writer.release()


@pytest.mark.parametrize(
    ("fourcc", "suffix"), [("mp4v", ".mp4"), ("MJPG", ".avi"), ("XVID", ".avi")]
)
def test_synthetic_clip_round_trip(cjk_dir, fourcc, suffix):
    clip = cjk_dir / f"合成 片段 {fourcc}{suffix}"
    write_numbered_clip(clip, fourcc)
    info = probe_video(clip)
    assert (info.width, info.height, info.fps, info.frame_count) == (640, 480, 25.0, 30)
    frames = list(iter_frames(clip))
    assert [f.index for f in frames] == list(range(30))
    assert [f.time_ms for f in frames] == [40 * i for i in range(30)]
    for f in frames:
        grey = float(np.median(cv2.cvtColor(f.image[400:470, 500:630], cv2.COLOR_BGR2GRAY)))
        assert round((grey - 24) / 7) == f.index, (f.index, grey)


# --- extraction ---------------------------------------------------------------------------------


def test_extract_all_frames_to_jpeg(megamind, cjk_dir):
    out = cjk_dir / "帧 输出"
    extraction = extract_frames(megamind, out)
    frames = list(extraction)
    assert [f.index for f in frames] == list(range(MEGAMIND_FRAMES))
    assert [f.time_ms for f in frames] == [frame_time_ms(i) for i in range(MEGAMIND_FRAMES)]
    assert all((f.width, f.height) == (720, 528) for f in frames)
    assert [f.path for f in frames] == [out / f"{i:06d}.jpg" for i in range(MEGAMIND_FRAMES)]
    assert sorted(p.name for p in out.iterdir()) == [f"{i:06d}.jpg" for i in range(270)]
    result = extraction.result
    assert result is not None and not result.stopped_early
    assert (result.decoded, result.written, result.skipped) == (270, 270, 0)
    # Each file holds the frame with its index, at high quality.
    decoded = {f.index: f.image for f in iter_frames(megamind, fps=1)}
    for index, image in decoded.items():
        stored = read_jpeg(out / f"{index:06d}.jpg").astype(int)
        assert np.abs(stored - image).mean() < 2.0
        if index + 24 < MEGAMIND_FRAMES:
            assert np.abs(read_jpeg(out / f"{index + 24:06d}.jpg").astype(int) - image).mean() > 2


def test_extract_is_the_same_with_or_without_threads(megamind, cjk_dir):
    a = [(f.index, f.path.name) for f in extract_frames(megamind, cjk_dir / "a", fps=4, workers=0)]
    b = [(f.index, f.path.name) for f in extract_frames(megamind, cjk_dir / "b", fps=4, workers=3)]
    assert a == b
    for _, name in a:
        assert (cjk_dir / "a" / name).read_bytes() == (cjk_dir / "b" / name).read_bytes()


def test_each_frame_comes_with_its_analysis_with_or_without_threads(megamind, cjk_dir):
    """`analyse` (the tracker's colour signature in the one-pass job) runs beside each frame's
    JPEG and comes with the frame: the same as computing it on the decoded frame afterwards."""
    from feasstm_gui.core.faces.tracker import signature

    for workers in (0, 1):
        frames = list(extract_frames(megamind, cjk_dir / f"analyse {workers}", fps=4,
                                     workers=workers, decode_ahead=2, analyse=signature))
        assert len(frames) > 3
        for f in frames:
            assert f.analysis == signature(f.image)
            assert f.path.is_file()
    plain = next(iter(extract_frames(megamind, cjk_dir / "no analysis", fps=4)))
    assert plain.analysis is None


def test_decoding_ahead_gives_the_same_frames_and_damage(truncated, megamind, cjk_dir):
    direct = iter_frames(truncated, fps=6)
    expected = [(f.index, f.time_ms, f.image) for f in direct]
    ahead = Prefetch(iter_frames(truncated, fps=6), ahead=3)
    got = [(f.index, f.time_ms, f.image) for f in ahead]
    assert [g[:2] for g in got] == [e[:2] for e in expected]
    assert all(np.array_equal(g[2], e[2]) for g, e in zip(got, expected))
    assert ahead.reader.damage is not None
    assert (ahead.reader.damage.index, str(ahead.reader.damage)) == (
        direct.damage.index, str(direct.damage))
    # an extraction decoding ahead writes the same files and reports the same damage
    a = extract_frames(truncated, cjk_dir / "先 解码", decode_ahead=4, workers=1)
    b = extract_frames(truncated, cjk_dir / "不 先", workers=1)
    assert [f.index for f in a] == [f.index for f in b]
    assert str(a.result.damage) == str(b.result.damage)
    assert a.result.written == b.result.written > 0
    for f in (cjk_dir / "不 先").iterdir():
        assert (cjk_dir / "先 解码" / f.name).read_bytes() == f.read_bytes()


def test_stopping_early_while_decoding_ahead_ends_the_thread(megamind, cjk_dir):
    ahead = Prefetch(iter_frames(megamind), ahead=2)
    first = [next(ahead).index for _ in range(5)]
    ahead.close()
    assert first == [0, 1, 2, 3, 4]
    assert not ahead._thread.is_alive()
    assert ahead.reader._cap is None  # the decoder is released
    with pytest.raises(StopIteration):
        next(ahead)
    extraction = extract_frames(megamind, cjk_dir / "早 停", decode_ahead=4)
    assert [next(extraction).index for _ in range(3)] == [0, 1, 2]
    extraction.close()
    assert extraction.reader._cap is None
    assert not list((cjk_dir / "早 停").glob("*.part"))


def test_a_decoder_error_while_decoding_ahead_reaches_the_consumer(megamind, monkeypatch):
    reader = iter_frames(megamind)
    real = reader._cap.retrieve
    calls = []

    def retrieve():
        calls.append(1)
        if len(calls) == 4:
            raise MemoryError("out of memory in the decoder")
        return real()

    monkeypatch.setattr(reader, "_cap", _Wrapped(reader._cap, retrieve=retrieve))
    ahead = Prefetch(reader, ahead=2)
    with pytest.raises(MemoryError, match="out of memory"):
        for _ in ahead:
            pass
    assert not ahead._thread.is_alive()


class _Wrapped:
    """A VideoCapture with some methods replaced."""

    def __init__(self, cap, **methods):
        self._cap = cap
        self.__dict__.update(methods)

    def __getattr__(self, name):
        return getattr(self._cap, name)


def test_extract_truncated_video(truncated, cjk_dir):
    out = cjk_dir / "截断 帧"
    extraction = extract_frames(truncated, out)
    indices = [f.index for f in extraction]
    result = extraction.result
    assert result is not None and result.stopped_early
    assert indices == list(range(result.damage.index))
    assert len(list(out.glob("*.jpg"))) == result.written == len(indices)
    assert str(truncated) in str(result.damage)


def test_resume_with_existing_skips_stored_frames(megamind, cjk_dir):
    out = cjk_dir / "续传"
    first = extract_frames(megamind, out, fps=10)
    stored = set()
    for frame in first:
        stored.add(frame.index)
        if len(stored) == 40:
            break
    first.close()
    (out / "000200.jpg.part").write_bytes(b"half a file")  # left by a killed run
    sentinel = out / f"{min(stored):06d}.jpg"
    sentinel.write_bytes(b"stored earlier")  # proves stored frames are not written again
    second = extract_frames(megamind, out, fps=10, existing=stored)
    resumed = [f.index for f in second]
    everything = [f.index for f in iter_frames(megamind, fps=10)]
    assert not stored & set(resumed)
    assert sorted(stored | set(resumed)) == everything
    assert second.result.skipped == len(stored)
    assert sentinel.read_bytes() == b"stored earlier"
    assert not list(out.glob("*.part"))


CHILD = """
import sys, time
from feasstm_gui.core.ingest.media import extract_frames
for frame in extract_frames(sys.argv[1], sys.argv[2]):
    print(frame.index, flush=True)
    time.sleep(0.005)
"""


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_resume_after_kill_9_neither_duplicates_nor_misses(megamind, cjk_dir):
    out = cjk_dir / "被 杀"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(megamind), str(out)], stdout=subprocess.PIPE, text=True
    )
    committed = []  # what a store would have committed: every index it was handed
    for line in child.stdout:
        committed.append(int(line))
        if len(committed) == 60:
            child.send_signal(signal.SIGKILL)
            break
    child.wait()
    child.stdout.close()
    assert committed == list(range(60))
    resumed = [f.index for f in extract_frames(megamind, out, existing=set(committed))]
    assert committed + resumed == list(range(MEGAMIND_FRAMES))
    assert not list(out.glob("*.part"))
    for i in range(MEGAMIND_FRAMES):
        read_jpeg(out / f"{i:06d}.jpg")


def test_full_disk_names_the_file_and_keeps_written_frames(megamind, cjk_dir, monkeypatch):
    out = cjk_dir / "满 盘"
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst).name >= "000010.jpg":
            raise OSError(errno.ENOSPC, "No space left on device", str(src))
        return real_replace(src, dst)

    monkeypatch.setattr(media.os, "replace", replace)
    yielded = []
    with pytest.raises(FeasstmError, match="disk is full") as err:
        for frame in extract_frames(megamind, out):
            yielded.append(frame.index)
    monkeypatch.undo()
    assert err.value.path == str(out / "000010.jpg")
    assert yielded == list(range(10))
    assert sorted(p.name for p in out.iterdir()) == [f"{i:06d}.jpg" for i in range(10)]
    for i in yielded:
        read_jpeg(out / f"{i:06d}.jpg")


def test_bad_arguments(megamind, cjk_dir):
    with pytest.raises(FeasstmError, match="quality"):
        extract_frames(megamind, cjk_dir, quality=0)
    with pytest.raises(FeasstmError, match="frame rate"):
        iter_frames(megamind, fps=0)
    with pytest.raises(FeasstmError, match="negative"):
        iter_frames(megamind, start_s=-1)


# --- cutting ------------------------------------------------------------------------------------


def test_cut_video_segment(megamind, cjk_dir):
    dst = cut_video(megamind, cjk_dir / "片段 一.mp4", 2.0, 4.0)
    info = probe_video(dst)
    assert (info.width, info.height) == (720, 528)
    assert info.fps == pytest.approx(MEGAMIND_FPS, abs=1e-3)
    assert info.frame_count == 48
    cut = [f.image for f in iter_frames(dst)]
    source = [f.image for f in iter_frames(megamind, start_s=2.0, end_s=4.0)]
    assert len(cut) == len(source) == 48
    assert np.abs(cut[10].astype(int) - source[10]).mean() < 4
    assert list(cjk_dir.glob(".feasstm-cut-*")) == []


def test_cut_video_without_range_copies_bytes(megamind, cjk_dir):
    dst = cut_video(megamind, cjk_dir / "整段 复制.avi", None, None)
    assert dst.read_bytes() == megamind.read_bytes()


def test_cut_video_through_damage_raises_and_leaves_nothing(truncated, cjk_dir):
    dst = cjk_dir / "坏 片段.avi"
    with pytest.raises(VideoDamaged, match="decoding stopped"):
        cut_video(truncated, dst, 1.0, 10.0)
    assert not dst.exists()
    assert list(cjk_dir.glob(".feasstm-cut-*")) == []
    with pytest.raises(FeasstmError, match="suffix"):
        cut_video(truncated, cjk_dir / "x.gif", 0.0, 1.0)


def test_decoding_ahead_holds_fewer_frames_when_they_are_big(megamind, cjk_dir, monkeypatch):
    small = extract_frames(megamind, cjk_dir / "小", decode_ahead=8)
    assert small.decode_ahead == 8  # 720 x 528: 1.1 MB a frame
    small.close()
    monkeypatch.setattr(media, "AHEAD_BYTES", 3 * 720 * 528 * 3)
    capped = extract_frames(megamind, cjk_dir / "大", decode_ahead=8)
    assert capped.decode_ahead == 3
    assert [f.index for f in capped][:5] == [0, 1, 2, 3, 4]
    none = extract_frames(megamind, cjk_dir / "无", decode_ahead=0)
    assert none.decode_ahead == 0
    none.close()
