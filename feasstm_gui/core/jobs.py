"""Long work as generators: each commits one unit, then yields a Progress.

The CLI drives a job with a terminal progress bar, the GUI with one worker class; both step it
with `steps` (the one loop over a job) and stop it between two yields (cancel); running the job
again resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field

from feasstm_gui.core.problems import EXIT_FAILED, EXIT_OK, EXIT_REPORTED, Problem


@dataclass
class Progress:
    """Where a job stands after a unit of work."""

    done: int
    total: int | None
    message: str = ""
    problems: list[Problem] = field(default_factory=list)  # found in this unit


Job = Generator[Progress, None, "JobResult"]


@dataclass
class JobResult:
    """What a finished job says: counts and every problem it reported."""

    done: int = 0
    problems: list[Problem] = field(default_factory=list)
    failed: bool = False  # nothing could be done at all
    summary: str = ""

    @property
    def exit_status(self) -> int:
        if self.failed:
            return EXIT_FAILED
        return EXIT_REPORTED if self.problems else EXIT_OK


def steps(job: Job, seen: list[Progress] | None = None,
          each: Callable[[Progress], Progress] | None = None) -> Job:
    """The one loop that steps a job: yields each of its Progress (through `each`, when given;
    appended to `seen`), returns its end as a JobResult (a job that returns something else:
    JobResult with that as its summary). The job is closed when this ends or is closed, so a
    cancelled job's `finally` blocks run in the thread that stepped it."""
    try:
        while True:
            try:
                progress = next(job)
            except StopIteration as stop:
                value = stop.value
                return value if isinstance(value, JobResult) else JobResult(
                    summary=str(value or ""))
            if seen is not None:
                seen.append(progress)
            yield each(progress) if each else progress
    finally:
        job.close()


def drive(job: Job, on_progress: Callable[[Progress], None] | None = None,
          should_stop: Callable[[], bool] | None = None) -> JobResult:
    """Run a job to its end (or until `should_stop()`), returning its JobResult.
    Problems yielded along the way are collected if the job's result does not carry them."""
    seen: list[Progress] = []
    ended: list[JobResult] = []

    def run() -> Generator[Progress, None, None]:
        ended.append((yield from steps(job, seen)))

    stepping = run()
    for progress in stepping:
        if on_progress:
            on_progress(progress)
        if should_stop and should_stop():
            stepping.close()
            return JobResult(done=progress.done, problems=[p for g in seen for p in g.problems],
                             summary="cancelled")
    result = ended[0]
    if not result.problems:
        result.problems = [p for g in seen for p in g.problems]
    return result
