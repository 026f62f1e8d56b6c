"""The store's database handle on a PostgreSQL server (psycopg 3): a project a team shares.

`PostgresDatabase` keeps db.py's contract; the SQL it is given is the store's (SQLite's
dialect) and is rewritten for the server by dialect.py, the one place where the two differ.
`connect(url)` opens the connection: the URL names the server and database only; the password
comes from libpq's usual means (PGPASSFILE / ~/.pgpass, a service file, PG* environment), never
from the project. `migrate(db)` brings the server's schema to SCHEMA_VERSION (the version is
kept in the table `schema_version`, PostgreSQL's counterpart of SQLite's `PRAGMA user_version`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.store.db import Database
from feasstm_gui.core.store.dialect import PG_PRELUDE, ddl_to_postgres, to_postgres
from feasstm_gui.core.store.schema import MIGRATIONS, SCHEMA_VERSION

#: Any number: the advisory lock two workstations take so only one migrates at a time.
_MIGRATION_LOCK = 0x46454153  # "FEAS"
#: The advisory lock that gives each edit-log step its own number (serialise_edits).
_EDITS_LOCK = 0x45444954  # "EDIT"


def _psycopg():
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a dependency
        raise FeasstmError("the PostgreSQL driver psycopg is not installed "
                           "(pip install 'psycopg[binary]')") from exc
    return psycopg


def redact(url: str) -> str:
    """The URL without a password, for messages."""
    from urllib.parse import urlsplit, urlunsplit
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unreadable URL)"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def connect(url: str, *, connect_timeout: int = 10):
    """A psycopg connection in autocommit mode (transactions are explicit), or a FeasstmError
    naming the server and what libpq said."""
    psycopg = _psycopg()
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout,
                               application_name="feasstm")
    except psycopg.Error as exc:
        lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
        reason = "; ".join(lines[:2]) if lines else type(exc).__name__
        raise FeasstmError(f"cannot connect to the database server {redact(url)} ({reason})"
                           ) from exc
    except ValueError as exc:  # a malformed URL / conninfo  # pragma: no cover
        raise FeasstmError(f"not a database URL: {redact(url)} ({exc})") from exc


class PostgresDatabase(Database):
    """One psycopg connection (autocommit: transactions are explicit) used under a lock."""

    dialect = "postgresql"

    def __init__(self, conn, where: str = "the database server"):
        self.conn = conn
        self.where = where  # for messages: the server's URL without a password
        self.mutex = threading.RLock()
        self._depth = 0  # open transaction() / snapshot() levels
        self._next_batch_sql: str | None = None  # next_batch's query, found once

    @classmethod
    def open(cls, url: str) -> PostgresDatabase:
        return cls(connect(url), redact(url))

    @contextmanager
    def _lost(self) -> Iterator[None]:
        """A lost server is one clear message (the transaction it interrupted is not done).
        Reconnecting and keeping edits made meanwhile are issue 16's fault handling, not here."""
        psycopg = _psycopg()
        try:
            yield
        except psycopg.errors.InsufficientPrivilege as exc:
            # the team's roles (roles.py): not this person's to change, or not to read
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise FeasstmError(f"the database server {self.where} refused this for role "
                               f"{self.conn.info.user!r} ({first}); nothing was changed"
                               ) from exc
        except psycopg.OperationalError as exc:
            if not self.conn.closed and not self.conn.broken:
                raise
            raise FeasstmError(f"lost the connection to the database server {self.where} "
                               f"({str(exc).strip().splitlines()[0] if str(exc).strip() else exc}"
                               "); the last change was not saved") from exc

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def query(self, sql: str, args: Sequence = ()) -> list[tuple]:
        with self.mutex, self._lost():
            return self.conn.execute(to_postgres(sql), tuple(args)).fetchall()

    def one(self, sql: str, args: Sequence = ()) -> tuple | None:
        with self.mutex, self._lost():
            return self.conn.execute(to_postgres(sql), tuple(args)).fetchone()

    def execute(self, sql: str, args: Sequence = ()) -> None:
        with self.mutex, self._lost():
            self.conn.execute(to_postgres(sql), tuple(args))

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        with self.mutex, self._lost():
            with self.conn.cursor() as cur:
                cur.executemany(to_postgres(sql), [tuple(r) for r in rows])

    def serialise_edits(self) -> None:
        # Several workstations write at once: an advisory lock held until the commit.
        self.execute("SELECT pg_advisory_xact_lock(?)", (_EDITS_LOCK,))

    def next_batch(self) -> int:
        # With the team's roles (core/store/roles.py) a rater reads only some edit-log rows;
        # the step number comes from a function that sees them all.
        if self._next_batch_sql is None:
            found = self.one("SELECT to_regprocedure('feasstm_next_batch()') IS NOT NULL")[0]
            self._next_batch_sql = ("SELECT feasstm_next_batch()" if found else
                                    "SELECT COALESCE(MAX(batch), 0) + 1 FROM edits")
        return self.one(self._next_batch_sql)[0]

    def has_table(self, name: str) -> bool:
        return self.one("SELECT to_regclass(?) IS NOT NULL", (name,))[0]

    def script(self, sql: str) -> None:
        """Several statements of the server's own SQL (no translation, no arguments)."""
        with self.mutex:
            self.conn.execute(sql)

    @contextmanager
    def _level(self, begin: str) -> Iterator[PostgresDatabase]:
        with self.mutex:
            if self._depth:  # nested: part of the outer transaction
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            with self._lost():
                self.conn.execute(begin)
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                self._end("ROLLBACK")
                raise
            self._depth = 0
            with self._lost():
                self._end("COMMIT")

    def _end(self, how: str) -> None:
        psycopg = _psycopg()
        try:
            self.conn.execute(how)
        except psycopg.OperationalError:
            if how == "COMMIT":
                raise
            # A broken connection has no transaction left to roll back.

    def transaction(self):
        return self._level("BEGIN ISOLATION LEVEL READ COMMITTED")

    def snapshot(self):
        # One consistent view for all its reads; writes made in it are committed at its end.
        return self._level("BEGIN ISOLATION LEVEL REPEATABLE READ")

    def close(self) -> None:
        with self.mutex:
            if self.conn is not None:
                self.conn.close()
                self.conn = None


# -- the schema on the server ----------------------------------------------------------------

_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"


def schema_version(db: PostgresDatabase) -> int:
    """The server database's schema version: 0 for an empty database."""
    row = db.one("SELECT to_regclass('schema_version') IS NOT NULL")
    if not row or not row[0]:
        return 0
    row = db.one("SELECT MAX(version) FROM schema_version")
    return int(row[0]) if row and row[0] is not None else 0


def check_version(db: PostgresDatabase, where: str = "") -> int:
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise FeasstmError(
            f"this project's database was written by a newer FEASSTM Studio (schema {version}, "
            f"this version reads up to {SCHEMA_VERSION}); update the application"
            + (f" ({where})" if where else ""))
    return version


def migrate(db: PostgresDatabase) -> int:
    """Bring the server database to SCHEMA_VERSION: each migration in one transaction with the
    version row (PostgreSQL's DDL is transactional), under an advisory lock so two workstations
    opening a new project at once do not both create it. Returns the version before."""
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
        before = check_version(db)
        if before == SCHEMA_VERSION:
            return before
        if before == 0:
            db.script(PG_PRELUDE)
            db.script(_VERSION_TABLE)
            db.execute("INSERT INTO schema_version (version) VALUES (0)")
        for n in range(before, SCHEMA_VERSION):
            try:
                db.script(ddl_to_postgres(MIGRATIONS[n]))
            except _psycopg().Error as exc:
                raise FeasstmError(f"could not create schema {n + 1} on the server ({exc}); "
                                   "nothing was changed") from exc
            db.execute("UPDATE schema_version SET version=?", (n + 1,))
    return before
