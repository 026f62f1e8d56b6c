"""The researcher's progress figures (core/store/progress.py, `feasstm progress`): frames
labelled, time from the edit log with gaps capped, throughput per clip and group, ASA
completion per rater group; on both back ends."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from feasstm_gui.core.store import Clip, Store
from feasstm_gui.core.store import progress as prog
from feasstm_gui.core.store import ratings as rdb


@pytest.fixture(params=["sqlite", "pg"])
def store(cjk_dir, request):
    # on both back ends: the embedded SQLite store and a PostgreSQL server (issue 16)
    server = request.getfixturevalue("pg_url") if request.param == "pg" else None
    s = Store.create(cjk_dir / "项目", annotator="alice", server=server)
    for clip, grp in (("片段 甲", "A"), ("片段 乙", "A"), ("片段 丙", "B")):
        s.add_clip(Clip(clip, group=grp))
        s.add_frames(clip, [(i, i * 40.0, None, None) for i in range(10)])
    yield s
    s.close()


def ids(store, clip):
    return [f.id for f in store.frames(clip)]


def set_step_times(store, times: dict[int, str]) -> None:
    """Put steps (edit-log batches) at chosen times, as if they were made then."""
    with store.transaction():
        for batch, at in times.items():
            store.db.execute("UPDATE edits SET at=? WHERE batch=?", (at, batch))


def last_batch(store) -> int:
    return store.db.one("SELECT MAX(batch) FROM edits")[0]


def test_frames_time_and_throughput_per_annotator_clip_and_group(store):
    a, b, c = ids(store, "片段 甲"), ids(store, "片段 乙"), ids(store, "片段 丙")
    steps = []
    store.set_labels(a[:2], 3, annotator="alice")           # 09:00:00
    steps.append(last_batch(store))
    store.set_labels(a[2:4], 4, annotator="alice")          # +10 s
    steps.append(last_batch(store))
    store.set_labels(c[:1], 1, annotator="alice")           # +1000 s: a break, counted 300
    steps.append(last_batch(store))
    store.set_labels(b[:3], 6, annotator="bob")             # bob: one step, no time
    store.set_labels(a[:1], 5, annotator="bob")
    bob = [last_batch(store) - 1, last_batch(store)]
    set_step_times(store, {steps[0]: "2026-01-05T09:00:00.000Z",
                           steps[1]: "2026-01-05T09:00:10.000Z",
                           steps[2]: "2026-01-05T09:16:50.000Z",
                           bob[0]: "2026-01-05T10:00:00.000Z",
                           bob[1]: "2026-01-05T10:00:30.000Z"})
    got = prog.progress(store)
    assert got["frames"] == 30 and got["idle_s"] == 300
    alice, bob_row = got["annotators"]
    assert (alice["name"], alice["frames_labelled"], alice["steps"]) == ("alice", 5, 3)
    assert alice["time_s"] == 310.0
    assert alice["per_hour"] == round(5 * 3600 / 310, 1)
    assert [(c["clip"], c["frames"], c["of"], c["time_s"]) for c in alice["clips"]] == [
        ("片段 甲", 4, 10, 10.0), ("片段 丙", 1, 10, 300.0)]
    assert [(g["group"], g["frames"], g["time_s"]) for g in alice["groups"]] == [
        ("A", 4, 10.0), ("B", 1, 300.0)]
    assert (bob_row["name"], bob_row["frames_labelled"], bob_row["time_s"]) == ("bob", 4, 30.0)
    assert bob_row["per_hour"] == 480.0
    # a shorter idle cap counts the break shorter; undoing a step takes its frames off
    assert prog.progress(store, idle_s=60)["annotators"][0]["time_s"] == 70.0
    store.undo("alice")
    assert prog.progress(store)["annotators"][0]["frames_labelled"] == 4


def test_asa_completion_per_group_and_rater_throughput(store):
    for name, grp in (("r1", "A"), ("r2", "A"), ("r3", "B")):
        rdb.set_rater(store, name, grp)
    rdb.set_score(store, "片段 甲", "r1", 4)
    rdb.set_completed(store, "片段 甲", "r1", True)
    t1 = last_batch(store)
    rdb.set_score(store, "片段 乙", "r1", 3)
    rdb.set_completed(store, "片段 乙", "r1", True)
    t2 = last_batch(store)
    rdb.set_score(store, "片段 甲", "r2", 5)
    rdb.set_completed(store, "片段 甲", "r2", True)
    rdb.set_score(store, "片段 乙", "r2", 5)  # started, not completed
    set_step_times(store, {b: "2026-01-05T09:00:00.000Z" for b in range(1, t1 + 1)})
    set_step_times(store, {b: "2026-01-05T09:02:00.000Z" for b in range(t1 + 1, t2 + 1)})
    got = prog.progress(store)
    groups = {g["group"]: g for g in got["groups"]}
    assert groups["A"] == {"group": "A", "clips": 2, "raters": 2, "clips_complete": 1,
                           "ratings_done": 3, "ratings_needed": 4, "completion": 0.75}
    assert groups["B"]["ratings_done"] == 0 and groups["B"]["ratings_needed"] == 1
    raters = {r["name"]: r for r in got["raters"]}
    assert (raters["r1"]["completed"], raters["r1"]["clips"]) == (2, 2)
    assert raters["r1"]["time_s"] == 120.0 and raters["r1"]["per_hour"] == 60.0
    assert (raters["r2"]["completed"], raters["r3"]["completed"]) == (1, 0)
    # rating is not labelling: the raters are not annotators
    assert got["annotators"] == []


def feasstm(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "feasstm_gui.cli", *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", env=env)


def test_feasstm_progress_prints_the_same_figures(store):
    f = ids(store, "片段 甲")
    store.set_labels(f[:3], 2, annotator="alice")
    rdb.set_rater(store, "r1", "A")
    rdb.set_completed(store, "片段 甲", "r1", True)
    proc = feasstm("progress", store.folder, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data == prog.progress(store)
    assert data["annotators"][0]["frames_labelled"] == 3
    proc = feasstm("progress", store.folder)
    assert proc.returncode == 0, proc.stderr
    assert "alice: 3 frames labelled" in proc.stdout
    assert "group A: 1/2 clips complete, 1/2 ratings (50.0 %), 1 raters" in proc.stdout
    for bad in ("0", "nan", "abc", "1e9"):
        proc = feasstm("progress", store.folder, "--idle", bad)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert "--idle" in proc.stderr
