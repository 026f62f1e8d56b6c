"""Blindness and ownership enforced by the server (issue 16): after `feasstm server-roles`, each
person connects as their own database role and the server itself (row-level security) keeps
an annotator to their own labels and a rater blind to other raters' ratings of a clip until the
clip's group has completed it; the researcher does everything. Tried with plain SQL as each
role, and through the store as an annotator would."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from projects import make_project

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.store import Store
from feasstm_gui.core.store import ratings as rdb

psycopg = pytest.importorskip("psycopg")


def feasstm(*args, env=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONIOENCODING="utf-8", **(env or {}))
    return subprocess.run([sys.executable, "-m", "feasstm_gui.cli", *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", env=env)


def as_role(pg_url: str, role: str):
    from urllib.parse import quote
    return psycopg.connect(pg_url.replace("postgres@", f"{quote(role)}@"), autocommit=True)


@pytest.fixture
def team(cjk_dir, pg_url):
    folder = cjk_dir / "团队"
    store = make_project(folder, {"片段 甲": ("演员", "A"), "片段 乙": ("演员", "A")},
                         server=pg_url, n_frames=4)
    frames = [f.id for f in store.frames("片段 甲")]
    store.set_labels(frames[:2], 2, annotator="bob")
    store.close()
    proc = feasstm("server-roles", folder, "--researcher", "boss", "--annotator", "alice",
                   "--annotator", "bob", "--rater", "评分员 1:A", "--rater", "r2:A")
    assert proc.returncode == 0, proc.stderr
    assert "alice: annotator" in proc.stdout and "boss: researcher" in proc.stdout
    assert "评分员 1: rater" in proc.stdout
    return folder, pg_url, frames


def test_an_annotator_writes_only_their_own_labels(team):
    folder, url, frames = team
    with as_role(url, "alice") as alice:
        alice.execute("INSERT INTO labels (frame_id, annotator, code, labelled_at) "
                      "VALUES (%s, 'alice', 3, 'now')", (frames[0],))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            alice.execute("INSERT INTO labels (frame_id, annotator, code, labelled_at) "
                          "VALUES (%s, 'bob', 3, 'now')", (frames[2],))
        # bob's labels: readable, not changeable, not deletable (no row is theirs to touch)
        assert alice.execute("SELECT COUNT(*) FROM labels WHERE annotator='bob'"
                             ).fetchone() == (2,)
        assert alice.execute("UPDATE labels SET code=7 WHERE annotator='bob'").rowcount == 0
        assert alice.execute("DELETE FROM labels WHERE annotator='bob'").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            alice.execute("UPDATE labels SET annotator='bob' WHERE annotator='alice'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # not an annotator's table
            alice.execute("INSERT INTO ratings (clip, rater, score, updated_at) "
                          "VALUES ('片段 甲', 'alice', 3, 'now')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            alice.execute("DELETE FROM clips")
    with as_role(url, "boss") as boss:  # the researcher does everything
        assert boss.execute("UPDATE labels SET code=6 WHERE annotator='bob'").rowcount == 2
        boss.execute("INSERT INTO labels (frame_id, annotator, code, labelled_at) "
                     "VALUES (%s, 'carol', 1, 'now')", (frames[3],))
    with as_role(url, "postgres") as admin:
        assert admin.execute("SELECT annotator, code FROM labels ORDER BY frame_id, annotator"
                             ).fetchall() == [("alice", 3), ("bob", 6), ("bob", 6),
                                              ("carol", 1)]


def test_a_rater_reads_others_ratings_only_once_the_group_completed_the_clip(team):
    folder, url, frames = team
    with as_role(url, "评分员 1") as r1, as_role(url, "r2") as r2:
        def seen(conn):
            return sorted(conn.execute("SELECT rater, score FROM ratings").fetchall())

        r1.execute("INSERT INTO ratings (clip, rater, score, updated_at) "
                   "VALUES ('片段 甲', '评分员 1', 4, 'now')")
        r2.execute("INSERT INTO ratings (clip, rater, score, updated_at) "
                   "VALUES ('片段 甲', 'r2', 2, 'now')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            r1.execute("INSERT INTO ratings (clip, rater, score, updated_at) "
                       "VALUES ('片段 乙', 'r2', 1, 'now')")
        assert seen(r1) == [("评分员 1", 4)] and seen(r2) == [("r2", 2)]
        r1.execute("UPDATE ratings SET completed_at='now' WHERE rater='评分员 1'")
        assert seen(r1) == [("评分员 1", 4)]  # r2 has not completed: still blind
        assert r1.execute("UPDATE ratings SET score=5 WHERE rater='r2'").rowcount == 0
        r2.execute("UPDATE ratings SET completed_at='now' WHERE rater='r2'")
        assert seen(r1) == [("r2", 2), ("评分员 1", 4)] == seen(r2)
        # still not another's to change
        assert r1.execute("UPDATE ratings SET score=5 WHERE rater='r2'").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            r1.execute("INSERT INTO labels (frame_id, annotator, code, labelled_at) "
                       "VALUES (%s, '评分员 1', 3, 'now')", (frames[0],))
    with as_role(url, "alice") as alice:  # ratings are not an annotator's to read
        assert alice.execute("SELECT COUNT(*) FROM ratings").fetchone() == (0,)
    with as_role(url, "boss") as boss:
        assert boss.execute("SELECT COUNT(*) FROM ratings").fetchone() == (2,)


def test_through_the_store_each_person_works_as_their_role(team, monkeypatch):
    folder, url, frames = team
    # the team's mapping: server.json names no user; each workstation sets its own (PGUSER)
    (folder / "server.json").write_text(json.dumps({"url": url.replace("postgres@", "")}),
                                        encoding="utf-8")
    monkeypatch.setenv("PGUSER", "r2")
    with Store.open(folder, annotator="someone") as r2:
        assert r2.annotator == "r2"  # a role's edits are made under its own name
        rdb.set_score(r2, "片段 甲", "r2", 3)
        rdb.set_completed(r2, "片段 甲", "r2", True)
    monkeypatch.setenv("PGUSER", "评分员 1")
    with Store.open(folder) as r1:
        rdb.set_score(r1, "片段 甲", "评分员 1", 5)
        assert [(r.rater, r.score) for r in rdb.ratings(r1)] == [("评分员 1", 5)]
        # the edit log does not tell either: r2's rating steps are not readable yet
        assert "r2" not in {b.annotator for b in r1.history()}
        with pytest.raises(FeasstmError, match="refused this for role '评分员 1'"):
            rdb.set_score(r1, "片段 甲", "r2", 1)
        rdb.set_completed(r1, "片段 甲", "评分员 1", True)
        assert [(r.rater, r.score) for r in rdb.ratings(r1)] == [("r2", 3), ("评分员 1", 5)]
        assert r1.undo().description.startswith("complete rating")
    monkeypatch.setenv("PGUSER", "alice")
    with Store.open(folder) as alice:
        assert alice._label_step  # a key in one round trip (server_steps.py), as her role
        alice.set_labels(frames[2:4], 4)
        with pytest.raises(FeasstmError, match="refused this for role 'alice'"):
            alice.set_labels(frames[:1], 1, annotator="bob")
        assert alice.undo().annotator == "alice"
        # the step numbers stay the project's: no step shared with another person's
    monkeypatch.setenv("PGUSER", "postgres")
    with Store.open(folder) as admin:
        shared = admin.db.query("SELECT batch FROM edits GROUP BY batch "
                                "HAVING COUNT(DISTINCT annotator) > 1")
        assert shared == []
        assert admin.db.one("SELECT COUNT(*) FROM labels WHERE annotator='bob'") == (2,)


def test_server_roles_on_a_sqlite_project_is_refused(cjk_dir):
    make_project(cjk_dir / "p", {"c": ("a", "A")}, n_frames=1).close()
    proc = feasstm("server-roles", cjk_dir / "p", "--annotator", "alice")
    assert proc.returncode == 2 and "server project" in proc.stderr
    assert "Traceback" not in proc.stderr
