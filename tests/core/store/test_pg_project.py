"""A project on a PostgreSQL server (core/store/server.py, issue 16): created with
`feasstm new PROJECT --server URL`, reopened by its folder, and the bad input of a server
project refused with one clear message and nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.store import Clip, Store
from feasstm_gui.core.store.schema import SCHEMA_VERSION


def feasstm(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "feasstm_gui.cli", *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", env=env)


def test_feasstm_new_server_keeps_images_here_and_rows_there(cjk_dir, pg_url):
    folder = cjk_dir / "团队 项目"
    proc = feasstm("new", folder, "--server", pg_url)
    assert proc.returncode == 0, proc.stderr
    assert "created project" in proc.stdout and "Traceback" not in proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["crops", "frames", "server.json"]
    assert json.loads((folder / "server.json").read_text(encoding="utf-8")) == {"url": pg_url}
    assert not (folder / "project.sqlite").exists()

    with Store.open(folder, annotator="alice") as store:
        assert store.name == "团队 项目"
        assert store.schema_version == SCHEMA_VERSION
        store.add_clip(Clip("片段 一"))
        f = store.add_frames("片段 一", [(i, i * 40.0, None, None) for i in range(5)])
        store.set_labels(f[:2], 3)
    # two people at once: no project.lock for a server project
    alice = Store.open(folder, annotator="alice")
    bob = Store.open(folder, annotator="bob")
    try:
        bob.set_labels([f[0]], 3)
        bob.set_labels([f[1]], 6)
        assert [r.code for r in alice.frames("片段 一")][:2] == [3, None]
        assert alice.status()["disagreements"] == 1
        assert alice.undo().description.startswith("label 3")  # alice's own step
        assert bob.frames("片段 一", annotator="bob")[1].code == 6
    finally:
        alice.close()
        bob.close()
    proc = feasstm("status", folder, "--json")
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["frames"] == 5 and status["annotators"] == ["alice", "bob"]


def test_a_password_in_the_url_is_refused_before_anything_is_written(cjk_dir, pg_url):
    url = pg_url.replace("postgres@", "postgres:secret@")
    folder = cjk_dir / "p"
    proc = feasstm("new", folder, "--server", url)
    assert proc.returncode == 2, proc.stderr
    assert "password" in proc.stderr and "Traceback" not in proc.stderr
    assert not folder.exists()


def test_a_server_that_cannot_be_reached_is_one_message_and_no_folder(cjk_dir, tmp_path):
    folder = cjk_dir / "p"
    proc = feasstm("new", folder, "--server", f"postgresql://postgres@/x?host={tmp_path}&port=9")
    assert proc.returncode == 2
    assert "cannot connect to the database server" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not folder.exists()


def test_not_a_postgresql_url_is_refused(cjk_dir):
    with pytest.raises(FeasstmError, match="not a PostgreSQL URL"):
        Store.create(cjk_dir / "p", server="mysql://host/db")
    assert not (cjk_dir / "p").exists()


def test_a_database_that_already_holds_a_project_is_not_taken_twice(cjk_dir, pg_url):
    Store.create(cjk_dir / "a", annotator="alice", server=pg_url).close()
    with pytest.raises(FeasstmError, match="already holds a project"):
        Store.create(cjk_dir / "b", annotator="alice", server=pg_url)
    assert not (cjk_dir / "b").exists()


def test_a_database_from_a_newer_schema_is_refused_on_open(cjk_dir, pg_url):
    Store.create(cjk_dir / "a", annotator="alice", server=pg_url).close()
    import psycopg
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version=%s", (SCHEMA_VERSION + 1,))
    for read_only in (False, True):
        with pytest.raises(FeasstmError, match="newer FEASSTM Studio"):
            Store.open(cjk_dir / "a", annotator="alice", read_only=read_only)


def test_a_damaged_server_file_is_named(cjk_dir, pg_url):
    Store.create(cjk_dir / "a", annotator="alice", server=pg_url).close()
    (cjk_dir / "a" / "server.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(FeasstmError, match="not a readable server file") as err:
        Store.open(cjk_dir / "a", annotator="alice")
    assert "server.json" in str(err.value)


def test_missing_images_are_named_by_the_check(cjk_dir, pg_url):
    store = Store.create(cjk_dir / "a", annotator="alice", server=pg_url)
    try:
        store.add_clip(Clip("c1"))
        f = store.add_frames("c1", [(0, 0.0, "frames/c1/000000.jpg", None)])
        store.add_face(f[0], crop="crops/c1/000000.jpg", prob=0.9)
        problems = store.consistency_problems()
    finally:
        store.close()
    assert any("000000.jpg: crop of clip 'c1' frame 0 is missing" in p for p in problems)
    assert any("image of clip 'c1' frame 0 is missing" in p for p in problems)
    with pytest.raises(FeasstmError, match="damaged"):
        Store.open(cjk_dir / "a", check=True)


def test_two_workstations_labelling_at_once_keep_their_steps_apart(cjk_dir, pg_url):
    """Each edit-log step is one annotator's: concurrent commits never share a step number,
    so undo takes back only the annotator's own change."""
    import threading
    store = Store.create(cjk_dir / "a", annotator="alice", server=pg_url)
    store.add_clip(Clip("c1"))
    f = store.add_frames("c1", [(i, None, None, None) for i in range(60)])
    store.close()
    errors: list[BaseException] = []

    def annotate(who: str, frames: list[int]) -> None:
        try:
            with Store.open(cjk_dir / "a", annotator=who) as s:
                for i in frames:
                    s.set_labels([i], 1 + i % 7)
        except BaseException as exc:  # pragma: no cover - shown by the assert
            errors.append(exc)

    threads = [threading.Thread(target=annotate, args=(who, f[k::3]))
               for k, who in enumerate(("alice", "bob", "carol"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Store.open(cjk_dir / "a", annotator="bob") as s:
        shared = s.db.query("SELECT batch FROM edits GROUP BY batch "
                            "HAVING COUNT(DISTINCT annotator) > 1 OR COUNT(*) > 1")
        assert shared == []
        assert s.db.one("SELECT COUNT(*) FROM labels") == (60,)
        step = s.undo()
        assert step.annotator == "bob" and len(step.changes) == 1
        assert s.db.one("SELECT COUNT(*) FROM labels") == (59,)


def test_file_backups_and_restore_are_refused_on_a_server_project(cjk_dir, pg_url):
    folder = cjk_dir / "a"
    Store.create(folder, annotator="alice", server=pg_url).close()
    for args in (("backup", folder), ("restore", folder)):
        proc = feasstm(*args)
        assert proc.returncode == 2 and "server" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["crops", "frames", "server.json"]


def test_a_login_the_server_refuses_is_named(cjk_dir, pg_url):
    url = pg_url.replace("postgres@", "nobody@")
    proc = feasstm("new", cjk_dir / "p", "--server", url)
    assert proc.returncode == 2
    assert "cannot connect to the database server" in proc.stderr
    assert 'role "nobody" does not exist' in proc.stderr and "Traceback" not in proc.stderr
    assert not (cjk_dir / "p").exists()
    # a project folder whose server.json names a role the server refuses: the same message
    Store.create(cjk_dir / "a", annotator="alice", server=pg_url).close()
    (cjk_dir / "a" / "server.json").write_text(json.dumps({"url": url}), encoding="utf-8")
    proc = feasstm("status", cjk_dir / "a")
    assert proc.returncode == 2 and 'role "nobody" does not exist' in proc.stderr
