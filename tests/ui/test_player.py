"""The clip player (ui/player.py) and the player beside the strip (ui/player_panel.py), on
generated clips with a sound track whose frames show their own index (tests/indexed_clip.py).

What is checked is what the user sees: the index is read back from the painted widget."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from feasstm_gui.core.store import ratings as rdb

pytest.importorskip("PySide6.QtMultimedia")
pytest.importorskip("imageio_ffmpeg")

from indexed_clip import make_indexed_clip, read_index, video_project  # noqa: E402

from feasstm_gui.ui import player as player_mod  # noqa: E402
from feasstm_gui.ui.player import Player, StoredFrame  # noqa: E402

N = 60


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory):
    return make_indexed_clip(tmp_path_factory.mktemp("视频 clips") / "片段 一.mp4", N)


def painted_index(player: Player) -> int:
    """The index drawn in what the player's screen shows now."""
    view = player.view
    shot = view.grab().toImage()
    return read_index(shot.copy(view.image_rect().toRect()))


def wait_painted(qtbot, player: Player, index: int, timeout: int = 5000) -> None:
    qtbot.waitUntil(lambda: player.view.index == index and player.index == index,
                    timeout=timeout)


@pytest.fixture
def player(qtbot, clip_file):
    p = Player()
    qtbot.addWidget(p)
    p.resize(640, 480)
    p.show()
    p.load(clip_file, 25.0, [])
    qtbot.waitUntil(lambda: p.index == 0, timeout=10000)
    yield p
    p.pause()


def test_a_seek_shows_the_frame_with_that_source_index(qtbot, player):
    assert player.mode == "video"
    assert player.range == (0, N - 1)  # from the video's duration
    for index in (37, 5, 23, 0, 59, 12, 13, 11):  # across keyframes (every 12 frames)
        player.seek(index)
        wait_painted(qtbot, player, index)
        assert painted_index(player) == index
    player.step(1)
    wait_painted(qtbot, player, 12)
    assert painted_index(player) == 12


def test_playback_loops_a_range_and_changes_speed(qtbot, player):
    seen: list[int] = []
    player.frame_shown.connect(seen.append)
    player.set_loop(20, 26)
    player.seek(20)
    wait_painted(qtbot, player, 20)
    player.change_rate(1)
    assert player.rate == 1.25 and player.rate_box.currentText() == "1.25×"
    player.play()
    qtbot.waitUntil(lambda: seen.count(21) >= 2, timeout=10000)  # came round again
    player.pause()
    assert min(seen) >= 20 and max(seen) <= 26
    for _ in range(8):
        player.change_rate(-1)
    assert player.rate == 0.25


def test_no_sound_device_plays_silently_and_says_so_once(qtbot, clip_file, monkeypatch):
    from PySide6.QtMultimedia import QMediaDevices

    if QMediaDevices.audioOutputs():
        pytest.skip("this machine has a sound device")
    monkeypatch.setattr(player_mod, "_sound_notice_given", False)
    notices: list[str] = []
    players = []
    for _ in range(2):
        p = Player()
        qtbot.addWidget(p)
        p.notice.connect(notices.append)
        p.show()
        p.load(clip_file, 25.0, [])
        qtbot.waitUntil(lambda p=p: p.index == 0, timeout=10000)
        players.append(p)
    assert notices == [player_mod.NO_SOUND]  # once, not per player
    assert not players[0].has_sound and player_mod.NO_SOUND in players[1].status.text()
    players[1].play()
    qtbot.waitUntil(lambda: players[1].index >= 5, timeout=10000)  # it plays all the same
    players[1].pause()


def test_a_missing_or_unplayable_video_falls_back_to_the_stored_frames(qtbot, cjk_dir):
    store = video_project(cjk_dir / "项目", None, 12, step=3)
    stored = [StoredFrame(f.frame_index, str(store.folder / f.image)) for f in store.frames()]
    bad = cjk_dir / "坏 视频.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    for video in (cjk_dir / "不存在.mp4", bad):
        p = Player()
        qtbot.addWidget(p)
        notices: list[str] = []
        p.notice.connect(notices.append)
        p.show()
        p.load(video, 25.0, stored)
        qtbot.waitUntil(lambda p=p: p.mode == "frames", timeout=10000)
        assert any(video.name in n and "stored frames" in n for n in notices), notices
        assert video.name in p.status.text()
        p.seek(7)  # stored frames 0, 3, 6, 9: the one at or before 7
        wait_painted(qtbot, p, 6)
        assert painted_index(p) == 6
        p.step(1)
        wait_painted(qtbot, p, 9)
        assert painted_index(p) == 9
    store.close()


# -- beside the strip --------------------------------------------------------------------------


@pytest.fixture
def studio(qtbot, window, cjk_dir, clip_file):
    """The window on a project whose clip is the indexed video, every frame stored; frames
    30-34 have no face of the actor (no crop)."""
    store = video_project(cjk_dir / "项目 播放", clip_file, N, no_face={30, 31, 32, 33, 34})
    window.set_store(store)
    panel = window.player_panel
    panel.dock.show()
    panel.dock.raise_()
    qtbot.waitUntil(lambda: panel.player.index == 0, timeout=10000)
    window.strip.setFocus()
    yield window, store, panel.player
    panel.player.pause()


def test_the_strip_follows_playback_and_choosing_a_frame_seeks(qtbot, studio):
    window, store, player = studio
    player.play()
    qtbot.waitUntil(lambda: player.index >= 10, timeout=10000)
    player.pause()
    qtbot.waitUntil(lambda: not player.playing, timeout=2000)
    assert window.strip.current_frame().frame_index == player.index
    assert painted_index(player) == player.index
    window.strip.go_to_row(41)  # the annotator chooses frame 41 in the strip
    wait_painted(qtbot, player, 41)
    assert painted_index(player) == 41
    qtbot.keyClick(window.strip, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)  # play.forward
    wait_painted(qtbot, player, 42)
    assert window.strip.current_frame().frame_index == 42


def _codes(store, clip="片段 1") -> dict[int, int | None]:
    return {f.frame_index: f.code for f in store.frames(clip)}


def test_holding_a_code_key_labels_the_frames_that_pass_as_one_edit(qtbot, studio):
    window, store, player = studio
    player.seek(24)
    wait_painted(qtbot, player, 24)
    seen: list[int] = []
    player.frame_shown.connect(seen.append)
    qtbot.keyClick(window.strip, Qt.Key.Key_Space)  # play.toggle
    qtbot.waitUntil(lambda: player.index >= 26, timeout=10000)
    qtbot.keyPress(window.strip, Qt.Key.Key_3)
    start = len(seen) - 1
    assert window.player_panel.run is not None
    qtbot.waitUntil(lambda: player.index >= 32, timeout=10000)
    for _ in range(3):  # the key repeating as X11 sends it: up and down again at once
        qtbot.keyRelease(window.strip, Qt.Key.Key_3)
        qtbot.keyPress(window.strip, Qt.Key.Key_3)
        qtbot.wait(10)
    qtbot.waitUntil(lambda: player.index >= 38, timeout=10000)
    held = seen[start:]
    qtbot.keyRelease(window.strip, Qt.Key.Key_3)
    qtbot.waitUntil(lambda: window.player_panel.run is None, timeout=2000)
    passed = set(range(held[0], held[-1] + 1))
    expected = {i for i in passed if not 30 <= i <= 34}
    qtbot.waitUntil(lambda: player.index >= held[-1] + 3, timeout=10000)  # plays on, unlabelled
    player.pause()
    codes = _codes(store)
    assert {i for i, c in codes.items() if c == 3} == expected
    assert all(codes[i] is None for i in range(30, 35))  # no face of the actor: skipped
    assert store.undo("tester") is not None  # one edit: one undo takes the whole run back
    assert all(c is None for c in _codes(store).values())


def test_tapping_a_code_key_labels_until_it_is_tapped_again(qtbot, studio):
    window, store, player = studio
    player.seek(2)
    wait_painted(qtbot, player, 2)
    player.play()
    qtbot.waitUntil(lambda: player.index >= 4, timeout=10000)
    first = player.index
    qtbot.keyClick(window.strip, Qt.Key.Key_5)  # a tap: down and up at once
    assert window.player_panel.run is not None
    qtbot.waitUntil(lambda: not window.player_panel._held, timeout=2000)  # taken as a tap
    qtbot.waitUntil(lambda: player.index >= first + 8, timeout=10000)
    qtbot.keyClick(window.strip, Qt.Key.Key_5)
    last = player.index
    player.pause()
    labelled = sorted(i for i, c in _codes(store).items() if c == 5)
    assert labelled[0] == first and labelled[-1] in (last - 1, last, last + 1)
    assert labelled == list(range(labelled[0], labelled[-1] + 1))


def test_a_code_key_while_paused_labels_the_selection_as_before(qtbot, studio):
    window, store, player = studio
    window.strip.go_to_row(7)
    qtbot.keyClick(window.strip, Qt.Key.Key_2)
    assert _codes(store)[7] == 2 and window.player_panel.run is None


# -- rating mode -----------------------------------------------------------------------------


def test_rating_mode_completes_a_rating_from_the_player(qtbot, cjk_dir, clip_file):
    from feasstm_gui.ui.rating_mode import RatingDialog

    store = video_project(cjk_dir / "项目 评分", clip_file, N, step=2)
    rdb.set_rater(store, "r1", "A")
    dlg = RatingDialog(store, rater="r1")
    qtbot.addWidget(dlg)
    dlg.show()
    player = dlg.player
    qtbot.waitUntil(lambda: player.mode == "video" and player.index == 0, timeout=10000)
    picked = []
    for target in (6, 14, 22, 40, 52):
        player.play()  # watch, then stop on a moment and pick what is on screen
        qtbot.waitUntil(lambda t=target: player.index >= t - 1, timeout=10000)
        player.pause()
        player.seek(target)
        wait_painted(qtbot, player, target)
        assert painted_index(player) == target
        qtbot.keyClick(dlg.strip, Qt.Key.Key_P)
        picked.append(target)
    dlg.description.setPlainText("先平静，后愤怒")
    qtbot.keyClick(dlg.strip, Qt.Key.Key_4)
    qtbot.keyClick(dlg.strip, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    r = rdb.rating(store, "片段 1", "r1")
    assert r.completed and r.score == 4
    frames = {f.id: f.frame_index for f in store.frames("片段 1")}
    assert [frames[r.picks[k]] for k in sorted(r.picks)] == picked
    dlg.close()
    QApplication.processEvents()
    store.close()


def test_a_code_key_held_past_the_end_of_the_clip_labels_nothing_more(qtbot, studio):
    window, store, player = studio
    player.seek(53)
    wait_painted(qtbot, player, 53)
    player.play()
    qtbot.waitUntil(lambda: player.index >= 54, timeout=10000)
    qtbot.keyPress(window.strip, Qt.Key.Key_6)
    first = player.index
    qtbot.waitUntil(lambda: not player.playing, timeout=10000)  # the clip ended, key still down
    last = player.index
    assert last >= N - 3 and painted_index(player) == last  # the end stays up, not frame 0
    for _ in range(3):
        qtbot.keyPress(window.strip, Qt.Key.Key_6)  # the key repeating
    qtbot.keyRelease(window.strip, Qt.Key.Key_6)
    assert sorted(i for i, c in _codes(store).items() if c == 6) == list(range(first, last + 1))
    window.strip.go_to_row(3)
    qtbot.keyClick(window.strip, Qt.Key.Key_6)  # a new press labels the selection again
    assert _codes(store)[3] == 6
