"""Blindness and ownership enforced by the server (issue 16): each person's database role, and
row-level security on the tables where what one may read or write depends on who one is.

The mapping: a person's database role has their annotator (or rater) name. Three group roles
per project database, named after it ("<db> researcher", "<db> annotator", "<db> rater"):
- a researcher does everything (every table, every row);
- an annotator reads the project, writes their own labels and accepted proposals only (rows
  whose annotator is their role), flags frames (deletions, suggestions, irrelevant), and writes
  their own edit-log rows; ratings are not theirs to read;
- a rater writes their own ratings and picks, reads another rater's rating of a clip only once
  every rater of the clip's group has completed it, and reads other raters' rating edits in
  the edit log under the same rule; they write their own edit-log rows only.
The project's owner (the role that created the database's tables) and superusers are not
subject to row-level security: they administer (`feasstm server-roles`, migrations, jobs).
Roles get no password here: the administrator gives one (ALTER ROLE ... PASSWORD, read by libpq
from ~/.pgpass) or lets pg_hba.conf authenticate them (peer, cert, gss).
"""

from __future__ import annotations

from pathlib import Path

from feasstm_gui.core.errors import FeasstmError

KINDS = ("researcher", "annotator", "rater")
#: The edit-log operations that carry a rating's values (hidden from other raters until done).
RATING_OPS = ("rating_score", "rating_description", "rating_completed", "rating_pick")

# Tables each group may change (SELECT is granted on every table; RLS narrows rows).
_ANNOTATOR_WRITES = {
    "labels": "INSERT, UPDATE, DELETE", "proposal_accepts": "INSERT, UPDATE, DELETE",
    "deletions": "INSERT, UPDATE, DELETE", "suggestions": "INSERT, UPDATE, DELETE",
    "edits": "INSERT, UPDATE", "annotators": "INSERT", "faces": "INSERT",
    "frames": "UPDATE (irrelevant, face_version)",
}
_RATER_WRITES = {
    "ratings": "INSERT, UPDATE, DELETE", "rating_picks": "INSERT, UPDATE, DELETE",
    "edits": "INSERT, UPDATE", "annotators": "INSERT",
}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def group_roles(dbname: str) -> dict[str, str]:
    return {kind: f"{dbname} {kind}" for kind in KINDS}


def _policies(g: dict[str, str]) -> str:
    """The functions and row-level security policies (PostgreSQL's SQL, run as the owner)."""
    r, a, t = (_ident(g[k]) for k in KINDS)
    rating_ops = ", ".join(_lit(op) for op in RATING_OPS)
    return f"""
-- every rater of the clip's group has completed their rating of it (and there is one)
CREATE OR REPLACE FUNCTION feasstm_clip_rated(c text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT EXISTS (SELECT 1 FROM clips k JOIN raters rr ON rr.grp = k.grp
                   WHERE k.id = c AND k.grp <> '')
       AND NOT EXISTS (SELECT 1 FROM clips k JOIN raters rr ON rr.grp = k.grp
                       LEFT JOIN ratings x ON x.clip = k.id AND x.rater = rr.name
                       WHERE k.id = c AND x.completed_at IS NULL)
$$;
REVOKE ALL ON FUNCTION feasstm_clip_rated(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION feasstm_clip_rated(text) TO {r}, {a}, {t};

ALTER TABLE labels ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS researcher_all ON labels;
CREATE POLICY researcher_all ON labels TO {r} USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS team_reads ON labels;
CREATE POLICY team_reads ON labels FOR SELECT TO {a}, {t} USING (true);
DROP POLICY IF EXISTS own_labels ON labels;
CREATE POLICY own_labels ON labels TO {a}
    USING (annotator = current_user) WITH CHECK (annotator = current_user);

ALTER TABLE proposal_accepts ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS researcher_all ON proposal_accepts;
CREATE POLICY researcher_all ON proposal_accepts TO {r} USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS team_reads ON proposal_accepts;
CREATE POLICY team_reads ON proposal_accepts FOR SELECT TO {a}, {t} USING (true);
DROP POLICY IF EXISTS own_accepts ON proposal_accepts;
CREATE POLICY own_accepts ON proposal_accepts TO {a}
    USING (annotator = current_user) WITH CHECK (annotator = current_user);

ALTER TABLE annotators ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS researcher_all ON annotators;
CREATE POLICY researcher_all ON annotators TO {r} USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS team_reads ON annotators;
CREATE POLICY team_reads ON annotators FOR SELECT TO {a}, {t} USING (true);
DROP POLICY IF EXISTS own_name ON annotators;
CREATE POLICY own_name ON annotators FOR INSERT TO {a}, {t} WITH CHECK (name = current_user);

ALTER TABLE ratings ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS researcher_all ON ratings;
CREATE POLICY researcher_all ON ratings TO {r} USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS own_ratings ON ratings;
CREATE POLICY own_ratings ON ratings TO {t}
    USING (rater = current_user) WITH CHECK (rater = current_user);
DROP POLICY IF EXISTS completed_group ON ratings;
CREATE POLICY completed_group ON ratings FOR SELECT TO {t} USING (feasstm_clip_rated(clip));

ALTER TABLE rating_picks ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS researcher_all ON rating_picks;
CREATE POLICY researcher_all ON rating_picks TO {r} USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS own_picks ON rating_picks;
CREATE POLICY own_picks ON rating_picks TO {t}
    USING (rater = current_user) WITH CHECK (rater = current_user);
DROP POLICY IF EXISTS completed_group ON rating_picks;
CREATE POLICY completed_group ON rating_picks FOR SELECT TO {t}
    USING (feasstm_clip_rated(clip));

ALTER TABLE edits ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS researcher_all ON edits;
CREATE POLICY researcher_all ON edits TO {r} USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS own_steps ON edits;
CREATE POLICY own_steps ON edits TO {a}, {t}
    USING (annotator = current_user) WITH CHECK (annotator = current_user);
DROP POLICY IF EXISTS team_reads ON edits;
CREATE POLICY team_reads ON edits FOR SELECT TO {a}, {t}
    USING (op NOT IN ({rating_ops})
           OR feasstm_clip_rated((target::jsonb) ->> 'clip'));
"""


def set_up_roles(folder: str | Path, *, researchers=(), annotators=(), raters=()) -> None:
    """Create (or update) the project's group roles, each person's login role and its group,
    the grants and the row-level security policies. Run as the project's owner or a superuser.
    Raters are also registered in the project with their group (the ratings' `raters` table)."""
    from feasstm_gui.core.store import Store
    from feasstm_gui.core.store.pg import _psycopg
    from feasstm_gui.core.store.ratings import set_rater
    from feasstm_gui.core.store.server import is_server_project

    folder = Path(folder)
    if not is_server_project(folder):
        raise FeasstmError("roles are a server project's (no server.json here); a SQLite "
                           "project has one writer at a time", path=folder)
    people = ([(n, "researcher") for n in researchers] + [(n, "annotator") for n in annotators]
              + [(n, "rater") for n, _ in raters])
    for name, _ in people:
        if not name or len(name.encode()) > 63 or "\x00" in name:
            raise FeasstmError(f"{name!r} cannot be a database role name (1-63 bytes)")
    with Store.open(folder, annotator="server-roles") as store:
        db = store.db
        dbname, owner = db.one("SELECT current_database(), current_user")
        g = group_roles(dbname)
        psycopg = _psycopg()
        try:
            with db.transaction():
                db.execute("SELECT pg_advisory_xact_lock(?)", (0x524F4C45,))  # "ROLE"
                for role in g.values():
                    if not db.one("SELECT 1 FROM pg_roles WHERE rolname=?", (role,)):
                        db.script(f"CREATE ROLE {_ident(role)} NOLOGIN")
                for name, kind in people:
                    if not db.one("SELECT 1 FROM pg_roles WHERE rolname=?", (name,)):
                        db.script(f"CREATE ROLE {_ident(name)} LOGIN")
                    db.script(f"GRANT {_ident(g[kind])} TO {_ident(name)}")
                _grants(db, dbname, g)
                db.script(_policies(g))
            for name, group in raters:
                set_rater(store, name, group, annotator=owner)
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise FeasstmError(f"the database server refused to set up the roles ({first}); "
                               "run it as the project's owner or a superuser", path=folder
                               ) from exc


def _grants(db, dbname: str, g: dict[str, str]) -> None:
    r, a, t = (_ident(g[k]) for k in KINDS)
    db.script(f"GRANT CONNECT ON DATABASE {_ident(dbname)} TO {r}, {a}, {t}")
    db.script(f"GRANT USAGE ON SCHEMA public TO {r}, {a}, {t}")
    db.script(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {r}")
    db.script(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {r}")
    db.script(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {a}, {t}")
    db.script(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {a}, {t}")
    for group, writes in ((a, _ANNOTATOR_WRITES), (t, _RATER_WRITES)):
        for table, what in writes.items():
            db.script(f"GRANT {what} ON {table} TO {group}")


def team_roles(folder: str | Path) -> list[tuple[str, list[str]]]:
    """(role, [kinds]) of every person with a role in this project, by name."""
    from feasstm_gui.core.store import Store

    with Store.open(folder, annotator="server-roles", read_only=True) as store:
        g = group_roles(store.db.one("SELECT current_database()")[0])
        rows = store.db.query(
            "SELECT m.rolname, gr.rolname FROM pg_auth_members am "
            "JOIN pg_roles gr ON gr.oid = am.roleid JOIN pg_roles m ON m.oid = am.member "
            "WHERE gr.rolname IN (?, ?, ?) ORDER BY m.rolname", tuple(g[k] for k in KINDS))
    kind_of = {v: k for k, v in g.items()}
    out: dict[str, list[str]] = {}
    for member, group in rows:
        out.setdefault(member, []).append(kind_of[group])
    return sorted(out.items())


def own_name(db, annotator: str) -> str:
    """The name a person's edits are made under on a server with the team's roles: their role
    (the mapping above) when it is an annotator's or a rater's and not a researcher's; else the
    annotator name asked for."""
    kinds = {kind for kind, member in db.query(
        "SELECT k.kind, EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname = "
        "current_database() || ' ' || k.kind AND pg_has_role(current_user, g.oid, 'MEMBER')) "
        "FROM (SELECT 'researcher' AS kind UNION ALL SELECT 'annotator' UNION ALL "
        "SELECT 'rater') k") if member}
    if kinds and "researcher" not in kinds:
        return db.one("SELECT current_user")[0]
    return annotator
