"""A project moved between the two back ends (issue 16): `move_to_server` (a SQLite project's
rows copied to an empty PostgreSQL database; the folder then names the server) and `snapshot`
(a server project written out as a self-contained SQLite project folder: archive, offline work).

Every table of the schema is copied row for row, ids included (the edit log's batches, frame
ids in labels and ratings keep their meaning), in the order the migrations create the tables
(a row's references exist before it). The copy is one transaction on the receiving side, and
its row counts are compared with the source's before it is committed: a failure leaves nothing.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.store.schema import MIGRATIONS, SCHEMA_VERSION
from feasstm_gui.core.store.store import CROPS_DIR, DB_NAME, FRAMES_DIR, Store

#: Where move_to_server keeps the SQLite database it moved (renamed, never deleted).
MOVED_DB = DB_NAME + ".moved-to-server"

_CREATE_TABLE = re.compile(r"\bCREATE\s+TABLE\s+(\w+)", re.I)


def tables() -> list[str]:
    """Every table of the schema, in the order the migrations create them."""
    return [name for script in MIGRATIONS for name in _CREATE_TABLE.findall(script)]


def _columns(db, table: str) -> list[str]:
    """The table's column names, read from the database itself (a plain SELECT, both back
    ends)."""
    with db.mutex:
        cur = db.conn.execute(f"SELECT * FROM {table} LIMIT 0")
        names = [d[0] for d in cur.description]
        cur.fetchall()
    return names


def copy_rows(src, dst) -> dict[str, int]:
    """Copy every table's rows from database handle `src` to `dst` (same schema version; `dst`
    empty), inside the caller's transaction on `dst`. Returns rows per table."""
    counts: dict[str, int] = {}
    for table in tables():
        cols = _columns(src, table)
        listed = ", ".join(cols)
        rows = src.query(f"SELECT {listed} FROM {table}")
        if rows:
            dst.executemany(f"INSERT INTO {table} ({listed}) VALUES "
                            f"({', '.join('?' * len(cols))})", rows)
        counts[table] = len(rows)
    return counts


def _counts(db) -> dict[str, int]:
    return {t: db.one(f"SELECT COUNT(*) FROM {t}")[0] for t in tables()}


def _check_counts(copied: dict[str, int], dst, where: str) -> None:
    there = _counts(dst)
    wrong = [f"{t}: {copied[t]} copied, {there[t]} there" for t in copied if copied[t] != there[t]]
    if wrong:
        raise FeasstmError(f"the copy to {where} does not match ({'; '.join(wrong)}); nothing "
                           "was changed")


def _advance_identities(db) -> None:
    """PostgreSQL: ids copied as they were; each identity column's sequence moves past them."""
    for table in tables():
        if "id" not in _columns(db, table):
            continue
        seq = db.one("SELECT pg_get_serial_sequence(?, 'id')", (table,))[0]
        if seq is not None:
            db.execute(f"SELECT setval(?, COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, "
                       "false)", (seq,))


def move_to_server(folder: str | Path, url: str) -> dict[str, int]:
    """Copy a SQLite project's rows to the empty database at `url`; the folder then names the
    server (server.json) and its SQLite database is kept aside as MOVED_DB. Nothing is written
    (on either side) when anything fails before the copy is committed."""
    from feasstm_gui.core.files import atomic_write
    from feasstm_gui.core.store.pg import PostgresDatabase, _psycopg, migrate, redact
    from feasstm_gui.core.store.server import SERVER_FILE, check_url, is_server_project

    folder = Path(folder)
    url = check_url(url)
    if is_server_project(folder):
        raise FeasstmError("this project is already on a server (server.json); nothing was "
                           "changed", path=folder)
    if not (folder / DB_NAME).is_file():
        raise FeasstmError(f"not a FEASSTM project (no {DB_NAME})", path=folder)
    if (folder / MOVED_DB).exists():
        raise FeasstmError(f"{MOVED_DB} is already there (an earlier move?); nothing was "
                           "changed", path=folder / MOVED_DB)
    store = Store.open(folder, backup=False)  # the writer's lock: nobody edits meanwhile
    try:
        problems = store.integrity_check()
        if problems:
            raise FeasstmError("the database is damaged: " + "; ".join(problems[:3])
                               + "; nothing was moved", path=store.db_path)
        dst = PostgresDatabase.open(url)
        try:
            with dst.transaction():
                migrate(dst)
                if dst.one("SELECT 1 FROM params WHERE key='project.name'"):
                    copied = _same_project(store.db, dst)
                    if copied is None:
                        raise FeasstmError(f"the database {redact(url)} already holds a "
                                           "project; name an empty database; nothing was "
                                           "changed")
                    # an earlier move of this very project stopped before server.json was
                    # written: the rows are all there; the folder is finished below
                elif _counts(dst) != dict.fromkeys(tables(), 0):
                    raise FeasstmError(f"the database {redact(url)} is not empty; name an "
                                       "empty database; nothing was changed")
                else:
                    with store.db.snapshot():
                        copied = copy_rows(store.db, dst)
                    _advance_identities(dst)
                    _check_counts(copied, dst, redact(url))
        except _psycopg().Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise FeasstmError(f"the database server {redact(url)} refused the copy ({first}); "
                               "nothing was changed", path=folder) from exc
        finally:
            dst.close()
        # from here the server holds the project: the folder names it, then the file goes aside
        atomic_write(folder / SERVER_FILE, f'{{"url": {_json(url)}}}\n')
    finally:
        store.close()
    for suffix in ("", "-wal", "-shm"):
        old = folder / (DB_NAME + suffix)
        if old.exists():
            os.replace(old, folder / (MOVED_DB + suffix))
    return copied


def _same_project(src, dst) -> dict[str, int] | None:
    """The server already holds exactly this project's rows (a move interrupted after its
    commit): the row counts, or None when it holds something else."""
    counts = _counts(src)
    if counts != _counts(dst):
        return None
    for table in ("params", "edits"):
        cols = ", ".join(_columns(src, table))
        order = "key" if table == "params" else "id"
        if src.query(f"SELECT {cols} FROM {table} ORDER BY {order}") != dst.query(
                f"SELECT {cols} FROM {table} ORDER BY {order}"):
            return None
    return counts


def _json(text: str) -> str:
    import json
    return json.dumps(text, ensure_ascii=False)


def snapshot(folder: str | Path, out: str | Path, *, say=None) -> dict[str, int]:
    """Write a server project out as a self-contained SQLite project folder `out` (its rows,
    and the frames/ and crops/ images). `out` appears only when complete. What an earlier
    snapshot to `out` that was killed left is cleaned first (`stale_partials`); `say(text)` is
    told what was removed or left alone."""
    from feasstm_gui.core.store.server import is_server_project

    folder, out = Path(folder), Path(out)
    if not is_server_project(folder):
        raise FeasstmError("not a project on a server (no server.json); a SQLite project is "
                           "its own snapshot (copy the folder, or `feasstm backup`)", path=folder)
    if out.exists() or out.is_symlink():
        raise FeasstmError("already exists; choose a new folder for the snapshot", path=out)
    if not out.parent.is_dir():
        raise FeasstmError("no such folder", path=out.parent)
    for note in stale_partials(out):
        if say is not None:
            say(note)
    src = Store.open(folder, annotator="snapshot")
    tmp = out.parent / f"{_partial_prefix(out)}{os.getpid()}-{_host()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        if src.schema_version != SCHEMA_VERSION:  # pragma: no cover - open migrates
            raise FeasstmError("the server's schema is not this version's", path=folder)
        src.check_folder()  # the wrong folder altogether: one line
        missing = src.consistency_problems()
        if missing:
            raise FeasstmError("the project folder lacks images the server's rows name: "
                               + "; ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
                               + "; no snapshot written", path=folder)
        dst = Store.create(tmp, annotator="snapshot", name="snapshot")
        try:
            with dst.db.transaction():
                for table in tables():
                    dst.db.execute(f"DELETE FROM {table}")
                with src.db.snapshot():
                    copied = copy_rows(src.db, dst.db)
                _check_counts(copied, dst.db, str(out))
            for sub in (FRAMES_DIR, CROPS_DIR):
                shutil.rmtree(tmp / sub)
                if (folder / sub).is_dir():
                    shutil.copytree(folder / sub, tmp / sub, symlinks=False)
                else:
                    (tmp / sub).mkdir()
        finally:
            dst.close()
        (tmp / "project.lock").unlink(missing_ok=True)  # the snapshot's own, no longer held
        _sync_tree(tmp)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        src.close()
    return copied


def _partial_prefix(out: Path) -> str:
    return f".{out.name}.partial-"


def _host() -> str:
    """This machine's name as it can stand in a file name (a snapshot may be written on a
    mount other workstations share: a process number means something only on its machine)."""
    import re
    import socket
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname())[:64] or "host"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or cannot tell: alive
    return True


def stale_partials(out: str | Path) -> list[str]:
    """Remove the hidden folders `.OUT.partial-PID-HOST` that a killed snapshot to `out` left,
    where PID is a process of this machine that is no longer running; the others (a snapshot
    still being written, here or on another machine) are left alone. Returns one line for each
    found, saying which was removed and which left alone (and why)."""
    out = Path(out)
    prefix = _partial_prefix(out)
    notes: list[str] = []
    try:
        found = sorted(p for p in out.parent.iterdir() if p.name.startswith(prefix))
    except OSError:
        return notes
    here = _host()
    for path in found:
        pid_text, _sep, host = path.name[len(prefix):].partition("-")
        if not pid_text.isdigit() or path.is_symlink() or not path.is_dir():
            continue  # not one of ours
        pid = int(pid_text)
        if host and host != here:
            notes.append(f"{path}: left alone: an unfinished snapshot written by process {pid} "
                         f"on {host} (still running there, or killed: remove it by hand once "
                         "it is not being written)")
        elif _pid_alive(pid):
            notes.append(f"{path}: left alone: a snapshot being written by process {pid}, "
                         "still running")
        else:
            try:
                shutil.rmtree(path)
            except OSError as exc:
                notes.append(f"{path}: an unfinished snapshot of process {pid} (no longer "
                             f"running) could not be removed ({exc.strerror}); remove it by hand")
                continue
            notes.append(f"{path}: removed: an unfinished snapshot left by process {pid}, "
                         "which was stopped before it finished")
    return notes


def _sync_tree(root: Path) -> None:
    """The database file on disk before the folder takes its final name."""
    for path in (root / DB_NAME,):
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            pass
