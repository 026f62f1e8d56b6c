"""A team on one server project (issue 16), seen from the window: another annotator's labels,
the adjudication view and the progress figures follow without a reload (LISTEN/NOTIFY), and a
server stopped or restarted under the window is said at once, refuses keys meanwhile, loses
nothing shown as saved. Needs PostgreSQL (the throw-away cluster of tests/pgcluster.py)."""

from __future__ import annotations

import pgfaults
import pytest
from projects import make_project
from PySide6.QtCore import Qt

from feasstm_gui.core.store import Store

CLIP = "片段 甲"


@pytest.fixture
def team(cjk_dir, pg_url):
    """A server project with one clip of 6 frames (real crops); its folder."""
    store = make_project(cjk_dir / "团队 项目", {CLIP: ("演员", "A")}, n_frames=6, server=pg_url)
    folder = store.folder
    store.close()
    return folder


@pytest.fixture
def opened(window, team, qtbot):
    window.set_store(Store.open(team, annotator="tester"))
    qtbot.waitUntil(lambda: window.strip_model.rowCount() == 6)
    assert window.live.listener is not None and window.live.listener.connected
    return window


@pytest.fixture
def bob(team):
    s = Store.open(team, annotator="bob")
    yield s
    s.close()


def codes(window) -> list:
    return [f.code for f in window.strip_model.frames()]


def test_another_annotators_labels_appear_without_reload(opened, bob, qtbot):
    w = opened
    ids = [f.id for f in bob.frames(CLIP)]
    bob.set_labels(ids[2:4], 6)
    qtbot.waitUntil(lambda: codes(w)[2:4] == [6, 6], timeout=2000)
    assert w.clip_model.summary(CLIP).labelled == 2
    qtbot.waitUntil(lambda: "2 labelled" in w.status_info.counts_label.text(), timeout=2000)
    # the same frame labelled by both: each keeps their own row
    w.strip.go_to_row(2)
    qtbot.keyClick(w.strip, Qt.Key.Key_3)
    assert {a: f[2].code for a in ("tester", "bob")
            for f in [bob.frames(CLIP, annotator=a)]} == {"tester": 3, "bob": 6}
    # bob's undo is his own: it takes back his step, never the window's label
    bob.undo()
    qtbot.waitUntil(lambda: codes(w)[3] is None, timeout=2000)
    assert bob.frames(CLIP, annotator="tester")[2].code == 3
    assert bob.frames(CLIP, annotator="bob")[2].code is None


def test_adjudication_view_and_progress_follow_the_others(opened, bob, qtbot):
    w = opened
    ids = [f.id for f in bob.frames(CLIP)]
    w.tools.open_adjudication()
    adj = w.tools.opened["adjudication"]
    w.tools.open_progress()
    progress = w.tools.opened["progress"]
    assert adj.rows == [] and progress.tables["annotators"].rowCount() == 0
    w.strip.go_to_row(1)
    w.strip.setFocus()
    qtbot.keyClick(w.strip, Qt.Key.Key_4)
    bob.set_labels([ids[1]], 2)  # a disagreement made on another workstation
    qtbot.waitUntil(lambda: [d.frame_id for d in adj.rows] == [ids[1]], timeout=2000)
    assert adj.rows[0].labels == {"tester": 4, "bob": 2}
    qtbot.waitUntil(lambda: progress.tables["annotators"].rowCount() == 2, timeout=2500)
    assert [progress.cell("annotators", r, 0) for r in range(2)] == ["bob", "tester"]
    bob.set_labels(ids[4:6], 5)
    qtbot.waitUntil(lambda: progress.cell("annotators", 0, 1) == "3", timeout=2500)


def test_server_stopped_says_so_refuses_keys_and_keeps_what_was_saved(
        opened, qtbot, pg_cluster, team):
    w = opened
    qtbot.keyClick(w.strip, Qt.Key.Key_2)  # frame 0, saved before the server goes
    assert codes(w)[0] == 2
    w.strip.go_to_row(1)
    banner = w.live.banner
    assert not banner.isVisible()
    w.history.refresh()
    pgfaults.stop(pg_cluster)
    try:
        qtbot.waitUntil(banner.isVisible, timeout=2000)  # at once, before any key
        assert "Server unreachable" in banner.text()
        qtbot.keyClick(w.strip, Qt.Key.Key_5)
        assert codes(w)[1] is None  # not shown as done
        assert "Not saved" in w.statusBar().currentMessage()
        assert w.property("last_message") is None  # a banner, not a dialog per key
        shown = w.history.steps()
        w.history.refresh()  # a timer's reread meanwhile keeps what it showed
        assert [s.batch for s in w.history.steps()] == [s.batch for s in shown] and shown
    finally:
        pgfaults.start(pg_cluster)
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=5000)
    w.strip.go_to_row(1)
    qtbot.keyClick(w.strip, Qt.Key.Key_5)
    assert codes(w)[1] == 5
    with Store.open(team, annotator="check", read_only=True) as check:
        assert [f.code for f in check.frames(CLIP, annotator="tester")][:2] == [2, 5]


def test_server_restarted_between_keys_is_invisible_to_the_annotator(
        opened, qtbot, pg_cluster, team):
    w = opened
    for key in (Qt.Key.Key_1, Qt.Key.Key_2):
        qtbot.keyClick(w.strip, key)
    pgfaults.restart(pg_cluster)
    qtbot.waitUntil(lambda: not w.live.banner.isVisible() and w.live.listener.connected,
                    timeout=5000)
    for key in (Qt.Key.Key_3, Qt.Key.Key_4):
        qtbot.keyClick(w.strip, key)
    assert codes(w)[:4] == [1, 2, 3, 4]
    with Store.open(team, annotator="check", read_only=True) as check:
        assert [f.code for f in check.frames(CLIP, annotator="tester")][:4] == [1, 2, 3, 4]


def test_a_key_cut_while_it_is_being_saved_says_perhaps_and_shows_the_servers_truth(
        opened, qtbot, pg_url):
    """The key is one statement (core/store/server_steps.py): once sent, a lost connection
    leaves its fate unknown; the window says *perhaps* not saved, not shown as done, and once
    reconnected shows what the server has."""
    import threading

    import psycopg

    from feasstm_gui.core.store.store import _value_key

    w = opened
    frame = w.strip_model.frames()[1].id
    pid = w.store.db.one("SELECT pg_backend_pid()")[0]
    with psycopg.connect(pg_url, autocommit=True) as holder, \
            psycopg.connect(pg_url, autocommit=True) as admin:
        # another step on the same value holds the key's lock; the key's server process is
        # terminated while it waits for it
        holder.execute("BEGIN")
        holder.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                       (_value_key("label", {"frame": frame, "annotator": "tester"}),))
        cut = threading.Timer(1.0, lambda: admin.execute("SELECT pg_terminate_backend(%s)",
                                                         (pid,)))
        cut.start()
        w.strip.go_to_row(1)
        qtbot.keyClick(w.strip, Qt.Key.Key_5)
        cut.join()
        holder.execute("ROLLBACK")
    assert "Perhaps not saved" in w.statusBar().currentMessage()
    assert codes(w)[1] is None and w.property("last_message") is None
    qtbot.waitUntil(lambda: not w.live.banner.isVisible(), timeout=5000)
    assert w.store.db.one("SELECT COUNT(*) FROM labels WHERE frame_id=?", (frame,)) == (0,)
    qtbot.keyClick(w.strip, Qt.Key.Key_5)  # again, once back: saved
    assert codes(w)[1] == 5
