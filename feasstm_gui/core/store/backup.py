"""Backups of the project database (backups/project-*.sqlite) and restoring one.

A backup is a copy made with SQLite's online backup API into a temporary file, renamed into
place when complete; the newest `backup.keep` are kept. `Store.backup`, `Store.backups` and
`Store.backup_if_due` call these functions.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.store import dbfile
from feasstm_gui.core.store.lock import ProjectLock
from feasstm_gui.core.store.store import BACKUP_DIR, DB_NAME, Store


def remove_stale_backup_parts(folder: Path) -> None:
    """A backup cut short by a crash leaves its temporary file; we hold the lock, so no
    other process is writing one."""
    d = folder / BACKUP_DIR
    for part in d.glob("project-*.tmp") if d.is_dir() else []:
        try:
            part.unlink()
        except OSError:
            pass


def backups(folder: Path) -> list[Path]:
    d = folder / BACKUP_DIR
    return sorted(d.glob("project-*.sqlite")) if d.is_dir() else []


def backup(store: Store, tag: str = "", *, keep: int | None = None,
           from_file: bool = False) -> Path:
    """Copy the database with SQLite's online backup API; keep the newest `backup.keep`.
    `from_file` reads through a connection of its own (WAL: it sees the last commit and
    blocks no writer), so a periodic backup never holds the store's lock."""
    d = store.folder / BACKUP_DIR
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    dest = d / f"project-{stamp}{'-' + tag if tag else ''}.sqlite"
    tmp = dest.with_suffix(".tmp")
    try:
        d.mkdir(exist_ok=True)
        target = sqlite3.connect(str(tmp))
        try:
            if from_file:
                source = sqlite3.connect(str(store.db_path), check_same_thread=False)
                try:
                    source.execute("PRAGMA busy_timeout=5000")
                    source.backup(target)
                finally:
                    source.close()
            else:
                with store._mutex:
                    store._conn.backup(target)
            # The copy carries the WAL flag of its source: set it back to a rollback journal,
            # so that reading the backup later leaves no -wal or -shm beside it in backups/.
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
        os.replace(tmp, dest)
    except (OSError, sqlite3.Error) as exc:
        tmp.unlink(missing_ok=True)
        needed = _size(store.db_path) + _size(Path(f"{store.db_path}-wal"))
        if "full" in str(exc) or getattr(exc, "errno", None) == errno.ENOSPC \
                or dbfile.disk_full(d, needed):
            raise FeasstmError(dbfile.full_message(d, needed, "a backup"), path=dest) from exc
        raise FeasstmError(f"could not write a backup ({exc})", path=dest) from exc
    if keep is None:
        keep = int(store.param("backup.keep", 10))
    for old in backups(store.folder)[:-keep]:
        old.unlink(missing_ok=True)
    return dest


def backup_if_due(store: Store) -> Path | None:
    found = backups(store.folder)
    interval = float(store.param("backup.min_interval_s", 600))
    if found:
        age = datetime.now().timestamp() - found[-1].stat().st_mtime
        if age < interval:
            return None
    if store.db.one("SELECT COUNT(*) FROM frames")[0] == 0 and not found:
        return None  # nothing to lose yet
    return backup(store)


def restore_backup(folder: str | Path, backup: str | Path | None = None) -> Path:
    """Replace the project database by a backup (the newest by default). The project must not
    be open. The project always keeps a readable database: the backup is copied beside it and
    checked first, the current database is saved into backups/ (or, when it is damaged, empty
    or not a project's, moved there as damaged-*), and the copy is renamed in last."""
    folder = Path(folder)
    lock = ProjectLock(folder)
    lock.acquire()
    try:
        bdir = folder / BACKUP_DIR
        candidates = backups(folder)
        src = Path(backup) if backup else (candidates[-1] if candidates else None)
        if src is None or not src.is_file():
            raise FeasstmError("no backup to restore", path=bdir)
        dbfile.check_restore_source(src)
        db = folder / DB_NAME
        needed = src.stat().st_size + dbfile.OPEN_NEEDS + _size(db) + _size(Path(f"{db}-wal"))
        full = FeasstmError(dbfile.full_message(
            folder, needed, f"restoring {src.name} (a checked copy of it, and a copy of the "
            "current database kept in backups/)"), path=db)
        try:
            sound = _sound_project_db(db)
        except sqlite3.Error as exc:
            if dbfile.disk_full(folder, needed):
                raise full from exc
            raise dbfile.open_error(exc, db, writing=True) from exc
        if not sound:
            needed -= _size(db) + _size(Path(f"{db}-wal"))
        if dbfile.disk_full(folder, needed):
            raise full
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        tmp = folder / f".{DB_NAME}.restoring-{os.getpid()}"
        try:
            _copy_database(src.resolve().as_uri() + "?mode=ro&immutable=1", tmp)
            dbfile.check_restore_source(tmp)
            bdir.mkdir(exist_ok=True)
            if sound:
                saved = bdir / f"project-{stamp}-before-restore.sqlite"
                part = saved.with_suffix(".tmp")
                _copy_database(str(db), part, checkpoint=True)
                os.replace(part, saved)
            elif db.exists():
                # Damaged, empty or not a project's: keep its bytes aside, named so that it is
                # never taken for a backup.
                _move_damaged_aside(db, bdir / f"damaged-{stamp}-{DB_NAME}")
            for side in ("-wal", "-shm"):  # the old database's: never to be read with the new
                Path(f"{db}{side}").unlink(missing_ok=True)
            os.replace(tmp, db)
        except (OSError, sqlite3.Error) as exc:
            tmp.unlink(missing_ok=True)
            for part in bdir.glob("project-*-before-restore.tmp"):
                part.unlink(missing_ok=True)
            if "full" in str(exc) or getattr(exc, "errno", None) == errno.ENOSPC \
                    or dbfile.disk_full(folder):
                raise full from exc
            raise FeasstmError(f"could not restore {src.name} into the project ({exc}); the "
                               "project database was not changed", path=db) from exc
        return src
    finally:
        lock.release()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _sound_project_db(db: Path) -> bool:
    """Whether the current database is a project's and readable (worth keeping as a backup)."""
    if not db.is_file() or db.stat().st_size == 0:
        return False
    try:
        con = sqlite3.connect(str(db))
    except sqlite3.Error:
        return False
    try:
        return dbfile.schema_problem(con) is None
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc) or "malformed" in str(exc):
            return False
        raise  # not damage: a full disk, a busy or unreadable file (the caller says which)
    finally:
        con.close()


def _copy_database(source: str, dest: Path, *, checkpoint: bool = False) -> None:
    """Copy a database with SQLite's backup API into `dest`, left in rollback-journal mode so
    that reading it later leaves no -wal or -shm beside it."""
    dest.unlink(missing_ok=True)
    src = sqlite3.connect(source, uri=source.startswith("file:"))
    try:
        src.execute(f"PRAGMA busy_timeout={dbfile.BUSY_TIMEOUT_MS}")
        if checkpoint:
            try:
                src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass  # the backup API reads through the WAL anyway
        dst = sqlite3.connect(str(dest))
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def _move_damaged_aside(db: Path, aside: Path) -> None:
    """Move a damaged database file and its WAL files out of the way (kept, not deleted)."""
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{db}{suffix}")
        if part.exists():
            os.replace(part, Path(f"{aside}{suffix}"))
