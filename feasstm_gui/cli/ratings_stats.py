"""`feasstm agreement`: how well raters agree, from a ratings or labels CSV.

    feasstm agreement RATINGS.csv [--level ordinal|nominal] [--json] [--report DIR]

Reads ``target,rater,value``, an exported ``asa/ratings.csv`` or an exported
``labels_by_annotator.csv``. Lines that cannot be used are reported on stderr as
``file:line: reason`` and the exit status is then 1; a file that cannot be used at all raises
FeasstmError (the dispatcher prints it and exits 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.problems import EXIT_OK, EXIT_REPORTED
from feasstm_gui.core.ratings.agreement import (
    LABELS,
    LEVELS,
    NOMINAL,
    ORDINAL,
    agreement,
    read_agreement_csv,
)


def register(subparsers) -> None:
    """Add the `agreement` command to the `feasstm` parser."""
    parser = subparsers.add_parser(
        "agreement",
        help="inter-rater agreement (ICC, Kendall's W, Krippendorff's alpha, Fleiss' kappa)",
        description="Agreement statistics from a CSV with columns target,rater,value (any "
        "numbers), an exported asa/ratings.csv (clip -> target, score -> value, per group) or an "
        "exported labels_by_annotator.csv ((clip, image name) -> target, annotator -> rater, "
        "code -> value). Given a project folder instead: its annotators' expression labels, "
        "and the proposing model as one more annotator (confusion matrix against each "
        "annotator and the final labels, Cohen's kappa).",
    )
    parser.add_argument("ratings", type=Path, metavar="RATINGS.csv",
                        help="the ratings CSV, or a project folder")
    parser.add_argument(
        "--level", choices=LEVELS, default=None,
        help="ordinal: ICC(2,1), ICC(2,k), ICC(3,k), Kendall's W, ordinal alpha; nominal: "
        "Fleiss' kappa, nominal alpha, confusion matrices (default: nominal for "
        "labels_by_annotator.csv, ordinal otherwise)")
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON")
    parser.add_argument("--report", type=Path, metavar="DIR",
                        help="also write DIR/report.html with PNG figures")
    parser.set_defaults(func=run_agreement)


def run_agreement(args: argparse.Namespace) -> int:
    """Compute, print, optionally write the report. 0: every line used; 1: lines reported."""
    if args.ratings.is_dir():  # a project: its annotators' labels and the model (issue 17)
        from feasstm_gui.cli.propose import project_agreement

        return project_agreement(args)
    ratings, kind, problems = read_agreement_csv(args.ratings)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not ratings:
        raise FeasstmError(
            "no rating could be read" + (f" ({len(problems)} lines reported above)"
                                         if problems else " (the file has a header only)"),
            path=args.ratings)
    level = args.level or (NOMINAL if kind == LABELS else ORDINAL)
    result = {"file": str(args.ratings), "kind": kind, **agreement(ratings, level)}

    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2, allow_nan=False))
    else:
        print(format_text(result))
    if args.report is not None:
        from feasstm_gui.core.ratings.report import write_agreement_report

        # The report follows the kind of file (scores: distributions and rater bias; labels:
        # label distribution and confusion matrices), whatever --level the numbers used.
        if kind == LABELS:
            path = write_agreement_report(args.report, None, ratings)
        else:
            path = write_agreement_report(args.report, ratings, None)
        print(f"report: {path}", file=sys.stderr if args.json else sys.stdout)
    return EXIT_REPORTED if problems else EXIT_OK


def format_text(result: dict) -> str:
    """The statistics for a person: one line each, nulls explained in the notes."""
    lines = [f"{result.get('file', 'ratings')}: {result['kind']}, {result['level']} level"]
    lines += _block(result, "")
    for group, sub in (result.get("groups") or {}).items():
        lines.append("")
        lines.append(f"group {group}:")
        lines += _block(sub, "  ")
    notes = [("", n) for n in result["notes"]]
    for group, sub in (result.get("groups") or {}).items():
        notes += [(f"group {group}: ", n) for n in sub["notes"]]
    if notes:
        lines.append("")
        lines.append("notes:")
        lines += [f"  - {where}{note}" for where, note in notes]
    return "\n".join(lines)


_ORDINAL_LINES = (("ICC(2,1)", "icc2_1"), ("ICC(2,k)", "icc2_k"), ("ICC(3,k)", "icc3_k"),
                  ("ICC(1) one-way", "icc1"), ("Kendall's W", "kendall_w"),
                  ("Krippendorff's alpha (ordinal)", "alpha"))
_NOMINAL_LINES = (("Fleiss' kappa", "fleiss_kappa"), ("Krippendorff's alpha (nominal)", "alpha"))


def _block(result: dict, indent: str) -> list[str]:
    lines = [f"{indent}{result['n_targets']} targets, {result['n_raters']} raters, "
             f"{result['n_ratings']} ratings"]
    names = _ORDINAL_LINES if result["level"] == ORDINAL else _NOMINAL_LINES
    for name, key in names:
        value = result.get(key)
        text = "null (see notes)" if value is None else f"{value:.3f}"
        ci = result.get(f"{key}_ci95")
        if ci:
            text += f"  95% CI [{ci[0]:.3f}, {ci[1]:.3f}]"
        lines.append(f"{indent}  {name:<31} {text}")
    for entry in result.get("confusion_matrices") or []:
        lines.append(f"{indent}  {entry['rater_a']} vs {entry['rater_b']}: {entry['n']} common, "
                     f"{100 * entry['agreement']:.1f} % agree")
    return lines
