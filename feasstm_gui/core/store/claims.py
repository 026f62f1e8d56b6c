"""Clips shared by several workers (issue 16): `feasstm process` (extract, align, identities)
started on several machines against one server project.

A worker takes a clip with `try_claim`: on a PostgreSQL project, a *session* advisory lock keyed
on the clip (`pg_try_advisory_lock`), held on the worker's own connection until it releases the
clip. Only one worker holds a clip at a time; one that is killed (kill -9, a crashed machine
whose connection the server drops) loses its connection and with it the lock, so another worker
takes the clip over and resumes it from the last batch the killed one committed (the jobs
resume from what the store holds). The table `job_claims` records each claim (who, when, how
it ended); a claim left open by a killed worker is closed as 'abandoned' by the one that takes
over. Locks and rows are the server's: nothing here is written on a SQLite project, whose
one-writer lock (project.lock) already keeps a second worker out.
"""

from __future__ import annotations

import os
import socket

from feasstm_gui.core.errors import FeasstmError

#: Advisory lock namespaces (the first int4 of the two-key lock): the frames of a clip
#: (extract, align, extract and align: one worker at a time) and its identity grouping.
_NAMESPACES = {"frames": 0x434C4950, "identities": 0x49444E54}  # "CLIP", "IDNT"
#: How often a worker whose remaining clips are all held by others looks again (seconds).
POLL_S = 1.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def is_shared(store) -> bool:
    """Whether other workers may be working on this project at the same time (a server)."""
    return getattr(store.db, "dialect", "sqlite") == "postgresql"


class Claim:
    """A clip held by this worker. `release(outcome, frames)` lets it go (idempotent)."""

    def __init__(self, store, clip: str, job: str, kind: str, row: int | None):
        self.store, self.clip, self.job, self.kind, self.row = store, clip, job, kind, row
        self.held = True

    def release(self, outcome: str, frames: int | None = None) -> None:
        if not self.held:
            return
        self.held = False
        if self.row is None:
            return
        from feasstm_gui.core.store.store import utc_now
        db = self.store.db
        try:
            db.execute("UPDATE job_claims SET ended_at=?, outcome=?, frames=? WHERE id=?",
                       (utc_now(), outcome, frames, self.row))
        except Exception:  # noqa: BLE001 - a lost server: the lock went with the connection
            return
        try:
            db.one("SELECT pg_advisory_unlock(CAST(? AS INTEGER), hashtext(?))",
                   (_NAMESPACES[self.kind], self.clip))
        except Exception:  # noqa: BLE001 - as above
            pass


def clips_of_frames(store, frame_ids) -> list[str]:
    """The clips the frames `frame_ids` belong to, sorted (the order claims are taken in)."""
    ids = [int(f) for f in frame_ids]
    clips: set[str] = set()
    for k in range(0, len(ids), 500):
        part = ids[k:k + 500]
        clips.update(r[0] for r in store.db.query(
            f"SELECT DISTINCT clip FROM frames WHERE id IN ({','.join('?' * len(part))})",
            part))
    return sorted(clips)


def try_claim(store, clip: str, job: str, kind: str = "frames") -> Claim | None:
    """Take `clip` for `job`, or None when another worker holds it now. On a SQLite project
    the clip is always this worker's (the project lock keeps others out)."""
    if not is_shared(store):
        return Claim(store, clip, job, kind, None)
    from feasstm_gui.core.store.store import utc_now
    db = store.db
    if db.in_transaction:
        raise FeasstmError("a clip is claimed outside a transaction")  # pragma: no cover
    got = db.one("SELECT pg_try_advisory_lock(CAST(? AS INTEGER), hashtext(?))",
                 (_NAMESPACES[kind], clip))[0]
    if not got:
        return None
    try:
        now = utc_now()
        with db.transaction():
            # ours now: a claim still open here was a worker that died holding it
            same = "=" if kind == "identities" else "<>"
            db.execute("UPDATE job_claims SET ended_at=?, outcome='abandoned' WHERE clip=? "
                       f"AND ended_at IS NULL AND job {same} 'identities'", (now, clip))
            row = db.one("INSERT INTO job_claims (clip, job, worker, started_at) "
                         "VALUES (?,?,?,?) RETURNING id", (clip, job, worker_name(), now))[0]
    except BaseException:
        try:
            db.one("SELECT pg_advisory_unlock(CAST(? AS INTEGER), hashtext(?))",
                   (_NAMESPACES[kind], clip))
        except Exception:  # noqa: BLE001
            pass
        raise
    return Claim(store, clip, job, kind, row)


def claims(store, clip: str | None = None) -> list[tuple]:
    """The claim record, oldest first: (clip, job, worker, started_at, ended_at, outcome,
    frames)."""
    sql = ("SELECT clip, job, worker, started_at, ended_at, outcome, frames FROM job_claims"
           + (" WHERE clip=?" if clip is not None else "") + " ORDER BY id")
    return store.db.query(sql, (clip,) if clip is not None else ())
