"""A label key press on a server project in one round trip (core/store/server_steps.py): the
same rows, locks, undo and refusals as the statement-by-statement path, and a server restart
between two keys is as invisible as it was (issue 16: commit p99 of a team)."""

from __future__ import annotations

import json
import threading

import pytest

from feasstm_gui.core.errors import FeasstmError, ServerUnavailable
from feasstm_gui.core.store import Clip, Store
from feasstm_gui.core.store.server import ServerStore

CLIP = "片段 一"


def _project(folder, url, n=4, annotator="标注者 甲"):
    store = Store.create(folder, annotator="researcher", server=url)
    store.add_clip(Clip(CLIP))
    ids = store.add_frames(CLIP, [(i, i * 40.0, None, None) for i in range(n)])
    store.close()
    return Store.open(folder, annotator=annotator), ids


def _count_statements(store, monkeypatch) -> list[str]:
    """What the store's connection is sent from now on (each one a round trip)."""
    sent: list[str] = []
    cls = type(store.db.conn)
    plain = cls.execute

    def execute(self, query, *a, **k):
        sent.append(str(query))
        return plain(self, query, *a, **k)

    monkeypatch.setattr(cls, "execute", execute)
    return sent


def _by_position(store, ids):
    """The edit log and labels with frame ids as positions (each database has its own ids)."""
    log = []
    for who, op, target, old, new, state, desc in store.db.query(
            "SELECT annotator, op, target, old, new, state, description FROM edits "
            "ORDER BY batch, id"):
        t = json.loads(target)
        t["frame"] = ids.index(t["frame"])
        log.append((who, op, json.dumps(t, ensure_ascii=False, sort_keys=True), old, new,
                    state, desc))
    labels = store.db.query("SELECT f.frame_index, l.annotator, l.code FROM labels l "
                            "JOIN frames f ON f.id = l.frame_id ORDER BY 1, 2")
    return log, labels


def test_a_key_is_one_statement(cjk_dir, pg_url, monkeypatch):
    store, ids = _project(cjk_dir / "项目", pg_url)
    try:
        sent = _count_statements(store, monkeypatch)
        assert store.set_labels([ids[0]], 3) == 1
        assert len(sent) == 1 and "feasstm_label_step_v1" in sent[0]
        monkeypatch.undo()
        # the target is written as every other step writes it (store._dumps)
        assert store.db.one("SELECT target, old, new FROM edits") == (
            f'{{"frame":{ids[0]},"annotator":"标注者 甲"}}', None, "3")
    finally:
        store.close()


def test_fast_and_generic_paths_leave_the_same_log_labels_and_undo(cjk_dir, pg_cluster):
    results = []
    for generic in (False, True):
        store, ids = _project(cjk_dir / f"p{generic}", pg_cluster.new_database())
        assert isinstance(store, ServerStore)
        try:
            store._label_step = False if generic else None
            assert store.set_labels([ids[0]], 3) == 1
            assert store.set_labels([ids[0], ids[1], ids[0]], 5) == 2  # one step, two frames
            assert store.set_labels([ids[1]], 5) == 0                  # unchanged: no step
            store.set_labels([ids[1]], None)                           # cleared
            store.undo()
            store.set_labels([ids[2]], 7)    # a new step: the undone one's redo is dropped
            assert store.can_redo() is None
            store.undo()
            store.redo()
            store.set_labels([ids[3]], 2, annotator="乙")
            results.append((*_by_position(store, ids), store.can_undo().description))
            assert store._label_step is (not generic)
        finally:
            store.close()
    assert results[0] == results[1]
    log, labels, top = results[0]
    assert labels == [(0, "标注者 甲", 5), (1, "标注者 甲", 5), (2, "标注者 甲", 7),
                      (3, "乙", 2)]
    assert [s for *_r, s, _d in log].count("dropped") == 1  # the undone clear, superseded
    assert top.startswith("label 7")  # 乙's step is not 甲's to undo


def test_a_frame_that_does_not_exist_is_one_message_and_nothing_is_written(cjk_dir, pg_url):
    store, ids = _project(cjk_dir / "项目", pg_url)
    try:
        with pytest.raises(FeasstmError, match=f"no frame with id {max(ids) + 99}"):
            store.set_labels([ids[0], max(ids) + 99], 4)
        assert store.db.one("SELECT COUNT(*) FROM labels")[0] == 0
        assert store.db.one("SELECT COUNT(*) FROM edits")[0] == 0
        assert store.set_labels([ids[0]], 4) == 1  # the connection goes on
    finally:
        store.close()


def test_a_key_waits_for_a_step_on_the_same_value_only(cjk_dir, pg_url):
    """The function takes the generic path's locks: a step in progress on the same label (made
    statement by statement) holds the key until it commits; another frame's key does not wait."""
    from feasstm_gui.core.store.store import _value_key

    alice, ids = _project(cjk_dir / "项目", pg_url, annotator="alice")
    other = Store.open(alice.folder, annotator="alice")  # alice's second window
    done = threading.Event()
    try:
        with other.db.transaction():
            other.db.serialise_edits([_value_key("label", {"frame": ids[0], "annotator": "alice"})])
            threading.Thread(target=lambda: (alice.set_labels([ids[1]], 2), done.set())).start()
            assert done.wait(20)
            done.clear()
            threading.Thread(target=lambda: (alice.set_labels([ids[0]], 6), done.set())).start()
            assert not done.wait(1.5)
        assert done.wait(20)
        assert alice.db.one("SELECT code FROM labels WHERE frame_id=?", (ids[0],)) == (6,)
    finally:
        other.close()
        alice.close()


def test_a_server_restart_between_two_keys_is_invisible_and_a_stopped_one_refuses(
        cjk_dir, pg_url, pg_cluster):
    import pgfaults

    store, ids = _project(cjk_dir / "项目", pg_url)
    try:
        store.set_labels([ids[0]], 1)
        pid = store.db.one("SELECT pg_backend_pid()")[0]
        pgfaults.restart(pg_cluster)
        assert store.set_labels([ids[1]], 2) == 1  # reconnected before it was sent, acked
        assert store.db.one("SELECT pg_backend_pid()")[0] != pid
        pgfaults.stop(pg_cluster)
        try:
            with pytest.raises(ServerUnavailable, match="nothing was changed"):
                store.set_labels([ids[2]], 3)
        finally:
            pgfaults.start(pg_cluster)
        assert store.set_labels([ids[2]], 3) == 1
        assert store.db.query("SELECT code FROM labels ORDER BY frame_id") == [(1,), (2,), (3,)]
    finally:
        store.close()


def test_a_read_only_project_refuses_the_key(cjk_dir, pg_url):
    store, ids = _project(cjk_dir / "项目", pg_url)
    store.close()
    ro = Store.open(store.folder, annotator="x", read_only=True)
    try:
        with pytest.raises(FeasstmError, match="read-only"):
            ro.set_labels([ids[0]], 1)
    finally:
        ro.close()
