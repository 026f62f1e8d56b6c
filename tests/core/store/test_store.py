"""The project store: WAL, lock, edit log, undo/redo across restarts, versions, backups."""

from __future__ import annotations

import sqlite3

import pytest

from feasstm_gui.core.errors import FeasstmError, ProjectLocked
from feasstm_gui.core.store import Clip, Store, restore_backup
from feasstm_gui.core.store.schema import SCHEMA_VERSION


@pytest.fixture
def project(cjk_dir, request):
    # SQLite unless a test asks for both back ends (@BOTH): then also on a PostgreSQL server
    server = request.getfixturevalue("pg_url") if getattr(request, "param", "") == "pg" else None
    store = Store.create(cjk_dir / "项目", annotator="alice", server=server)
    store.add_clip(Clip("片段 一", work="作品", actor="演员"))
    store.add_frames("片段 一", [(i, i * 40.0, None, None) for i in range(20)])
    yield store
    store.close()


#: The test runs on the embedded SQLite store and on a PostgreSQL server (issue 16).
BOTH = pytest.mark.parametrize("project", ["sqlite", "pg"], indirect=True)


def ids(store, clip="片段 一"):
    return [f.id for f in store.frames(clip)]


def test_new_project_is_wal_with_current_schema(project):
    assert (project.folder / "project.sqlite").is_file()
    mode = sqlite3.connect(project.folder / "project.sqlite").execute(
        "PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert project.schema_version == SCHEMA_VERSION
    assert project.integrity_check() == []


def test_second_writer_is_refused_with_who_holds_it(project):
    with pytest.raises(ProjectLocked) as err:
        Store.open(project.folder, annotator="bob")
    assert "alice" in str(err.value) and "read-only" in str(err.value)
    with Store.open(project.folder, annotator="bob", read_only=True) as ro:
        assert ro.status()["frames"] == 20
        with pytest.raises(FeasstmError, match="read-only"):
            ro.set_labels([ids(ro)[0]], 4)


@BOTH
def test_labels_undo_redo_survive_close_and_reopen(project):
    folder = project.folder
    f = ids(project)
    project.set_labels(f[:3], 4)
    project.set_labels([f[0]], 6)
    project.toggle_deletion(f[5:7], "blur")
    project.close()

    store = Store.open(folder, annotator="alice")
    assert store.undo().description == "flag blur"
    assert store.status()["deleted"] == 0
    assert store.undo().description.startswith("label 6")
    assert store.frames("片段 一")[0].code == 4
    store.close()

    store = Store.open(folder, annotator="alice")
    assert store.redo().description.startswith("label 6")
    assert store.frames("片段 一")[0].code == 6
    store.close()

    store = Store.open(folder, annotator="alice")
    assert store.can_redo().description == "flag blur"
    store.set_labels([f[10]], 1)  # a new edit drops what was left to redo
    assert store.can_redo() is None
    assert store.status()["labels"]["6"] == 1 and store.status()["labels"]["4"] == 2
    # every change, undo and redo is in the audit log
    descriptions = [b.description for b in store.history(50)]
    assert any(d.startswith("undo of step") for d in descriptions)
    assert any(d.startswith("redo of step") for d in descriptions)
    store.close()


@BOTH
def test_undo_is_per_annotator(project):
    f = ids(project)
    project.set_labels([f[0]], 2, annotator="bob")
    project.set_labels([f[1]], 3)
    assert project.undo().changes[0][1] == {"frame": f[1], "annotator": "alice"}
    assert project.undo() is None  # bob's edit is not alice's to undo
    assert project.undo("bob") is not None


@BOTH
def test_final_label_agreement_and_adjudication(project):
    f = ids(project)
    project.set_labels(f[:2], 4, annotator="alice")
    project.set_labels([f[0]], 4, annotator="bob")   # agrees
    project.set_labels([f[1]], 5, annotator="bob")   # disagrees
    rows = project.frames("片段 一")
    assert rows[0].code == 4 and rows[1].code is None
    s = project.status()
    assert s["labelled"] == 1 and s["disagreements"] == 1
    project.adjudicate([f[1]], 5)
    assert project.frames("片段 一")[1].code == 5
    assert project.status()["labelled"] == 2
    # blind view: each annotator sees their own label
    assert project.frames("片段 一", annotator="alice")[1].code == 4


@BOTH
def test_deleted_and_irrelevant_frames_are_not_labelled(project):
    f = ids(project)
    project.set_labels(f[:4], 7)
    project.set_deletion([f[0]], "blur", True)
    project.set_deletion([f[0]], "incomplete", True)
    project.set_irrelevant([f[1]], True)
    s = project.status()
    assert s["labelled"] == 2
    assert s["deleted"] == 1
    assert s["deleted_by_reason"]["blur"] == 1 and s["deleted_by_reason"]["incomplete"] == 1
    assert s["irrelevant"] == 1


@BOTH
def test_suggestions_never_delete_until_accepted(project):
    f = ids(project)
    project.set_suggestions(f[0], {"blur": 0.9})
    project.set_suggestions(f[1], {"incomplete": 0.5, "blur": 0.7})
    s = project.status()
    assert s["suggested"] == {"alignment_failure": 0, "incomplete": 1, "blur": 2}
    assert s["deleted"] == 0
    project.accept_suggestions([f[0], f[1]], ["blur"])
    s = project.status()
    assert s["deleted"] == 2 and s["suggested"]["blur"] == 0 and s["suggested"]["incomplete"] == 1
    project.undo()
    assert project.status()["deleted"] == 0 and project.status()["suggested"]["blur"] == 2


@BOTH
def test_realign_keeps_history_and_is_undoable(project, tmp_path):
    f = ids(project)[0]
    project.add_face(f, crop="crops/a.jpg", prob=0.9, box=[1, 2, 3, 4])
    project.add_face(f, crop="crops/b.jpg", prob=0.99, log_as="re-align")
    assert project.face(f).crop == "crops/b.jpg"
    assert [x.crop for x in project.face_history(f)] == ["crops/a.jpg", "crops/b.jpg"]
    project.undo()
    assert project.face(f).crop == "crops/a.jpg"


def test_newer_schema_is_refused(project):
    folder = project.folder
    project.close()
    conn = sqlite3.connect(folder / "project.sqlite")
    conn.execute("PRAGMA user_version=99")
    conn.commit()
    conn.close()
    with pytest.raises(FeasstmError, match="newer FEASSTM Studio"):
        Store.open(folder)


def test_file_that_is_not_sqlite_is_refused_with_its_name(cjk_dir):
    folder = cjk_dir / "坏 项目"
    folder.mkdir()
    (folder / "project.sqlite").write_bytes(b"\x00garbage" * 500)
    with pytest.raises(FeasstmError) as err:
        Store.open(folder)
    assert "project.sqlite" in str(err.value)


def test_backup_rotation_and_restore(project):
    f = ids(project)
    project.set_params({"backup.keep": 3})
    project.set_labels([f[0]], 4)
    first = project.backup()
    for _ in range(4):
        project.backup()
    assert len(project.backups()) == 3 and first not in project.backups()
    kept = project.backups()[0]
    project.set_labels([f[0]], 1)
    folder = project.folder
    project.close()
    restore_backup(folder, kept)
    with Store.open(folder, annotator="alice") as store:
        assert store.frames("片段 一")[0].code == 4
        assert store.integrity_check() == []


def test_restore_refuses_while_project_is_open(project):
    project.backup()
    with pytest.raises(ProjectLocked):
        restore_backup(project.folder)


@BOTH
def test_bad_clip_id_is_refused(project):
    for bad in ("a/b", "..", " lead", "trail.", "x" * 101, "a:b"):
        with pytest.raises(FeasstmError, match="clip id"):
            project.add_clip(Clip(bad))
    project.add_clip(Clip("中文 片段 二"))  # Chinese with inner spaces is normal


def test_consistency_check_names_missing_crop(project):
    f = ids(project)[0]
    project.add_face(f, crop="crops/片段 一/missing.jpg")
    problems = project.consistency_problems()
    assert any("missing.jpg" in p and "missing" in p for p in problems)
