"""The one loop over a job (jobs.steps) and drive on top of it: results, problems, cancel."""

from __future__ import annotations

from pathlib import Path

from feasstm_gui.core.jobs import JobResult, Progress, drive, steps
from feasstm_gui.core.problems import Problem


def _job(log: list, n: int = 3, result=None):
    try:
        for i in range(1, n + 1):
            log.append(i)
            yield Progress(i, n, f"unit {i}",
                           [Problem.at(Path("a.txt"), i, "odd")] if i % 2 else [])
        return result if result is not None else JobResult(done=n, summary="all done")
    finally:
        log.append("closed")


def test_steps_yields_progress_returns_a_job_result_and_closes_the_job():
    log: list = []
    seen: list[Progress] = []
    gen = steps(_job(log), seen, each=lambda p: Progress(p.done, p.total, "> " + p.message))
    messages = []
    try:
        while True:
            messages.append(next(gen).message)
    except StopIteration as stop:
        assert stop.value.summary == "all done"
    assert messages == ["> unit 1", "> unit 2", "> unit 3"]
    assert [p.message for p in seen] == ["unit 1", "unit 2", "unit 3"]
    assert log == [1, 2, 3, "closed"]
    # a job that returns something else than a JobResult: its value becomes the summary
    out = drive(_job([], 1, result="fine"))
    assert isinstance(out, JobResult) and out.summary == "fine"


def test_drive_collects_problems_and_stops_between_units():
    log: list = []
    result = drive(_job(log, 3, result=JobResult(done=3)))
    assert [p.line for p in result.problems] == [1, 3]
    log.clear()
    got = []
    result = drive(_job(log, 5), on_progress=got.append, should_stop=lambda: len(got) == 2)
    assert result.summary == "cancelled" and result.done == 2
    assert [p.line for p in result.problems] == [1]
    assert log == [1, 2, "closed"]  # closed at once, after the second unit
