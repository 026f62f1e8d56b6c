"""An export appears complete or not at all: full disk, cancel, crash, errors, --force."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from export_helpers import ClipSpec, build_project

from feasstm_gui.core.dataset import export as export_mod
from feasstm_gui.core.dataset.export import ExportOptions, export_dataset
from feasstm_gui.core.dataset.verify import verify
from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.jobs import drive


@pytest.fixture
def built(cjk_dir, monkeypatch):
    monkeypatch.setattr(export_mod, "CHUNK", 4)  # several progress steps for a small project
    b = build_project(cjk_dir / "项目", [
        ClipSpec("片段 一", ["4"] * 6 + ["7"] * 5, actor="甲"),
        ClipSpec("片段 二", ["1", "2", "3", "5", "6"], actor="乙"),
        ClipSpec("片段 三", ["6"] * 7, actor="丙"),
    ])
    yield b
    b.store.close()


def siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}"))


def test_full_disk_leaves_nothing(built, cjk_dir, monkeypatch):
    real = export_mod._copy_file
    calls = []

    def copy_until_full(src, dst, link):
        calls.append(dst)
        if len(calls) == 9:
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real(src, dst, link)

    monkeypatch.setattr(export_mod, "_copy_file", copy_until_full)
    out = cjk_dir / "导出"
    with pytest.raises(FeasstmError, match="disk is full.*nothing was exported") as err:
        drive(export_dataset(built.store, out))
    assert str(out) in str(err.value)
    assert not out.exists() and siblings(out) == []
    assert len(calls) == 9


def test_full_disk_in_a_text_file(built, cjk_dir, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_mod, "_write_manifest", full)
    out = cjk_dir / "导出"
    with pytest.raises(FeasstmError, match="disk is full"):
        drive(export_dataset(built.store, out))
    assert not out.exists() and siblings(out) == []


def test_cancel_between_units_leaves_nothing(built, cjk_dir):
    out = cjk_dir / "导出"
    seen = []
    result = drive(export_dataset(built.store, out), on_progress=seen.append,
                   should_stop=lambda: len(seen) == 3)
    assert result.summary == "cancelled"
    assert 0 < seen[-1].done < seen[-1].total
    assert not out.exists() and siblings(out) == []


def test_an_unexpected_error_leaves_nothing(built, cjk_dir, monkeypatch):
    def boom(*args):
        raise RuntimeError("bug")

    monkeypatch.setattr(export_mod, "_write_tables", boom)
    out = cjk_dir / "导出"
    with pytest.raises(RuntimeError):
        drive(export_dataset(built.store, out))
    assert not out.exists() and siblings(out) == []


def test_the_temporary_folder_is_a_hidden_sibling(built, cjk_dir):
    out = cjk_dir / "导出"
    job = export_dataset(built.store, out)
    next(job)
    assert not out.exists()
    [tmp] = siblings(out)
    assert tmp.startswith(f".{out.name}.partial-{os.getpid()}-")
    job.close()
    assert siblings(out) == []


def test_an_existing_export_is_never_overwritten_without_force(built, cjk_dir):
    out = cjk_dir / "导出"
    out.mkdir()
    (out / "mine.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(FeasstmError, match="already exists.*--force"):
        drive(export_dataset(built.store, out))
    assert (out / "mine.txt").read_text(encoding="utf-8") == "keep me"
    assert siblings(out) == []


def test_force_replaces_atomically(built, cjk_dir):
    out = cjk_dir / "导出"
    drive(export_dataset(built.store, out, ExportOptions(seed=1)))
    (out / "extra.txt").write_text("old", encoding="utf-8")
    drive(export_dataset(built.store, out, ExportOptions(seed=2), force=True))
    assert not (out / "extra.txt").exists()
    assert verify(out) == []
    assert siblings(out) == []


def test_force_keeps_the_old_export_when_the_new_one_fails(built, cjk_dir, monkeypatch):
    out = cjk_dir / "导出"
    drive(export_dataset(built.store, out))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def full(src, dst, link):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_mod, "_copy_file", full)
    with pytest.raises(FeasstmError, match="disk is full"):
        drive(export_dataset(built.store, out, force=True))
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert siblings(out) == []


def test_force_restores_the_old_export_when_the_rename_fails(built, cjk_dir, monkeypatch):
    out = cjk_dir / "导出"
    drive(export_dataset(built.store, out))
    manifest = (out / "manifest.json").read_bytes()
    real = os.rename

    def rename(src, dst):
        if Path(src).name.startswith(f".{out.name}.partial-"):
            raise OSError(errno.EIO, "I/O error")
        return real(src, dst)

    monkeypatch.setattr(export_mod.os, "rename", rename)
    with pytest.raises(FeasstmError, match="nothing was exported"):
        drive(export_dataset(built.store, out, ExportOptions(seed=5), force=True))
    assert (out / "manifest.json").read_bytes() == manifest
    assert siblings(out) == []


def test_leftovers_of_a_crashed_export_are_removed(built, cjk_dir):
    out = cjk_dir / "导出"
    dead = cjk_dir / f".{out.name}.partial-999999999-abcd"  # no such process
    dead.mkdir()
    (dead / "half.jpg").write_bytes(b"\xff\xd8")
    alive = cjk_dir / f".{out.name}.partial-{os.getpid()}-beef"  # this process: not touched
    alive.mkdir()
    drive(export_dataset(built.store, out))
    assert not dead.exists() and alive.exists()
    assert verify(out) == []


def test_a_crash_between_the_two_renames_of_force_loses_nothing(built, cjk_dir):
    out = cjk_dir / "导出"
    drive(export_dataset(built.store, out))
    aside = cjk_dir / f".{out.name}.old-999999999-abcd"  # the old export, set aside ...
    out.rename(aside)  # ... and the process died before the new one was renamed in
    with pytest.raises(FeasstmError, match="already exists"):
        drive(export_dataset(built.store, out))
    assert verify(out) == [] and siblings(out) == []  # put back, and not overwritten


def test_export_inside_the_project_is_refused(built):
    folder = built.store.folder
    with pytest.raises(FeasstmError, match="inside the project folder"):
        drive(export_dataset(built.store, folder / "export"))
    with pytest.raises(FeasstmError, match="holds the project"):
        drive(export_dataset(built.store, folder.parent, force=True))
    assert folder.is_dir() and not (folder / "export").exists()


def test_parent_folders_are_created(built, cjk_dir):
    out = cjk_dir / "新 文件夹" / "再一层" / "导出"
    drive(export_dataset(built.store, out))
    assert verify(out) == []
