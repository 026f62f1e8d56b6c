"""The team's progress (issue 16): the researcher's figures.

    feasstm progress PROJECT [--json] [--idle SECONDS]

Per annotator: frames labelled, time spent (from the edit log: gaps between a person's steps,
each capped at --idle seconds), frames per hour, per clip and group; per rater: ratings
completed, time, ratings per hour; per rater group: ASA completion. Both back ends; the project
is opened read-only (a SQLite project being labelled meanwhile is no obstacle).
"""

from __future__ import annotations

import argparse
import json
import math

from feasstm_gui.cli.common import add_project_arg, open_store
from feasstm_gui.core.problems import EXIT_OK
from feasstm_gui.core.store import progress as prog


def _idle(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or not 1 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"{text} is not between 1 and 86400 seconds")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("progress", help="who labelled and rated how much, how fast",
                       description="Progress of the team: per annotator frames labelled, time "
                       "spent (from the edit log), frames per hour, per clip and group; per "
                       "rater ratings completed and ratings per hour; ASA completion per "
                       "rater group.")
    add_project_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--idle", type=_idle, default=prog.IDLE_S, metavar="SECONDS",
                   help="a gap between two steps longer than this counts as this much (a "
                   f"break; default {prog.IDLE_S:g})")
    p.set_defaults(func=cmd_progress)


def _hours(seconds: float) -> str:
    return prog.duration_text(seconds)


def _rate(v: float | None) -> str:
    return "-" if v is None else f"{v:g}/h"


def format_progress(data: dict) -> str:
    lines = [f"{data['frames']:,} frames; time counted with gaps capped at {data['idle_s']:g} s"]
    lines.append("annotators:" if data["annotators"] else "no labels yet")
    for a in data["annotators"]:
        lines.append(f"  {a['name']}: {a['frames_labelled']:,} frames labelled, "
                     f"{_hours(a['time_s'])}, {_rate(a['per_hour'])}")
        for g in a["groups"]:
            lines.append(f"    group {g['group'] or '(none)'}: {g['frames']:,} frames, "
                         f"{_hours(g['time_s'])}, {_rate(g['per_hour'])}")
        for c in a["clips"]:
            lines.append(f"      {c['clip']}: {c['frames']:,}/{c['of']:,} frames, "
                         f"{_hours(c['time_s'])}, {_rate(c['per_hour'])}")
    if data["raters"]:
        lines.append("raters:")
    for r in data["raters"]:
        lines.append(f"  {r['name']} (group {r['group']}): {r['completed']}/{r['clips']} rated, "
                     f"{_hours(r['time_s'])}, {_rate(r['per_hour'])}")
    if data["groups"]:
        lines.append("ASA completion:")
    for g in data["groups"]:
        share = "-" if g["completion"] is None else f"{g['completion'] * 100:.1f} %"
        lines.append(f"  group {g['group']}: {g['clips_complete']}/{g['clips']} clips complete, "
                     f"{g['ratings_done']}/{g['ratings_needed']} ratings ({share}), "
                     f"{g['raters']} raters")
    return "\n".join(lines)


def cmd_progress(args) -> int:
    with open_store(args, read_only=True) as store:
        data = prog.progress(store, idle_s=args.idle)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(format_progress(data))
    return EXIT_OK
