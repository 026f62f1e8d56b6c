"""A project whose database lives on a PostgreSQL server (issue 16: a team on one project).

The project folder keeps the images (frames/, crops/, on a file system every workstation
mounts) and `server.json`, naming the server: `{"url": "postgresql://host/dbname"}`. No password
is ever written there: libpq finds it the usual way (PGPASSFILE or ~/.pgpass, a service file
named with `service=`, the PG* environment). `ServerStore` is the Store with its database handle
on the server (pg.PostgresDatabase); what is SQLite's own (the WAL file, PRAGMA checks, the
file backups, the one-writer project.lock) is not used: many people write at once, and the
server's backups are the database administrator's (pg_dump).

Beside it (issue 16): claims.py (jobs shared by workers), roles.py (each person's role and
row-level security), transfer.py (move-to-server, snapshot); docs/TEAM.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.store.store import (
    CROPS_DIR,
    FRAMES_DIR,
    Store,
    default_annotator,
)

SERVER_FILE = "server.json"


def check_url(url: str) -> str:
    """A server URL fit to be written in a project: a postgresql:// URL without a password."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError as exc:
        raise FeasstmError(f"not a database URL: {url!r} ({exc})") from exc
    if parts.scheme not in ("postgresql", "postgres"):
        raise FeasstmError(f"not a PostgreSQL URL (postgresql://[user@]host[:port]/dbname): "
                           f"{url!r}")
    if password is not None or "password=" in (parts.query or "").lower():
        raise FeasstmError("the URL holds a password; the project would keep it in server.json. "
                           "Give it through ~/.pgpass (PGPASSFILE), a service file or PGPASSWORD "
                           "instead")
    return url


def read_server_file(folder: Path) -> str:
    path = folder / SERVER_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        url = data["url"]
        if not isinstance(url, str):
            raise TypeError("url is not text")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FeasstmError(f"not a readable server file ({exc}); it holds "
                           '{"url": "postgresql://host/dbname"}', path=path) from exc
    return check_url(url)


def is_server_project(folder: Path) -> bool:
    return (Path(folder) / SERVER_FILE).is_file()


class ServerStore(Store):
    """An open project on a server. Thread-safe like Store: one connection, used under a lock."""

    def __init__(self, folder: Path, db, annotator: str, read_only: bool, url: str):
        super().__init__(folder, None, None, annotator, read_only)  # type: ignore[arg-type]
        self.db = db
        self._mutex = db.mutex
        self.url = url

    @classmethod
    def create(cls, folder: str | Path, annotator: str = "", name: str | None = None, *,
               server: str | None = None) -> ServerStore:
        """A new project folder naming `server`, whose database must be empty (or hold only
        an empty schema); its schema is created there."""
        from feasstm_gui.core.store.pg import PostgresDatabase, migrate

        folder = Path(folder)
        url = check_url(server or "")
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise FeasstmError(
                "a file or a non-empty folder is already there; choose a new folder", path=folder)
        db = PostgresDatabase.open(url)  # connect first: a wrong URL writes nothing
        try:
            migrate(db)
            if db.one("SELECT 1 FROM params WHERE key='project.name'"):
                raise FeasstmError(f"the database {_where(url)} already holds a project; open its "
                                   "folder, or name an empty database")
        except BaseException:
            db.close()
            raise
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for sub in (FRAMES_DIR, CROPS_DIR):
                (folder / sub).mkdir(exist_ok=True)
            tmp = folder / (SERVER_FILE + ".tmp")
            tmp.write_text(json.dumps({"url": url}, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, folder / SERVER_FILE)
        except OSError as exc:
            db.close()
            raise FeasstmError(f"cannot create the project folder ({exc.strerror})",
                               path=folder) from exc
        store = cls(folder, db, annotator or default_annotator(), False, url)
        store._set_new_project_params(name or folder.name)
        return store

    @classmethod
    def open(cls, folder: str | Path, annotator: str = "", *, read_only: bool = False,
             check: bool = False, backup: bool = True, create: bool = False) -> ServerStore:
        from feasstm_gui.core.store.pg import PostgresDatabase, check_version, migrate

        folder = Path(folder)
        url = read_server_file(folder)
        db = PostgresDatabase.open(url)
        try:
            check_version(db, _where(url))  # a newer schema: refused, naming the server
            if not read_only:
                migrate(db)
            if not db.one("SELECT 1 FROM params WHERE key='project.name'"):
                raise FeasstmError(f"the database {_where(url)} holds no project (was it "
                                   "emptied?); nothing was changed", path=folder / SERVER_FILE)
            store = cls(folder, db, annotator or default_annotator(), read_only, url)
            from feasstm_gui.core.store.roles import own_name
            store.annotator = own_name(db, store.annotator)  # a team role's edits are its own
            from feasstm_gui.core.store import server_steps
            store._label_step = not read_only and server_steps.available(db)
            if check:
                problems = store.consistency_problems()
                if problems:
                    raise FeasstmError("the project is damaged: " + "; ".join(problems[:5]),
                                       path=folder)
        except BaseException:
            db.close()
            raise
        return store

    # -- what differs from the SQLite store --------------------------------------------------

    def close(self) -> None:
        with self._mutex:
            if self.db.conn is not None:
                self.db.close()

    @property
    def db_path(self) -> Path:
        return self.folder / SERVER_FILE

    @property
    def schema_version(self) -> int:
        from feasstm_gui.core.store.pg import schema_version
        return schema_version(self.db)

    def integrity_check(self) -> list[str]:
        return []  # the server keeps its own storage sound

    def consistency_problems(self) -> list[str]:
        problems: list[str] = []
        for clip, index, crop in self._query(
                "SELECT f.clip, f.frame_index, fa.crop FROM frames f JOIN faces fa "
                "ON fa.frame_id=f.id AND fa.version=f.face_version"):
            if not (self.folder / crop).is_file():
                problems.append(f"{self.folder / crop}: crop of clip '{clip}' frame {index} "
                                "is missing")
        for clip, index, image in self._query(
                "SELECT clip, frame_index, image FROM frames WHERE image IS NOT NULL"):
            if not (self.folder / image).is_file():
                problems.append(f"{self.folder / image}: image of clip '{clip}' frame {index} "
                                "is missing")
        return problems

    def check_folder(self) -> None:
        """Before a job writes images: the folder must be the one the server's rows describe
        (the team's shared mount), or frames would be written where no other workstation finds
        them. The first and last frame image and crop the rows name must be here."""
        sample = []
        for sql in ("SELECT image FROM frames WHERE image IS NOT NULL ORDER BY id LIMIT 1",
                    "SELECT image FROM frames WHERE image IS NOT NULL ORDER BY id DESC LIMIT 1",
                    "SELECT crop FROM faces ORDER BY frame_id, version LIMIT 1",
                    "SELECT crop FROM faces ORDER BY frame_id DESC, version DESC LIMIT 1"):
            row = self.db.one(sql)
            if row and row[0] not in sample:
                sample.append(row[0])
        missing = [rel for rel in sample if not (self.folder / rel).is_file()]
        if missing:
            raise FeasstmError(
                f"{self.folder / missing[0]}: not in this project folder, though the server's "
                f"rows name it ({len(missing)} of {len(sample)} images looked for are missing); "
                "open the folder the team's project uses (its shared mount); nothing was changed")

    #: Whether the one-round-trip label step (server_steps.py) may be used: looked up once.
    _label_step: bool | None = None

    def set_labels(self, frame_ids, code, *, annotator=None, description=None) -> int:
        """Store.set_labels in one statement, one round trip (server_steps.py), where the
        server has the function; the same step, locks and edit-log rows as the generic path."""
        from feasstm_gui.core.store import server_steps
        from feasstm_gui.core.store.pg import _EDITS_LOCK
        from feasstm_gui.core.store.store import CODES, _dumps, _value_key, utc_now

        if self._label_step is None:
            self._label_step = not self.read_only and server_steps.available(self.db)
        if not self._label_step or (code is not None and code not in CODES):
            return super().set_labels(frame_ids, code, annotator=annotator,
                                      description=description)
        who = annotator or self.annotator
        desc = description or (f"label {code} ({CODES[code]})" if code else "clear label")
        frames = list(dict.fromkeys(int(f) for f in frame_ids))
        targets = [{"frame": f, "annotator": who} for f in frames]
        return server_steps.label_step(
            self.db, who, utc_now(), frames, [_dumps(t) for t in targets],
            [_value_key("label", t) for t in targets], code, _dumps(code), desc, _EDITS_LOCK)

    def _after_edit(self) -> None:
        pass  # no file backups: the server's are the administrator's

    def backups(self) -> list[Path]:
        return []

    def backup(self, tag: str = "", *, keep: int | None = None, from_file: bool = False):
        raise FeasstmError("a project on a server is backed up on the server (pg_dump); "
                           "or copied out as a SQLite project with `feasstm snapshot PROJECT OUT`",
                           path=self.folder)

    def backup_if_due(self):
        return None

    def wait_for_backup(self, timeout: float | None = None) -> None:
        pass


def _where(url: str) -> str:
    from feasstm_gui.core.store.pg import redact
    return redact(url)
