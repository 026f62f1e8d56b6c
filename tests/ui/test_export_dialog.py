"""Export dialog: counts per split and code before writing, export off the GUI thread, cancel."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from export_helpers import ClipSpec, build_project  # noqa: E402

from feasstm_gui.core.dataset import export as export_mod  # noqa: E402
from feasstm_gui.core.dataset.export import ExportOptions, plan_export  # noqa: E402
from feasstm_gui.core.dataset.verify import verify  # noqa: E402
from feasstm_gui.ui.export_dialog import ExportDialog, open_export_dialog  # noqa: E402


@pytest.fixture
def store(cjk_dir):
    b = build_project(cjk_dir / "项目", [
        ClipSpec("片段 一", ["4", "4", "4", "7", "7", "-"], actor="甲"),
        ClipSpec("片段 二", ["1", "1", "2"], actor="乙"),
        ClipSpec("片段 三", ["5", "6", "6", "6"], actor="丙"),
        ClipSpec("片段 四", ["3", "3"], actor="丁"),
    ])
    yield b.store
    b.store.close()


@pytest.fixture
def dialog(qtbot, store, cjk_dir):
    dlg = ExportDialog(store)
    qtbot.addWidget(dlg)
    dlg.out_edit.setText(str(cjk_dir / "导出 一"))
    dlg.show()
    return dlg


def cell(dlg, row, col) -> int:
    return int(dlg.table.item(row, col).text())


def test_shows_counts_per_split_and_code_before_writing(dialog, store, cjk_dir):
    plan = plan_export(store, ExportOptions())
    counts = plan.counts_by_split()
    for row, code in enumerate(range(1, 8)):
        assert cell(dialog, row, 0) == counts["train"][code]
        assert cell(dialog, row, 1) == counts["test"][code]
        assert cell(dialog, row, 2) == counts["train"][code] + counts["test"][code]
    assert cell(dialog, 7, 2) == 14 and cell(dialog, 3, 2) == 3  # all; code 4 Happy
    assert "Clips: train" in dialog.summary_label.text()
    assert not (cjk_dir / "导出 一").exists()


def test_counts_follow_the_options(qtbot, dialog):
    dialog.fraction_spin.setValue(0.0)
    qtbot.waitUntil(lambda: cell(dialog, 7, 1) == 0)
    assert cell(dialog, 7, 0) == 14
    dialog.unlabelled_check.setChecked(True)
    qtbot.waitUntil(lambda: "Unlabelled images (in no split): 1" in dialog.summary_label.text())
    dialog.format_box.setCurrentIndex(1)  # Emotion-FAN
    qtbot.waitUntil(lambda: "Sequences: train" in dialog.summary_label.text())
    assert dialog.min_run_spin.isEnabled() and not dialog.unlabelled_check.isEnabled()


def test_a_bad_split_file_disables_export(qtbot, dialog, cjk_dir):
    bad = cjk_dir / "split.csv"
    bad.write_text("片段 一,validation\n", encoding="utf-8")
    dialog.split_file_edit.setText(str(bad))
    qtbot.waitUntil(lambda: not dialog.export_button.isEnabled())
    assert "is not 'train' or 'test'" in dialog.status_label.text()
    assert not dialog.fraction_spin.isEnabled()


def test_export_runs_in_a_worker(qtbot, dialog, cjk_dir):
    main_thread = threading.get_ident()
    threads = []
    real = export_mod._copy_file

    def spy(src, dst, link):
        threads.append(threading.get_ident())
        return real(src, dst, link)

    export_mod._copy_file = spy
    try:
        with qtbot.waitSignal(dialog.runner.finished, timeout=20000):
            qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    finally:
        export_mod._copy_file = real
    out = cjk_dir / "导出 一"
    assert verify(out) == []
    assert threads and main_thread not in threads
    assert dialog.status_label.text().startswith(f"exported to {out}")
    assert dialog.export_button.isEnabled() and not dialog.cancel_button.isEnabled()


def test_export_uses_the_project_as_it_is_when_clicked(qtbot, dialog, store, cjk_dir):
    unlabelled = [f.id for f in store.frames("片段 一") if f.code is None]
    store.set_labels(unlabelled, 7)  # labelled while the dialog is open
    with qtbot.waitSignal(dialog.runner.finished, timeout=20000):
        assert dialog.start_export()
    out = cjk_dir / "导出 一"
    lines = [line for name in ("train.txt", "test.txt")
             for line in (out / name).read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 15 and cell(dialog, 7, 2) == 15


def test_cancel_leaves_nothing(qtbot, dialog, cjk_dir, monkeypatch):
    monkeypatch.setattr(export_mod, "CHUNK", 1)
    real = export_mod._copy_file
    gate = threading.Event()

    def slow(src, dst, link):
        gate.wait(5)
        time.sleep(0.02)
        return real(src, dst, link)

    monkeypatch.setattr(export_mod, "_copy_file", slow)
    assert dialog.start_export()
    assert dialog.cancel_button.isEnabled() and not dialog.export_button.isEnabled()
    with qtbot.waitSignal(dialog.runner.finished, timeout=20000) as blocker:
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
        gate.set()
    assert blocker.args[0].cancelled
    out = cjk_dir / "导出 一"
    assert not out.exists()
    assert [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")] == []
    assert "Cancelled" in dialog.status_label.text()


def test_an_existing_folder_is_not_replaced_unless_ticked(qtbot, dialog, cjk_dir):
    out = cjk_dir / "导出 一"
    out.mkdir()
    (out / "mine.txt").write_text("keep", encoding="utf-8")
    assert not dialog.start_export()
    assert "already exists" in dialog.status_label.text()
    assert (out / "mine.txt").exists()
    dialog.force_check.setChecked(True)
    with qtbot.waitSignal(dialog.runner.finished, timeout=20000):
        assert dialog.start_export()
    assert not (out / "mine.txt").exists() and verify(out) == []


def test_closing_while_exporting_cancels(qtbot, dialog, cjk_dir, monkeypatch):
    monkeypatch.setattr(export_mod, "CHUNK", 1)
    real = export_mod._copy_file

    def slow(src, dst, link):
        time.sleep(0.05)
        return real(src, dst, link)

    monkeypatch.setattr(export_mod, "_copy_file", slow)
    assert dialog.start_export()
    with qtbot.waitSignal(dialog.runner.finished, timeout=20000):
        dialog.close()
        assert dialog.isVisible()  # waits for the job to stop
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert not (cjk_dir / "导出 一").exists()


def test_open_export_dialog(qtbot, store):
    dlg = open_export_dialog(None, store)
    qtbot.addWidget(dlg)
    assert dlg.isVisible() and dlg.plan is not None
    dlg.close()
