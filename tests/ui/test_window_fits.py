"""The window with a project open fits a screen 1440 pixels wide with every dock shown (the
player's buttons, slider and time side by side made it 1,631 pixels at least: on a 1600-pixel
screen its right edge, with the status bar's counts, was off the screen)."""

from __future__ import annotations

from conftest import FrameSpec
from PySide6.QtWidgets import QDockWidget


def test_the_window_fits_a_1440_pixel_screen_with_every_dock(window, make_project, qtbot):
    built = make_project({"片段 一": [FrameSpec(code=4), FrameSpec(), FrameSpec()]})
    window.set_store(built.store)
    qtbot.waitUntil(lambda: not window.clip_list.filler.running, timeout=10000)
    docks = window.findChildren(QDockWidget)
    assert {d.windowTitle() for d in docks} >= {"Clips", "History", "Player", "Preview"}
    assert window.minimumSizeHint().width() <= 1440
    window.resize(1440, 860)
    qtbot.waitUntil(lambda: window.width() <= 1440)
    player = next(d for d in docks if d.windowTitle() == "Player")
    assert player.minimumSizeHint().width() < 400
