"""The store's database handle: the one way the store package's modules reach the database.

`Store.db` is a `Database`. The modules beside `store.py` (views, ratings, export queries, the
edit operations) read and write through it only (never through a connection or a lock of their
own), so a second back end (a shared server database for a team) implements this class and the
queries above it stay as they are.

The contract:
- `query(sql, args)` returns every row as a tuple, `one(sql, args)` the first row or None.
- `execute(sql, args)` and `executemany(sql, rows)` write; they belong inside `transaction()`.
- `transaction()` is one write transaction: all of it is committed or none (an exception rolls it
  back). A transaction opened inside another one is part of the outer one.
- `snapshot()` runs several reads against one consistent state of the database (an export
  meanwhile sees no edit made in the window).
- SQL is written with `?` placeholders and the JSON functions `json_extract`, `json_each`,
  `json_valid`; a back end with another dialect translates them.
- Every call is safe from any thread: calls are serialised.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager


class Database:
    """What the store's queries need from a database (see the module's docstring)."""

    def query(self, sql: str, args: Sequence = ()) -> list[tuple]:
        raise NotImplementedError  # pragma: no cover - interface

    def one(self, sql: str, args: Sequence = ()) -> tuple | None:
        raise NotImplementedError  # pragma: no cover - interface

    def execute(self, sql: str, args: Sequence = ()) -> None:
        raise NotImplementedError  # pragma: no cover - interface

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        raise NotImplementedError  # pragma: no cover - interface

    def transaction(self):  # -> context manager
        raise NotImplementedError  # pragma: no cover - interface

    def snapshot(self):  # -> context manager
        raise NotImplementedError  # pragma: no cover - interface

    def serialise_edits(self, values: Sequence[str] | None = None) -> None:
        """Inside a transaction: wait until no other connection is writing edit-log steps, so
        the old values read are current and the step numbers come in commit order. `values`
        (keys naming what the step changes, e.g. op and target): a back end with concurrent
        writers may wait only for steps changing one of them (a team labelling different
        frames never waits for each other). SQLite's write transaction (BEGIN IMMEDIATE)
        already has the database to itself."""

    def next_batch(self) -> int:
        """The next edit-log step number (after serialise_edits, in the same transaction)."""
        return self.one("SELECT COALESCE(MAX(batch), 0) + 1 FROM edits")[0]

    def has_table(self, name: str) -> bool:
        """Whether the database has this table (a project opened read-only before a migration
        that adds it has not)."""
        return self.one("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                        (name,)) is not None


class SqliteDatabase(Database):
    """One SQLite connection (autocommit mode: transactions are explicit) used under a lock."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.mutex = threading.RLock()

    def query(self, sql: str, args: Sequence = ()) -> list[tuple]:
        with self.mutex:
            return self.conn.execute(sql, args).fetchall()

    def one(self, sql: str, args: Sequence = ()) -> tuple | None:
        with self.mutex:
            return self.conn.execute(sql, args).fetchone()

    def execute(self, sql: str, args: Sequence = ()) -> None:
        with self.mutex:
            self.conn.execute(sql, args)

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        with self.mutex:
            self.conn.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[SqliteDatabase]:
        with self.mutex:
            conn = self.conn
            if conn.in_transaction:  # nested: part of the outer transaction
                yield self
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield self
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def snapshot(self) -> Iterator[SqliteDatabase]:
        with self.mutex:
            conn = self.conn
            if conn.in_transaction:
                yield self
                return
            conn.execute("BEGIN")
            try:
                yield self
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")
