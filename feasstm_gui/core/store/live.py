"""What others change in a server project, as it happens (issue 16: a team on one project).

On a PostgreSQL project every edit-log row (a label, a flag, an adjudication, a rating, an undo)
is announced on the channel `CHANNEL` when its transaction commits: a row trigger on `edits`
calls `pg_notify` with a small JSON payload, {"a": annotator, "b": step, "o": op, "t": target}
(the target is the edit's own JSON, e.g. {"frame": 12, "annotator": "alice"} or
{"clip": "c1", "rater": "r1"}). A statement trigger on `clips` announces {"o": "clips"} (a clip
added, removed or re-grouped, a job's status), once per transaction. PostgreSQL delivers them
only after the commit, in commit order, and drops none while the listener stays connected.

`ChangeListener` holds its own connection (the store's one is busy with the window's reads and
writes), LISTENs, and hands out what arrived; `summarise` folds a burst of notifications into
one `Changes` (which frames, clips and kinds of edit), so a window repaints once per burst. The
window's side (a socket notifier, the banner when the server is lost) is ui/live_updates.py;
this module has no Qt. The SQLite back end has no listener: one writer at a time.

A lost listener connection is the first sign of a server restarted or unreachable: `poll`
returns `None` then, and `connect` is tried again until it succeeds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from feasstm_gui.core.errors import FeasstmError

#: The notification channel of a project's database (one database: one project).
CHANNEL = "feasstm_changes"
#: Trigger names carry a version: a changed payload gets a new trigger beside the old one's drop.
_TRIGGER = "feasstm_edits_notify_v1"
_CLIPS_TRIGGER = "feasstm_clips_notify_v1"

_NOTIFY_SQL = f"""
CREATE OR REPLACE FUNCTION {_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    payload := json_build_object('a', NEW.annotator, 'b', NEW.batch, 'o', NEW.op,
                                 't', NEW.target::json)::text;
    IF octet_length(payload) > 7500 THEN  -- pg_notify's limit is 8000 bytes
        payload := json_build_object('b', NEW.batch, 'o', NEW.op)::text;
    END IF;
    PERFORM pg_notify('{CHANNEL}', payload);
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS {_TRIGGER} ON edits;
CREATE TRIGGER {_TRIGGER} AFTER INSERT ON edits
    FOR EACH ROW EXECUTE FUNCTION {_TRIGGER}();

CREATE OR REPLACE FUNCTION {_CLIPS_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '{{"o": "clips"}}');  -- the same payload: one per commit
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS {_CLIPS_TRIGGER} ON clips;
CREATE TRIGGER {_CLIPS_TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON clips
    FOR EACH STATEMENT EXECUTE FUNCTION {_CLIPS_TRIGGER}();
"""


def install_triggers(db) -> None:
    """Create the notification triggers where missing (pg.migrate calls this in its
    transaction, on every writable open, so a database made before them gets them)."""
    row = db.one("SELECT COUNT(*) FROM pg_trigger WHERE tgname IN (?, ?)",
                 (_TRIGGER, _CLIPS_TRIGGER))
    if row and row[0] == 2:
        return
    db.script(_NOTIFY_SQL)


@dataclass
class Note:
    """One notification: who, which step, which op and target; `pid` is the sender's server
    process (the store's own connection: `own`)."""

    op: str
    annotator: str | None = None
    batch: int | None = None
    target: dict = field(default_factory=dict)
    pid: int = 0


def parse(payload: str, pid: int = 0) -> Note | None:
    """A notification's payload, or None for one that is not ours."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("o"), str):
        return None
    target = data.get("t") if isinstance(data.get("t"), dict) else {}
    batch = data.get("b") if isinstance(data.get("b"), int) else None
    annotator = data.get("a") if isinstance(data.get("a"), str) else None
    return Note(data["o"], annotator, batch, target, pid)


@dataclass
class Changes:
    """A burst of notifications folded: what a view needs to re-read."""

    frames: set[int] = field(default_factory=set)
    clips: set[str] = field(default_factory=set)   # clips named by an edit (ratings, groups)
    ops: set[str] = field(default_factory=set)
    annotators: set[str] = field(default_factory=set)
    clip_list: bool = False    # clips added, removed or changed: reread the clip list
    everything: bool = False   # a notification too big to say what: reread all
    count: int = 0
    others: int = 0            # how many came from other connections than the store's own

    def __bool__(self) -> bool:
        return self.count > 0

    @property
    def labels(self) -> bool:
        """Whether labels, flags or adjudications changed (the strip, the adjudication view)."""
        return self.everything or bool(self.frames) or bool(
            self.ops & {"label", "adjudication", "deletion", "irrelevant", "suggestion"})

    @property
    def ratings(self) -> bool:
        return self.everything or any(o.startswith("rating") or o == "rater_group"
                                      for o in self.ops)


def summarise(notes: list[Note], own_pid: int = 0) -> Changes:
    """Fold notifications; `own_pid`: the store's own server process (see `own_pid`)."""
    out = Changes()
    for n in notes:
        out.count += 1
        out.others += n.pid != own_pid or not own_pid
        out.ops.add(n.op)
        if n.op == "clips":
            out.clip_list = True
            continue
        if n.annotator:
            out.annotators.add(n.annotator)
        if not n.target:
            out.everything = True
        frame = n.target.get("frame")
        if isinstance(frame, int):
            out.frames.add(frame)
        clip = n.target.get("clip")
        if isinstance(clip, str):
            out.clips.add(clip)
        if n.op in ("clip_group", "rater_group"):
            out.clip_list = True
    return out


class ChangeListener:
    """A connection of its own that LISTENs on the project's channel. Not thread-safe: one
    owner (the window's GUI thread) calls `connect`, `fileno` and `poll`."""

    def __init__(self, url: str, *, connect_timeout: int = 3):
        self.url = url
        self.connect_timeout = connect_timeout
        self.conn = None
        self.error = ""  # why the last connect or poll failed ("" while connected)

    @property
    def connected(self) -> bool:
        return self.conn is not None and not self.conn.closed and not self.conn.broken

    def connect(self) -> bool:
        """(Re)connect and LISTEN. False (and `error` says why) while the server is away."""
        from feasstm_gui.core.store.pg import connect

        self.close()
        try:
            # keepalives: a server gone without closing the socket is noticed within ~10 s
            conn = connect(self.url, connect_timeout=self.connect_timeout,
                           keepalives=1, keepalives_idle=4, keepalives_interval=2,
                           keepalives_count=3)
        except FeasstmError as exc:
            self.error = str(exc)
            return False
        try:
            conn.execute(f"LISTEN {CHANNEL}")
        except Exception as exc:  # noqa: BLE001 - the server went away again at once
            conn.close()
            self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            return False
        self.conn = conn
        self.error = ""
        return True

    def fileno(self) -> int | None:
        return self.conn.fileno() if self.connected else None

    def poll(self) -> list[Note] | None:
        """The notifications received so far (without waiting); None when the connection is
        lost (the server stopped, restarted or cannot be reached)."""
        if not self.connected:
            return None
        import psycopg

        notes: list[Note] = []
        try:
            for n in self.conn.notifies(timeout=0):
                note = parse(n.payload, n.pid)
                if note is not None:
                    notes.append(note)
        except psycopg.Error as exc:
            self.error = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            self.close()
            return None
        if not self._alive():
            self.close()
            return notes or None  # what came before the goodbye still counts
        return notes

    def _alive(self) -> bool:
        """Whether the socket still leads to the server: reading what is waiting on it finds a
        server that said goodbye (shut down, restarted) or closed the socket."""
        import psycopg
        from psycopg import pq

        pgconn = self.conn.pgconn
        try:
            pgconn.consume_input()
        except psycopg.Error as exc:
            self.error = (str(exc).strip().splitlines() or ["the server closed the connection"])[0]
            return False
        if pgconn.status != pq.ConnStatus.OK or self.conn.broken:
            self.error = "the server closed the connection"
            return False
        return True

    def wait(self, timeout: float) -> list[Note] | None:
        """Block up to `timeout` s for notifications (scripts and tests without an event loop)."""
        if not self.connected:
            return None
        import psycopg

        notes: list[Note] = []
        try:
            for n in self.conn.notifies(timeout=timeout, stop_after=1):
                note = parse(n.payload, n.pid)
                if note is not None:
                    notes.append(note)
        except psycopg.Error as exc:
            self.error = str(exc)
            self.close()
            return None
        more = self.poll()
        return None if more is None else notes + more

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
            self.conn = None


def listener_for(store) -> ChangeListener | None:
    """A listener for a server project; None for a SQLite one (one writer: nothing to hear)."""
    url = getattr(store, "url", None)
    return ChangeListener(url) if isinstance(url, str) and url else None


def own_pid(store) -> int:
    """The server process of the store's own connection (its notifications are its own)."""
    conn = getattr(getattr(store, "db", None), "conn", None)
    try:
        return int(conn.info.backend_pid) if conn is not None and not conn.broken else 0
    except Exception:  # noqa: BLE001 - a closed connection has no process
        return 0
