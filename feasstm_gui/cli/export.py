"""Export commands: `export` (the FEASSTM dataset or Emotion-FAN lists) and `verify`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from feasstm_gui.cli.common import add_project_arg, open_store, print_problems, run_job
from feasstm_gui.core.dataset.export import (
    FORMATS,
    SPLIT_BY,
    ExportOptions,
    ExportPlan,
    export_dataset,
    plan_export,
)
from feasstm_gui.core.dataset.split import SPLITS
from feasstm_gui.core.dataset.verify import verify_export
from feasstm_gui.core.problems import EXIT_OK, EXIT_REPORTED
from feasstm_gui.core.vocab import CODES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="export the dataset (FEASSTM-FAF layout, or Emotion-FAN lists)",
        description="Write OUT as DATASET.md's export layout: deleted, irrelevant (and, unless "
        "asked, unlabelled) frames dropped, images renumbered from 000001 per clip, split by "
        "whole clips or actors. OUT appears only when complete. Exit 0: exported, nothing to "
        "report; 1: exported, problems reported on stderr; 2: nothing exported.")
    add_project_arg(p)
    p.add_argument("out", type=Path, metavar="OUT", help="the export folder (must not exist)")
    p.add_argument("--split-by", choices=SPLIT_BY, default="clip",
                   help="keep each clip (default) or each actor in one split")
    p.add_argument("--test-fraction", type=float, default=0.2, metavar="F",
                   help="fraction of images in the test split, reached with whole clips "
                   "(default 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    p.add_argument("--stratify", action="store_true",
                   help="balance the expression codes across the splits as whole clips allow")
    p.add_argument("--split-file", type=Path, metavar="FILE",
                   help="CSV clip,split that fixes the split (train or test per clip)")
    p.add_argument("--format", choices=FORMATS, default="faf",
                   help="faf: FEASSTM-FAF layout (default); emotion-fan: one folder per run of "
                   "equal codes, AFEW-style lists")
    p.add_argument("--min-run", type=int, default=1, metavar="N",
                   help="emotion-fan: leave out runs shorter than N frames (default 1)")
    p.add_argument("--include-unlabelled", action="store_true",
                   help="also export kept frames without a final label (code 0, unlabelled.txt)")
    p.add_argument("--with-videos", action="store_true",
                   help="also write each clip's video, cut to its start and end (FEASSTM-V)")
    p.add_argument("--copy", action="store_true",
                   help="copy the crops even where a hard link to the project's file is possible")
    p.add_argument("--force", action="store_true",
                   help="replace OUT if it exists (atomically: the old one goes only when the new "
                   "one is complete)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the counts per split and code, write nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_export, interrupted="nothing was exported (the partial export was "
                   "removed; OUT is as it was)")

    p = sub.add_parser(
        "verify", help="check an export: hashes, names, TXT lines, codes, splits",
        description="Recompute every file's SHA-256 against manifest.json, check that names are "
        "continuous, that every TXT line has its image and every image its line, codes 1-7, and "
        "that no clip (or actor) is in both splits. Prints each problem; exit 0 when there is "
        "none, 1 when there is any, 2 when EXPORT is not an export.")
    p.add_argument("export", type=Path, metavar="EXPORT")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_verify)


def options_from_args(args: argparse.Namespace) -> ExportOptions:
    return ExportOptions(split_by=args.split_by, test_fraction=args.test_fraction,
                         seed=args.seed, stratify=args.stratify, split_file=args.split_file,
                         format=args.format, include_unlabelled=args.include_unlabelled,
                         with_videos=args.with_videos, min_run=args.min_run,
                         link=not args.copy)


def cmd_export(args: argparse.Namespace) -> int:
    store = open_store(args, read_only=True)
    try:
        options = options_from_args(args)
        plan = plan_export(store, options)
        if args.dry_run:
            print_problems(plan.problems)
            print(plan_table(plan))
            return EXIT_REPORTED if plan.problems else EXIT_OK
        result = run_job(export_dataset(store, args.out, options, force=args.force, plan=plan),
                         "export", quiet=args.quiet)
    finally:
        store.close()
    print(result.summary)
    return result.exit_status


def plan_table(plan: ExportPlan) -> str:
    """Images per code (rows) and split (columns), as the dry run and the dialog show them."""
    counts = plan.counts_by_split()
    lines = [f"{'code':<14}" + "".join(f"{s:>8}" for s in SPLITS) + f"{'total':>8}"]
    for code, name in CODES.items():
        row = [counts[s][code] for s in SPLITS]
        lines.append(f"{f'{code} {name}':<14}" + "".join(f"{n:>8}" for n in row)
                     + f"{sum(row):>8}")
    totals = [sum(counts[s].values()) for s in SPLITS]
    lines.append(f"{'all':<14}" + "".join(f"{n:>8}" for n in totals) + f"{sum(totals):>8}")
    unl = sum(1 for i in plan.images if not i.code)
    if unl:
        lines.append(f"unlabelled images (in no split): {unl}")
    if plan.options.format == "emotion-fan":
        seq = plan.counts()["sequences"]
        lines.append("sequences: " + ", ".join(f"{s} {seq[s]}" for s in SPLITS))
    clips = {s: sum(1 for c in plan.clips if plan.split.get(c.id) == s) for s in SPLITS}
    lines.append("clips: " + ", ".join(f"{s} {clips[s]}" for s in SPLITS)
                 + f"; test fraction reached {plan.test_fraction_reached():.3f}")
    return "\n".join(lines)


def cmd_verify(args: argparse.Namespace) -> int:
    result = run_job(verify_export(args.export), "verify", quiet=args.quiet)
    print(result.summary, file=sys.stdout)
    return EXIT_REPORTED if result.problems else EXIT_OK
