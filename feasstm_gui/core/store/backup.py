"""Backups of the project database (backups/project-*.sqlite) and restoring one.

A backup is a copy made with SQLite's online backup API into a temporary file, renamed into
place when complete; the newest `backup.keep` are kept. `Store.backup`, `Store.backups` and
`Store.backup_if_due` call these functions.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from feasstm_gui.core.errors import FeasstmError
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
        finally:
            target.close()
        os.replace(tmp, dest)
    except (OSError, sqlite3.Error) as exc:
        tmp.unlink(missing_ok=True)
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
    if store._one("SELECT COUNT(*) FROM frames")[0] == 0 and not found:
        return None  # nothing to lose yet
    return backup(store)


def restore_backup(folder: str | Path, backup: str | Path | None = None) -> Path:
    """Replace the project database by a backup (the newest by default). The current database
    is kept as a backup first. The project must not be open."""
    folder = Path(folder)
    lock = ProjectLock(folder)
    lock.acquire()
    try:
        bdir = folder / BACKUP_DIR
        candidates = sorted(bdir.glob("project-*.sqlite")) if bdir.is_dir() else []
        src = Path(backup) if backup else (candidates[-1] if candidates else None)
        if src is None or not src.is_file():
            raise FeasstmError("no backup to restore", path=bdir)
        probe = sqlite3.connect(src.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            ok = probe.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise FeasstmError(f"the backup is not a readable database ({exc})", path=src) from exc
        finally:
            probe.close()
        if ok != "ok":
            raise FeasstmError(f"the backup is damaged ({ok})", path=src)
        db = folder / DB_NAME
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        if db.exists():
            saved = bdir / f"project-{stamp}-before-restore.sqlite"
            cur = sqlite3.connect(str(db))
            dst = sqlite3.connect(str(saved))
            try:
                cur.backup(dst)
            except sqlite3.DatabaseError:
                # Not a database any more: it cannot be copied nor written over. Keep its bytes
                # aside (named so that it is never taken for a backup) and restore into a new file.
                dst.close()
                saved.unlink(missing_ok=True)
                _move_damaged_aside(db, bdir / f"damaged-{stamp}-{DB_NAME}")
            finally:
                cur.close()
                dst.close()
        src_conn = sqlite3.connect(src.resolve().as_uri() + "?mode=ro", uri=True)
        dst_conn = sqlite3.connect(str(db))
        try:
            src_conn.backup(dst_conn)
        except sqlite3.Error as exc:
            raise FeasstmError(f"could not restore {src.name} into the project ({exc})",
                               path=db) from exc
        finally:
            src_conn.close()
            dst_conn.close()
        return src
    finally:
        lock.release()


def _move_damaged_aside(db: Path, aside: Path) -> None:
    """Move a damaged database file and its WAL files out of the way (kept, not deleted)."""
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{db}{suffix}")
        if part.exists():
            os.replace(part, Path(f"{aside}{suffix}"))
