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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    assert r.status == 1  # frames were committed: not "nothing done" (issue 13)
    assert "frames of clip '满 盘 视频' committed before it stopped are kept" in r.err
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
    from feasstm_gui.core import files

    src = video(env, "满 盘 对齐.avi")
    clip = "满 盘 对齐"
    assert cli("import", env.project, src).status == 0
    real = files._create_temp_beside
    count = [0]

    def create(path: Path):
        if "crops" in str(path):
            count[0] += 1
            if count[0] > 30:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path)

    env.monkeypatch.setattr(files, "_create_temp_beside", create)
    r = cli_here(env, "process", env.project, "--clip", clip)
    assert r.status == 1  # frames were committed: not "nothing done" (issue 13)
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


def export_force_over_other_things(env: Env) -> None:
    """--force replaces an earlier export or an empty folder, nothing else."""
    home = env.base / "主目录"
    (home / "Documents").mkdir(parents=True)
    (home / "Documents" / "thesis.docx").write_bytes(b"my thesis")
    other = Store.create(env.base / "别的 项目", annotator="乙")
    other.close()
    plain = env.base / "文件.txt"
    plain.write_bytes(b"plain")
    for out, what in ((home, "a folder with 1 entry (Documents) and no manifest.json"),
                      (env.base / "别的 项目", "a FEASSTM project (project.sqlite)"),
                      (plain, "a file of 5 bytes")):
        r = cli("export", env.project, out, "--force", "-q")
        assert r.status == 2, r.err
        assert f"{out}: {what} is there, not an earlier export" in r.err
    assert (home / "Documents" / "thesis.docx").read_bytes() == b"my thesis"
    assert (env.base / "别的 项目" / "project.sqlite").is_file() and plain.read_bytes() == b"plain"
    empty = env.base / "空 文件夹"
    empty.mkdir()
    for _ in range(2):  # an empty folder, then the earlier export (exit 1: one clip, no test)
        r = cli("export", env.project, empty, "--force", "-q")
        assert r.status in (0, 1) and f"exported to {empty}" in r.out, r.err
    assert (empty / "manifest.json").is_file()


def _db(env: Env) -> Path:
    return env.project / "project.sqlite"


def _no_wal(env: Env) -> None:
    for side in ("-wal", "-shm"):
        Path(f"{_db(env)}{side}").unlink(missing_ok=True)


@contextmanager
def small_tmpfs(env: Env, size: str = "4M") -> Iterator[Path]:
    """A real small file system (a tmpfs), for a full disk or read-only media as SQLite meets
    them (its -shm cannot be made): needs root and mount, else the case is skipped."""
    where = env.base / "小 盘"
    where.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("needs root to mount a tmpfs")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if made.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _fill(folder: Path) -> Path:
    filler = folder / "填满.bin"
    with open(filler, "wb", buffering=0) as f:  # unbuffered: closing it has nothing to write
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def full_disk_opening(env: Env) -> None:
    """The project's disk is full (a real tmpfs): every writing command says so with the room
    needed, never 'damaged, restore a backup'; reading still works; once space is freed, the
    same command works."""
    with small_tmpfs(env) as disk:
        project = disk / "项目"
        shutil.copytree(env.project, project)
        db = project / "project.sqlite"
        before = db.read_bytes()
        filler = _fill(disk)
        for args in (("params", project, "backup.keep=5"), ("backup", project),
                     ("import", project, video(env, "视频.avi")), ("undo", project)):
            r = cli(*args)
            assert r.status == 2, r.err
            assert f"{project}" in r.err and "the disk is full (0 kB free): " in r.err
            assert "needs about" in r.err and "Free some space and try again" in r.err
            assert "damaged" not in r.err and "restore" not in r.err
        r = cli("status", project, "--json")  # read-only: still readable
        assert r.status == 0 and '"labelled": 6' in r.out
        assert db.read_bytes() == before and snapshot(project)[1:] == snapshot(env.project)[1:]
        filler.unlink()
        r = cli("params", project, "backup.keep=5")
        assert r.status == 0, r.err


def full_disk_restoring(env: Env) -> None:
    """restore needs room for a checked copy of the backup and a copy of the current
    database; without it nothing moves, and a copy that fails half way changes nothing."""
    from feasstm_gui.core.store import backup as backup_mod
    from feasstm_gui.core.store import dbfile

    assert cli("backup", env.project).status == 0
    env.monkeypatch.setattr(dbfile, "free_bytes", lambda path: 300 * 1024)
    r = cli_here(env, "restore", env.project)
    assert r.status == 2
    assert f"{_db(env)}: the disk is full (300 kB free): restoring project-" in r.err
    assert "needs about" in r.err and "nothing was changed" in r.err
    env.monkeypatch.undo()
    real, calls = backup_mod._copy_database, [0]

    def fills_up(source, dest, **kw):  # the copy of the current database hits a full disk
        calls[0] += 1
        if calls[0] == 2:
            raise sqlite3.OperationalError("database or disk is full")
        return real(source, dest, **kw)

    env.monkeypatch.setattr(backup_mod, "_copy_database", fills_up)
    r = cli_here(env, "restore", env.project)
    assert r.status == 2 and "the disk is full" in r.err and "nothing was changed" in r.err
    left = [p.name for p in env.project.iterdir() if "restoring" in p.name]
    left += [p.name for p in (env.project / "backups").iterdir() if not p.name.endswith(".sqlite")]
    assert left == []
    assert not any(p.name.endswith("-before-restore.sqlite")
                   for p in (env.project / "backups").iterdir())


def zero_byte_database(env: Env) -> None:
    """A 0-byte database beside the project's crops and backups: refused with the way out,
    never given an empty schema; the way out works."""
    assert cli("backup", env.project).status == 0
    _no_wal(env)
    _db(env).write_bytes(b"")
    for args in (("status", env.project), ("extract", env.project),
                 ("import", env.project, video(env, "视频.avi"))):
        r = cli(*args)
        assert r.status == 2
        assert f"{_db(env)}: the project database is empty (0 bytes); the folder holds " \
               "crops/, backups/. Restore the newest backup with `feasstm restore" in r.err
    assert _db(env).read_bytes() == b""
    r = cli("restore", env.project)
    assert r.status == 0, r.err
    assert [p.stat().st_size for p in (env.project / "backups").glob("damaged-*")] == [0]


def foreign_database(env: Env) -> None:
    """An SQLite file that is not a project's: refused as the project database and as a
    backup to restore (restore checked what it restores only for soundness)."""
    other = env.base / "别的 数据库.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE contacts (name TEXT)")
    con.commit()
    con.close()
    r = cli("restore", env.project, other)
    assert r.status == 2
    assert f"{other}: not a FEASSTM project database (its tables are not a project's)" in r.err
    empty = env.base / "空.sqlite"
    empty.write_bytes(b"")
    r = cli("restore", env.project, empty)
    assert r.status == 2 and f"{empty}: the backup is empty" in r.err
    project = env.base / "外来 项目"
    (project / "frames").mkdir(parents=True)
    shutil.copyfile(other, project / "project.sqlite")
    r = cli("status", project)
    assert r.status == 2
    assert "is an SQLite database but not a FEASSTM project's" in r.err and "restore" in r.err
    assert sqlite3.connect(project / "project.sqlite").execute(
        "SELECT name FROM sqlite_master").fetchall() == [("contacts",)]


def another_program_writing(env: Env) -> None:
    """Another program holds a write transaction: every writing command waits 5 s, then says
    who has the database open; undo with nothing to undo still works."""
    clip_video = video(env, "等待 视频.avi")
    assert cli("import", env.project, clip_video).status == 0
    ratings_csv = env.base / "评分.csv"
    ratings_csv.write_text("clip,rater,score,description\n", encoding="utf-8")
    holder = sqlite3.connect(_db(env), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE params SET value=value")
    try:
        for args in (("import", env.project, video(env, "另 一个.avi")),
                     ("params", env.project, "backup.keep=5"),
                     ("extract", env.project, "--clip", "等待 视频"),
                     ("raters", env.project, "add", "乙", "--group", "A")):
            r = cli(*args)
            assert r.status == 2, (args, r.err)
            assert f"{_db(env)}" in r.err and "the database is busy: another program" in r.err
            assert f"(process {os.getpid()})" in r.err and "within 5 s" in r.err
        r = cli("undo", env.project, "--annotator", "无 编辑")
        assert r.status == 0 and "nothing to undo" in r.out, r.err
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Store.open(env.project, read_only=True) as store:
        assert store.frames("等待 视频") == [] and not store.has_clip("另 一个")


def full_disk_importing_a_clip_table(env: Env) -> None:
    """SQLite's own 'database or disk is full' while adding the clips of a table."""
    from feasstm_gui.core.store import dbfile
    from feasstm_gui.core.store import store as store_mod

    video(env, "视频.avi")
    table = env.base / "片段 表.csv"
    table.write_text("clip,video,work,actor,role,group\n"
                     + "".join(f"甲{i},视频.avi,{'作品' * 1500},a,r,A\n" for i in range(4)),
                     encoding="utf-8")  # long cells: the rows need new pages
    real = store_mod.Store._connect

    def no_room(db, read_only):  # the database may not grow by one page: SQLITE_FULL
        conn = real(db, read_only)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count={pages}")
        return conn

    env.monkeypatch.setattr(store_mod.Store, "_connect", staticmethod(no_room))
    env.monkeypatch.setattr(dbfile, "free_bytes", lambda path: 20 * 1024)
    r = cli_here(env, "import", env.project, "--clips", table)
    assert r.status == 2
    assert f"{_db(env)}: the disk is full (20 kB free): saving this change needs about " in r.err
    assert "the last change was not saved, all earlier ones are" in r.err


def read_only_media(env: Env) -> None:
    """A project on read-only media (a tmpfs remounted read-only) after a write command closed
    it (no -wal, no -shm): it opens read-only; a write says to open it read-only, which works.
    With changes still in its -wal (a writer killed) it says what to do instead."""
    with small_tmpfs(env, "16M") as disk:
        project = disk / "项目"
        shutil.copytree(env.project, project)
        db = project / "project.sqlite"
        assert cli("params", project, "backup.keep=5").status == 0
        assert not Path(f"{db}-wal").exists() and not Path(f"{db}-shm").exists()
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        for command in ("status", "check"):
            r = cli(command, project)
            assert r.status == 0, r.err
        r = cli("export", project, env.base / "导出", "-q")
        assert r.status in (0, 1) and "exported to" in r.out, r.err
        r = cli("undo", project)
        assert r.status == 2 and "cannot create the lock file (Read-only file system); open " \
                                  "the project read-only" in r.err
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        subprocess.run([sys.executable, "-c", "import os, sqlite3, sys; c = sqlite3.connect("
                        "sys.argv[1], isolation_level=None); c.execute('PRAGMA journal_mode=WAL')"
                        "; c.execute(\"UPDATE params SET value='7' WHERE key='backup.keep'\"); "
                        "os._exit(0)", str(db)], check=True)
        Path(f"{db}-shm").unlink()  # copied without it, or lost
        assert Path(f"{db}-wal").stat().st_size > 0
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        r = cli("status", project)
        assert r.status == 2
        assert f"{db}: cannot be read read-only: its last changes are still in " \
               "project.sqlite-wal" in r.err and "copy the project folder to a writable disk" \
               in r.err
        r = cli("undo", project)
        assert r.status == 2 and "and the project cannot be read either" in r.err


def lock_taken_mid_run(env: Env) -> None:
    """Another connection takes the write lock after two batches of an extraction: the clip
    stops, the frames committed are counted in the summary, exit 1 (not 'nothing done')."""
    from feasstm_gui.core.store import store as store_mod

    assert cli("import", env.project, video(env, "中途 视频.avi")).status == 0
    real, calls, holder = store_mod.Store.add_frames, [0], []

    def add_frames(self, clip_id, frames):
        calls[0] += 1
        if calls[0] == 3:
            con = sqlite3.connect(self.db_path, isolation_level=None, check_same_thread=False)
            con.execute("BEGIN IMMEDIATE")
            holder.append(con)
        return real(self, clip_id, frames)

    env.monkeypatch.setattr(store_mod.Store, "add_frames", add_frames)
    try:
        r = cli_here(env, "extract", env.project, "--clip", "中途 视频")
    finally:
        for con in holder:
            con.execute("ROLLBACK")
            con.close()
    assert r.status == 1
    assert "the database is busy" in r.err
    assert "(50 frames of clip '中途 视频' committed before it stopped are kept" in r.err
    assert "extract: 0 of 1 clips, 50 frames (50 of them in clips that stopped half way)" in r.out
    with Store.open(env.project, read_only=True) as store:
        assert len(store.frames("中途 视频")) == 50


def video_without_decodable_frames(env: Env) -> None:
    """A video whose header is sound and whose frames are all zeros: reported, and not
    counted as a clip done (it was '1 of 1 clips, 0 frames', exit 1)."""
    data = bytearray(video(env, "无 帧 视频.avi").read_bytes())
    start, end = data.find(b"movi") + 4, data.find(b"idx1")
    data[start:end] = bytes(end - start)
    (env.base / "无 帧 视频.avi").write_bytes(bytes(data))
    assert cli("import", env.project, env.base / "无 帧 视频.avi").status == 0
    r = cli("extract", env.project, "--clip", "无 帧 视频")
    assert r.status == 2
    assert f"{env.base / '无 帧 视频.avi'}:0:" in r.err and "no frame could be decoded" in r.err
    assert "extract: 0 of 1 clips, 0 frames" in r.out


def interrupted_export(env: Env) -> None:
    """Ctrl+C while an export writes its files: nothing exported, and it says so."""
    from feasstm_gui.core.dataset import export as export_mod

    out = env.base / "中断 导出"
    real, calls = export_mod._copy_file, [0]

    def copy(src, dst, link):
        calls[0] += 1
        if calls[0] == 3:
            raise KeyboardInterrupt
        return real(src, dst, link)

    env.monkeypatch.setattr(export_mod, "_copy_file", copy)
    r = cli_here(env, "export", env.project, out, "-q")
    assert r.status == 130
    assert r.err.strip().splitlines()[-1] == "feasstm: interrupted; nothing was exported (the " \
                                             "partial export was removed; OUT is as it was)"
    assert not out.exists() and [p for p in env.base.iterdir() if out.name in p.name] == []


def terminated_import(env: Env) -> None:
    """SIGTERM in the middle of import-faf: handled like Ctrl+C (message, exit 130) and the
    half-copied crops/<clip>/import-* folder removed."""
    import signal

    from feasstm_gui.core.ingest import importer

    root, _ = faf_folder(env, "终止 导入", b"000001.jpg 4\n000002.jpg 5\n000003.jpg 6\n",
                         good_images(env, 3))
    real, calls = importer._copy_file, [0]

    def copy(src, dst):
        calls[0] += 1
        if calls[0] == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(src, dst)

    env.monkeypatch.setattr(importer, "_copy_file", copy)
    r = cli_here(env, "import-faf", env.project, root)
    assert r.status == 130
    assert r.err.strip() == "feasstm: terminated; everything done so far is saved"
    assert list((env.project / "crops").glob("人工 片段/import-*")) == []
    with Store.open(env.project, read_only=True) as store:
        assert not store.has_clip("人工 片段")


def _proposal_count(project: Path) -> int:
    con = sqlite3.connect(f"file:{project / 'project.sqlite'}?mode=ro", uri=True)
    try:
        return con.execute("SELECT COUNT(*) FROM proposals").fetchone()[0]
    finally:
        con.close()


def _actor_refs(env: Env) -> list:
    con = sqlite3.connect(f"file:{env.project / 'project.sqlite'}?mode=ro", uri=True)
    try:
        return con.execute("SELECT actor, photo FROM actor_refs ORDER BY id").fetchall()
    finally:
        con.close()


def _bad_model(env: Env, make: Callable[[Path], Path], words: str, where: str) -> None:
    """`propose --model` with a model that does not fit: one line naming the file, exit 2,
    nothing proposed."""
    model = make(env.base / "我的 模型")
    r = cli("propose", env.project, "--model", model)
    assert r.status == 2 and words in r.err, r.err
    assert r.err.count("\n") == 1 and str(env.base / "我的 模型" / where) in r.err
    assert _proposal_count(env.project) == 0


def model_not_onnx(env: Env) -> None:
    def make(folder: Path) -> Path:
        from proposal_helpers import tiny_onnx

        path, _ = tiny_onnx(folder, name="模型")
        path.write_bytes("这不是模型\n".encode() * 20)
        return path

    _bad_model(env, make, "not an ONNX model", "模型.onnx")


def model_input_not_as_described(env: Env) -> None:
    def make(folder: Path) -> Path:
        from proposal_helpers import tiny_onnx

        return tiny_onnx(folder, name="模型", size=32, dynamic=False,
                         description={"input_size": [64, 64]})[0]

    _bad_model(env, make, "input is 1x3x32x32 but its description says", "模型.json")


def model_output_not_as_described(env: Env) -> None:
    def make(folder: Path) -> Path:
        from proposal_helpers import tiny_onnx

        return tiny_onnx(folder, name="模型", codes=(4, 7, 1), n_out=2)[0]

    _bad_model(env, make, "gives 2 scores per face but its description lists 3", "模型.json")


def model_code_outside_1_7(env: Env) -> None:
    def make(folder: Path) -> Path:
        from proposal_helpers import tiny_onnx

        return tiny_onnx(folder, name="模型", codes=(4, 9))[0]

    _bad_model(env, make, "classes: 9 is not an expression code (1-7", "模型.json")


def crop_that_cannot_be_read(env: Env) -> None:
    clip = "提议 片段"
    with Store.open(env.project) as store:
        store.add_clip(Clip(clip, actor="演员", group="A"))
        ids = store.add_frames(clip, [(i, i * 40.0, None, None) for i in range(3)])
        (env.project / "crops" / clip).mkdir(parents=True)
        for i, fid in enumerate(ids):
            rel = f"crops/{clip}/{i:06d}.jpg"
            data = photo_jpeg(env.data, "obama")
            (env.project / rel).write_bytes(data[: len(data) // 2] if i == 1 else data)
            store.add_face(fid, crop=rel)
    r = cli("propose", env.project, "--clip", clip)
    bad = env.project / "crops" / clip / "000001.jpg"
    assert r.status == 1 and f"{bad}:0: crop is a truncated JPEG" in r.err, r.err
    assert _proposal_count(env.project) == 2
    r = cli("status", env.project, "--json")
    assert '"proposed": 2' in r.out


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


def import_with_bad_actor_photo(env: Env) -> None:
    """`import VIDEO --actor NAME --actor-photo FILE` (the Import videos dialog's photo, issue
    15): the photo is checked before anything is added."""
    clip_video = video(env, "带 照片 的 片段.avi")
    no_face = env.base / "没有 脸.png"
    shutil.copyfile(env.data / "nonface" / "coffee.png", no_face)
    r = cli("import", env.project, clip_video, "--actor", "演员", "--actor-photo", no_face)
    assert r.status == 2, r.err
    assert f"feasstm: {no_face}: no face found in the actor's reference photo" in r.err, r.err
    r = cli("import", env.project, clip_video, "--actor-photo", env.data / "faces" / "obama.jpg")
    assert r.status == 2 and "needs the actor's name" in r.err, r.err
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
    "export --force over a home folder, a project, a file": export_force_over_other_things,
    "full disk opening a project": full_disk_opening,
    "full disk restoring a backup": full_disk_restoring,
    "0-byte project database": zero_byte_database,
    "foreign SQLite database": foreign_database,
    "another program writing the database": another_program_writing,
    "full disk importing a clip table": full_disk_importing_a_clip_table,
    "read-only media": read_only_media,
    "write lock taken mid-extraction": lock_taken_mid_run,
    "video with no decodable frame": video_without_decodable_frames,
    "Ctrl+C during export": interrupted_export,
    "SIGTERM during import-faf": terminated_import,
    "proposal model that is not ONNX": model_not_onnx,
    "ONNX model whose input does not match its JSON": model_input_not_as_described,
    "ONNX model whose output does not match its JSON": model_output_not_as_described,
    "model JSON naming a code outside 1-7": model_code_outside_1_7,
    "crop that cannot be read while proposing": crop_that_cannot_be_read,
    "bad actor reference photos": bad_actor_photos,
    "import with a bad actor photo": import_with_bad_actor_photo,
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


def video_moved_after_extraction(env: Env) -> None:
    """Frames of a video are stored as previews (issue 19): re-align decodes the full frame
    from the video again, so a video moved away is named, with what to do; nothing changes."""
    src = video(env, "移走 视频.avi")  # 720 x 528: stored as 640 x 469 previews
    clip = "移走 视频"
    assert cli("import", env.project, src).status == 0
    assert cli("extract", env.project, "--clip", clip).status == 0
    with Store.open(env.project, read_only=True) as store:
        images = [f.image for f in store.frames(clip)]
    assert all("/preview-720x528/" in i for i in images) and len(images) == 270
    moved = env.base / "别处" / src.name
    moved.parent.mkdir()
    src.rename(moved)
    before = snapshot(env.project)
    r = cli("realign", env.project, "--frames", f"{clip}:3-4")
    assert r.status == 2, r.err  # nothing done
    assert f"{src}:0:" in r.err and "put the video back" in r.err
    assert snapshot(env.project) == before
    assert all((env.project / i).is_file() for i in images)  # the preview still shows them


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
    "video moved after extraction (previews stored)": video_moved_after_extraction,
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



# ---------------------------------------------------------------------------- issue 16
# A project on a PostgreSQL server: the wrong URL, a login the server refuses, a database from a
# newer schema, a folder whose images are not where the server's rows say. One line each, exit
# 2, nothing written (on the server, in the folder). The project is env's, moved to the server.


def _server_rows(url: str) -> tuple:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return tuple(conn.execute(q).fetchall() for q in (
            "SELECT frame_id, annotator, code FROM labels ORDER BY frame_id, annotator",
            "SELECT COUNT(*), MAX(batch) FROM edits", "SELECT COUNT(*) FROM frames",
            "SELECT key, value FROM params ORDER BY key"))


def _one_line(r: Ran) -> str:
    assert r.status == 2, (r.status, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    return lines[0]


def _moved(env: Env, url: str) -> None:
    assert cli("move-to-server", env.project, url).status == 0


def server_wrong_url(env: Env, url: str) -> None:
    nowhere = "postgresql://postgres@127.0.0.1:9/feasstm"  # no server listens there
    line = _one_line(cli("move-to-server", env.project, nowhere))
    assert "cannot connect to the database server postgresql://postgres@127.0.0.1:9/feasstm" \
        in line
    assert "Connection refused" in line
    line = _one_line(cli("move-to-server", env.project, "mysql://host/db"))
    assert "not a PostgreSQL URL" in line and "'mysql://host/db'" in line
    line = _one_line(cli("new", env.base / "新 项目", "--server", "postgresql://[::1/x"))
    assert "not a database URL" in line
    assert not (env.base / "新 项目").exists()
    assert not (env.project / "server.json").exists()
    # a server project whose server.json names a server that is not there (moved, down)
    _moved(env, url)
    before = _server_rows(url)
    (env.project / "server.json").write_text(f'{{"url": "{nowhere}"}}', encoding="utf-8")
    for args in (("status",), ("undo",), ("process",)):
        line = _one_line(cli(args[0], env.project, *args[1:]))
        assert line.startswith("feasstm: cannot connect to the database server postgresql://")
    assert _server_rows(url) == before


def server_refuses_login(env: Env, url: str) -> None:
    import json

    refused = url.replace("postgres@", "无名@")
    line = _one_line(cli("move-to-server", env.project, refused))
    assert "cannot connect to the database server" in line
    assert 'role "无名" does not exist' in line
    assert not (env.project / "server.json").exists()
    _moved(env, url)
    before = _server_rows(url)
    (env.project / "server.json").write_text(json.dumps({"url": refused}), encoding="utf-8")
    for command in ("status", "undo", "process"):
        line = _one_line(cli(command, env.project))
        assert 'role "无名" does not exist' in line
    assert _server_rows(url) == before


def server_newer_schema(env: Env, url: str) -> None:
    import psycopg

    from feasstm_gui.core.store.schema import SCHEMA_VERSION

    _moved(env, url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version=%s", (SCHEMA_VERSION + 1,))
    before = _server_rows(url)
    out = env.base / "快照"
    for args in (("status", env.project), ("undo", env.project), ("process", env.project),
                 ("snapshot", env.project, out)):
        line = _one_line(cli(*args))
        assert "newer FEASSTM Studio" in line and f"schema {SCHEMA_VERSION + 1}" in line
        assert "update the application" in line
    assert not out.exists()
    assert _server_rows(url) == before


def server_images_elsewhere(env: Env, url: str) -> None:
    _moved(env, url)
    before = _server_rows(url)
    elsewhere = env.base / "别的 文件夹"  # a workstation that opened the wrong folder
    (elsewhere / "frames").mkdir(parents=True)
    (elsewhere / "crops").mkdir()
    shutil.copy(env.project / "server.json", elsewhere / "server.json")
    crop = elsewhere / "crops" / EXISTING / "000000.jpg"
    out = env.base / "快照"
    for args in (("process", elsewhere), ("extract", elsewhere), ("align", elsewhere),
                 ("snapshot", elsewhere, out)):
        line = _one_line(cli(*args))
        assert line.startswith(f"feasstm: {crop}: not in this project folder"), line
        assert "nothing was changed" in line
    assert not out.exists()
    assert sorted(p.name for p in elsewhere.rglob("*")) == ["crops", "frames", "server.json"]
    assert _server_rows(url) == before
    # the right folder still works
    r = cli("status", env.project, "--json")
    assert r.status == 0 and '"labelled": 6' in r.out


def server_killed_snapshot_left_a_partial(env: Env, url: str) -> None:
    """A `feasstm snapshot` killed mid-way leaves its hidden `.OUT.partial-PID-HOST` folder; the
    next snapshot to OUT removes it when that process is gone, and says so; one still running
    (or of another machine) is left alone, and said to be."""
    import signal
    import socket
    import time

    from feasstm_gui.core.store.transfer import _host

    _moved(env, url)
    out = env.base / "快照"
    # a real snapshot process, killed once its hidden folder is there
    proc = subprocess.Popen([sys.executable, "-m", "feasstm_gui.cli", "snapshot", str(env.project),
                             str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    partial = env.base / f".{out.name}.partial-{proc.pid}-{_host()}"
    deadline = time.monotonic() + 120
    while not partial.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if out.exists():  # it finished before the kill landed: leave what a kill leaves by hand
        shutil.rmtree(out)
        partial.mkdir()
        (partial / "project.sqlite").write_bytes(b"SQLite format 3\x00 half")
    assert partial.is_dir() and not out.exists()
    alive = env.base / f".{out.name}.partial-{os.getpid()}-{_host()}"  # a snapshot running now
    alive.mkdir()
    other_host = env.base / f".{out.name}.partial-{proc.pid}-not-{socket.gethostname()[:8]}"
    other_host.mkdir()
    stranger = env.base / f".{out.name}.partial-notes"  # not ours by name: never touched
    stranger.mkdir()
    r = cli("snapshot", env.project, out)
    assert r.status == 0, r.err
    assert not partial.exists() and (out / "project.sqlite").is_file()
    lines = r.err.strip().splitlines()
    assert f"feasstm: {partial}: removed: an unfinished snapshot left by process {proc.pid}" \
        in r.err
    assert any(str(alive) in ln and "left alone" in ln and "still running" in ln for ln in lines)
    assert any(str(other_host) in ln and "left alone" in ln for ln in lines)
    assert len(lines) == 3, r.err
    assert alive.is_dir() and other_host.is_dir() and stranger.is_dir()
    with Store.open(out, annotator="check") as copy:
        assert sum(f.code is not None for f in copy.frames(EXISTING, annotator="tester")) == 6


SERVER_CASES: dict[str, Callable[[Env, str], None]] = {
    "server: wrong URL": server_wrong_url,
    "server: login refused": server_refuses_login,
    "server: database from a newer schema": server_newer_schema,
    "server: images not where the rows say": server_images_elsewhere,
    "server: a killed snapshot's hidden folder": server_killed_snapshot_left_a_partial,
}


@pytest.mark.parametrize("case", list(SERVER_CASES))
def test_bad_input_on_a_server(env, pg_url, case):
    before = snapshot(env.project)
    SERVER_CASES[case](env, pg_url)
    if (env.project / "project.sqlite").exists():  # not moved: the SQLite project untouched
        assert snapshot(env.project) == before
