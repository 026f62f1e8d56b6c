"""`feasstm sample PROJECT`: build the sample project (clips from real photographs, extracted
and aligned by the real pipeline, a few labels and a rating)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from feasstm_gui.cli.common import run_job


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="build the sample project (about a minute)",
                       description="Write three short clips made from the bundled photographs "
                       "(camera motion, a cut, blurred and faceless frames), import them with "
                       "their metadata, extract and align them, and add a few labels and a "
                       "rating. Run again on an unfinished sample to resume; a finished one is "
                       "left as it is. Exit 0, 1 (problems reported) or 2.")
    p.add_argument("project", type=Path, metavar="PROJECT",
                   help="a new or empty folder (or an unfinished sample project)")
    p.add_argument("--annotator", default=None, help="who the sample's labels are by")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where MTCNN runs (default: cuda when available, else cpu)")
    p.set_defaults(func=cmd_sample)


def cmd_sample(args) -> int:
    from feasstm_gui.sample import create_sample_project, is_complete, sample_job

    if is_complete(args.project):
        print(f"{args.project}: the sample project is already built")
        return 0
    started = time.monotonic()
    store = create_sample_project(args.project, annotator=args.annotator or "")
    with store:
        result = run_job(sample_job(store, device=args.device), "sample")
    print(f"{result.summary} ({time.monotonic() - started:.0f} s)")
    return result.exit_status
