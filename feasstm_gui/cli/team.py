"""A team's project on a PostgreSQL server (issue 16): `feasstm move-to-server`, `feasstm
snapshot` and `feasstm server-roles`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from feasstm_gui.core.errors import FeasstmError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("move-to-server", help="move a project's database to a PostgreSQL server",
                       description="Copy every row of a SQLite project to an empty database on "
                       "a PostgreSQL server; the folder then names the server (server.json) and "
                       "keeps its images; its SQLite file is kept aside as "
                       "project.sqlite.moved-to-server. No password in the URL: use ~/.pgpass, "
                       "a service file or PGPASSWORD. Exit 0, or 2 with nothing changed.")
    p.add_argument("project", type=Path, metavar="PROJECT")
    p.add_argument("url", metavar="URL", help="postgresql://[user@]host[:port]/dbname")
    p.set_defaults(func=cmd_move_to_server)

    p = sub.add_parser("snapshot", help="write a server project as a self-contained SQLite "
                       "project", description="A consistent copy of a server project's rows "
                       "and its frames/ and crops/ images in a new folder OUT (a SQLite "
                       "project: archive, offline work). OUT appears only when complete.")
    p.add_argument("project", type=Path, metavar="PROJECT")
    p.add_argument("out", type=Path, metavar="OUT", help="the new project folder")
    p.set_defaults(func=cmd_snapshot)

    p = sub.add_parser("server-roles", help="the team's database roles and what each may do",
                       description="Create (or update) each person's database role on the "
                       "project's server and turn on row-level security: an annotator writes "
                       "only their own labels, a rater reads other raters' ratings of a clip "
                       "only once their group has completed it, a researcher does everything. "
                       "Each person connects as their role (PGUSER, a service file, ~/.pgpass); "
                       "the role's name is their annotator or rater name. Run as the project's "
                       "owner (the role that created it) or a superuser.")
    p.add_argument("project", type=Path, metavar="PROJECT")
    p.add_argument("--researcher", action="append", default=[], metavar="NAME")
    p.add_argument("--annotator", action="append", default=[], metavar="NAME")
    p.add_argument("--rater", action="append", default=[], metavar="NAME:GROUP",
                   help="a rater and their ASA group")
    p.add_argument("--show", action="store_true", help="list the roles and stop")
    p.set_defaults(func=cmd_server_roles)


def cmd_move_to_server(args) -> int:
    from feasstm_gui.core.store.pg import redact
    from feasstm_gui.core.store.transfer import MOVED_DB, move_to_server

    counts = move_to_server(args.project, args.url)
    print(f"moved to {redact(args.url)}: {counts['clips']} clips, {counts['frames']} frames, "
          f"{counts['labels']} labels, {counts['ratings']} ratings, {counts['edits']} edit-log "
          f"rows; the SQLite database is kept as {args.project / MOVED_DB}")
    return 0


def cmd_snapshot(args) -> int:
    from feasstm_gui.core.store.transfer import snapshot

    counts = snapshot(args.project, args.out,
                      say=lambda note: print(f"feasstm: {note}", file=sys.stderr))
    print(f"snapshot written to {args.out}: {counts['clips']} clips, {counts['frames']} frames, "
          f"{counts['labels']} labels, {counts['ratings']} ratings, {counts['edits']} edit-log "
          "rows")
    return 0


def cmd_server_roles(args) -> int:
    from feasstm_gui.core.store.roles import set_up_roles, team_roles

    raters = []
    for spec in args.rater:
        name, sep, group = spec.partition(":")
        if not sep or not name or not group:
            raise FeasstmError(f"--rater takes NAME:GROUP (got {spec!r})")
        raters.append((name, group))
    if not args.show:
        set_up_roles(args.project, researchers=args.researcher, annotators=args.annotator,
                     raters=raters)
    for name, kinds in team_roles(args.project):
        print(f"{name}: {', '.join(kinds)}")
    return 0
