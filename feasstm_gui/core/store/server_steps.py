"""A label key press on a server project in one round trip (issue 16: commit p99 of a team).

Through the generic edit path (Store._apply) a key press is ten statements, each a round trip
to the server: BEGIN, the value's advisory lock, the annotator row, the old value, the step
number, the redo stack dropped, the frame checked, the label written, the edit-log row, COMMIT.
On a loaded machine every round trip waits for the server process and then for the workstation
process to get a CPU again, so the key's latency is ten of those waits. `label_step` sends the
same step as ONE statement: `SELECT feasstm_label_step_v1(...)` in autocommit mode, a server-side
function doing exactly what _apply does for labels, committed (synchronous_commit as the server
has it: the answer comes only once the commit is durable) before the answer returns.

Kept the same as the generic path, so either may make any step and undo reads both alike:
- the locks: the shared all-edits lock, then one lock per value, keyed by the same text
  (`store._value_key`) hashed the same way (`hashtextextended`), taken in the same order;
- the edit-log rows: target and new values are serialised by Python (`store._dumps`), as for
  every other step; the old value is the label's code as JSON (an integer, or NULL);
- row-level security: the function runs as the caller (SECURITY INVOKER), so a team role may
  write only what it could write statement by statement;
- a frame that does not exist: nothing is written, `no frame with id N`.

Faults: a statement that is its own transaction cannot be sent twice. Before it is sent, the
connection is checked without a round trip (what the server sent meanwhile is read: a restart
leaves its "terminating connection" and the closed socket there) and replaced if dropped. If the
connection breaks once the statement is sent, its answer is unknown: the message says the change
*may* not have been saved (as for a COMMIT whose answer was lost), never that it was.

The function is created, where missing, by whoever migrates the database (pg._server_only); a
role that may not create functions opens a project without it and uses the generic path.
"""

from __future__ import annotations

from collections.abc import Sequence

from feasstm_gui.core.errors import FeasstmError, ServerUnavailable

#: A new body gets a new name (v2 ...): a workstation running the old release keeps its own.
FUNCTION = "feasstm_label_step_v1"
#: SQLSTATE raised for a frame that does not exist (class FE: ours).
_NO_FRAME = "FE001"

_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}(
    p_who text, p_at text, p_frames bigint[], p_targets text[], p_keys text[],
    p_code integer, p_new text, p_description text, p_edits_lock bigint)
RETURNS integer LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    i integer;
    v_old integer;
    v_batch bigint := NULL;
    v_changed integer := 0;
BEGIN
    -- the locks of serialise_edits(values), in its order
    PERFORM pg_advisory_xact_lock_shared(p_edits_lock), (SELECT COUNT(*) FROM (
        SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(v, 0) AS k
        FROM unnest(p_keys) AS u(v)) AS d ORDER BY k) AS l);
    INSERT INTO annotators (name, created_at) VALUES (p_who, p_at) ON CONFLICT DO NOTHING;
    FOR i IN 1 .. coalesce(array_length(p_frames, 1), 0) LOOP
        v_old := NULL;
        SELECT l.code INTO v_old FROM labels l
            WHERE l.frame_id = p_frames[i] AND l.annotator = p_who;
        CONTINUE WHEN v_old IS NOT DISTINCT FROM p_code;
        IF v_batch IS NULL THEN
            v_batch := nextval('feasstm_edit_batch');
            UPDATE edits SET state = 'dropped' WHERE annotator = p_who AND state = 'undone';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM frames f WHERE f.id = p_frames[i]) THEN
            RAISE EXCEPTION 'no frame with id %', p_frames[i] USING ERRCODE = '{_NO_FRAME}';
        END IF;
        IF p_code IS NULL THEN
            DELETE FROM labels WHERE frame_id = p_frames[i] AND annotator = p_who;
        ELSE
            INSERT INTO labels (frame_id, annotator, code, labelled_at)
                VALUES (p_frames[i], p_who, p_code, p_at)
                ON CONFLICT (frame_id, annotator) DO UPDATE SET code = excluded.code,
                    labelled_at = excluded.labelled_at;
        END IF;
        INSERT INTO edits (batch, at, annotator, op, target, old, new, state, description)
            VALUES (v_batch, p_at, p_who, 'label', p_targets[i], v_old::text, p_new, 'done',
                    p_description);
        v_changed := v_changed + 1;
    END LOOP;
    RETURN v_changed;
END $$;
"""


def install(db) -> None:
    """Create the function where missing and where this role may (pg.migrate's transaction,
    under its advisory lock, so two workstations opening at once do not both create it)."""
    if db.one(f"SELECT to_regprocedure('{FUNCTION}(text,text,bigint[],text[],text[],integer,"
              "text,text,bigint)') IS NOT NULL")[0]:
        return
    if not db.one("SELECT has_schema_privilege(current_schema(), 'CREATE')")[0]:
        return
    db.script(_SQL)


def available(db) -> bool:
    """Whether this database has the function and this role may run it."""
    row = db.one(f"SELECT p.oid IS NOT NULL AND has_function_privilege(p.oid, 'EXECUTE') FROM "
                 f"(SELECT to_regprocedure('{FUNCTION}(text,text,bigint[],text[],text[],"
                 "integer,text,text,bigint)') AS oid) AS p")
    return bool(row and row[0])


def label_step(db, who: str, at: str, frames: Sequence[int], targets: Sequence[str],
               keys: Sequence[str], code: int | None, new: str | None, description: str,
               edits_lock: int) -> int:
    """One label step in one round trip and one transaction; returns the frames changed."""
    import psycopg

    sql = (f"SELECT {FUNCTION}(%s, %s, %s::bigint[], %s::text[], %s::text[], %s::integer, %s, "
           "%s, %s::bigint)")
    args = (who, at, [int(f) for f in frames], list(targets), list(keys), code, new,
            description, edits_lock)
    with db.mutex:
        if db.in_transaction:  # part of a caller's transaction: an ordinary statement there
            with db._lost():
                return int(db.conn.execute(sql, args).fetchone()[0])
        _drop_if_dead(db)
        with db._lost():
            db._fresh()  # a dropped connection replaced before anything is sent
        try:
            with db._lost():
                return int(db.conn.execute(sql, args).fetchone()[0])
        except ServerUnavailable as exc:
            # sent: the server may have committed it before the connection broke
            raise ServerUnavailable(str(exc).replace(
                "the last change was not saved",
                "the last change may not have been saved: it shows as it is on the server "
                "once the server is back")) from exc
        except psycopg.Error as exc:
            if exc.sqlstate == _NO_FRAME:
                raise FeasstmError(str(exc).strip().splitlines()[0]) from exc
            raise


def _drop_if_dead(db) -> None:
    """Read what the server sent since the last statement, without a round trip: a server
    restarted or stopped has closed the socket (after its "terminating connection"); such a
    connection is closed here, so that _fresh replaces it before the step is sent."""
    import select

    import psycopg
    from psycopg import pq

    conn = db.conn
    if conn is None or conn.closed or conn.broken:
        return
    pgconn = conn.pgconn
    dead = False
    try:
        # the server's goodbye and the closed socket may come as two reads: read while
        # something is waiting (a few times at most: a live idle connection has nothing)
        for _ in range(4):
            if not select.select([pgconn.socket], [], [], 0)[0]:
                break
            pgconn.consume_input()  # raises once it reads the end of the connection
        dead = pgconn.status != pq.ConnStatus.OK
    except (psycopg.OperationalError, OSError, ValueError):
        dead = True
    if dead:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - it is gone already
            pass
