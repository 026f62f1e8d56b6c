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


def _actor_refs(env: Env) -> list:
    con = sqlite3.connect(f"file:{env.project / 'project.sqlite'}?mode=ro", uri=True)
    try:
        return con.execute("SELECT actor, photo FROM actor_refs ORDER BY id").fetchall()
    finally:
        con.close()


def bad_actor_photos(env: Env) -> None:
    """Reference photos (issue 15): no face, several faces, unreadable, two that do not match."""
    faces = env.data / "faces"
    no_face = env.base / "没有 脸.png"
    shutil.copyfile(env.data / "nonface" / "coffee.png", no_face)
    two = env.base / "两 个 人.jpg"
    left = cv2.resize(cv2.imread(str(faces / "obama.jpg")), (400, 500))
    right = cv2.resize(cv2.imread(str(faces / "biden.jpg")), (300, 680))[90:590]
    cv2.imwrite(str(two), cv2.hconcat([left, right]))
    broken = env.base / "坏 照片.jpg"
    broken.write_bytes((faces / "obama.jpg").read_bytes()[:2000])
    for photo, message in ((no_face, "no face found in the actor's reference photo"),
                           (two, "2 faces in the actor's reference photo"),
                           (broken, "the actor's reference photo truncated JPEG"),
                           (env.base / "不存在.jpg", "the actor's reference photo cannot be read")):
        r = cli("actor", env.project, "--name", "演员", "--photo", photo)
        assert r.status == 2, r.err
        assert f"feasstm: {photo}: {message}" in r.err, r.err
    r = cli("actor", env.project, "--name", "演员", "--photo", faces / "obama.jpg", "--photo",
            faces / "biden.jpg")
    assert r.status == 2
    assert f"feasstm: {faces / 'biden.jpg'}: this face does not match" in r.err
    assert "actor '演员'" in r.err and "nothing was changed" in r.err
    assert _actor_refs(env) == []


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
    "bad actor reference photos": bad_actor_photos,
}


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
