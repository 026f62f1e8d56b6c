"""Image files with Chinese paths: reading, checking that a file is whole, writing atomically."""

from __future__ import annotations

import errno

import cv2
import numpy as np
import pytest

from feasstm_gui.core import files
from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.ingest.images import (
    IMAGE_EXTENSIONS,
    BackgroundWriter,
    check_image,
    image_problem,
    read_image,
    write_jpeg,
)


@pytest.fixture
def face(face_images) -> np.ndarray:
    image = read_image(face_images["obama"])
    assert image is not None
    return cv2.resize(image, (100, 100))


def test_extensions_are_lower_case_with_dot():
    assert IMAGE_EXTENSIONS == (".jpg", ".jpeg", ".png", ".bmp")


def test_read_image_with_chinese_path(face_images, cjk_dir):
    target = cjk_dir / "奥巴马 照片.jpg"
    target.write_bytes(face_images["obama"].read_bytes())
    image = read_image(target)
    assert image is not None and image.ndim == 3 and image.shape[2] == 3
    expected = cv2.imdecode(np.fromfile(str(face_images["obama"]), np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(image, expected)


def test_read_image_returns_none_for_missing_or_garbage(cjk_dir):
    assert read_image(cjk_dir / "没有.jpg") is None
    (cjk_dir / "文本.jpg").write_text("这不是图片", encoding="utf-8")
    assert read_image(cjk_dir / "文本.jpg") is None
    (cjk_dir / "空.jpg").write_bytes(b"")
    assert read_image(cjk_dir / "空.jpg") is None


def test_write_jpeg_round_trip_leaves_no_temp_file(face, cjk_dir):
    target = cjk_dir / "人脸 裁剪" / "000001.jpg"
    target.parent.mkdir()
    assert write_jpeg(target, face) == target
    assert [p.name for p in target.parent.iterdir()] == ["000001.jpg"]
    back = read_image(target)
    assert back is not None and back.shape == (100, 100, 3)
    ok, expected = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert target.read_bytes() == expected.tobytes()  # default quality 95
    assert image_problem(target) is None


def test_write_jpeg_replaces_an_existing_file(face, cjk_dir):
    target = cjk_dir / "图.jpg"
    target.write_bytes(b"old")
    write_jpeg(target, face, quality=50, durable=True)
    assert image_problem(target) is None


def test_write_jpeg_quality_changes_size(face, cjk_dir):
    low, high = cjk_dir / "低.jpg", cjk_dir / "高.jpg"
    write_jpeg(low, face, quality=20)
    write_jpeg(high, face, quality=95)
    assert low.stat().st_size < high.stat().st_size


def test_write_jpeg_into_missing_folder_names_the_path(face, cjk_dir):
    target = cjk_dir / "不存在" / "000001.jpg"
    with pytest.raises(FeasstmError) as info:
        write_jpeg(target, face)
    assert str(target) in str(info.value)
    assert "folder does not exist" in str(info.value)


def test_disk_full_names_the_path_and_leaves_nothing(face, cjk_dir, monkeypatch):
    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "_write_all", full)
    target = cjk_dir / "满.jpg"
    with pytest.raises(FeasstmError) as info:
        write_jpeg(target, face)
    assert str(info.value).startswith(f"disk full while writing {target}")
    assert list(cjk_dir.iterdir()) == []


def test_background_writer_writes_whole_files_into_new_folders(cjk_dir):
    names = [cjk_dir / "裁剪 图" / f"片段 {k % 3}" / f"{k:06d}.jpg" for k in range(12)]
    with BackgroundWriter() as writer:
        for k, path in enumerate(names):
            writer.write(path, bytes([k]) * (1000 + k))
        writer.wait()
        assert all(p.read_bytes() == bytes([k]) * (1000 + k) for k, p in enumerate(names))
    assert not [p for p in cjk_dir.rglob("*") if p.name.endswith(".tmp")]


def test_background_writer_failure_sticks_and_names_the_file(cjk_dir, monkeypatch):
    real = files._write_all

    def full_on_third(fd, data):
        if data == b"3":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(files, "_write_all", full_on_third)
    writer = BackgroundWriter()
    for k in range(1, 6):
        writer.write(cjk_dir / f"{k}.bin", str(k).encode())
    with pytest.raises(FeasstmError, match="disk full while writing") as info:
        writer.wait()
    assert str(cjk_dir / "3.bin") in str(info.value)
    writer.write(cjk_dir / "6.bin", b"6")
    assert writer.succeeded() is False  # later files do not make it good again
    with pytest.raises(FeasstmError, match="3.bin"):
        writer.wait()
    writer.close()
    assert not (cjk_dir / "3.bin").exists()
    assert (cjk_dir / "2.bin").read_bytes() == b"2"


def test_write_jpeg_refuses_an_empty_image(cjk_dir):
    with pytest.raises(ValueError):
        write_jpeg(cjk_dir / "空.jpg", np.zeros((0, 0, 3), np.uint8))


def test_good_files_have_no_problem(face_images, face, cjk_dir):
    for name in ("obama", "astronaut", "camera"):
        assert image_problem(face_images[name]) is None, name
    bmp = cjk_dir / "位图.bmp"
    ok, buf = cv2.imencode(".bmp", face)
    bmp.write_bytes(buf.tobytes())
    assert image_problem(bmp) is None


def test_truncated_jpeg(face_images, cjk_dir):
    data = face_images["obama"].read_bytes()
    cut = cjk_dir / "截断.jpg"
    cut.write_bytes(data[: len(data) // 2])
    assert image_problem(cut) == "truncated JPEG (no end-of-image marker)"
    cut.write_bytes(data[:-2])  # only the marker missing
    assert image_problem(cut) == "truncated JPEG (no end-of-image marker)"


def test_jpeg_with_zero_padding_after_the_end_marker_is_whole(face_images, cjk_dir):
    padded = cjk_dir / "补零.jpg"
    padded.write_bytes(face_images["obama"].read_bytes() + b"\x00" * 512)
    assert image_problem(padded) is None
    zeros_instead = cjk_dir / "零.jpg"
    data = face_images["obama"].read_bytes()
    zeros_instead.write_bytes(data[: len(data) // 2] + b"\x00" * 4096)
    assert image_problem(zeros_instead) == "truncated JPEG (no end-of-image marker)"


def test_truncated_png_and_bmp(face_images, face, cjk_dir):
    data = face_images["camera"].read_bytes()
    cut = cjk_dir / "截断.png"
    cut.write_bytes(data[: len(data) // 2])
    assert image_problem(cut) == "truncated PNG (no IEND chunk)"
    ok, buf = cv2.imencode(".bmp", face)
    bmp = cjk_dir / "截断.bmp"
    bmp.write_bytes(buf.tobytes()[:1000])
    assert image_problem(bmp) == f"truncated BMP (1000 of {len(buf)} bytes)"


def test_damaged_inside_but_with_end_marker(face_images, cjk_dir):
    data = face_images["obama"].read_bytes()
    broken = cjk_dir / "坏.jpg"
    broken.write_bytes(data[:200] + data[-2:])  # headers cut short, end marker kept
    assert image_problem(broken) == "damaged JPEG (cannot be decoded)"


def test_not_an_image_empty_missing_folder(cjk_dir):
    text = cjk_dir / "说明.jpg"
    text.write_text("hello", encoding="utf-8")
    assert image_problem(text) == "not an image"
    empty = cjk_dir / "空.png"
    empty.write_bytes(b"")
    assert image_problem(empty) == "empty file"
    assert image_problem(cjk_dir / "没有.jpg").startswith("cannot be read")
    assert image_problem(cjk_dir) is not None


def test_check_image_returns_the_pixels_once(face_images):
    image, reason = check_image(face_images["obama"])
    assert reason is None
    assert np.array_equal(image, read_image(face_images["obama"]))
