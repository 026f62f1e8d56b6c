"""What every command shares: opening a project, driving a job with a progress bar."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from feasstm_gui.core.jobs import Job, JobResult, Progress, drive
from feasstm_gui.core.store import Store


def add_project_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", type=Path, metavar="PROJECT", help="the project folder")
    parser.add_argument("--annotator", default=None,
                        help="who makes the changes (default: $FEASSTM_ANNOTATOR, the remembered "
                        "name, or the login name)")


def open_store(args: argparse.Namespace, *, read_only: bool = False, check: bool = False) -> Store:
    return Store.open(args.project, annotator=getattr(args, "annotator", None) or "",
                      read_only=read_only, check=check)


def run_job(job: Job, description: str, *, quiet: bool = False) -> JobResult:
    """Drive a job with a tqdm progress bar on stderr; print each problem as it comes."""
    from tqdm import tqdm

    bar = tqdm(desc=description, unit="", disable=quiet or not sys.stderr.isatty(),
               file=sys.stderr, dynamic_ncols=True)

    printed: set = set()

    def on_progress(p: Progress) -> None:
        if p.total is not None and bar.total != p.total:
            bar.total = p.total
        bar.n = p.done
        if p.message:
            bar.set_postfix_str(p.message[:40], refresh=False)
        bar.refresh()
        for problem in p.problems:
            printed.add(problem)
            bar.write(str(problem), file=sys.stderr)

    try:
        result = drive(job, on_progress)
    except BaseException:
        job.close()  # Ctrl+C or SIGTERM between two units: the job's own cleanup runs now
        raise
    finally:
        bar.close()
    print_problems(p for p in result.problems if p not in printed)
    return result


def print_problems(problems) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)
