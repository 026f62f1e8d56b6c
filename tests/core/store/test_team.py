"""Two people on one project (issue 16): each keeps their own labels and undo; an undo never
takes back a shared value (a flag, an adjudication) that someone else set since. On both back
ends: on PostgreSQL two stores at once (two workstations), on SQLite one store whose annotator
changes (one writer at a time)."""

from __future__ import annotations

import pytest

from feasstm_gui.core.store import Clip, Store

CLIP = "片段 一"


@pytest.fixture(params=["sqlite", "pg"])
def team(cjk_dir, request):
    server = request.getfixturevalue("pg_url") if request.param == "pg" else None
    alice = Store.create(cjk_dir / "项目", annotator="alice", server=server)
    alice.add_clip(Clip(CLIP))
    alice.add_frames(CLIP, [(i, i * 40.0, None, None) for i in range(6)])
    stores = {"alice": alice}
    if server:
        stores["bob"] = Store.open(alice.folder, annotator="bob")

    def as_(who: str) -> Store:
        store = stores.get(who, alice)
        store.annotator = who
        return store

    yield as_
    for s in stores.values():
        s.close()


def test_same_frame_two_labels_each_undoes_their_own(team):
    f = [r.id for r in team("alice").frames(CLIP)]
    team("alice").set_labels(f[:2], 3)
    team("bob").set_labels(f[:2], 6)
    team("alice").undo()
    store = team("alice")
    assert [r.code for r in store.frames(CLIP, annotator="alice")][:2] == [None, None]
    assert [r.code for r in store.frames(CLIP, annotator="bob")][:2] == [6, 6]
    team("alice").redo()
    team("bob").undo()
    assert [r.code for r in store.frames(CLIP, annotator="alice")][:2] == [3, 3]
    assert store.db.one("SELECT COUNT(*) FROM labels WHERE annotator='bob'") == (0,)


def test_undo_leaves_a_shared_value_someone_else_set_since(team):
    f = [r.id for r in team("alice").frames(CLIP)]
    team("alice").adjudicate([f[0]], 3)
    team("alice").set_deletion([f[1]], "blur", True)
    team("alice").set_deletion([f[2]], "blur", True)
    team("bob").adjudicate([f[0]], 5)
    team("bob").set_deletion([f[1]], "blur", False)
    store = team("alice")
    store.undo()   # f[2]'s flag: nobody else touched it, undone
    store.undo()   # f[1]'s flag: bob cleared it since; stays as bob left it
    store.undo()   # f[0]'s adjudication: bob's 5 stays
    assert store.db.one("SELECT code FROM adjudications WHERE frame_id=?", (f[0],)) == (5,)
    assert store.db.query("SELECT frame_id FROM deletions") == []
    # bob's own undo still works on his steps
    team("bob").undo()
    assert team("bob").db.one("SELECT COUNT(*) FROM deletions WHERE frame_id=?", (f[1],)) == (1,)


def test_steps_wait_only_for_steps_changing_the_same_value(cjk_dir, pg_url):
    import threading

    from feasstm_gui.core.store.store import _value_key

    alice = Store.create(cjk_dir / "项目", annotator="alice", server=pg_url)
    alice.add_clip(Clip(CLIP))
    f = alice.add_frames(CLIP, [(i, i * 40.0, None, None) for i in range(3)])
    bob = Store.open(alice.folder, annotator="bob")
    done = threading.Event()
    try:
        with alice.db.transaction():  # alice's step on frame 0, not yet committed
            alice.db.serialise_edits([_value_key("adjudication", {"frame": f[0]})])
            first = alice.db.next_batch()
            threading.Thread(target=lambda: (bob.adjudicate([f[1]], 4), done.set())).start()
            assert done.wait(20)  # another frame: bob does not wait for alice
            done.clear()
            threading.Thread(target=lambda: (bob.adjudicate([f[0]], 6), done.set())).start()
            assert not done.wait(1.5)  # the same value: bob waits for alice's commit
        assert done.wait(20)
        steps = alice.db.query("SELECT batch, target FROM edits ORDER BY batch")
        assert [t for _b, t in steps] == [f'{{"frame":{f[1]}}}', f'{{"frame":{f[0]}}}']
        assert steps[1][0] > first  # numbered after the step it waited for
    finally:
        bob.close()
        alice.close()


def test_step_numbers_continue_after_rows_copied_in_with_their_own(cjk_dir, pg_url):
    # a log copied onto the server (move-to-server) keeps its numbers; the next step follows it
    store = Store.create(cjk_dir / "项目", annotator="alice", server=pg_url)
    store.add_clip(Clip(CLIP))
    f = store.add_frames(CLIP, [(i, i * 40.0, None, None) for i in range(2)])
    with store.transaction():
        store.db.execute("INSERT INTO edits (batch, at, annotator, op, target, new, state) "
                         "VALUES (5000, '2026-01-01T00:00:00.000Z', 'old', 'label', ?, '3', "
                         "'log')", (f'{{"frame":{f[0]},"annotator":"old"}}',))
    folder = store.folder
    store.close()
    with Store.open(folder, annotator="alice") as again:
        again.set_labels([f[1]], 2)
        assert again.db.one("SELECT MAX(batch) FROM edits WHERE annotator='alice'")[0] > 5000
        assert again.undo().batch > 5000
