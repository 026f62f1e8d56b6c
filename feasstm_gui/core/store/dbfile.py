"""What is wrong with a project's database file, told apart and said plainly.

A full disk, another program holding the database, read-only media, an empty or foreign file
and real damage all reach us as a few SQLite errors ("disk I/O error", "database is locked",
"unable to open database file", "file is not a database"). Only real damage calls for restoring
a backup; the others need space, patience, another disk or another file, and the message says
which.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.store.schema import SCHEMA_VERSION

#: Room SQLite needs beside a database to open it for writing (its -shm is 32 kB, its -wal
#: grows with each transaction) and to commit an ordinary edit.
OPEN_NEEDS = 1024 * 1024
#: How long a write waits for another program's write transaction (PRAGMA busy_timeout).
BUSY_TIMEOUT_MS = 5000
#: Tables every project database has (schema version 1 on).
PROJECT_TABLES = frozenset({"params", "clips", "frames", "faces", "labels", "edits"})
#: Folders of a project that hold its work (frames, crops, backups).
WORK_DIRS = ("frames", "crops", "backups")


def free_bytes(path: Path) -> int | None:
    """Free space on the file system holding `path` (its nearest existing folder)."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def size_text(n: int) -> str:
    if n < 1024 * 1024:
        return f"{max(1, round(n / 1024))} kB" if n else "0 kB"
    if n < 1024 ** 3:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n / 1024 ** 3:.1f} GB"


def disk_full(path: Path, needed: int = OPEN_NEEDS) -> bool:
    free = free_bytes(path)
    return free is not None and free < needed


def full_message(path: Path, needed: int, doing: str) -> str:
    free = free_bytes(path)
    have = f" ({size_text(free)} free)" if free is not None else ""
    return (f"the disk is full{have}: {doing} needs about {size_text(needed)} free there. "
            "Free some space and try again; nothing was changed")


def holders(db: Path) -> list[str]:
    """Other processes that have the database (or its -wal) open, as 'name (process N)'.
    Linux only (/proc); elsewhere, or without permission, an empty list."""
    targets = set()
    for suffix in ("", "-wal", "-shm"):
        try:
            targets.add(os.path.realpath(f"{db}{suffix}"))
        except OSError:
            pass
    found: list[str] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    me = os.getpid()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue
        if links & targets:
            try:
                name = (entry / "comm").read_text(encoding="utf-8", errors="replace").strip()
            except OSError:
                name = "?"
            found.append(f"{name} (process {entry.name})")
    return sorted(found)


def describe_holders(db: Path) -> str:
    who = holders(db)
    if not who:
        return "another program"
    return f"another program ({', '.join(who)} {'has' if len(who) == 1 else 'have'} it open)"


def busy_message(db: Path) -> str:
    return (f"the database is busy: {describe_holders(db)} is writing it and did not finish "
            f"within {BUSY_TIMEOUT_MS // 1000} s; nothing was changed. Wait for it or close it, "
            "then try again")


def is_locked(exc: BaseException) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def runtime_error(exc: sqlite3.OperationalError, path: Path) -> FeasstmError:
    """A write that failed on an open project (the database itself is sound)."""
    text = str(exc)
    db = path if path.name.endswith(".sqlite") else path / "project.sqlite"
    if "full" in text or disk_full(db.parent):
        return FeasstmError(full_message(db.parent, OPEN_NEEDS, "saving this change")
                            .replace("nothing was changed", "the last change was not saved, "
                                     "all earlier ones are"), path=path)
    if "readonly" in text or "read-only" in text:
        return FeasstmError("the project cannot be written (read-only file system or "
                            "permissions); nothing was changed", path=path)
    if is_locked(exc):
        return FeasstmError(busy_message(db), path=path)
    return FeasstmError(f"database error: {text}", path=path)


def open_error(exc: sqlite3.Error, db: Path, *, writing: bool) -> FeasstmError:
    """Why a project database could not be opened: full disk, busy, read-only media, damage."""
    text = str(exc)
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return FeasstmError(f"not a readable project database ({text}): it is damaged; "
                            f"restore a backup from {db.parent / 'backups'} with `feasstm "
                            f"restore {db.parent}`", path=db)
    if "full" in text or disk_full(db.parent):
        return FeasstmError(full_message(db.parent, OPEN_NEEDS, "opening the project"), path=db)
    if is_locked(exc):
        return FeasstmError(busy_message(db), path=db)
    if not writing and wal_pending(db):
        return FeasstmError(
            f"cannot be read read-only: its last changes are still in {db.name}-wal, which "
            f"SQLite reads only with a {db.name}-shm it cannot make here (a read-only disk or "
            "folder); copy the project folder to a writable disk and open it there", path=db)
    return FeasstmError(f"the database cannot be opened ({text}): check that the disk is "
                        "mounted and readable and the folder's permissions", path=db)


def wal_pending(db: Path) -> bool:
    """Whether a -wal file with content lies beside the database (changes not yet in it)."""
    try:
        return Path(f"{db}-wal").stat().st_size > 0
    except OSError:
        return False


def schema_problem(conn: sqlite3.Connection) -> str | None:
    """'empty' (no table: a 0-byte or new file), 'foreign' (not a project database), or None."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if not tables and version == 0:
        return "empty"
    if version == 0 or not PROJECT_TABLES <= tables:
        return "foreign"
    return None


def project_work(folder: Path) -> list[str]:
    """The work folders (frames, crops, backups) that hold something."""
    found = []
    for name in WORK_DIRS:
        try:
            if any((folder / name).iterdir()):
                found.append(f"{name}/")
        except OSError:
            pass
    return found


def not_a_project_error(kind: str, db: Path, work: list[str]) -> FeasstmError:
    size = db.stat().st_size if db.exists() else 0
    what = (f"is empty ({size} bytes)" if kind == "empty" else
            "is an SQLite database but not a FEASSTM project's (its tables are not ours)")
    where = f"; the folder holds {', '.join(work)}" if work else ""
    folder = db.parent
    have = sorted((folder / "backups").glob("project-*.sqlite"))
    way = (f"Restore the newest backup with `feasstm restore {folder}` ({len(have)} in "
           f"backups/), or give one: `feasstm restore {folder} BACKUP.sqlite`" if have else
           f"There is no backup in backups/: give one with `feasstm restore {folder} "
           "BACKUP.sqlite`")
    return FeasstmError(f"the project database {what}{where}. {way}; nothing was changed",
                        path=db)


def check_restore_source(src: Path) -> None:
    """A backup to restore must be a sound project database of a schema this version reads.
    Opened immutable: reading it writes nothing beside it (no -wal, no -shm)."""
    try:
        con = sqlite3.connect(src.resolve().as_uri() + "?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise FeasstmError(f"the backup cannot be opened ({exc})", path=src) from exc
    try:
        ok = con.execute("PRAGMA integrity_check").fetchone()[0]
        kind = schema_problem(con)
        version = con.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise FeasstmError(f"the backup is not a readable database ({exc})", path=src) from exc
    finally:
        con.close()
    if ok != "ok":
        raise FeasstmError(f"the backup is damaged ({ok})", path=src)
    if kind == "empty":
        raise FeasstmError("the backup is empty: it holds no project; choose another",
                           path=src)
    if kind == "foreign":
        raise FeasstmError("not a FEASSTM project database (its tables are not a project's); "
                           "choose a backup from the project's backups/ folder", path=src)
    if version > SCHEMA_VERSION:
        raise FeasstmError(f"the backup was written by a newer FEASSTM Studio (schema {version},"
                           f" this version reads up to {SCHEMA_VERSION}); update the "
                           "application", path=src)
