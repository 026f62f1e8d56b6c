"""Acting-skill rating (FEASSTM-ASA) commands: raters, groups, import-ratings, totals,
ratings-report.

    feasstm raters PROJECT add NAME --group G | remove NAME | list [--json]
    feasstm groups PROJECT [--clip ID --group G | --csv CLIPS.csv]
    feasstm import-ratings PROJECT RATINGS.csv
    feasstm totals PROJECT [--json]
    feasstm ratings-report PROJECT OUTDIR

Problems go to stderr as `file:line: reason`, each naming the clip and the rater; exit 0 when
nothing was reported, 1 when something was, 2 when nothing could be done.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from feasstm_gui.cli.common import add_project_arg, open_store, print_problems
from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.formats.csvfile import csv_records
from feasstm_gui.core.formats.csvsafe import unsafe_cell
from feasstm_gui.core.formats.faf import read_text
from feasstm_gui.core.problems import EXIT_FAILED, EXIT_OK, EXIT_REPORTED, Problem
from feasstm_gui.core.ratings import asa
from feasstm_gui.core.store import ratings as rdb


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("raters", help="the raters of the acting-skill rating and their groups",
                       description="Add a rater to a group (or move them), remove one, or list "
                       "them with their progress. Groups usually have 4 raters; any number is "
                       "allowed.")
    add_project_arg(p)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    a = actions.add_parser("add", help="add a rater to a group (or move them to it)")
    a.add_argument("name", metavar="NAME")
    a.add_argument("--group", required=True, metavar="G", help="the rater's group")
    a.set_defaults(func=cmd_raters_add)
    a = actions.add_parser("remove", help="take a rater off the list (their ratings stay, "
                           "uncounted)")
    a.add_argument("name", metavar="NAME")
    a.set_defaults(func=cmd_raters_remove)
    a = actions.add_parser("list", help="raters, their groups and progress")
    a.add_argument("--json", action="store_true", help="print one JSON object")
    a.set_defaults(func=cmd_raters_list)

    p = sub.add_parser("groups", help="put clips in rating groups, or list the groups",
                       description="With --clip and --group: put one clip in a group. With "
                       "--csv: a CSV with columns clip,group. With neither: list the groups. "
                       "Clips also get their group from the clip table's group column.")
    add_project_arg(p)
    p.add_argument("--clip", metavar="ID", help="the clip to put in a group")
    p.add_argument("--group", metavar="G", help="its group ('' takes it out of its group)")
    p.add_argument("--csv", type=Path, metavar="CLIPS.csv", help="a CSV clip,group")
    p.set_defaults(func=cmd_groups)

    p = sub.add_parser("import-ratings", help="import acting-skill ratings from a CSV",
                       description="Columns clip, rater, score (1-5), description and optionally "
                       "frames (5 source frame indices separated by ';'). A rating with a "
                       "description and 5 good frames is completed. Problems go to stderr as "
                       "file:line: reason. Exit 0: all imported; 1: problems reported; 2: "
                       "nothing imported.")
    add_project_arg(p)
    p.add_argument("ratings", type=Path, metavar="RATINGS.csv")
    p.set_defaults(func=cmd_import_ratings)

    p = sub.add_parser("totals", help="each clip's ASA total (the sum of its raters' scores)",
                       description="Per clip: actor, group, completed ratings of the group's "
                       "raters, and the total only when all of them rated; per actor: the mean "
                       "of their complete totals. Problems with ratings go to stderr (exit 1).")
    add_project_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_totals)

    p = sub.add_parser("ratings-report", help="agreement report (HTML + PNG) of the project's "
                       "ratings and labels",
                       description="ICC and Kendall's W within each group, the one-way ICC(1) "
                       "across groups (or why not), Krippendorff's alpha; Fleiss' kappa and "
                       "confusion matrices of the expression labels when several annotators "
                       "labelled frames.")
    add_project_arg(p)
    p.add_argument("outdir", type=Path, metavar="OUTDIR")
    p.set_defaults(func=cmd_ratings_report)


# ------------------------------------------------------------------------------------ raters


def cmd_raters_add(args) -> int:
    with open_store(args) as store:
        before = rdb.rater(store, args.name.strip())
        rdb.set_rater(store, args.name, args.group, annotator=store.annotator)
        r = rdb.rater(store, args.name.strip())
        n = len(rdb.raters(store, r.group))
    if before is not None and before.group != r.group:
        print(f"moved rater {r.name} from group {before.group} to group {r.group} "
              f"({n} rater(s) in {r.group})")
    elif before is not None:
        print(f"rater {r.name} is already in group {r.group}")
    else:
        print(f"added rater {r.name} to group {r.group} ({n} rater(s) in {r.group})")
    return EXIT_OK


def cmd_raters_remove(args) -> int:
    with open_store(args) as store:
        rdb.remove_rater(store, args.name, annotator=store.annotator)
    print(f"removed rater {args.name} (their ratings stay in the project, not counted)")
    return EXIT_OK


def cmd_raters_list(args) -> int:
    with open_store(args, read_only=True) as store:
        rows = []
        for r in rdb.raters(store):
            done, total = rdb.rater_progress(store, r.name)
            rows.append({"rater": r.name, "group": r.group, "completed": done, "clips": total})
    if args.json:
        print(json.dumps({"raters": rows}, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print("no raters; add one with: feasstm raters PROJECT add NAME --group G")
        return EXIT_OK
    width = max(len(r["rater"]) for r in rows)
    for r in rows:
        print(f"{r['rater']:<{width}}  group {r['group']}  {r['completed']}/{r['clips']} rated")
    return EXIT_OK


# ------------------------------------------------------------------------------------ groups


def cmd_groups(args) -> int:
    if args.csv is not None and (args.clip or args.group is not None):
        raise FeasstmError("give either --csv or --clip with --group, not both")
    if args.csv is None and (args.clip is None) != (args.group is None):
        raise FeasstmError("--clip and --group go together: feasstm groups PROJECT --clip ID "
                           "--group G")
    if args.csv is None and args.clip is None:
        return _list_groups(args)
    problems: list[Problem] = []
    with open_store(args) as store:
        if args.csv is not None:
            assignments = _read_group_csv(args.csv, store, problems)
        else:
            assignments = {args.clip: args.group}
        if assignments:
            rdb.set_clip_groups(store, assignments, annotator=store.annotator)
    print_problems(problems)
    for clip, group in assignments.items():
        print(f"{clip}: group {group}" if group else f"{clip}: no group")
    if not assignments:
        print("no clip was put in a group")
        return EXIT_FAILED
    return EXIT_REPORTED if problems else EXIT_OK


def _read_group_csv(path: Path, store, problems: list[Problem]) -> dict[str, str]:
    text = read_text(path)
    header = None
    out: dict[str, str] = {}
    seen: dict[str, int] = {}
    for line, fields in csv_records(text, path, problems=problems):
        if header is None:
            header = [f.strip().lstrip("\ufeff").lower() for f in fields]
            if "clip" not in header or "group" not in header:
                raise FeasstmError("the header must name clip and group", path=path,
                                   line=line)
            continue
        cells = dict(zip(header, (f.strip() for f in fields)))
        clip = unsafe_cell(cells.get("clip", ""))
        group = unsafe_cell(cells.get("group", ""))
        if not store.has_clip(clip):
            problems.append(Problem.at(path, line, f"no clip '{clip}' in the project; "
                                       "line skipped"))
        elif clip in seen:
            problems.append(Problem.at(path, line, f"clip '{clip}' is already at line "
                                       f"{seen[clip]}; the first line is kept"))
        else:
            seen[clip] = line
            out[clip] = group
    if header is None:
        raise FeasstmError("empty file; the header must name clip and group", path=path)
    return out


def _list_groups(args) -> int:
    with open_store(args, read_only=True) as store:
        groups = rdb.groups(store)
        ungrouped = [c for c, g in rdb.clip_groups(store).items() if not g]
    if not groups and not ungrouped:
        print("no clips and no raters")
    for name, (clips, raters) in groups.items():
        print(f"group {name}: {len(clips)} clip(s), {len(raters)} rater(s)"
              + (f" ({', '.join(raters)})" if raters else ""))
    if ungrouped:
        print(f"no group: {len(ungrouped)} clip(s)")
    return EXIT_OK


# ---------------------------------------------------------------------------- import, totals


def cmd_import_ratings(args) -> int:
    with open_store(args) as store:
        result = asa.import_ratings(store, args.ratings)
    print_problems(result.problems)
    print(result.summary)
    return result.exit_status


def cmd_totals(args) -> int:
    with open_store(args, read_only=True) as store:
        data = asa.totals_json(store)
    problems = [Problem.at(args.project, 0, msg) for msg in data["problems"]]
    print_problems(problems)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(format_totals(data))
    return EXIT_REPORTED if problems else EXIT_OK


def format_totals(data: dict) -> str:
    clips = data["clips"]
    if not clips:
        return "no clips"
    width = max(len(c["clip"]) for c in clips)
    lines = []
    for c in clips:
        rated = f"{c['n_raters']}/{c['group_raters']} rated"
        total = f"total {c['total']}" if c["complete"] else "incomplete"
        group = f"group {c['group']}" if c["group"] else "no group"
        lines.append(f"{c['clip']:<{width}}  {c['actor'] or '-'}  {group}  {rated}  {total}")
    complete = sum(c["complete"] for c in clips)
    lines.append(f"{complete} of {len(clips)} clip(s) complete")
    for a in data["actors"]:
        mean = f"mean total {a['mean_total']:.2f}" if a["mean_total"] is not None else \
            "no complete clip"
        lines.append(f"actor {a['actor'] or '-'}: {a['complete']}/{len(a['clips'])} clip(s) "
                     f"complete, {mean}")
    return "\n".join(lines)


def cmd_ratings_report(args) -> int:
    from feasstm_gui.core.ratings.report import write_agreement_report

    with open_store(args, read_only=True) as store:
        scores = asa.score_rows(store)
        labels = rdb.label_rows(store)
        messages = asa.check_ratings(store)
        name = store.name
    if len({who for _, who, _ in labels}) < 2:
        labels = []
    if not scores and not labels:
        raise FeasstmError("nothing to report: no completed rating by a group's rater, and no "
                           "frames labelled by two or more annotators", path=args.project)
    path = write_agreement_report(args.outdir, scores or None, labels or None,
                                  title=f"Rater agreement: {name}")
    print_problems(Problem.at(args.project, 0, msg) for msg in messages)
    print(f"report: {path}", file=sys.stdout)
    return EXIT_REPORTED if messages else EXIT_OK
