"""Jobs shared by machines (issue 16): several `feasstm process` workers on one server project
share its clips; each clip is worked by one worker at a time, none is done twice, and a worker
killed mid-clip leaves the clip to another, which resumes it from the last committed batch.
Real processes, the real MTCNN, a throw-away PostgreSQL cluster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from videoprojects import make_video_project

from feasstm_gui.core.ingest.pipeline import ALIGN_BATCH
from feasstm_gui.core.store import Store, claims

ROOT = Path(__file__).resolve().parents[3]
FRAMES = 24  # three batches of 8: a kill has 16 frames' time to land mid-clip


def _worker(folder: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONIOENCODING="utf-8", OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "feasstm_gui.cli", "process", str(folder),
                             "--device", "cpu", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8")


def _wait(proc: subprocess.Popen, timeout: float = 900) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def test_workers_share_the_clips_and_take_over_a_killed_ones(cjk_dir, pg_url):
    import psycopg

    folder = cjk_dir / "团队 项目"
    clips = make_video_project(folder, 3, server=pg_url, frames_per_clip=FRAMES)
    workers = [_worker(folder), _worker(folder)]
    victim = None
    holders: set[str] = set()  # workers seen holding a clip at the same moment
    try:
        # kill -9 a worker once it has committed a batch of a clip it has not finished
        deadline = time.monotonic() + 600
        with psycopg.connect(pg_url, autocommit=True) as conn:
            while victim is None and time.monotonic() < deadline:
                assert all(w.poll() is None for w in workers), "a worker ended early"
                held = {r[0] for r in conn.execute(
                    "SELECT worker FROM job_claims WHERE ended_at IS NULL")}
                if len(held) > len(holders):
                    holders = held
                row = conn.execute(
                    "SELECT j.clip, j.worker FROM job_claims j JOIN clips c ON c.id=j.clip "
                    "WHERE j.ended_at IS NULL AND c.align_status='partial' AND "
                    "(SELECT COUNT(*) FROM frames f WHERE f.clip=j.clip) BETWEEN %s AND %s",
                    (ALIGN_BATCH, FRAMES - 1)).fetchone()
                if row:
                    pid = int(row[1].rsplit(":", 1)[1])
                    victim = next((w for w in workers if w.pid == pid), None)
                    assert victim is not None, f"the claim names no worker of ours: {row}"
                    victim.send_signal(signal.SIGKILL)
                    victim.wait()
                    killed_clip = row[0]
                    break
                time.sleep(0.01)
        assert victim is not None, "no worker was caught mid-clip"
        late = _worker(folder)  # a third machine joins; it or the survivor takes the clip over
        results = [_wait(w) for w in workers if w is not victim] + [_wait(late)]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    for code, _out, err in results:
        assert code == 0, err
        assert "Traceback" not in err

    with Store.open(folder, annotator="researcher", read_only=True) as store:
        for clip in clips:
            c = store.clip(clip)
            assert (c.extract_status, c.align_status) == ("done", "done")
            rows = store.frames(clip)
            assert [r.frame_index for r in rows] == list(range(FRAMES))
            assert store.unaligned_frames(clip) == []
        # every frame aligned once: one face version at most, no frame aligned twice
        assert store.db.one("SELECT COUNT(*) FROM faces WHERE version > 1") == (0,)
        assert store.db.one("SELECT COUNT(*) FROM frames WHERE face_version IS NULL AND "
                            "irrelevant=0") == (0,)
        assert store.db.one("SELECT COUNT(*) FROM faces") == store.db.one(
            "SELECT COUNT(*) FROM frames WHERE face_version IS NOT NULL")
        record = claims.claims(store)
    done = [(clip, worker) for clip, _, worker, _, _, outcome, _ in record if outcome == "done"]
    assert sorted(c for c, _ in done) == sorted(clips), record  # each clip done once
    # the killed worker's claim was closed by the one that took the clip over, which resumed it
    # from the committed batch (it did not extract and align the clip from its first frame)
    mine = [r for r in record if r[0] == killed_clip and r[5] != "finished-by-other"]
    assert [r[5] for r in mine] == ["abandoned", "done"], record
    assert mine[0][2].endswith(f":{victim.pid}")
    assert 0 < mine[1][6] <= FRAMES - ALIGN_BATCH
    assert not any(r[2].endswith(f":{victim.pid}") for r in record if r[5] == "done")
    # a worker that waited for a clip another finished did not do it again
    assert all(r[6] == 0 for r in record if r[5] == "finished-by-other")
    # the two first workers held clips at the same time: the clips were shared
    assert len(holders) == 2, holders


def test_a_sqlite_project_keeps_its_one_writer(cjk_dir):
    folder = cjk_dir / "单机"
    make_video_project(folder, 1, frames_per_clip=4)
    first = _worker(folder)
    try:
        deadline = time.monotonic() + 60
        while not (folder / "project.lock.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.poll() is None
        code, _, err = _wait(_worker(folder), 120)
        assert code == 2 and "Traceback" not in err
        assert "open for writing" in err, err
    finally:
        first.kill()
        first.wait()
    with Store.open(folder, read_only=True) as store:
        assert store.db.one("SELECT COUNT(*) FROM job_claims") == (0,)


@pytest.fixture
def two_handles(cjk_dir, pg_url):
    make_video_project(cjk_dir / "p", 2, server=pg_url, frames_per_clip=2)
    a = Store.open(cjk_dir / "p", annotator="a")
    b = Store.open(cjk_dir / "p", annotator="b")
    yield a, b
    a.close()
    b.close()


def test_a_claim_is_one_workers_until_released_or_its_connection_ends(two_handles):
    a, b = two_handles
    mine = claims.try_claim(a, "片段 00", "align")
    assert mine is not None
    assert claims.try_claim(b, "片段 00", "align") is None
    other = claims.try_claim(b, "片段 01", "align")
    assert other is not None
    mine.release("done", 2)
    again = claims.try_claim(b, "片段 00", "align")
    assert again is not None
    b.close()  # a worker gone without releasing: its lock ends with its connection
    taken = claims.try_claim(a, "片段 01", "align")
    assert taken is not None
    outcomes = [(r[0], r[5]) for r in claims.claims(a)]
    assert outcomes == [("片段 00", "done"), ("片段 01", "abandoned"), ("片段 00", None),
                        ("片段 01", None)]


def test_a_clip_held_elsewhere_is_waited_for_then_done_once(two_handles):
    """holding_clip (feasstm identities on a server project): it waits while another worker
    holds the clip, then decides with the clip held whether anything is left to do."""
    from feasstm_gui.core.ingest.pipeline import holding_clip
    from feasstm_gui.core.jobs import JobResult, Progress, drive

    a, b = two_handles
    held = claims.try_claim(b, "片段 00", "identities", "identities")
    ran: list[str] = []

    def work():
        ran.append("a")
        yield Progress(1, 1, "grouped")
        return JobResult(done=1, summary="grouped")

    job = holding_clip(a, "片段 00", "identities", work, "identities")
    first = next(job)
    assert first.message == "waiting: another worker holds clip '片段 00'" and ran == []
    # the frames lock of the same clip is another lock: extract/align do not wait for it
    assert claims.try_claim(a, "片段 00", "align") is not None
    held.release("done")
    assert drive(job).summary == "grouped" and ran == ["a"]
    assert [(r[1], r[5]) for r in claims.claims(a) if r[1] == "identities"] == [
        ("identities", "done"), ("identities", "done")]
