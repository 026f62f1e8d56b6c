"""Rating mode driven as a rater would: keys, picks, completion, undo, resume, blindness."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from PySide6.QtCore import Qt

from feasstm_gui.core.ingest.images import read_image, write_jpeg
from feasstm_gui.core.store import Clip, Store
from feasstm_gui.core.store import ratings as rdb
from feasstm_gui.ui.player import Player
from feasstm_gui.ui.player_panel import stored_frames
from feasstm_gui.ui.rating_mode import RatingDialog, open_rating_groups, open_rating_mode

FACES = Path(__file__).resolve().parents[1] / "data" / "faces"
A1, A2 = "片段 甲", "片段 乙"


def make_project(folder: Path, clips: dict[str, tuple[str, str]], n_frames: int = 8) -> Store:
    """Clips (id -> (actor, group)) with `n_frames` frames each: a full frame (640x480) for
    all but the last, and a real 100x100 face crop for every frame; source indices 0, 3, 6..."""
    store = Store.create(folder, annotator="tester")
    photos = [read_image(p) for p in sorted(FACES.iterdir()) if p.suffix in (".jpg", ".png")]
    for clip, (actor, group) in clips.items():
        store.add_clip(Clip(clip, actor=actor, group=group, fps=25.0))
        (store.folder / "frames" / clip).mkdir(parents=True, exist_ok=True)
        (store.folder / "crops" / clip).mkdir(parents=True, exist_ok=True)
        rows = []
        for i in range(n_frames):
            image = None
            if i < n_frames - 1:
                image = f"frames/{clip}/{i * 3:06d}.jpg"
                write_jpeg(store.folder / image, cv2.resize(photos[i % len(photos)], (640, 480)))
            rows.append((i * 3, i * 120.0, image, None))
        for k, fid in enumerate(store.add_frames(clip, rows)):
            crop = f"crops/{clip}/{k + 1:06d}.jpg"
            write_jpeg(store.folder / crop, cv2.resize(photos[k % len(photos)], (100, 100)))
            store.add_face(fid, crop=crop)
    return store


@pytest.fixture
def store(cjk_dir):
    s = make_project(cjk_dir / "项目", {A1: ("演员 一", "A"), A2: ("演员 二", "A")})
    rdb.set_rater(s, "r1", "A")
    rdb.set_rater(s, "r2", "A")
    yield s
    s.close()


@pytest.fixture
def dialog(qtbot, store):
    dlg = RatingDialog(store, rater="r1")
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def pick_rows(qtbot, dlg, rows):
    for row in rows:
        dlg.strip.setCurrentRow(row)
        qtbot.keyClick(dlg.strip, Qt.Key.Key_P)


def test_rate_a_clip_with_keys_and_complete_it(qtbot, dialog, store):
    assert dialog.clip == A1 and dialog.strip.count() == 8
    qtbot.keyClick(dialog.strip, Qt.Key.Key_4)
    assert rdb.rating(store, A1, "r1").score == 4
    assert dialog.score_group.checkedId() == 4
    assert "4  good" in [b.text() for b in dialog.score_group.buttons()]
    dialog.description.setPlainText("眉头紧锁")  # QTest types ASCII only
    dialog.description.moveCursor(dialog.description.textCursor().MoveOperation.End)
    qtbot.keyClicks(dialog.description, " 1")  # a digit typed here is text, not a score
    dialog.commit_description()
    r = rdb.rating(store, A1, "r1")
    assert (r.score, r.description) == (4, "眉头紧锁 1")
    pick_rows(qtbot, dialog, [0, 2, 4, 6])
    assert not dialog.complete()
    assert "4 of 5 frames picked" in dialog.message.text()
    assert "clip '片段 甲', rater 'r1'" in dialog.message.text()
    pick_rows(qtbot, dialog, [7])
    assert dialog.picks_label.text().startswith("Frames picked: 5 of 5")
    assert dialog.strip.item(0).text().startswith("#1")
    qtbot.keyClick(dialog.strip, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert rdb.rating(store, A1, "r1").completed
    assert dialog.clip == A2  # moved on to the next clip not yet rated
    assert dialog.progress_label.text() == "r1 (group A): 1 of 2 clips rated"
    assert dialog.queue.item(0).text().startswith("✓")


def test_a_sixth_pick_is_refused_and_a_pick_can_be_taken_back(qtbot, dialog, store):
    pick_rows(qtbot, dialog, range(6))
    assert len(rdb.rating(store, A1, "r1").picks) == 5
    assert "5 frames are picked already" in dialog.message.text()
    pick_rows(qtbot, dialog, [1])  # unpick
    assert sorted(rdb.rating(store, A1, "r1").picks) == [1, 3, 4, 5]


def test_deleted_frames_are_not_in_the_strip(qtbot, store):
    f = [x.id for x in store.frames(A1)]
    store.set_deletion([f[1]], "blur", True)
    store.set_irrelevant([f[2]], True)
    dlg = RatingDialog(store, rater="r1")
    qtbot.addWidget(dlg)
    ids = [dlg.strip.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dlg.strip.count())]
    assert f[1] not in ids and f[2] not in ids and len(ids) == 6


def test_undo_and_redo_the_raters_steps(qtbot, dialog, store):
    qtbot.keyClick(dialog.strip, Qt.Key.Key_2)
    qtbot.keyClick(dialog.strip, Qt.Key.Key_5)
    qtbot.keyClick(dialog.strip, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert rdb.rating(store, A1, "r1").score == 2
    assert dialog.score_group.checkedId() == 2
    qtbot.keyClick(dialog.strip, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert rdb.rating(store, A1, "r1").score == 5
    assert dialog.score_group.checkedId() == 5
    assert "Redid" in dialog.message.text()


def test_stop_and_resume_where_the_rater_left(qtbot, store):
    f = [x.id for x in store.frames(A1)]
    rdb.set_score(store, A1, "r1", 3)
    rdb.set_description(store, A1, "r1", "平静")
    rdb.set_picks(store, A1, "r1", f[:5])
    rdb.set_completed(store, A1, "r1", True)
    rdb.set_score(store, A2, "r1", 2)  # started, not completed
    folder = store.folder
    store.close()
    with Store.open(folder, annotator="tester") as again:
        dlg = RatingDialog(again, rater="r1")
        qtbot.addWidget(dlg)
        assert dlg.clip == A2
        assert dlg.score_group.checkedId() == 2
        assert [dlg.queue.item(i).text()[0] for i in range(2)] == ["✓", "…"]
        dlg.close()


def test_blind_a_rater_never_sees_another_raters_rating(qtbot, store, monkeypatch):
    f = [x.id for x in store.frames(A1)]
    rdb.set_score(store, A1, "r2", 5)
    rdb.set_description(store, A1, "r2", "r2 的描述")
    rdb.set_picks(store, A1, "r2", f[:5])
    store.annotator = "r1"  # the person at the machine is rater r1
    dlg = RatingDialog(store)
    qtbot.addWidget(dlg)
    assert dlg.rater == "r1" and not dlg.rater_box.isEnabled()
    assert [dlg.rater_box.itemText(i) for i in range(dlg.rater_box.count())] == ["r1"]
    assert dlg.score_group.checkedId() == -1
    assert dlg.description.toPlainText() == ""
    assert not any(dlg.strip.item(i).text().startswith("#") for i in range(dlg.strip.count()))


def test_description_is_committed_when_switching_clips(qtbot, dialog, store):
    dialog.description.setPlainText("先笑后哭")
    qtbot.keyClick(dialog.strip, Qt.Key.Key_PageDown)
    assert dialog.clip == A2
    assert rdb.rating(store, A1, "r1").description == "先笑后哭"
    assert dialog.description.toPlainText() == ""


def test_player_plays_extracted_frames_at_the_source_rate(qtbot, store):
    """A clip without a video: the player shows its stored frames at their source indices."""
    rows = store.frames(A1)
    frames = stored_frames(store.folder, rows)
    assert frames[0].path.endswith("000000.jpg") and "frames" in frames[0].path
    assert "crops" in frames[-1].path  # no full frame: its crop
    player = Player()
    qtbot.addWidget(player)
    player.load(None, 25.0, frames)
    assert player.mode == "frames" and player.index == 0
    seen = []
    player.frame_shown.connect(seen.append)
    player.play()
    assert player.playing
    qtbot.waitUntil(lambda: not player.playing, timeout=5000)
    assert seen == [r.frame_index for r in rows[1:]]
    assert not player.view.image().isNull()
    player.step(-1)
    assert player.index == rows[-2].frame_index


def test_space_plays_and_pauses_steps_with_comma_and_period(qtbot, dialog):
    qtbot.keyClick(dialog.strip, Qt.Key.Key_Period)
    assert dialog.player.index == 3  # the next stored frame (source indices 0, 3, 6...)
    assert dialog.strip.currentRow() == 1  # the strip follows the player
    qtbot.keyClick(dialog.strip, Qt.Key.Key_Comma)
    assert dialog.player.index == 0
    qtbot.keyClick(dialog.strip, Qt.Key.Key_Space)
    assert dialog.player.playing
    qtbot.keyClick(dialog.strip, Qt.Key.Key_Space)
    assert not dialog.player.playing
    qtbot.keyClick(dialog.strip, Qt.Key.Key_L)  # faster, slower, loop: rating.* actions
    assert dialog.player.rate == 1.25
    qtbot.keyClick(dialog.strip, Qt.Key.Key_J)
    qtbot.keyClick(dialog.strip, Qt.Key.Key_J)
    assert dialog.player.rate == 0.75
    qtbot.keyClick(dialog.strip, Qt.Key.Key_K)
    assert dialog.player.loop == dialog.player.range


def test_no_raters_says_what_to_do(qtbot, cjk_dir):
    with make_project(cjk_dir / "空", {A1: ("x", "A")}, n_frames=2) as s:
        dlg = open_rating_mode(None, s)
        qtbot.addWidget(dlg)
        assert "add raters to groups first" in dlg.message.text()
        dlg.close()


def test_groups_dialog_puts_clips_and_raters_in_groups(qtbot, store):
    dlg = open_rating_groups(None, store)
    qtbot.addWidget(dlg)
    assert dlg.summary.text() == "group A: 2 clip(s), 2 rater(s) (the published set has 4)"
    dlg.clips.selectRow(1)
    dlg.clip_group.setCurrentText("B")
    dlg.put_selected_clips()
    assert store.clip(A2).group == "B"
    dlg.rater_name.setText("评分员 三")
    dlg.rater_group.setCurrentText("B")
    dlg.add_rater()
    assert rdb.rater(store, "评分员 三").group == "B"
    assert "group B: 1 clip(s), 1 rater(s)" in dlg.summary.text()
    dlg.raters.setCurrentRow(0)  # "A: r1"
    dlg.remove_selected_rater()
    assert rdb.rater(store, "r1") is None
    dlg.rater_name.setText("")
    dlg.add_rater()
    assert "rater name is empty" in dlg.message.text()
    store.undo()  # each change was an undoable step of the annotator
    assert rdb.rater(store, "r1").group == "A"
    dlg.close()


def test_the_strip_faces_load_off_the_gui_thread_and_the_player_shows_a_frame(qtbot, dialog):
    assert dialog.strip.count()
    # decoded by the dialog's ImageLoader, set when ready
    qtbot.waitUntil(lambda: all(not dialog.strip.item(i).icon().isNull()
                                for i in range(dialog.strip.count())), timeout=10_000)
    # no video in this project: the player shows the stored frames (ui/player.py)
    qtbot.waitUntil(lambda: not dialog.player.view.image().isNull(), timeout=10_000)
    assert len(dialog.crops) >= dialog.strip.count()
    # each face shown whole: the items are laid out for a 100-pixel face even though the
    # first one had no face yet when the strip was filled (they were a text line high)
    for i in range(dialog.strip.count()):
        rect = dialog.strip.visualItemRect(dialog.strip.item(i))
        assert rect.height() >= 100 and rect.width() >= 100, (i, rect)


def test_p_picks_right_after_pgdown_and_the_keys_are_listed(qtbot, dialog, store):
    """issue 20: after PgDown to the next clip, P picks the frame shown without stepping
    first; the step keys are in the dialog's help."""
    assert ", and . step one frame" in dialog.keys_label.text()
    assert "Space play/pause" in dialog.keys_label.text()
    dialog.strip.setFocus()
    qtbot.keyClick(dialog.strip, Qt.Key.Key_PageDown)
    assert dialog.clip == A2
    qtbot.keyClick(dialog.strip, Qt.Key.Key_P)
    assert len(rdb.rating(store, A2, "r1").picks) == 1
    qtbot.keyClick(dialog.strip, Qt.Key.Key_Period)  # step, then pick the next one
    qtbot.keyClick(dialog.strip, Qt.Key.Key_P)
    picked = rdb.rating(store, A2, "r1").picked_frames()
    assert [store.frame(f).frame_index for f in picked] == [0, 3]


def test_description_is_one_key_away_and_tab_leaves_it(qtbot, dialog, store):
    dialog.strip.setFocus()
    qtbot.keyClick(dialog.strip, Qt.Key.Key_D)
    assert dialog.focusWidget() is dialog.description
    qtbot.keyClicks(dialog.description, "calm")
    qtbot.keyClick(dialog.description, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is not dialog.description
    assert "\t" not in dialog.description.toPlainText()
    assert rdb.rating(store, A1, "r1").description == "calm"  # written when it lost focus
    qtbot.keyClick(dialog.strip, Qt.Key.Key_D)
    qtbot.keyClick(dialog.description, Qt.Key.Key_Escape)
    assert dialog.isVisible() and dialog.focusWidget() is dialog.strip


def test_the_rater_is_chosen_or_added_in_the_window(qtbot, store):
    store.annotator = "新来的人"
    dlg = RatingDialog(store)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.rater == "" and dlg.clip is None  # not the first rater by default
    assert "Choose your name" in dlg.message.text()
    assert dlg.new_rater.text() == "新来的人"
    dlg.new_rater_group.setCurrentText("A")
    qtbot.mouseClick(dlg.add_rater_button, Qt.MouseButton.LeftButton)
    assert rdb.rater(store, "新来的人").group == "A"
    assert dlg.rater == "新来的人" and dlg.clip == A1
    qtbot.keyClick(dlg.strip, Qt.Key.Key_3)
    assert rdb.rating(store, A1, "新来的人").score == 3


def test_the_description_key_is_a_keymap_action_and_the_keys_line_follows_it(qtbot, store):
    """issue 20's D (to the description) is an action of rating mode's scope: remapped in the
    keymap, the new key works, D no longer does, and the keys line names the new key."""
    from feasstm_gui.core.settings import Settings
    from feasstm_gui.ui import actions as act

    assert "rating.description" in act.SPECS
    assert act.SPECS["rating.description"].scope == act.RATING
    keymap = act.Keymap(Settings.load())
    mapping = keymap.mapping()
    mapping["rating.description"] = ["W"]
    keymap.save(mapping)
    dlg = RatingDialog(store, rater="r1", keymap=keymap)
    qtbot.addWidget(dlg)
    dlg.show()
    assert "W write the description" in dlg.keys_label.text()
    assert "D write" not in dlg.keys_label.text()
    dlg.strip.setFocus()
    qtbot.keyClick(dlg.strip, Qt.Key.Key_D)
    assert dlg.focusWidget() is not dlg.description
    qtbot.keyClick(dlg.strip, Qt.Key.Key_W)
    assert dlg.focusWidget() is dlg.description
    dlg.close()
