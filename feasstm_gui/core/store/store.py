"""The project store: one SQLite database (WAL) in a project folder, plus the images it owns.

Every edit is committed when it is made, in the same transaction as its edit-log rows, so a
crash loses nothing and undo/redo survive a restart. All SQL of the application lives in this
package.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from feasstm_gui import __version__
from feasstm_gui.core.errors import FeasstmError, ProjectLocked
from feasstm_gui.core.names import check_clip_id
from feasstm_gui.core.project_settings import DEFAULTS
from feasstm_gui.core.store import dbfile
from feasstm_gui.core.store.db import Database, SqliteDatabase
from feasstm_gui.core.store.lock import ProjectLock
from feasstm_gui.core.store.schema import MIGRATIONS, SCHEMA_VERSION
from feasstm_gui.core.vocab import CODES, REASONS, SUGGESTED_REASONS

DB_NAME = "project.sqlite"
BACKUP_DIR = "backups"
FRAMES_DIR = "frames"
CROPS_DIR = "crops"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dumps(value: Any) -> str | None:
    """JSON text of a value, numpy arrays and scalars written as plain JSON values."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_plain_default)


def _plain_default(value: Any) -> Any:
    """What JSON cannot write itself: numpy arrays and scalars (np.float64 is a float and is
    written as one; the others have ``tolist``)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@dataclass
class Clip:
    id: str
    video: str | None = None
    work: str = ""
    actor: str = ""
    role: str = ""
    group: str = ""
    start_s: float | None = None
    end_s: float | None = None
    fps: float | None = None
    source: str = "video"
    extract_status: str = "pending"
    align_status: str = "pending"
    error: str | None = None
    position: int = 0


@dataclass
class FrameRow:
    """One frame as the strip, the preview and the export see it."""

    id: int
    clip: str
    frame_index: int
    time_ms: float | None
    image: str | None
    source_name: str | None
    irrelevant: bool
    crop: str | None
    prob: float | None
    sharpness: float | None
    code: int | None  # the final label, or the annotator's own when asked for
    reasons: frozenset[str] = field(default_factory=frozenset)
    suggested: frozenset[str] = field(default_factory=frozenset)

    @property
    def deleted(self) -> bool:
        return bool(self.reasons)


@dataclass
class Face:
    frame_id: int
    version: int
    box: list[float] | None
    landmarks: list[list[float]] | None
    prob: float | None
    crop: str
    params: dict | None
    sharpness: float | None
    scores: dict | None
    created_at: str


@dataclass
class EditBatch:
    batch: int
    at: str
    annotator: str
    description: str
    state: str
    changes: list[tuple[str, dict, Any, Any]]  # (op, target, old, new)


_CLIP_COLUMNS = (
    "id, video, work, actor, role, grp, start_s, end_s, fps, source, "
    "extract_status, align_status, error, position"
)


def _value_key(op: str, target: dict) -> str:
    """What one edit changes, as a key (serialise_edits waits for steps changing the same)."""
    return f"{op}:{_dumps(target)}"


def _clip_from_row(row: Sequence) -> Clip:
    return Clip(*row[:5], row[5], *row[6:])


# ---------------------------------------------------------------------------------------------
# Edit operations: each knows how to read and write one value, so the log can undo it.
# ---------------------------------------------------------------------------------------------


class _Op:
    """How one kind of value is read and written, through the database handle (so any back end
    serves it): the edit log reads the old value, writes the new one, and writes it back to undo."""

    def get(self, db: Database, t: dict) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def set(self, db: Database, t: dict, value: Any, who: str, at: str) -> None:
        raise NotImplementedError  # pragma: no cover


class _LabelOp(_Op):
    def get(self, db, t):
        row = db.one(
            "SELECT code FROM labels WHERE frame_id=? AND annotator=?", (t["frame"], t["annotator"])
        )
        return row[0] if row else None

    def set(self, db, t, value, who, at):
        if value is None:
            db.execute(
                "DELETE FROM labels WHERE frame_id=? AND annotator=?", (t["frame"], t["annotator"])
            )
        else:
            db.execute(
                "INSERT INTO labels (frame_id, annotator, code, labelled_at) VALUES (?,?,?,?) "
                "ON CONFLICT (frame_id, annotator) DO UPDATE SET code=excluded.code, "
                "labelled_at=excluded.labelled_at",
                (t["frame"], t["annotator"], int(value), at),
            )


class _DeletionOp(_Op):
    def get(self, db, t):
        row = db.one(
            "SELECT 1 FROM deletions WHERE frame_id=? AND reason=?", (t["frame"], t["reason"])
        )
        return row is not None

    def set(self, db, t, value, who, at):
        if value:
            db.execute(
                "INSERT OR IGNORE INTO deletions (frame_id, reason, annotator, at) VALUES (?,?,?,?)",
                (t["frame"], t["reason"], who, at),
            )
        else:
            db.execute(
                "DELETE FROM deletions WHERE frame_id=? AND reason=?", (t["frame"], t["reason"])
            )


class _IrrelevantOp(_Op):
    def get(self, db, t):
        row = db.one("SELECT irrelevant FROM frames WHERE id=?", (t["frame"],))
        return bool(row[0]) if row else None

    def set(self, db, t, value, who, at):
        db.execute("UPDATE frames SET irrelevant=? WHERE id=?", (1 if value else 0, t["frame"]))


class _SuggestionOp(_Op):
    def get(self, db, t):
        row = db.one(
            "SELECT status FROM suggestions WHERE frame_id=? AND reason=?",
            (t["frame"], t["reason"]),
        )
        return row[0] if row else None

    def set(self, db, t, value, who, at):
        if value is None:
            db.execute(
                "DELETE FROM suggestions WHERE frame_id=? AND reason=?", (t["frame"], t["reason"])
            )
        else:
            db.execute(
                "INSERT INTO suggestions (frame_id, reason, status) VALUES (?,?,?) "
                "ON CONFLICT (frame_id, reason) DO UPDATE SET status=excluded.status",
                (t["frame"], t["reason"], value),
            )


class _AdjudicationOp(_Op):
    def get(self, db, t):
        row = db.one(
            "SELECT code FROM adjudications WHERE frame_id=?", (t["frame"],)
        )
        return row[0] if row else None

    def set(self, db, t, value, who, at):
        if value is None:
            db.execute("DELETE FROM adjudications WHERE frame_id=?", (t["frame"],))
        else:
            db.execute(
                "INSERT INTO adjudications (frame_id, code, annotator, decided_at) VALUES (?,?,?,?) "
                "ON CONFLICT (frame_id) DO UPDATE SET code=excluded.code, "
                "annotator=excluded.annotator, decided_at=excluded.decided_at",
                (t["frame"], int(value), who, at),
            )


class _FaceVersionOp(_Op):
    """Which stored face (crop) is current for a frame: re-align writes a new one."""

    def get(self, db, t):
        row = db.one("SELECT face_version FROM frames WHERE id=?", (t["frame"],))
        return row[0] if row else None

    def set(self, db, t, value, who, at):
        db.execute("UPDATE frames SET face_version=? WHERE id=?", (value, t["frame"]))


#: op name -> handler. Other parts of the store register their own (ratings, clip metadata).
OPS: dict[str, _Op] = {
    "label": _LabelOp(),
    "deletion": _DeletionOp(),
    "irrelevant": _IrrelevantOp(),
    "suggestion": _SuggestionOp(),
    "adjudication": _AdjudicationOp(),
    "face_version": _FaceVersionOp(),
}


def register_op(name: str, op: _Op) -> None:
    OPS[name] = op


class Store:
    """An open project. Thread-safe: one connection, used under a lock.

    `db` is the database handle (core/store/db.py) that the store package's other modules
    (views, ratings, export queries) use; the edits an annotator makes go through
    `apply_edits`, which logs them for undo and audit."""

    def __init__(self, folder: Path, conn: sqlite3.Connection, lock: ProjectLock | None,
                 annotator: str, read_only: bool):
        self.folder = folder
        self.db = SqliteDatabase(conn)
        self._conn = conn
        self._lock = lock
        self._mutex = self.db.mutex
        self.annotator = annotator
        self.read_only = read_only
        self._params_cache: dict[str, Any] | None = None
        # Periodic backups while the project is open (see _after_edit).
        self._edits_since_backup = 0
        self._last_backup_at = time.monotonic()
        self._backup_thread: threading.Thread | None = None
        self.backup_error: FeasstmError | None = None  # the last periodic backup's failure

    # -- opening and closing -----------------------------------------------------------------

    @classmethod
    def create(cls, folder: str | Path, annotator: str = "", name: str | None = None, *,
               server: str | None = None) -> Store:
        """Make a new project folder (it must not exist or be empty) and open it. `server`: a
        PostgreSQL URL; the database lives there (core/store/server.py)."""
        if server is not None:
            from feasstm_gui.core.store.server import ServerStore
            return ServerStore.create(folder, annotator, name, server=server)
        folder = Path(folder)
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise FeasstmError(
                "a file or a non-empty folder is already there; choose a new folder", path=folder
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for sub in (FRAMES_DIR, CROPS_DIR, BACKUP_DIR):
                (folder / sub).mkdir(exist_ok=True)
        except OSError as exc:
            raise FeasstmError(f"cannot create the project folder ({exc.strerror})",
                               path=folder) from exc
        store = cls.open(folder, annotator=annotator, backup=False)
        store._set_new_project_params(name or folder.name)
        return store

    def _set_new_project_params(self, name: str) -> None:
        """What a new project stores first: its name, when and by which version it was made,
        and every default parameter (so it keeps its own)."""
        with self._tx():
            self._set_params({"project.name": name, "project.created": utc_now(),
                              "project.app_version": __version__, **DEFAULTS})

    @classmethod
    def open(cls, folder: str | Path, annotator: str = "", *, read_only: bool = False,
             check: bool = False, backup: bool = True, create: bool = False) -> Store:
        """Open a project. Refuses a second writer, a database from a newer version, a file
        that is not a project. `check` runs PRAGMA integrity_check first."""
        folder = Path(folder)
        db = folder / DB_NAME
        if not folder.is_dir():
            raise FeasstmError("no such project folder", path=folder)
        if (folder / "server.json").is_file():  # a team's project on a PostgreSQL server
            from feasstm_gui.core.store.server import ServerStore
            return ServerStore.open(folder, annotator, read_only=read_only, check=check)
        existed = db.exists()
        if not existed and not create and any(folder.iterdir()):
            if not (folder / FRAMES_DIR).is_dir():
                raise FeasstmError(f"not a FEASSTM project (no {DB_NAME})", path=folder)
        annotator = annotator or default_annotator()
        lock = None
        if not read_only:
            lock = ProjectLock(folder, annotator)
            try:
                lock.acquire()
            except ProjectLocked as exc:
                if isinstance(exc.__cause__, OSError):  # no lock file: read-only media
                    cls._readable_or_say_why(db, exc)
                raise
        try:
            conn = cls._connect(db, read_only)
            store = cls(folder, conn, lock, annotator, read_only)
            store._check_project_db(existed)
            if not read_only:
                cls._enable_wal(conn, db)
            if check:
                problems = store.integrity_check()
                if problems:
                    raise FeasstmError("the database is damaged: " + "; ".join(problems[:5])
                                       + " (restore a backup with `feasstm restore`)", path=db)
            if not read_only:
                store._migrate()
                store._remove_stale_backup_parts()
                if backup:
                    store.backup_if_due()
            else:
                store._check_version()
        except BaseException:
            if lock:
                lock.release()
            raise
        return store

    @staticmethod
    def _connect(db: Path, read_only: bool) -> sqlite3.Connection:
        """Connect (read-only: `mode=ro`; on read-only media without a pending -wal, where
        SQLite cannot make its -shm, `immutable=1`). Errors say what is wrong (dbfile.py)."""
        conn = None
        try:
            if read_only:
                uri = db.resolve().as_uri()
                try:
                    conn = sqlite3.connect(uri + "?mode=ro", uri=True, isolation_level=None,
                                           check_same_thread=False)
                    conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                except sqlite3.OperationalError:
                    if conn is not None:
                        conn.close()
                    if not db.is_file() or dbfile.wal_pending(db):
                        raise
                    conn = sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True,
                                           isolation_level=None, check_same_thread=False)
            else:
                conn = sqlite3.connect(str(db), isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={dbfile.BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            raise dbfile.open_error(exc, db, writing=not read_only) from exc
        return conn

    @staticmethod
    def _enable_wal(conn: sqlite3.Connection, db: Path) -> None:
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise dbfile.open_error(exc, db, writing=True) from exc
        if mode.lower() != "wal":
            conn.close()
            raise FeasstmError(f"cannot switch the database to WAL mode ({mode})", path=db)

    @classmethod
    def _readable_or_say_why(cls, db: Path, locked: ProjectLocked) -> None:
        """The lock file cannot be made: the advice to open the project read-only holds only
        if that works; otherwise say why it does not."""
        try:
            cls._connect(db, True).close()
        except FeasstmError as exc:
            raise FeasstmError(f"cannot create the lock file ({locked.__cause__.strerror}), "
                               f"and the project cannot be read either: {exc}",
                               path=db.parent / "project.lock") from exc

    def _check_project_db(self, existed: bool) -> None:
        """Refuse an empty database where a project was (a 0-byte file beside frames, crops or
        backups) and an SQLite file that is not a project's: never build a schema into them."""
        db = self.db_path
        try:
            kind = dbfile.schema_problem(self._conn)
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise dbfile.open_error(exc, db, writing=not self.read_only) from exc
        if kind is None:
            return
        work = dbfile.project_work(self.folder)
        if kind == "foreign" or (existed and (work or self.read_only)):
            self._conn.close()
            raise dbfile.not_a_project_error(kind, db, work)

    def _check_version(self) -> int:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise FeasstmError(
                f"this project was written by a newer FEASSTM Studio (schema {version}, this "
                f"version reads up to {SCHEMA_VERSION}); update the application",
                path=self.folder / DB_NAME)
        return version

    def _migrate(self) -> None:
        version = self._check_version()
        if version == SCHEMA_VERSION:
            return
        if version > 0:
            self.backup(tag=f"before-migration-{version}")
        with self._mutex:
            for n in range(version, SCHEMA_VERSION):
                try:  # one transaction per step: the schema and its version move together
                    self._conn.executescript(
                        f"BEGIN IMMEDIATE;\n{MIGRATIONS[n]};\nPRAGMA user_version={n + 1};\nCOMMIT;")
                except sqlite3.Error as exc:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise FeasstmError(f"could not upgrade the project to schema {n + 1} "
                                       f"({exc}); nothing was changed", path=self.db_path) from exc

    def close(self) -> None:
        self.wait_for_backup()
        with self._mutex:
            if self._conn is not None:
                try:
                    if not self.read_only:
                        self._optimize()
                finally:
                    self._conn.close()
                    self._conn = self.db.conn = None  # type: ignore[assignment]
            if self._lock:
                self._lock.release()

    def _optimize(self) -> None:
        """PRAGMA optimize may write (ANALYZE); a courtesy, skipped without waiting when
        another program holds the database or the disk is full."""
        try:
            self._conn.execute("PRAGMA busy_timeout=0")
            self._conn.execute("PRAGMA optimize")
        except sqlite3.Error:
            pass

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def db_path(self) -> Path:
        return self.folder / DB_NAME

    @property
    def schema_version(self) -> int:
        return self._conn.execute("PRAGMA user_version").fetchone()[0]

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[Database]:
        if self.read_only:
            raise FeasstmError("the project is open read-only; nothing can be changed",
                               path=self.folder)
        try:
            with self.db.transaction():
                yield self.db
        except sqlite3.OperationalError as exc:  # busy, full disk, read-only
            raise _db_error(exc, self.db_path) from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several store calls into one commit (used by jobs for one unit of work)."""
        try:
            with self._tx():
                yield
        except sqlite3.OperationalError as exc:
            raise _db_error(exc, self.db_path) from exc

    def _query(self, sql: str, args: Sequence = ()) -> list[tuple]:
        return self.db.query(sql, args)

    def _one(self, sql: str, args: Sequence = ()) -> tuple | None:
        return self.db.one(sql, args)

    # -- parameters --------------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        if self._params_cache is None:
            rows = self._query("SELECT key, value FROM params")
            self._params_cache = {k: json.loads(v) for k, v in rows}
        return dict(self._params_cache)

    def param(self, key: str, default: Any = None) -> Any:
        return self.params().get(key, DEFAULTS.get(key, default))

    def set_params(self, values: dict[str, Any]) -> None:
        with self._tx():
            self._set_params(values)

    def _set_params(self, values: dict[str, Any]) -> None:
        self.db.executemany(
            "INSERT INTO params (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value=excluded.value",
            [(k, json.dumps(v, ensure_ascii=False)) for k, v in values.items()],
        )
        self._params_cache = None

    @property
    def name(self) -> str:
        return self.param("project.name") or self.folder.name

    # -- annotators --------------------------------------------------------------------------

    def is_blind(self, clip_id: str) -> bool:
        """Whether the clip is labelled in a blind pass: each annotator sees only their own
        labels (project parameter `labelling.blind`: true for all clips, or a list of clip ids)."""
        blind = self.param("labelling.blind", False)
        return bool(blind) if not isinstance(blind, list) else clip_id in blind

    def set_blind(self, clip_ids: list[str] | bool) -> None:
        self.set_params({"labelling.blind": clip_ids})

    def _ensure_annotator(self, name: str) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO annotators (name, created_at) VALUES (?, ?)", (name, utc_now())
        )

    def annotators(self) -> list[str]:
        return [r[0] for r in self._query("SELECT name FROM annotators ORDER BY name")]

    # -- clips -------------------------------------------------------------------------------

    def add_clip(self, clip: Clip, *, replace: bool = False) -> None:
        """Add a clip (its id checked as DATASET.md says). An existing id needs `replace`,
        which removes the old clip's frames, labels and images first."""
        check_clip_id(clip.id)
        with self._tx() as conn:
            exists = conn.one("SELECT 1 FROM clips WHERE id=?", (clip.id,))
            if exists and not replace:
                raise FeasstmError(
                    f"clip '{clip.id}' is already in the project; use --replace to replace it",
                    path=self.folder)
            if exists:
                self._remove_clip(clip.id)
            pos = conn.one("SELECT COALESCE(MAX(position), 0) + 1 FROM clips")[0]
            conn.execute(
                f"INSERT INTO clips ({_CLIP_COLUMNS}, created_at) VALUES "
                "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (clip.id, clip.video, clip.work, clip.actor, clip.role, clip.group, clip.start_s,
                 clip.end_s, clip.fps, clip.source, clip.extract_status, clip.align_status,
                 clip.error, clip.position or pos, utc_now()),
            )

    def _remove_clip(self, clip_id: str) -> None:
        self.db.execute("DELETE FROM clips WHERE id=?", (clip_id,))
        # Files are removed after the commit by remove_clip_files (the database is the truth).

    def remove_clip(self, clip_id: str) -> None:
        with self._tx():
            self._remove_clip(clip_id)

    def clips(self) -> list[Clip]:
        rows = self._query(f"SELECT {_CLIP_COLUMNS} FROM clips ORDER BY position, id")
        return [_clip_from_row(r) for r in rows]

    def clip(self, clip_id: str) -> Clip:
        row = self._one(f"SELECT {_CLIP_COLUMNS} FROM clips WHERE id=?", (clip_id,))
        if row is None:
            raise FeasstmError(f"no clip '{clip_id}' in the project", path=self.folder)
        return _clip_from_row(row)

    def has_clip(self, clip_id: str) -> bool:
        return self._one("SELECT 1 FROM clips WHERE id=?", (clip_id,)) is not None

    def update_clip(self, clip_id: str, **fields: Any) -> None:
        """Set clip columns (status, error, fps, metadata). Not an annotator's edit."""
        allowed = {"video", "work", "actor", "role", "group", "start_s", "end_s", "fps",
                   "extract_status", "align_status", "error", "position"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"unknown clip fields {sorted(bad)}")
        if not fields:
            return
        cols = ", ".join(f"{'grp' if k == 'group' else k}=?" for k in fields)
        with self._tx() as conn:
            conn.execute(f"UPDATE clips SET {cols} WHERE id=?", (*fields.values(), clip_id))

    def clip_counts(self) -> dict[str, dict[str, int]]:
        """Per clip: total, faces, irrelevant, deleted, labelled, suggested (open)."""
        rows = self._query(
            """
            SELECT f.clip, COUNT(*),
                   SUM(f.face_version IS NOT NULL),
                   SUM(f.irrelevant),
                   SUM(d.frame_id IS NOT NULL),
                   SUM(d.frame_id IS NULL AND f.irrelevant = 0 AND fl.code IS NOT NULL),
                   SUM(s.frame_id IS NOT NULL)
            FROM frames f
            JOIN final_labels fl ON fl.frame_id = f.id
            LEFT JOIN (SELECT DISTINCT frame_id FROM deletions) d ON d.frame_id = f.id
            LEFT JOIN (SELECT DISTINCT frame_id FROM suggestions WHERE status='open') s
                   ON s.frame_id = f.id
            GROUP BY f.clip
            """
        )
        keys = ("total", "faces", "irrelevant", "deleted", "labelled", "suggested")
        return {r[0]: dict(zip(keys, (int(x or 0) for x in r[1:]))) for r in rows}

    # -- frames and faces --------------------------------------------------------------------

    def add_frames(self, clip_id: str,
                   frames: Iterable[tuple[int, float | None, str | None, str | None]]) -> list[int]:
        """Add frames (frame_index, time_ms, image path relative to the project, source name).
        A frame already there (same clip and index) is left as it is. Returns the frame ids."""
        ids = []
        with self._tx() as conn:
            for index, time_ms, image, source_name in frames:
                conn.execute(
                    "INSERT INTO frames (clip, frame_index, time_ms, image, source_name) "
                    "VALUES (?,?,?,?,?) ON CONFLICT (clip, frame_index) DO NOTHING",
                    (clip_id, int(index), time_ms, image, source_name),
                )
                ids.append(conn.one(
                    "SELECT id FROM frames WHERE clip=? AND frame_index=?", (clip_id, int(index))
                )[0])
        return ids

    def frame_indices(self, clip_id: str) -> set[int]:
        return {r[0] for r in self._query("SELECT frame_index FROM frames WHERE clip=?",
                                          (clip_id,))}

    def frame_id(self, clip_id: str, frame_index: int) -> int:
        row = self._one("SELECT id FROM frames WHERE clip=? AND frame_index=?",
                        (clip_id, int(frame_index)))
        if row is None:
            raise FeasstmError(f"clip '{clip_id}' has no frame {frame_index}", path=self.folder)
        return row[0]

    def frame_key(self, frame_id: int) -> tuple[str, int]:
        row = self._one("SELECT clip, frame_index FROM frames WHERE id=?", (frame_id,))
        if row is None:
            raise FeasstmError(f"no frame with id {frame_id}", path=self.folder)
        return row[0], row[1]

    def frames(self, clip_id: str | None = None, *, annotator: str | None = None) -> list[FrameRow]:
        """Frames in source order, with their current face, label, reasons and suggestions.
        `code` is the final label, or `annotator`'s own label when one is given (blind pass).
        The one frame-row query is `views.clip_frames`."""
        from feasstm_gui.core.store.views import clip_frames

        return clip_frames(self, clip_id, annotator=annotator)

    def frame(self, frame_id: int, *, annotator: str | None = None) -> FrameRow:
        from feasstm_gui.core.store.views import frames_by_id

        row = frames_by_id(self, [frame_id], annotator=annotator).get(frame_id)
        if row is None:
            raise FeasstmError(f"no frame with id {frame_id}", path=self.folder)
        return row

    def add_face(self, frame_id: int, *, crop: str, box=None, landmarks=None, prob=None,
                 params: dict | None = None, sharpness: float | None = None,
                 scores: dict | None = None, log_as: str | None = None,
                 make_current: bool = True) -> int:
        """Store a new aligned face for a frame and make it current; earlier ones stay as
        history. With `log_as` the switch is an undoable edit (re-align) with that description;
        with `make_current=False` the caller switches it (set_face_version / apply_edits)."""
        with self._tx() as conn:
            version = conn.one(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM faces WHERE frame_id=?", (frame_id,)
            )[0]
            conn.execute(
                "INSERT INTO faces (frame_id, version, box, landmarks, prob, crop, params, "
                "sharpness, scores, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (frame_id, version, _dumps(box), _dumps(landmarks),
                 None if prob is None else float(prob), crop, _dumps(params),
                 None if sharpness is None else float(sharpness), _dumps(scores),
                 utc_now()),
            )
            if log_as:
                self._apply([("face_version", {"frame": frame_id}, version)], log_as)
            elif make_current:
                conn.execute("UPDATE frames SET face_version=? WHERE id=?", (version, frame_id))
        return version

    def next_face_version(self, frame_id: int) -> int:
        return self._one("SELECT COALESCE(MAX(version), 0) + 1 FROM faces WHERE frame_id=?",
                         (frame_id,))[0]

    def update_face_scores(self, frame_id: int, version: int, scores: dict) -> None:
        """Replace a stored face's scores (clip-level normalisation after the whole clip)."""
        with self._tx() as conn:
            conn.execute("UPDATE faces SET scores=? WHERE frame_id=? AND version=?",
                         (_dumps(scores), frame_id, version))

    def current_faces(self, clip_id: str) -> list[Face]:
        """The current face of every frame of a clip that has one, in frame order."""
        rows = self._query(
            "SELECT fa.frame_id, fa.version, fa.box, fa.landmarks, fa.prob, fa.crop, fa.params, "
            "fa.sharpness, fa.scores, fa.created_at FROM frames f JOIN faces fa "
            "ON fa.frame_id=f.id AND fa.version=f.face_version WHERE f.clip=? "
            "ORDER BY f.frame_index", (clip_id,))
        return [Face(r[0], r[1], _loads(r[2]), _loads(r[3]), r[4], r[5], _loads(r[6]), r[7],
                     _loads(r[8]), r[9]) for r in rows]

    def face(self, frame_id: int, version: int | None = None) -> Face | None:
        if version is None:
            row = self._one("SELECT face_version FROM frames WHERE id=?", (frame_id,))
            if row is None or row[0] is None:
                return None
            version = row[0]
        row = self._one(
            "SELECT frame_id, version, box, landmarks, prob, crop, params, sharpness, scores, "
            "created_at FROM faces WHERE frame_id=? AND version=?", (frame_id, version))
        if row is None:
            return None
        return Face(row[0], row[1], _loads(row[2]), _loads(row[3]), row[4], row[5],
                    _loads(row[6]), row[7], _loads(row[8]), row[9])

    def face_history(self, frame_id: int) -> list[Face]:
        versions = [r[0] for r in self._query(
            "SELECT version FROM faces WHERE frame_id=? ORDER BY version", (frame_id,))]
        return [f for v in versions if (f := self.face(frame_id, v)) is not None]

    def mark_aligned(self, frame_id: int, track: dict | None) -> None:
        """Record that the alignment job processed a frame, with the tracker state after it."""
        with self._tx() as conn:
            conn.execute("UPDATE frames SET aligned_at=?, track=? WHERE id=?",
                         (utc_now(), _dumps(track), frame_id))

    def unaligned_frames(self, clip_id: str) -> list[tuple[int, int, str | None]]:
        """(frame id, frame index, image) of the frames the alignment job has not processed."""
        return self._query("SELECT id, frame_index, image FROM frames WHERE clip=? AND "
                           "aligned_at IS NULL ORDER BY frame_index", (clip_id,))

    def last_track_state(self, clip_id: str, before_index: int | None = None
                         ) -> tuple[int, dict | None] | None:
        """The tracker state saved with the last processed frame of a clip (to resume a job)."""
        sql = "SELECT frame_index, track FROM frames WHERE clip=? AND aligned_at IS NOT NULL"
        args: list = [clip_id]
        if before_index is not None:
            sql += " AND frame_index < ?"
            args.append(before_index)
        row = self._one(sql + " ORDER BY frame_index DESC LIMIT 1", args)
        return (row[0], _loads(row[1])) if row else None

    def reset_alignment(self, clip_id: str) -> None:
        """Forget which frames the alignment job processed (before re-running it on a clip)."""
        with self._tx() as conn:
            conn.execute("UPDATE frames SET aligned_at=NULL, track=NULL WHERE clip=?", (clip_id,))

    def set_irrelevant_system(self, frame_id: int, value: bool) -> None:
        """Mark a frame irrelevant as a pipeline result (logged for audit, not on an undo stack)."""
        self._apply([("irrelevant", {"frame": frame_id}, bool(value))],
                    "alignment: no face of the actor", state="log")

    def set_suggestions(self, frame_id: int, reasons: dict[str, float | None]) -> None:
        """Replace a frame's open suggestions with `reasons` (reason -> score). Accepted and
        dismissed ones keep their status."""
        with self._tx() as conn:
            conn.execute("DELETE FROM suggestions WHERE frame_id=? AND status='open'", (frame_id,))
            for reason, score in reasons.items():
                if reason not in SUGGESTED_REASONS:
                    raise ValueError(f"unknown suggested reason {reason!r}")
                conn.execute(
                    "INSERT INTO suggestions (frame_id, reason, status, score) VALUES "
                    "(?,?,'open',?) ON CONFLICT (frame_id, reason) DO UPDATE SET score=excluded.score",
                    (frame_id, reason, score))

    # -- annotators' edits (undoable) --------------------------------------------------------

    def set_labels(self, frame_ids: Iterable[int], code: int | None, *,
                   annotator: str | None = None, description: str | None = None) -> int:
        """Label frames (None clears). One undo step. Returns the number of frames changed."""
        if code is not None and code not in CODES:
            raise FeasstmError(f"{code} is not an expression code (1-7)")
        who = annotator or self.annotator
        desc = description or (f"label {code} ({CODES[code]})" if code else "clear label")
        return self._apply([("label", {"frame": f, "annotator": who}, code) for f in frame_ids],
                           desc, annotator=who)

    def set_deletion(self, frame_ids: Iterable[int], reason: str, value: bool, *,
                     description: str | None = None) -> int:
        if reason not in REASONS:
            raise FeasstmError(f"unknown deletion reason {reason!r} (one of {', '.join(REASONS)})")
        desc = description or f"{'flag' if value else 'unflag'} {reason}"
        return self._apply([("deletion", {"frame": f, "reason": reason}, bool(value))
                            for f in frame_ids], desc)

    def toggle_deletion(self, frame_ids: Sequence[int], reason: str) -> int:
        """Toggle a reason on a selection: set it on all unless all have it, then clear it."""
        frame_ids = list(frame_ids)
        have = {r[0] for r in self._query(
            f"SELECT frame_id FROM deletions WHERE reason=? AND frame_id IN "
            f"({','.join('?' * len(frame_ids))})", [reason, *frame_ids])} if frame_ids else set()
        value = len(have) < len(frame_ids)
        return self.set_deletion(frame_ids, reason, value)

    def set_irrelevant(self, frame_ids: Iterable[int], value: bool) -> int:
        desc = "mark irrelevant" if value else "mark relevant"
        return self._apply([("irrelevant", {"frame": f}, bool(value)) for f in frame_ids], desc)

    def accept_suggestions(self, frame_ids: Iterable[int], reasons: Iterable[str] | None = None
                           ) -> int:
        """Accept open suggestions: the reason becomes a deletion reason. One undo step."""
        frame_ids = list(frame_ids)
        wanted = set(reasons or SUGGESTED_REASONS)
        changes: list[tuple[str, dict, Any]] = []
        for fid in frame_ids:
            for (reason,) in self._query(
                    "SELECT reason FROM suggestions WHERE frame_id=? AND status='open'", (fid,)):
                if reason in wanted:
                    changes.append(("suggestion", {"frame": fid, "reason": reason}, "accepted"))
                    changes.append(("deletion", {"frame": fid, "reason": reason}, True))
        return self._apply(changes, "accept suggested flags")

    def dismiss_suggestions(self, frame_ids: Iterable[int], reasons: Iterable[str] | None = None
                            ) -> int:
        wanted = set(reasons or SUGGESTED_REASONS)
        changes = []
        for fid in frame_ids:
            for (reason,) in self._query(
                    "SELECT reason FROM suggestions WHERE frame_id=? AND status='open'", (fid,)):
                if reason in wanted:
                    changes.append(("suggestion", {"frame": fid, "reason": reason}, "dismissed"))
        return self._apply(changes, "dismiss suggested flags")

    def adjudicate(self, frame_ids: Iterable[int], code: int | None) -> int:
        if code is not None and code not in CODES:
            raise FeasstmError(f"{code} is not an expression code (1-7)")
        return self._apply([("adjudication", {"frame": f}, code) for f in frame_ids],
                           f"adjudicate {code}" if code else "clear adjudication")

    def set_face_version(self, frame_id: int, version: int | None, description: str) -> int:
        return self._apply([("face_version", {"frame": frame_id}, version)], description)

    def apply_edits(self, changes: Sequence[tuple[str, dict, Any]], description: str, *,
                    annotator: str | None = None, audit_only: bool = False) -> int:
        """Apply (op, target, new value) changes as one undoable step (ops from OPS), in one
        transaction with their edit-log rows. `audit_only`: logged, not on anyone's undo stack
        (imports, pipeline results). Returns how many values changed."""
        return self._apply(changes, description, annotator=annotator,
                           state="log" if audit_only else "done")

    def _apply(self, changes: Sequence[tuple[str, dict, Any]], description: str, *,
               annotator: str | None = None, state: str = "done") -> int:
        """Apply changes and log them, in one transaction. Unchanged values are skipped; a
        step with no change writes nothing. A new undoable step drops the redo stack."""
        who = annotator or self.annotator
        at = utc_now()
        try:
            with self._tx() as conn:
                # the old values read and the step number are ours
                conn.serialise_edits([_value_key(op, t) for op, t, _new in changes])
                self._ensure_annotator(who)
                batch = None
                changed = 0
                for op_name, target, new in changes:
                    op = OPS[op_name]
                    old = op.get(self.db, target)
                    if old == new:
                        continue
                    if batch is None:
                        batch = conn.next_batch()
                        if state == "done":
                            conn.execute("UPDATE edits SET state='dropped' WHERE annotator=? "
                                         "AND state='undone'", (who,))
                    if "frame" in target:
                        self._require_frame(target["frame"])
                    op.set(self.db, target, new, who, at)
                    conn.execute(
                        "INSERT INTO edits (batch, at, annotator, op, target, old, new, state, "
                        "description) VALUES (?,?,?,?,?,?,?,?,?)",
                        (batch, at, who, op_name, _dumps(target), _dumps(old), _dumps(new), state,
                         description))
                    changed += 1
        except sqlite3.OperationalError as exc:
            raise _db_error(exc, self.db_path) from exc
        if changed and state != "log":
            self._after_edit()
        return changed

    def _after_edit(self) -> None:
        """Start a rotating backup after `backup.every_edits` edits, or when
        `backup.min_interval_s` has passed since the last one. It copies the database file
        through its own connection on a thread, so the key press that triggers it never waits."""
        self._edits_since_backup += 1
        cache = self._params_cache if self._params_cache is not None else self.params()

        def number(key: str) -> float:
            value = cache.get(key)
            return float(DEFAULTS[key] if value is None else value)

        every, interval = number("backup.every_edits"), number("backup.min_interval_s")
        if (self._edits_since_backup < every
                and time.monotonic() - self._last_backup_at < interval):
            return
        if self._backup_thread is not None and self._backup_thread.is_alive():
            return
        self._edits_since_backup = 0
        self._last_backup_at = time.monotonic()
        keep = max(1, int(number("backup.keep")))
        self._backup_thread = threading.Thread(target=self._background_backup, args=(keep,),
                                               name="feasstm-backup", daemon=True)
        self._backup_thread.start()

    def _background_backup(self, keep: int) -> None:
        try:
            self.backup(tag="auto", keep=keep, from_file=True)
            self.backup_error = None
        except FeasstmError as exc:  # kept for the UI to show; the edits themselves are saved
            self.backup_error = exc

    def wait_for_backup(self, timeout: float | None = None) -> None:
        """Wait for a periodic backup in progress (closing the project waits for it)."""
        thread = self._backup_thread
        if thread is not None:
            thread.join(timeout)

    def _require_frame(self, frame_id: int) -> None:
        if self.db.one("SELECT 1 FROM frames WHERE id=?", (frame_id,)) is None:
            raise FeasstmError(f"no frame with id {frame_id}", path=self.folder)

    # -- undo / redo (from the edit log, so they survive a restart) --------------------------

    def _batch(self, batch: int) -> EditBatch:
        rows = self._query("SELECT at, annotator, op, target, old, new, state, description "
                           "FROM edits WHERE batch=? ORDER BY id", (batch,))
        return EditBatch(batch, rows[0][0], rows[0][1], rows[0][7], rows[0][6],
                         [(r[2], json.loads(r[3]), _loads(r[4]), _loads(r[5])) for r in rows])

    def can_undo(self, annotator: str | None = None) -> EditBatch | None:
        row = self._one("SELECT MAX(batch) FROM edits WHERE annotator=? AND state='done'",
                        (annotator or self.annotator,))
        return self._batch(row[0]) if row and row[0] is not None else None

    def can_redo(self, annotator: str | None = None) -> EditBatch | None:
        row = self._one("SELECT MIN(batch) FROM edits WHERE annotator=? AND state='undone'",
                        (annotator or self.annotator,))
        return self._batch(row[0]) if row and row[0] is not None else None

    def undo(self, annotator: str | None = None) -> EditBatch | None:
        """Undo the annotator's last step. Returns it, or None when there is nothing to undo."""
        return self._undo_redo(self.can_undo(annotator), undo=True)

    def redo(self, annotator: str | None = None) -> EditBatch | None:
        return self._undo_redo(self.can_redo(annotator), undo=False)

    def _undo_redo(self, step: EditBatch | None, *, undo: bool) -> EditBatch | None:
        if step is None:
            return None
        at = utc_now()
        with self._tx() as conn:
            conn.serialise_edits([_value_key(op, t) for op, t, _o, _n in step.changes])
            log_batch = conn.next_batch()
            changes = reversed(step.changes) if undo else step.changes
            for op_name, target, old, new in changes:
                after = old if undo else new
                current = OPS[op_name].get(self.db, target)
                if current != (new if undo else old) and self._changed_by_others(
                        op_name, target, step):
                    continue  # a shared value someone else set since: theirs stays (issue 16)
                OPS[op_name].set(self.db, target, after, step.annotator, at)
                conn.execute(
                    "INSERT INTO edits (batch, at, annotator, op, target, old, new, state, "
                    "description) VALUES (?,?,?,?,?,?,?,'log',?)",
                    (log_batch, at, step.annotator, op_name, _dumps(target), _dumps(current),
                     _dumps(after), f"{'undo' if undo else 'redo'} of step {step.batch}: "
                     f"{step.description}"))
            conn.execute("UPDATE edits SET state=? WHERE batch=?",
                         ("undone" if undo else "done", step.batch))
        return step

    def _changed_by_others(self, op_name: str, target: dict, step: EditBatch) -> bool:
        """Whether another person changed this value after `step` (a shared value: a flag,
        an adjudication; a label or a rating is each person's own row). Undoing the step then
        leaves their value, so a team never loses each other's work to an undo."""
        if "annotator" in target or "rater" in target:
            return False
        return self.db.one(
            "SELECT 1 FROM edits WHERE batch > ? AND op = ? AND target = ? AND annotator != ? "
            "AND state IN ('done', 'log') LIMIT 1",
            (step.batch, op_name, _dumps(target), step.annotator)) is not None

    def history(self, limit: int = 200, annotator: str | None = None) -> list[EditBatch]:
        """Recent steps, newest first (undone steps included, marked by their state)."""
        sql = "SELECT DISTINCT batch FROM edits"
        args: list = []
        if annotator:
            sql += " WHERE annotator=?"
            args.append(annotator)
        rows = self._query(sql + " ORDER BY batch DESC LIMIT ?", (*args, limit))
        return [self._batch(r[0]) for r in rows]

    # -- imports (system writes, logged for audit) -------------------------------------------

    def import_labels(self, labels: Iterable[tuple[int, int]], description: str) -> int:
        """Labels from an import: (frame id, code) by the current annotator, one audit step,
        not on the undo stack."""
        return self._apply([("label", {"frame": f, "annotator": self.annotator}, code)
                            for f, code in labels], description, state="log")

    # -- counts, checks, backups (status.py and backup.py) -----------------------------------

    def status(self) -> dict[str, Any]:
        """The counts `feasstm status --json` prints (DATASET.md vocabulary)."""
        from feasstm_gui.core.store.status import status

        return status(self)

    def integrity_check(self) -> list[str]:
        """SQLite's own check: [] when the database is sound."""
        from feasstm_gui.core.store.status import integrity_check

        return integrity_check(self)

    def consistency_problems(self) -> list[str]:
        """The store's own checks: files it names exist, rows point at rows that exist."""
        from feasstm_gui.core.store.status import consistency_problems

        return consistency_problems(self)

    def _remove_stale_backup_parts(self) -> None:
        from feasstm_gui.core.store.backup import remove_stale_backup_parts

        remove_stale_backup_parts(self.folder)

    def backups(self) -> list[Path]:
        from feasstm_gui.core.store.backup import backups

        return backups(self.folder)

    def backup(self, tag: str = "", *, keep: int | None = None, from_file: bool = False) -> Path:
        """Copy the database into backups/ (see backup.backup)."""
        from feasstm_gui.core.store.backup import backup

        return backup(self, tag, keep=keep, from_file=from_file)

    def backup_if_due(self) -> Path | None:
        from feasstm_gui.core.store.backup import backup_if_due

        return backup_if_due(self)


def restore_backup(folder: str | Path, backup: str | Path | None = None) -> Path:
    """Replace the project database by a backup (see backup.restore_backup)."""
    if (Path(folder) / "server.json").is_file():
        raise FeasstmError("this project's database is on a server: restore it there (the "
                           "server's own backups); nothing was changed", path=folder)
    from feasstm_gui.core.store.backup import restore_backup as restore

    return restore(folder, backup)


def default_annotator() -> str:
    """The annotator name when none is given: `settings.resolve_annotator`."""
    from feasstm_gui.core.settings import resolve_annotator

    return resolve_annotator()


def _db_error(exc: sqlite3.OperationalError, path: Path) -> FeasstmError:
    return dbfile.runtime_error(exc, path)
