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

from feasstm_gui.core.errors import FeasstmError, ServerUnavailable
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


def connect(url: str, *, connect_timeout: int = 10, **options):
    """A psycopg connection in autocommit mode (transactions are explicit), or a FeasstmError
    naming the server and what libpq said. `options`: more libpq parameters (keepalives)."""
    psycopg = _psycopg()
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout,
                               application_name="feasstm", **options)
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

    @classmethod
    def open(cls, url: str) -> PostgresDatabase:
        db = cls(connect(url), redact(url))
        db.url = url  # to reconnect after the server was restarted (_fresh)
        return db

    #: The URL to reconnect to (set by `open`); None: no reconnecting.
    url: str | None = None

    @contextmanager
    def _lost(self) -> Iterator[None]:
        """A lost server is one clear message (the transaction it interrupted is not done):
        ServerUnavailable, which the window shows as its banner (issue 16's fault handling)."""
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
            if self.conn is not None and not self.conn.closed and not self.conn.broken:
                raise
            raise ServerUnavailable(
                f"lost the connection to the database server {self.where} "
                f"({str(exc).strip().splitlines()[0] if str(exc).strip() else exc}"
                "); the last change was not saved") from exc

    def _fresh(self) -> None:
        """Outside a transaction, a connection the server dropped (restarted, or a network
        break) is replaced by a new one before the next statement; while the server is away,
        ServerUnavailable says so and nothing is done. Inside a transaction the loss is the
        transaction's end (never resumed on another connection)."""
        if self._depth or self.url is None:
            return
        conn = self.conn
        if conn is not None and not conn.closed and not conn.broken:
            return
        try:
            new = connect(self.url, connect_timeout=3)
        except FeasstmError as exc:
            raise ServerUnavailable(f"{exc}; nothing was changed: the change is refused until "
                                    "the server is back") from exc
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - it was broken already
                pass
        self.conn = new

    def _retrying(self, first):
        """Run `first()` (a read, or a transaction's BEGIN: nothing written yet); if it finds
        the connection dropped since the last call, reconnect and run it once more."""
        psycopg = _psycopg()
        self._fresh()
        try:
            return first()
        except psycopg.OperationalError:
            if self._depth or self.url is None or (
                    self.conn is not None and not self.conn.closed and not self.conn.broken):
                raise
        self._fresh()
        return first()

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def query(self, sql: str, args: Sequence = ()) -> list[tuple]:
        with self.mutex, self._lost():
            return self._retrying(
                lambda: self.conn.execute(to_postgres(sql), tuple(args)).fetchall())

    def one(self, sql: str, args: Sequence = ()) -> tuple | None:
        with self.mutex, self._lost():
            return self._retrying(
                lambda: self.conn.execute(to_postgres(sql), tuple(args)).fetchone())

    def execute(self, sql: str, args: Sequence = ()) -> None:
        with self.mutex, self._lost():
            self._fresh()  # a write outside a transaction is never sent twice
            self.conn.execute(to_postgres(sql), tuple(args))

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        with self.mutex, self._lost():
            with self.conn.cursor() as cur:
                cur.executemany(to_postgres(sql), [tuple(r) for r in rows])

    def serialise_edits(self, values: Sequence[str] | None = None) -> None:
        # Several workstations write at once: advisory locks held until the commit. Given the
        # values a step changes, only steps changing one of them wait for each other (one lock
        # per value, taken in order, shared hold on the all-edits lock); without, all steps do.
        if values is None:
            self.execute("SELECT pg_advisory_xact_lock(?)", (_EDITS_LOCK,))
            return
        self.execute(
            "SELECT pg_advisory_xact_lock_shared(?), (SELECT COUNT(*) FROM ("
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(v, 0) AS k "
            "FROM unnest(CAST(? AS text[])) AS u(v)) AS d ORDER BY k) AS l)",
            (_EDITS_LOCK, list(values)))

    def next_batch(self) -> int:
        # a sequence: unique without a lock; taken after serialise_edits, so two steps
        # changing the same value are numbered in the order they commit
        return int(self.one("SELECT nextval('feasstm_edit_batch')")[0])

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
                self._retrying(lambda: self.conn.execute(begin))
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                self._end("ROLLBACK")
                raise
            self._depth = 0
            try:
                with self._lost():
                    self._end("COMMIT")
            except ServerUnavailable as exc:
                # The commit's answer never came: it may or may not be on the server.
                raise ServerUnavailable(str(exc).replace(
                    "the last change was not saved",
                    "the last change may not have been saved: it shows as it is on the server "
                    "once the server is back")) from exc

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
            _server_only(db)
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
        _server_only(db)
    return before


def _server_only(db: PostgresDatabase) -> None:
    """What only the server has: the change notifications (core/store/live.py), and the
    sequence that numbers edit-log steps (next_batch), brought past the log's last step on
    every writable open (rows copied in with their own numbers are then behind it)."""
    from feasstm_gui.core.store.live import install_triggers
    install_triggers(db)
    from feasstm_gui.core.store.server_steps import install as install_steps
    install_steps(db)  # a key press in one round trip (server_steps.py)
    # created and moved only where needed: a role without CREATE (issue 16's per-person roles)
    # opens a project whose sequence is there and current; it needs USAGE on it
    if not db.one("SELECT to_regclass('feasstm_edit_batch') IS NOT NULL")[0]:
        db.script("CREATE SEQUENCE feasstm_edit_batch")
    last, top = db.one("SELECT (SELECT last_value FROM feasstm_edit_batch), "
                       "(SELECT COALESCE(MAX(batch), 0) FROM edits)")
    if top > last:
        db.execute("SELECT setval('feasstm_edit_batch', ?)", (top,))
