"""The window's re-align and "this face is the actor" jobs (and `feasstm realign`) claim the
clips they change on a server project, as the extract/align/process jobs do (issue 16): while
another worker holds a clip they wait, then they hold it while they run, and job_claims records
it. A throw-away PostgreSQL cluster; the frames here have no full image, so the jobs end at once
with a problem each (what is tested is the claiming)."""

from __future__ import annotations

import pytest
from projects import make_project

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.jobs import JobResult
from feasstm_gui.core.store import Store, claims
from feasstm_gui.ui import pipeline_adapter

C1, C2 = "片段 甲", "片段 乙"


def _open_claims(store) -> list[tuple[str, str]]:
    return [(c, j) for c, j, _w, _s, ended, _o, _f in claims.claims(store) if ended is None]


def _finish(job):
    try:
        while True:
            next(job)
    except StopIteration as stop:
        return stop.value


@pytest.fixture
def team(cjk_dir, pg_url):
    store = make_project(cjk_dir / "团队 项目", {C1: ("演员 一", "A"), C2: ("演员 二", "A")},
                         n_frames=3, server=pg_url)
    other = Store.open(store.folder, annotator="worker 2")  # another workstation's worker
    yield store, other
    other.close()
    store.close()


def test_realign_waits_for_a_clip_another_worker_holds_and_claims_its_clips(team):
    store, other = team
    first_clip, last_clip = sorted([C1, C2])  # the order the clips are taken in
    f1, f2 = store.frames(first_clip)[0].id, store.frames(last_clip)[1].id
    held = claims.try_claim(other, last_clip, "align")
    job = pipeline_adapter.realign_job(store, [f2, f1], {})
    first = next(job)
    # the first clip is ours; the other is the other worker's: the job waits, nothing done
    assert f"another worker holds clip '{last_clip}'" in first.message
    assert sorted(_open_claims(store)) == sorted([(last_clip, "align"),
                                                  (first_clip, "realign")])
    assert "another worker holds" in next(job).message
    held.release("done")
    result = _finish(job)
    assert isinstance(result, JobResult) and len(result.problems) == 2  # no full frames here
    rows = [(c, j, o) for c, j, _w, _s, _e, o, _f in claims.claims(store)]
    assert (C1, "realign", "done") in rows and (C2, "realign", "done") in rows
    assert _open_claims(store) == []


def test_the_actor_job_claims_its_clip_and_records_how_it_ended(team):
    store, other = team
    frame = store.frames(C1)[0].id
    held = claims.try_claim(other, C1, "realign")
    job = pipeline_adapter.actor_job(store, frame, None)
    assert f"another worker holds clip '{C1}'" in next(job).message
    held.release("done")
    try:
        _finish(job)
        outcome = "done"
    except FeasstmError:  # no full frame to follow the actor on: the claim says so
        outcome = "failed"
    rows = [(c, j, o) for c, j, _w, _s, _e, o, _f in claims.claims(store)]
    assert rows[-1] == (C1, "actor", outcome)
    assert _open_claims(store) == []


def test_on_sqlite_nothing_is_claimed_or_recorded(cjk_dir):
    store = make_project(cjk_dir / "项目", {C1: ("演员 一", "A")}, n_frames=2)
    try:
        result = _finish(pipeline_adapter.realign_job(store, [store.frames(C1)[0].id], {}))
        assert len(result.problems) == 1
    finally:
        store.close()
