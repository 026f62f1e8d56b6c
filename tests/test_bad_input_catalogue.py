"""The bad-input catalogue (docs/BAD_INPUT.md), as one parametrised test.

Each case feeds the application one kind of bad input, mostly through the `feasstm` command as
a user runs it (a subprocess: exit status, stderr, never a traceback), and asserts two things:
the message names the file and the problem, and nothing that was there before is lost (the
project's existing clip keeps its labels and crops, the database stays sound). Faults a test
cannot cause for real as root in CI (a full disk, a read-only file system) are injected at the
file-system calls with monkeypatch, and the command then runs in-process.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import pytest

from feasstm_gui.core.store import Clip, Store

EXISTING = "已有 片段"
CODES = [4, 4, 7, 1, 6, 3]


# ---------------------------------------------------------------------------- helpers


@dataclass
class Env:
    project: Path  # a project holding EXISTING, labelled, with crops
    base: Path  # a folder with Chinese characters and spaces, beside the project
    data: Path
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture


@dataclass
class Ran:
    status: int
    out: str
    err: str


def cli(*args: object) -> Ran:
    """`feasstm ARGS` as a user runs it."""
    env = {**os.environ, "FEASSTM_ANNOTATOR": "tester", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run([sys.executable, "-m", "feasstm_gui.cli", *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return Ran(proc.returncode, proc.stdout, proc.stderr)


def cli_here(env: Env, *args: object) -> Ran:
    """The same command in this process, so that monkeypatched faults apply."""
    from feasstm_gui.cli import main

    env.capsys.readouterr()
    status = main([str(a) for a in args])
    out, err = env.capsys.readouterr()
    assert "Traceback" not in err, err
    return Ran(status, out, err)


def snapshot(folder: Path) -> tuple:
    """What the project held, read with sqlite3 itself (so a store that refuses to open a
    database can still be checked): integrity, EXISTING's labels, its crops' bytes."""
    con = sqlite3.connect(f"file:{folder / 'project.sqlite'}?mode=ro", uri=True)
    try:
        ok = con.execute("PRAGMA integrity_check").fetchone()[0]
        labels = con.execute(
            "SELECT f.frame_index, l.code FROM frames f JOIN labels l ON l.frame_id=f.id "
            "WHERE f.clip=? ORDER BY f.frame_index", (EXISTING,)).fetchall()
        crops = con.execute("SELECT fa.crop FROM frames f JOIN faces fa ON fa.frame_id=f.id "
                            "WHERE f.clip=? ORDER BY f.frame_index", (EXISTING,)).fetchall()
    finally:
        con.close()
    digests = [hashlib.sha256((folder / c).read_bytes()).hexdigest() for (c,) in crops]
    return ok, labels, digests


def photo_jpeg(data: Path, stem: str = "obama", size: int = 100) -> bytes:
    img = cv2.imread(str(next((data / "faces").glob(f"{stem}.*"))))
    ok, buf = cv2.imencode(".jpg", cv2.resize(img, (size, size)), [cv2.IMWRITE_JPEG_QUALITY, 95])
    return buf.tobytes()


def faf_folder(env: Env, name: str, txt: bytes | None, images: dict[str, bytes],
               clip: str = "人工 片段") -> tuple[Path, Path]:
    """A hand-made FAF folder (one folder per clip, its TXT beside it). Returns (folder, txt)."""
    root = env.base / name
    (root / clip).mkdir(parents=True)
    for image, data in images.items():
        (root / clip / image).write_bytes(data)
    txt_path = root / f"{clip}.txt"
    if txt is not None:
        txt_path.write_bytes(txt)
    return root, txt_path


def good_images(env: Env, n: int = 3) -> dict[str, bytes]:
    stems = ["obama", "obama2", "astronaut", "camera", "messi5"]
    return {f"{i:06d}.jpg": photo_jpeg(env.data, stems[i % len(stems)]) for i in range(1, n + 1)}


def imported_labels(project: Path, clip: str) -> list[int | None]:
    with Store.open(project, read_only=True) as store:
        return [f.code for f in store.frames(clip)]


def video(env: Env, name: str) -> Path:
    dst = env.base / name
    shutil.copyfile(env.data / "video" / "Megamind.avi", dst)
    return dst


# ---------------------------------------------------------------------------- the cases


def corrupt_video(env: Env) -> None:
    bad = env.base / "坏 视频.avi"
    bad.write_bytes(b"RIFF\x00\x10\x00\x00AVI LIST" + os.urandom(4000))
    r = cli("import", env.project, bad)
    assert r.status == 2
    assert str(bad) in r.err and "cannot open this file as a video" in r.err
    assert len(r.err.strip().splitlines()) == 1  # our line only, no OpenCV warning beside it


def truncated_video(env: Env) -> None:
    full = video(env, "完整 视频.avi").read_bytes()
    cut = env.base / "截断 视频.avi"
    cut.write_bytes(full[: int(len(full) * 0.5)])
    assert cli("import", env.project, cut).status == 0
    r = cli("extract", env.project, "--clip", "截断 视频")
    assert r.status == 1
    assert f"{cut}:0:" in r.err and "frame" in r.err
    with Store.open(env.project, read_only=True) as store:
        frames = store.frames("截断 视频")
        assert 0 < len(frames) < 270  # the frames read before the damage are kept
        assert all((env.project / f.image).is_file() for f in frames)
        assert store.clip("截断 视频").extract_status == "damaged"


def zero_byte_video(env: Env) -> None:
    empty = env.base / "空 视频.mp4"
    empty.write_bytes(b"")
    r = cli("import", env.project, empty)
    assert r.status == 2 and str(empty) in r.err
    assert "empty" in r.err or "0 bytes" in r.err or "cannot" in r.err


def zero_byte_files(env: Env) -> None:
    """A zero-byte TXT, a zero-byte image and a zero-byte clip table."""
    images = {**good_images(env, 2), "000003.jpg": b""}
    root, txt = faf_folder(env, "空 文件", b"", images)
    r = cli("import-faf", env.project, root)
    assert r.status == 1
    assert f"{root / '人工 片段' / '000003.jpg'}:0:" in r.err and "empty" in r.err
    assert f"{txt}:0:" in r.err
    assert imported_labels(env.project, "人工 片段") == [None, None]
    table = env.base / "空 表.csv"
    table.write_bytes(b"")
    r = cli("import", env.project, "--clips", table)
    assert r.status == 2 and str(table) in r.err and "empty" in r.err


def truncated_jpeg(env: Env) -> None:
    images = good_images(env, 3)
    images["000002.jpg"] = images["000002.jpg"][: len(images["000002.jpg"]) // 2]
    root, txt = faf_folder(env, "截断 图片", b"000001.jpg 4\n000002.jpg 5\n000003.jpg 7\n",
                           images)
    r = cli("import-faf", env.project, root)
    assert r.status == 1
    assert f"{root / '人工 片段' / '000002.jpg'}:0:" in r.err and "truncated" in r.err
    assert imported_labels(env.project, "人工 片段") == [4, 7]


def not_an_image(env: Env) -> None:
    images = {**good_images(env, 2), "000003.jpg": "这不是图片\n".encode() * 50}
    root, _ = faf_folder(env, "假 图片", b"000001.jpg 4\n000002.jpg 5\n000003.jpg 7\n", images)
    r = cli("import-faf", env.project, root)
    assert r.status == 1
    assert f"{root / '人工 片段' / '000003.jpg'}:0:" in r.err
    assert "not an image" in r.err or "not a JPEG" in r.err or "cannot be decoded" in r.err
    assert imported_labels(env.project, "人工 片段") == [4, 5]


def gbk_txt(env: Env) -> None:
    images = {"周迅 001.jpg": photo_jpeg(env.data), "周迅 002.jpg": photo_jpeg(env.data, "camera")}
    txt = "周迅 001.jpg\t4\r\n周迅 002   6\r\n".encode("gbk")
    root, _ = faf_folder(env, "国标 编码 文件夹", txt, images)
    r = cli("import-faf", env.project, root)
    assert r.status == 0, r.err
    assert imported_labels(env.project, "人工 片段") == [4, 6]


def utf8_bom_txt(env: Env) -> None:
    root, _ = faf_folder(env, "带 BOM", "\ufeff000001.jpg 3\n000002.jpg 2\n".encode(),
                         good_images(env, 2))
    r = cli("import-faf", env.project, root)
    assert r.status == 0, r.err
    assert imported_labels(env.project, "人工 片段") == [3, 2]


def unknown_codes(env: Env) -> None:
    root, txt = faf_folder(env, "未知 代码", b"000001.jpg 4\n000002.jpg 9\n000003.jpg happy\n",
                           good_images(env, 3))
    r = cli("import-faf", env.project, root)
    assert r.status == 1
    assert f"{txt}:2: unknown code '9'" in r.err
    assert f"{txt}:3: unknown code 'happy'" in r.err
    assert imported_labels(env.project, "人工 片段") == [4, None, None]  # imported unlabelled


def missing_and_unlisted_images(env: Env) -> None:
    root, txt = faf_folder(env, "缺少 图片", b"000001.jpg 4\n000009.jpg 5\n", good_images(env, 2))
    r = cli("import-faf", env.project, root)
    assert r.status == 1
    assert f"{txt}:2: no image named '000009.jpg'" in r.err
    assert f"{txt}:0: image 000002.jpg is not listed; imported unlabelled" in r.err
    assert imported_labels(env.project, "人工 片段") == [4, None]


def chinese_paths_with_spaces(env: Env) -> None:
    deep = env.base / "电影 片段" / "第 一 部"
    deep.mkdir(parents=True)
    clip_video = video(env, "电影 片段/第 一 部/周迅 表演 一.avi")
    r = cli("import", env.project, clip_video)
    assert r.status == 0, r.err
    r = cli("extract", env.project, "--clip", "周迅 表演 一", "--fps", "2")
    assert r.status == 0, r.err
    with Store.open(env.project, read_only=True) as store:
        frames = store.frames("周迅 表演 一")
        assert len(frames) >= 20 and all((env.project / f.image).is_file() for f in frames)


def _full_after(n: int, real_open: Callable, counter: list[int], path_part: str) -> Callable:
    def fake_open(file, mode="r", *args, **kwargs):
        if "w" in mode or "x" in mode:
            if path_part in str(file):
                counter[0] += 1
                if counter[0] > n:
                    raise OSError(errno.ENOSPC, "No space left on device", str(file))
        return real_open(file, mode, *args, **kwargs)
    return fake_open


def disk_full_during_extraction(env: Env) -> None:
    from feasstm_gui.core.ingest import media

    src = video(env, "满 盘 视频.avi")
    assert cli("import", env.project, src).status == 0
    counter = [0]
    env.monkeypatch.setattr(media, "open", _full_after(40, open, counter, "frames"),
                            raising=False)
    r = cli_here(env, "extract", env.project, "--clip", "满 盘 视频")
    assert r.status == 2
    assert "the disk is full" in r.err and str(env.project / "frames" / "满 盘 视频") in r.err
    with Store.open(env.project, read_only=True) as store:
        kept = store.frames("满 盘 视频")
        assert 0 < len(kept) <= 40 and all((env.project / f.image).is_file() for f in kept)
    env.monkeypatch.undo()  # space freed: extract again resumes and completes
    r = cli("extract", env.project, "--clip", "满 盘 视频")
    assert r.status == 0, r.err
    with Store.open(env.project, read_only=True) as store:
        assert [f.frame_index for f in store.frames("满 盘 视频")] == list(range(270))


def disk_full_while_writing_crops(env: Env) -> None:
    """The crops are written on a background thread while the next frame is aligned: the error
    still names the crop, and every frame the store recorded has its crop on disk."""
    from feasstm_gui.core.ingest import images

    src = video(env, "满 盘 对齐.avi")
    clip = "满 盘 对齐"
    assert cli("import", env.project, src).status == 0
    real = images._create_temp_beside
    count = [0]

    def create(path: Path):
        if "crops" in str(path):
            count[0] += 1
            if count[0] > 30:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path)

    env.monkeypatch.setattr(images, "_create_temp_beside", create)
    r = cli_here(env, "process", env.project, "--clip", clip)
    assert r.status == 2
    assert "disk full while writing" in r.err and str(env.project / "crops" / clip) in r.err
    with Store.open(env.project, read_only=True) as store:
        kept = store.frames(clip)
        assert 0 < sum(1 for f in kept if f.crop) <= 30
        assert all((env.project / f.crop).is_file() for f in kept if f.crop)
    env.monkeypatch.undo()  # space freed: the same command resumes and completes
    r = cli("process", env.project, "--clip", clip)
    assert r.status == 0, r.err
    with Store.open(env.project, read_only=True) as store:
        frames = store.frames(clip)
        assert [f.frame_index for f in frames] == list(range(270))
        assert all((env.project / f.crop).is_file() for f in frames if f.crop)
        assert sum(1 for f in frames if f.crop) > 200


def disk_full_during_export(env: Env) -> None:
    from feasstm_gui.core.dataset import export as export_mod

    out = env.base / "导出 满盘"
    counter = [0]
    env.monkeypatch.setattr(export_mod, "open", _full_after(3, open, counter, str(out.parent)),
                            raising=False)
    r = cli_here(env, "export", env.project, out, "--copy", "-q")
    assert r.status == 2
    assert str(out) in r.err and "the disk is full" in r.err and "nothing was exported" in r.err
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")] == []


def read_only_project_folder(env: Env) -> None:
    from feasstm_gui.core.store import lock

    real = os.open

    def ro_open(path, flags, *args, **kwargs):
        if str(path).endswith("project.lock") and flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real(path, flags, *args, **kwargs)

    env.monkeypatch.setattr(lock.os, "open", ro_open)
    r = cli_here(env, "undo", env.project)
    assert r.status == 2
    assert str(env.project / "project.lock") in r.err
    assert "Read-only file system" in r.err and "read-only" in r.err
    r = cli_here(env, "status", env.project, "--json")  # reading still works
    assert r.status == 0 and '"labelled": 6' in r.out


def read_only_export_folder(env: Env) -> None:
    from feasstm_gui.core.dataset import export as export_mod

    out = env.base / "只读 盘" / "导出"
    out.parent.mkdir()

    real = export_mod.Path.mkdir

    def ro_mkdir(self, *args, **kwargs):  # as Linux does: EEXIST first, then EROFS
        if self.exists():
            return real(self, *args, **kwargs)
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    env.monkeypatch.setattr(export_mod.Path, "mkdir", ro_mkdir)
    r = cli_here(env, "export", env.project, out, "-q")
    env.monkeypatch.undo()
    assert r.status == 2
    assert str(out) in r.err and "the file system is read-only" in r.err
    assert "nothing was exported" in r.err
    assert not out.exists()


def two_instances(env: Env) -> None:
    with Store.open(env.project, annotator="甲 同学") as first:
        r = cli("undo", env.project)
        assert r.status == 2
        assert str(env.project) in r.err and "open for writing by 甲 同学" in r.err
        assert f"process {os.getpid()}" in r.err and "read-only" in r.err
        r = cli("status", env.project, "--json")
        assert r.status == 0 and '"labelled": 6' in r.out
        # the first instance goes on unharmed
        assert first.set_labels([first.frames(EXISTING)[0].id], 5) == 1 and first.undo()


def newer_database(env: Env) -> None:
    db = env.project / "project.sqlite"
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version=999")
    con.close()
    before = db.read_bytes()
    for command in ("status", "undo"):
        r = cli(command, env.project)
        assert r.status == 2
        assert str(db) in r.err and "newer FEASSTM Studio" in r.err and "update" in r.err
    assert db.read_bytes() == before


def database_not_sqlite(env: Env) -> None:
    db = env.project / "project.sqlite"
    backup = cli("backup", env.project)
    assert backup.status == 0
    for side in ("-wal", "-shm"):
        Path(f"{db}{side}").unlink(missing_ok=True)
    junk = b"this is not a database\n" * 200
    db.write_bytes(junk)
    for command in ("status", "undo"):
        r = cli(command, env.project)
        assert r.status == 2
        assert str(db) in r.err and "not a readable project database" in r.err
        assert "restore a backup" in r.err
    assert db.read_bytes() == junk  # nothing overwrote it
    r = cli("restore", env.project)  # what the message says to do works
    assert r.status == 0, r.err
    kept = list((env.project / "backups").glob("damaged-*"))  # the damaged file is kept aside
    assert [p.read_bytes() for p in kept if p.name.endswith(".sqlite")] == [junk]


def path_traversal_clip_names(env: Env) -> None:
    src = video(env, "视频.avi")
    table = env.base / "片段 表.csv"
    table.write_text("clip,video,work,actor,role,group\n"
                     "../逃逸,视频.avi,w,a,r,A\n"
                     "..,视频.avi,w,a,r,A\n"
                     "子/目录,视频.avi,w,a,r,A\n"
                     "..\\..\\逃逸,视频.avi,w,a,r,A\n", encoding="utf-8")
    r = cli("import", env.project, "--clips", table)
    assert r.status == 2
    for line in (2, 3, 4, 5):
        assert f"{table}:{line}:" in r.err and "bad clip id" in r.err
    root, txt = faf_folder(env, "遍历", b"000001.jpg 4\n../../../etc/passwd 5\n",
                           good_images(env, 1))
    r = cli("import-faf", env.project, root)
    assert r.status == 1 and f"{txt}:2: no image named '../../../etc/passwd'" in r.err
    assert not (env.project.parent / "逃逸").exists() and not (env.base / "逃逸").exists()
    with Store.open(env.project, read_only=True) as store:
        assert {c.id for c in store.clips()} == {EXISTING, "人工 片段"}
    assert src.is_file()


CASES: dict[str, Callable[[Env], None]] = {
    "corrupt video": corrupt_video,
    "truncated video": truncated_video,
    "zero-byte video": zero_byte_video,
    "zero-byte TXT, image and clip table": zero_byte_files,
    "truncated JPEG": truncated_jpeg,
    "image that is not an image": not_an_image,
    "GBK TXT (tabs, CRLF)": gbk_txt,
    "UTF-8-BOM TXT": utf8_bom_txt,
    "unknown codes": unknown_codes,
    "missing and unlisted images": missing_and_unlisted_images,
    "Chinese paths with spaces": chinese_paths_with_spaces,
    "full disk during extraction": disk_full_during_extraction,
    "full disk while writing crops": disk_full_while_writing_crops,
    "full disk during export": disk_full_during_export,
    "read-only project folder": read_only_project_folder,
    "read-only export folder": read_only_export_folder,
    "two instances on one project": two_instances,
    "database from a newer version": newer_database,
    "database file that is not SQLite": database_not_sqlite,
    "clip names that try path traversal": path_traversal_clip_names,
}


# ---------------------------------------------------------------------------- issue 13, part B
# Hostile names, sizes and numbers: non-UTF-8 names, special files, symbolic link loops, huge
# ranges and numbers, long and look-alike clip ids, newlines in names, long CSV cells, variable
# frame rates.


def gbk_file_names(env: Env) -> None:
    """A zip from a Chinese Windows unpacked on Linux: folder and image names in GBK bytes."""
    root = env.base / "国标 文件名"
    clip = os.fsdecode("人工 片段".encode("gbk"))  # Python's str for those bytes: surrogates
    image = os.fsdecode("周迅 一.jpg".encode("gbk"))
    (root / clip).mkdir(parents=True)
    (root / clip / image).write_bytes(photo_jpeg(env.data))
    (root / clip / "000002.jpg").write_bytes(photo_jpeg(env.data, "camera"))
    latin = os.fsdecode(b"caf\xe9.jpg")  # Latin-1: neither UTF-8 nor GBK
    (root / clip / latin).write_bytes(photo_jpeg(env.data, "messi5"))
    (root / f"{clip}.txt").write_bytes("周迅 一.jpg 4\n000002.jpg 6\n".encode("gbk"))
    r = cli("import-faf", env.project, root)
    assert r.status == 1, r.err
    assert "the folder name is GBK, not UTF-8: imported as clip '人工 片段'" in r.err
    assert "\\xe9.jpg'" in r.err and "neither UTF-8 nor GBK" in r.err
    assert imported_labels(env.project, "人工 片段") == [6, 4]  # the GBK TXT names them
    with Store.open(env.project, read_only=True) as store:
        crops = [f.crop for f in store.frames("人工 片段")]
    assert [Path(c).name for c in crops] == ["000002.jpg", "周迅 一.jpg"]
    assert all((env.project / c).is_file() for c in crops)
    src = env.base / os.fsdecode("视频.avi".encode("gbk"))
    shutil.copyfile(env.data / "video" / "Megamind.avi", src)
    r = cli("import", env.project, src)
    assert r.status == 2 and "is not UTF-8 (as GBK it reads '视频.avi')" in r.err
    assert len(r.err.strip().splitlines()) == 1


def huge_frame_range(env: Env) -> None:
    r = cli("realign", env.project, "--frames", f"{EXISTING}:0-99999999999999999999",
            "--landmarks", "30,40,70,40,50,60,35,80,65,80")
    assert "Traceback" not in r.err and r.status in (0, 1, 2)
    r = cli("realign", env.project, "--frames", f"{EXISTING}:100-99999999999999999999")
    assert r.status == 2
    assert (f"clip '{EXISTING}' has no frame in 100-99999999999999999999 (it holds frames 0-5)"
            in r.err)
    lines = env.base / "帧 列表.txt"
    lines.write_text(f"{EXISTING},99999999999999999999\n", encoding="utf-8")
    r = cli("realign", env.project, "--frames-file", lines)
    assert r.status == 2 and "has no frame 99999999999999999999" in r.err


def sparse_agreement(env: Env) -> None:
    """30,000 targets x 30,001 raters, two ratings each: 7 GB as a dense matrix."""
    import random

    rng = random.Random(1)
    table = env.base / "稀疏 评分.csv"
    with open(table, "w", encoding="utf-8") as f:
        f.write("target,rater,value\n")
        for t in range(30_000):
            for rater in (t, t + 1):
                f.write(f"t{t},r{rater},{rng.randint(1, 5)}\n")
    r = cli("agreement", table, "--json")
    assert r.status == 0, r.err
    import json

    result = json.loads(r.out)
    assert result["n_targets"] == 30_000 and result["n_raters"] == 30_001
    assert result["alpha"] is not None and result["icc1"] is not None


def special_files(env: Env) -> None:
    """Named pipes, links to /dev/zero and /dev/urandom, a huge file named .jpg, a pipe given
    as a video: never opened for reading, named and skipped."""
    root, txt = faf_folder(env, "特殊 文件", None, good_images(env, 2))
    clip = root / "人工 片段"
    os.mkfifo(clip / "labels.txt")  # the only TXT inside the folder
    os.mkfifo(clip / "000099.jpg")
    (clip / "000050.jpg").symlink_to("/dev/zero")
    (clip / "000060.jpg").symlink_to("/dev/urandom")
    with open(clip / "000070.jpg", "wb") as f:
        f.truncate(200 * 1024 * 1024)  # sparse: 200 MB that cost no disk
    r = cli("import-faf", env.project, root)
    assert r.status == 1, r.err
    assert f"{clip / 'labels.txt'}:0: a named pipe, not a file or folder; skipped" in r.err
    assert f"{clip / '000099.jpg'}:0: a named pipe" in r.err
    assert f"{clip / '000050.jpg'}:0: a character device (a link to /dev/zero)" in r.err
    assert f"{clip / '000060.jpg'}:0: a character device (a link to /dev/urandom)" in r.err
    assert (f"{clip / '000070.jpg'}:0: 200 MB, larger than the 64 MB this file may have; not "
            "imported") in r.err
    assert imported_labels(env.project, "人工 片段") == [None, None]
    pipe = env.base / "管道 视频.avi"
    os.mkfifo(pipe)
    r = cli("import", env.project, pipe)
    assert r.status == 2
    assert f"{pipe}:0: this is a named pipe, not a video file" in r.err


def bad_numbers(env: Env) -> None:
    cases = [
        (("extract", env.project, "--fps", "inf"), "argument --fps: 'inf' is not a finite number"),
        (("extract", env.project, "--fps", "nan"), "argument --fps: 'nan' is not a finite number"),
        (("process", env.project, "--fps", "inf"), "argument --fps: 'inf' is not a finite number"),
        (("process", env.project, "--fps", "nan"), "argument --fps: 'nan' is not a finite number"),
        (("realign", env.project, "--frames", f"{EXISTING}:1", "--box", "nan,nan,10,10"),
         "--box: nan is not a pixel coordinate"),
        (("realign", env.project, "--frames", f"{EXISTING}:1", "--box", "0,0,1e300,1e300"),
         "--box: 1e+300 is not a pixel coordinate"),
        (("realign", env.project, "--frames", f"{EXISTING}:1", "--landmarks",
          "1e308,1,1,1,1,1,1,1,1,1"), "--landmarks: 1e+308 is not a pixel coordinate"),
        (("log", env.project, "-n", "99999999999999999999"),
         "argument -n: must be from 1 to 2,147,483,647 (got 99999999999999999999)"),
    ]
    for args, message in cases:
        r = cli(*args)
        assert r.status == 2, (args, r.err)
        assert message in r.err, (args, r.err)
    video(env, "视频.avi")
    table = env.base / "大 数.csv"
    table.write_text("clip,video,work,actor,role,group,start_s,end_s\n"
                     "甲,视频.avi,w,a,r,A,0,1e308\n乙,视频.avi,w,a,r,A,1e308,\n", encoding="utf-8")
    r = cli("import", env.project, "--clips", table)
    assert r.status == 2
    assert f"{table}:2: end_s '1e308' is more than 1,000,000 seconds (11 days); row skipped" \
        in r.err
    assert f"{table}:3: start_s '1e308' is more than 1,000,000 seconds" in r.err


def long_clip_id(env: Env) -> None:
    """100 Chinese characters: within 100 characters, but 300 bytes (file names hold 255)."""
    video(env, "视频.avi")
    long_id = "长" * 100
    table = env.base / "长 名字.csv"
    table.write_text(f"clip,video,work,actor,role,group\n{long_id},视频.avi,w,a,r,A\n",
                     encoding="utf-8")
    r = cli("import", env.project, "--clips", table)
    assert r.status == 2
    assert f"{table}:2: bad clip id '{long_id}': the clip id is 300 bytes long in UTF-8" in r.err
    with Store.open(env.project, read_only=True) as store:
        assert [c.id for c in store.clips()] == [EXISTING]


def symlink_loops(env: Env) -> None:
    root, txt = faf_folder(env, "链接 环", b"000001.jpg 4\n000002.jpg 5\n", good_images(env, 2))
    (root / "环 目录").symlink_to("环 目录")  # a loop beside the clip folders
    (root / "人工 片段" / "000003.jpg").symlink_to("000004.jpg")
    (root / "人工 片段" / "000004.jpg").symlink_to("000003.jpg")  # a loop of two
    r = cli("import-faf", env.project, root)
    assert r.status == 1, r.err
    assert f"{root / '环 目录'}:0: a symbolic link loop" in r.err
    assert f"{root / '人工 片段' / '000003.jpg'}:0: a symbolic link loop" in r.err
    assert imported_labels(env.project, "人工 片段") == [4, 5]  # the clip is not skipped


def newline_in_file_name(env: Env) -> None:
    """A name with a newline must not forge a second `file:line:` problem line."""
    forged = "000002.jpg\nforged.txt:7: forged problem.jpg"
    images = {"000001.jpg": photo_jpeg(env.data), forged: photo_jpeg(env.data, "camera")}
    root, txt = faf_folder(env, "换行 名字", b"000001.jpg 4\n", images)
    r = cli("import-faf", env.project, root)
    assert r.status == 1
    lines = r.err.strip().splitlines()
    assert not any(line.startswith("forged.txt") for line in lines)
    quoted = str(root / "人工 片段" / forged).replace("\n", "\\n")
    assert (f"'{quoted}':0: the file name holds a line break or another control character; "
            "rename it; not imported") in lines
    assert imported_labels(env.project, "人工 片段") == [4]


def unicode_and_case_twins(env: Env) -> None:
    """'café.jpg' written NFC in the TXT, NFD on disk (a folder from macOS); clip ids 'd1' and
    'D1', and NFC/NFD look-alikes."""
    import unicodedata

    nfd = unicodedata.normalize("NFD", "café.jpg")
    root, txt = faf_folder(env, "组合 字符", "café.jpg 3\n".encode(),
                           {nfd: photo_jpeg(env.data)})
    r = cli("import-faf", env.project, root)
    assert r.status == 0, r.err  # neither "no image named" nor "not listed"
    assert imported_labels(env.project, "人工 片段") == [3]
    video(env, "视频.avi")
    table = env.base / "孪生 片段.csv"
    table.write_text("clip,video,work,actor,role,group\n"
                     "d1,视频.avi,w,a,r,A\nD1,视频.avi,w,a,r,A\n"
                     f"{unicodedata.normalize('NFD', '已有 片段é')},视频.avi,w,a,r,A\n"
                     f"{unicodedata.normalize('NFC', '已有 片段é')},视频.avi,w,a,r,A\n",
                     encoding="utf-8")
    r = cli("import", env.project, "--clips", table)
    assert r.status == 1, r.err
    assert (f"{table}:3: clip id 'D1' differs only in case from clip 'd1', already there"
            in r.err)
    assert f"{table}:5: clip id '已有 片段é' looks the same as" not in r.err  # NFC: one id
    assert f"{table}:5: clip '已有 片段é' is already in the project" in r.err
    with Store.open(env.project, read_only=True) as store:
        ids = {c.id for c in store.clips()}
    assert ids == {EXISTING, "人工 片段", "d1", unicodedata.normalize("NFC", "已有 片段é")}


def long_ratings_cell(env: Env) -> None:
    assert cli("raters", env.project, "add", "甲", "--group", "A").status == 0
    assert cli("raters", env.project, "add", "乙", "--group", "A").status == 0
    table = env.base / "长 单元格.csv"
    table.write_text("clip,rater,score,description\n"
                     f"{EXISTING},甲,4,好\n"
                     f"{EXISTING},乙,3,\"{'长' * 200_000}\"\n", encoding="utf-8")
    r = cli("import-ratings", env.project, table)
    assert r.status == 1, r.err
    assert f"{table}:3: cell 4 is 200,000 characters long (at most 131,072); line skipped" \
        in r.err
    assert "1 rating(s) imported" in r.out


def variable_frame_rate(env: Env) -> None:
    from vfrclip import make_vfr_clip

    src = env.base / "变速 视频.mp4"
    truth = make_vfr_clip(src)
    assert cli("import", env.project, src).status == 0
    r = cli("extract", env.project, "--clip", "变速 视频")
    assert r.status == 0, r.err  # uneven time stamps are not damage
    with Store.open(env.project, read_only=True) as store:
        times = [f.time_ms for f in store.frames("变速 视频")]
    assert times == [round(t) for t in truth] and times[11] < 1500


CASES.update({
    "non-UTF-8 (GBK) file names": gbk_file_names,
    "frame range of 10^20": huge_frame_range,
    "sparse ratings, 30,001 raters": sparse_agreement,
    "named pipes, devices, huge files": special_files,
    "inf, nan and huge numbers": bad_numbers,
    "clip id of 300 bytes": long_clip_id,
    "symbolic link loops": symlink_loops,
    "newline in a file name": newline_in_file_name,
    "NFC/NFD and case twins": unicode_and_case_twins,
    "ratings cell over 131,072 characters": long_ratings_cell,
    "variable frame rate": variable_frame_rate,
})


@pytest.fixture
def env(cjk_dir, data_dir, monkeypatch, capsys) -> Env:
    project = cjk_dir / "项目 目录"
    store = Store.create(project, annotator="tester")
    store.add_clip(Clip(EXISTING, work="作品", actor="演员", group="A"))
    ids = store.add_frames(EXISTING, [(i, i * 40.0, None, None) for i in range(len(CODES))])
    (project / "crops" / EXISTING).mkdir(parents=True)
    for i, fid in enumerate(ids):
        rel = f"crops/{EXISTING}/{i:06d}.jpg"
        (project / rel).write_bytes(photo_jpeg(data_dir, ["obama", "camera"][i % 2]))
        store.add_face(fid, crop=rel, prob=0.99)
        store.set_labels([fid], CODES[i])
    store.close()
    base = cjk_dir / "输入 文件"
    base.mkdir()
    return Env(project, base, data_dir, monkeypatch, capsys)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(env, case):
    before = snapshot(env.project)
    assert before[0] == "ok" and [c for _, c in before[1]] == CODES
    CASES[case](env)
    env.monkeypatch.undo()
    assert snapshot(env.project) == before  # what was there is still there

