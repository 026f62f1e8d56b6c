"""Project commands: new, import, import-faf, check, status, undo, redo, log, backup, restore."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from feasstm_gui.cli.common import add_project_arg, open_store, run_job
from feasstm_gui.cli.numbers import bounded_int
from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.problems import EXIT_FAILED, EXIT_OK
from feasstm_gui.core.store import Store, restore_backup
from feasstm_gui.core.vocab import CODES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new", help="create a project folder")
    p.add_argument("project", type=Path, metavar="PROJECT")
    p.add_argument("--name", help="project name (default: the folder name)")
    p.add_argument("--server", metavar="URL",
                   help="keep the database on a PostgreSQL server, e.g. "
                   "postgresql://host/dbname (an empty database; no password in the URL: use "
                   "~/.pgpass, a service file or PGPASSWORD)")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("import", help="add clips from a clip table CSV or from video files",
                       description="Add clips: `--clips CLIPS.csv` (clip, video, work, actor, "
                       "role, group[, start_s, end_s]) or video files (clip id = file name).")
    add_project_arg(p)
    p.add_argument("videos", nargs="*", type=Path, metavar="VIDEO")
    p.add_argument("--clips", type=Path, metavar="CLIPS.csv", help="a clip table")
    for field in ("work", "actor", "role", "group"):
        p.add_argument(f"--{field}", default="", help=f"{field} of the videos given")
    p.add_argument("--actor-photo", action="append", type=Path, default=[], metavar="FILE",
                   help="a reference photo of the videos' --actor (repeatable): picks the actor "
                   "in all their clips (a clip table has the column actor_photo instead)")
    p.add_argument("--replace", action="store_true", help="replace clips already there")
    p.add_argument("--process", action="store_true",
                   help="then extract and align the clips added, in one pass (as `process`)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("import-faf", help="import a FEASSTM-FAF-style folder made by hand",
                       description="Import faces/<clip>/ + annotations/<clip>.txt, or one folder "
                       "per clip with its TXT. Problems go to stderr as file:line: reason. Exit "
                       "0: all imported; 1: problems reported; 2: nothing imported.")
    add_project_arg(p)
    p.add_argument("folder", type=Path, metavar="FOLDER")
    p.add_argument("--replace", action="store_true", help="replace clips already there")
    p.set_defaults(func=cmd_import_faf)

    p = sub.add_parser("check", help="integrity check and the store's consistency checks")
    add_project_arg(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("params", help="show or change the project's settings",
                       description="Without KEY: every setting, its value, its range. KEY: one "
                       "value. KEY=VALUE ...: change them (all checked first, then written "
                       "together; `none` for settings that allow it). Crops made before keep "
                       "the settings they were made with: re-align to apply new ones.")
    add_project_arg(p)
    p.add_argument("items", nargs="*", metavar="KEY[=VALUE]")
    p.add_argument("--json", action="store_true", help="print the settings as one JSON object")
    p.set_defaults(func=cmd_params)

    p = sub.add_parser("status", help="counts of clips, frames, faces, labels, deletions")
    add_project_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_status)

    for name, helptext in (("undo", "undo your last edit"), ("redo", "redo your last undone edit")):
        p = sub.add_parser(name, help=helptext)
        add_project_arg(p)
        p.set_defaults(func=cmd_undo if name == "undo" else cmd_redo)

    p = sub.add_parser("log", help="the edit log: who changed what, when")
    add_project_arg(p)
    p.add_argument("-n", type=bounded_int(1), default=20, help="how many steps (default 20)")
    p.set_defaults(func=cmd_log)

    p = sub.add_parser("backup", help="take a backup of the project database now")
    add_project_arg(p)
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="restore the project database from a backup")
    p.add_argument("project", type=Path, metavar="PROJECT")
    p.add_argument("backup", nargs="?", type=Path, help="backup file (default: the newest)")
    p.set_defaults(func=cmd_restore)


def cmd_new(args) -> int:
    store = Store.create(args.project, name=args.name, server=args.server)
    store.close()
    print(f"created project {args.project}" + (" on the server" if args.server else ""))
    return EXIT_OK


def cmd_import(args) -> int:
    if bool(args.clips) == bool(args.videos):
        raise FeasstmError("give either --clips CLIPS.csv or video files, not both or neither")
    if args.clips and args.actor_photo:
        raise FeasstmError("--actor-photo goes with video files; a clip table names each "
                           "clip's photo in its column actor_photo")
    # the importer brings numpy and OpenCV: read only by the commands that import
    from feasstm_gui.core.ingest.importer import import_clip_table, import_videos

    with open_store(args) as store:
        if args.clips:
            job = import_clip_table(store, args.clips, replace=args.replace)
        else:
            job = import_videos(store, args.videos, work=args.work, actor=args.actor,
                                role=args.role, group=args.group, replace=args.replace,
                                actor_photos=args.actor_photo)
        if args.process:
            from feasstm_gui.core.ingest.pipeline import import_then_process

            job = import_then_process(store, job)
        result = run_job(job, "import+process" if args.process else "import")
    print(result.summary)
    return result.exit_status


def cmd_import_faf(args) -> int:
    from feasstm_gui.core.ingest.importer import import_faf

    with open_store(args) as store:
        result = run_job(import_faf(store, args.folder, replace=args.replace), "import-faf")
    print(result.summary)
    return result.exit_status


def cmd_check(args) -> int:
    with open_store(args, read_only=True) as store:
        problems = store.consistency_problems()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found")
        return EXIT_FAILED
    print("ok: integrity check passed, every crop and image present, every label on a frame")
    return EXIT_OK


def cmd_status(args) -> int:
    with open_store(args, read_only=True) as store:
        status = store.status()
        from feasstm_gui.core.store.proposals import proposed_count
        status["proposed"] = proposed_count(store)  # faces with a current proposal (issue 17)
    if args.json:
        print(json.dumps(status, ensure_ascii=False))
        return EXIT_OK
    print(f"project {status['project']}")
    for key in ("clips", "frames", "faces", "irrelevant", "labelled", "deleted"):
        print(f"  {key:<11}{status[key]}")
    reasons = ", ".join(f"{k} {v}" for k, v in status["deleted_by_reason"].items() if v)
    if reasons:
        print(f"  deleted by reason: {reasons}")
    labels = ", ".join(f"{k} {CODES[int(k)]} {v}" for k, v in status["labels"].items() if v)
    if labels:
        print(f"  labels: {labels}")
    suggested = ", ".join(f"{k} {v}" for k, v in status["suggested"].items() if v)
    if suggested:
        print(f"  suggested (open): {suggested}")
    return EXIT_OK


def cmd_params(args) -> int:
    from feasstm_gui.core import project_settings as ps

    changes = {}
    for item in args.items:
        if "=" in item:
            key, _, value = item.partition("=")
            changes[key.strip()] = value
    shown = [ps.setting(i.strip()) for i in args.items if "=" not in i]
    if not changes:
        with open_store(args, read_only=True) as store:
            values = ps.current(store)
        settings = shown or ps.SETTINGS
        if args.json:
            print(json.dumps({s.key: values[s.key] for s in settings}, ensure_ascii=False))
        elif shown:
            for s in settings:
                print(s.show(values[s.key]))
        else:
            width = max(len(s.key) for s in settings)
            vwidth = max(len(s.show(values[s.key])) for s in settings)
            for s in settings:
                print(f"{s.key:<{width}}  {s.show(values[s.key]):<{vwidth}}  {s.title}; "
                      f"{s.describe_range()}")
        return EXIT_OK
    with open_store(args) as store:
        done = ps.apply(store, changes)
        stale = ps.faces_affected(store, done)
    if not done:
        print("nothing changed")
    for s, old, new in done:
        print(f"{s.key}: {s.show(old)} -> {s.show(new)}")
    if stale:
        print(f"{stale} frames already have crops made with the old settings; they keep them "
              "until re-aligned (`feasstm realign`, or R in the window)")
    return EXIT_OK


def cmd_undo(args) -> int:
    return _undo_redo(args, undo=True)


def cmd_redo(args) -> int:
    return _undo_redo(args, undo=False)


def _undo_redo(args, *, undo: bool) -> int:
    with open_store(args) as store:
        step = store.undo() if undo else store.redo()
    verb = "undid" if undo else "redid"
    if step is None:
        print(f"nothing to {'undo' if undo else 'redo'} for {store.annotator}")
        return EXIT_OK
    print(f"{verb} step {step.batch}: {step.description} ({len(step.changes)} change(s))")
    return EXIT_OK


def cmd_log(args) -> int:
    with open_store(args, read_only=True) as store:
        for step in store.history(args.n):
            print(f"{step.batch:>6}  {step.at}  {step.annotator:<12} {step.state:<7} "
                  f"{step.description} ({len(step.changes)})")
    return EXIT_OK


def cmd_backup(args) -> int:
    with open_store(args) as store:
        path = store.backup()
    print(f"backup written: {path}")
    return EXIT_OK


def cmd_restore(args) -> int:
    src = restore_backup(args.project, args.backup)
    print(f"restored {args.project} from {src}")
    return EXIT_OK
