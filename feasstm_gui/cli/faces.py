"""Frame and face commands: extract, align, realign."""

from __future__ import annotations

import argparse

from feasstm_gui.cli.common import add_project_arg, open_store, run_job
from feasstm_gui.core.pipeline import extract_clip, for_clips


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="extract the frames of clips' videos",
                       description="Decode each clip's video once, front to back, and store its "
                       "frames (JPEG). Run again to resume; a damaged video keeps the frames read "
                       "before the damage. Exit 0, 1 (problems reported) or 2 (nothing done).")
    add_project_arg(p)
    p.add_argument("--clip", action="append", metavar="ID", help="only this clip (repeatable)")
    p.add_argument("--fps", type=float, default=None,
                   help="frames per second to keep (default: every frame)")
    p.set_defaults(func=cmd_extract)
    _register_align(sub)


def cmd_extract(args) -> int:
    if args.fps is not None and args.fps <= 0:
        from feasstm_gui.core.errors import FeasstmError

        raise FeasstmError(f"--fps must be positive (got {args.fps})")
    with open_store(args) as store:
        job = for_clips(store, args.clip,
                        lambda s, c: extract_clip(s, c, fps=args.fps), "extract")
        result = run_job(job, "extract")
    print(result.summary)
    return result.exit_status


def _register_align(sub: argparse._SubParsersAction) -> None:
    """align and realign join here once the alignment job is in core.pipeline."""
