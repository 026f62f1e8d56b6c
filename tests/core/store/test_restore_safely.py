"""Restoring a backup never leaves the project without a readable database, restores only a
project database, and leaves nothing beside the backups (issue 13)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.store import Clip, Store, restore_backup
from feasstm_gui.core.store import backup as backup_mod
from feasstm_gui.core.store.schema import SCHEMA_VERSION


@pytest.fixture
def folder(cjk_dir) -> Path:
    folder = cjk_dir / "项目 一"
    with Store.create(folder, annotator="甲") as store:
        store.add_clip(Clip("片段 一"))
        [fid] = store.add_frames("片段 一", [(0, 0.0, None, None)])
        store.set_labels([fid], 4)
        store.backup()
        store.set_labels([fid], 6)
    return folder


def code(folder: Path) -> int:
    with Store.open(folder, read_only=True) as store:
        return store.frames("片段 一")[0].code


def test_nothing_is_left_beside_the_backups(folder):
    restore_backup(folder)
    assert code(folder) == 4
    names = sorted(p.name for p in (folder / "backups").iterdir())
    assert all(n.endswith(".sqlite") for n in names), names  # no -wal, -shm, .tmp
    assert any(n.endswith("-before-restore.sqlite") for n in names)
    assert not [p for p in folder.iterdir() if "restoring" in p.name]
    for backup in (folder / "backups").iterdir():  # rollback-journal files: read, nothing beside
        con = sqlite3.connect(backup)
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        con.close()


def test_a_copy_that_fails_half_way_keeps_the_database(folder, monkeypatch):
    before = (folder / "project.sqlite").read_bytes()
    real = backup_mod._copy_database

    def fails(source, dest, **kw):
        real(source, dest, **kw)
        dest.write_bytes(dest.read_bytes()[:1000])  # cut short: the check must catch it

    monkeypatch.setattr(backup_mod, "_copy_database", fails)
    with pytest.raises(FeasstmError):
        restore_backup(folder)
    assert (folder / "project.sqlite").read_bytes() == before and code(folder) == 6


def test_a_newer_or_foreign_backup_is_refused(folder, cjk_dir):
    newer = cjk_dir / "新.sqlite"
    src = next((folder / "backups").glob("project-*.sqlite"))
    newer.write_bytes(src.read_bytes())
    con = sqlite3.connect(newer)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(FeasstmError, match="newer FEASSTM Studio"):
        restore_backup(folder, newer)
    assert code(folder) == 6
