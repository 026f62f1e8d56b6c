"""Long work as generators: each commits one unit, then yields a Progress.

The CLI drives a job with a terminal progress bar, the GUI with one worker class; both stop it
between two yields (cancel), and running the job again resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
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


def drive(job: Job, on_progress: Callable[[Progress], None] | None = None,
          should_stop: Callable[[], bool] | None = None) -> JobResult:
    """Run a job to its end (or until `should_stop()`), returning its JobResult.
    Problems yielded along the way are collected if the job's result does not carry them."""
    seen: list[Problem] = []
    try:
        while True:
            progress = next(job)
            seen.extend(progress.problems)
            if on_progress:
                on_progress(progress)
            if should_stop and should_stop():
                job.close()
                return JobResult(done=progress.done, problems=seen, summary="cancelled")
    except StopIteration as stop:
        result = stop.value if isinstance(stop.value, JobResult) else JobResult()
        if not result.problems:
            result.problems = seen
        return result


def chain(jobs: Iterable[Job]) -> Job:
    """Run jobs one after another as one job."""
    total = JobResult()
    for job in jobs:
        result = yield from job
        if isinstance(result, JobResult):
            total.done += result.done
            total.problems.extend(result.problems)
            total.failed = total.failed or result.failed
    return total
