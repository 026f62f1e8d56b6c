"""`feasstm move-to-server` (a SQLite project's rows to a server; the folder then names it) and
`feasstm snapshot` (a server project back to a self-contained SQLite project): the round trip
keeps every row (labels, ratings, the edit log, parameters) and the images (issue 16)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from projects import make_project

from feasstm_gui.core.store import Store
from feasstm_gui.core.store import ratings as rdb
from feasstm_gui.core.store.transfer import MOVED_DB, tables


def feasstm(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "feasstm_gui.cli", *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", env=env)


def dump(db_file) -> dict[str, list]:
    """Every row of every table of a SQLite project database, in a comparable order."""
    conn = sqlite3.connect(db_file)
    try:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in tables()}
    finally:
        conn.close()


def files(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for sub in ("frames", "crops") for p in sorted((folder / sub).rglob("*"))
            if p.is_file()}


def a_worked_project(folder):
    store = make_project(folder, {"片段 甲": ("演员 一", "A"), "片段 乙": ("演员 二", "A")})
    try:
        a = [f.id for f in store.frames("片段 甲")]
        b = [f.id for f in store.frames("片段 乙")]
        store.set_labels(a[:4], 3, annotator="alice")
        store.set_labels(a[2:6], 5, annotator="bob")
        store.set_labels(b[:2], 1, annotator="alice")
        store.undo("alice")  # an undone step stays in the log
        store.set_deletion(a[7:], "blur", True)
        store.adjudicate(a[2:3], 4)
        rdb.set_rater(store, "评分员 1", "A")
        rdb.set_rater(store, "r2", "A")
        rdb.set_score(store, "片段 甲", "评分员 1", 4)
        rdb.set_description(store, "片段 甲", "评分员 1", "自然, convincing")
        rdb.set_picks(store, "片段 甲", "评分员 1", a[:3])
        rdb.set_completed(store, "片段 甲", "评分员 1", True)
        rdb.set_score(store, "片段 甲", "r2", 2)
        store.set_params({"extract.jpeg_quality": 90})
    finally:
        store.close()


def test_sqlite_to_server_to_snapshot_keeps_everything(cjk_dir, pg_url):
    folder = cjk_dir / "项目 甲"
    a_worked_project(folder)
    before = dump(folder / "project.sqlite")
    images = files(folder)
    assert before["edits"] and before["ratings"] and before["rating_picks"]

    proc = feasstm("move-to-server", folder, pg_url)
    assert proc.returncode == 0, proc.stderr
    assert "moved to" in proc.stdout and "Traceback" not in proc.stderr
    assert json.loads((folder / "server.json").read_text(encoding="utf-8")) == {"url": pg_url}
    assert not (folder / "project.sqlite").exists()
    assert dump(folder / MOVED_DB) == before  # kept aside, as it was
    with Store.open(folder, annotator="carol") as store:
        assert type(store).__name__ == "ServerStore"
        assert store.param("extract.jpeg_quality") == 90
        assert [r.code for r in store.frames("片段 甲", annotator="bob")][2:6] == [5] * 4

    out = cjk_dir / "快照"
    proc = feasstm("snapshot", folder, out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("backups")) == [
        "crops", "frames", "project.sqlite"]
    assert dump(out / "project.sqlite") == before
    assert files(out) == images
    with Store.open(out, annotator="alice") as snap:  # a project of its own, undo included
        assert snap.undo().description.startswith("label 3")

    # the server's ids go on past the copied ones: a new edit is a new step, undone alone
    with Store.open(folder, annotator="carol") as store:
        frame = store.frames("片段 乙")[5].id
        store.set_labels([frame], 7)
        assert store.undo().changes == [("label", {"frame": frame, "annotator": "carol"},
                                         None, 7)]
        assert store.db.one("SELECT COUNT(DISTINCT id) FROM edits")[0] == len(before["edits"]) + 2


def test_a_database_that_is_not_empty_is_refused_and_nothing_moves(cjk_dir, pg_url):
    Store.create(cjk_dir / "other", annotator="x", server=pg_url).close()
    folder = cjk_dir / "项目"
    a_worked_project(folder)
    before = dump(folder / "project.sqlite")
    proc = feasstm("move-to-server", folder, pg_url)
    assert proc.returncode == 2
    assert "already holds a project" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (folder / "server.json").exists() and not (folder / MOVED_DB).exists()
    assert dump(folder / "project.sqlite") == before


def test_snapshot_refuses_an_existing_folder_and_a_sqlite_project(cjk_dir, pg_url):
    folder = cjk_dir / "p"
    make_project(folder, {"c": ("a", "A")}, server=pg_url, n_frames=2).close()
    (cjk_dir / "out").mkdir()
    proc = feasstm("snapshot", folder, cjk_dir / "out")
    assert proc.returncode == 2 and "already exists" in proc.stderr
    assert list((cjk_dir / "out").iterdir()) == []
    make_project(cjk_dir / "local", {"c": ("a", "A")}, n_frames=2).close()
    proc = feasstm("snapshot", cjk_dir / "local", cjk_dir / "out2")
    assert proc.returncode == 2 and "not a project on a server" in proc.stderr
    assert not (cjk_dir / "out2").exists()


def test_a_move_stopped_after_its_commit_is_finished_by_running_it_again(cjk_dir, pg_url,
                                                                        monkeypatch):
    import feasstm_gui.core.files as files
    from feasstm_gui.core.errors import FeasstmError
    from feasstm_gui.core.store.transfer import move_to_server

    folder = cjk_dir / "项目"
    a_worked_project(folder)
    before = dump(folder / "project.sqlite")

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "atomic_write", no_space)
    with pytest.raises(OSError):
        move_to_server(folder, pg_url)
    assert not (folder / "server.json").exists() and dump(folder / "project.sqlite") == before
    monkeypatch.undo()
    counts = move_to_server(folder, pg_url)  # the rows are there: the folder is finished
    assert counts["labels"] == len(before["labels"])
    assert (folder / "server.json").is_file() and (folder / MOVED_DB).is_file()
    with Store.open(folder) as store:
        assert store.db.one("SELECT COUNT(*) FROM edits")[0] == len(before["edits"])
    # another project's rows are not taken for this one's
    other = cjk_dir / "另一个"
    a_worked_project(other)
    with Store.open(other) as s:
        s.set_labels([s.frames("片段 甲")[0].id], 7, annotator="zoe")
    with pytest.raises(FeasstmError, match="already holds a project"):
        move_to_server(other, pg_url)
    assert (other / "project.sqlite").is_file() and not (other / "server.json").exists()
