"""Rotating backups taken while the project is open (from the edit path), and restoring one."""

from __future__ import annotations

import sqlite3

from feasstm_gui.core.store import Clip, Store, restore_backup


def _project(folder, n_frames=20) -> tuple[Store, list[int]]:
    store = Store.create(folder, annotator="alice")
    store.add_clip(Clip("片段 一"))
    store.add_frames("片段 一", [(i, None, None, None) for i in range(n_frames)])
    return store, [f.id for f in store.frames("片段 一")]


def _codes(folder) -> dict[int, int]:
    with Store.open(folder, annotator="alice", backup=False) as store:
        return {f.id: f.code for f in store.frames("片段 一") if f.code is not None}


def test_a_backup_taken_while_open_restores_the_edits_made_before_it(cjk_dir):
    folder = cjk_dir / "备份 项目"
    store, ids = _project(folder)
    store.set_params({"backup.every_edits": 5, "backup.min_interval_s": 3600})
    for i in range(5):
        store.set_labels([ids[i]], 4)
    store.wait_for_backup()
    autos = [b for b in store.backups() if b.name.endswith("-auto.sqlite")]
    assert len(autos) == 1
    # the backup is a sound SQLite database made with the backup API while the store was open
    con = sqlite3.connect(autos[0])
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    for i in range(5, 8):  # edits after the backup
        store.set_labels([ids[i]], 7)
    assert store.backup_error is None
    store.close()
    assert _codes(folder) == {**dict.fromkeys(ids[:5], 4), **dict.fromkeys(ids[5:8], 7)}

    restore_backup(folder, autos[0])
    assert _codes(folder) == dict.fromkeys(ids[:5], 4)
    with Store.open(folder, annotator="alice", backup=False) as store:
        assert store.integrity_check() == []
        assert [s.description for s in store.history()][:1] == ["label 4 (Happy)"]


def test_backups_rotate_and_follow_the_interval(cjk_dir):
    folder = cjk_dir / "轮换"
    store, ids = _project(folder)
    store.set_params({"backup.every_edits": 2, "backup.keep": 3, "backup.min_interval_s": 3600})
    for i in range(12):
        store.set_labels([ids[i]], i % 7 + 1)
        store.wait_for_backup()
    assert len(store.backups()) == 3
    # below the edit count, the interval alone makes a backup due
    store.set_params({"backup.every_edits": 10_000, "backup.min_interval_s": 0})
    before = store.backups()
    store.set_labels([ids[15]], 2)
    store.wait_for_backup()
    assert store.backups() != before
    # an edit that changes nothing is no edit: no backup
    store.set_params({"backup.min_interval_s": 3600})
    before = store.backups()
    store.set_labels([ids[15]], 2)
    store.wait_for_backup()
    assert store.backups() == before
    store.close()


def test_a_backup_cut_short_by_a_crash_is_cleaned_up_on_open(cjk_dir):
    folder = cjk_dir / "残留"
    store, _ = _project(folder)
    store.close()
    part = folder / "backups" / "project-20260101T000000000000Z-auto.tmp"
    part.write_bytes(b"half a database")
    Store.open(folder, annotator="alice", backup=False).close()
    assert not part.exists()
