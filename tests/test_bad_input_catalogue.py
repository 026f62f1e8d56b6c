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
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
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
