"""Identity commands: `feasstm actor` (the actor's references) and `feasstm identities`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from feasstm_gui.cli.common import add_project_arg, open_store, run_job
from feasstm_gui.core.errors import FeasstmError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("actor", help="tell the project who an actor is (reference faces)",
                       description="Add reference faces for an actor: a photo (--name NAME "
                       "--photo FILE, repeatable) or a face on a frame (--clip ID --frame N "
                       "[--face K], K = 0 for the largest face; default the frame's current "
                       "face). References are shared by every clip of that actor; the tracker "
                       "compares faces with them at each cut. Without --photo/--frame, lists "
                       "the references. Exit 0, or 2 with a message naming the file.")
    add_project_arg(p)
    p.add_argument("--name", default=None, help="the actor's name (as in the clip metadata)")
    p.add_argument("--photo", action="append", type=Path, default=[], metavar="FILE",
                   help="a photo showing the actor's face alone (repeatable)")
    p.add_argument("--clip", default=None, metavar="ID")
    p.add_argument("--frame", type=int, default=None, metavar="N", help="source frame index")
    p.add_argument("--face", type=int, default=None, metavar="K",
                   help="face number on that frame, 0 = the largest")
    p.add_argument("--clear", action="store_true", help="forget the actor's references first")
    p.set_defaults(func=cmd_actor)

    p = sub.add_parser("identities", help="group every face of a clip by person",
                       description="Find every face in a clip's frames, group them into "
                       "identities (0 = the most frames) and list them; --actor K makes identity "
                       "K the actor in the whole clip (one undoable edit; its faces also become "
                       "the actor's references), --not-actor K drops its frames. Resumes after "
                       "an interruption. Exit 0, 1 or 2.")
    add_project_arg(p)
    p.add_argument("--clip", required=True, metavar="ID")
    p.add_argument("--json", action="store_true", help="print the identities as JSON")
    p.add_argument("--actor", type=int, default=None, metavar="K")
    p.add_argument("--not-actor", type=int, default=None, metavar="K")
    p.add_argument("--redo", action="store_true", help="search the frames again from the start")
    p.set_defaults(func=cmd_identities)


def cmd_actor(args) -> int:
    from feasstm_gui.core.faces.actors import add_frame_reference, add_photo_references
    from feasstm_gui.core.store import identity as idstore

    if args.photo and args.frame is not None:
        raise FeasstmError("give either --photo or --clip/--frame, not both")
    if args.frame is not None and not args.clip:
        raise FeasstmError("--frame needs --clip")
    if args.photo and not args.name:
        raise FeasstmError("--photo needs --name (the actor's name)")
    with open_store(args, read_only=not (args.photo or args.frame is not None or args.clear)) \
            as store:
        if args.clear and args.name:
            n = idstore.remove_actor_refs(store, args.name)
            print(f"forgot {n} reference(s) of '{args.name}'")
        if args.photo:
            n = add_photo_references(store, args.name, args.photo)
            total = len(idstore.actor_refs(store, args.name.strip()))
            print(f"'{args.name.strip()}': {n} reference photo(s) added, {total} reference(s)")
        elif args.frame is not None:
            actor = add_frame_reference(store, args.clip, args.frame, args.face)
            print(f"'{actor}': face on frame {args.frame} of clip '{args.clip}' added; "
                  f"{len(idstore.actor_refs(store, actor))} reference(s). Clips aligned from "
                  "now on use it; in a clip already aligned, `feasstm identities PROJECT --clip "
                  "ID --actor K` switches the frames to the actor's identity.")
        elif not args.clear:
            refs = idstore.all_actor_refs(store)
            if args.name:
                refs = {args.name: refs.get(args.name, [])}
            for actor, lst in refs.items():
                where = ", ".join(r.photo or f"frame id {r.frame_id}" for r in lst) or "none"
                print(f"{actor}: {len(lst)} reference(s): {where}")
    return 0


def cmd_identities(args) -> int:
    from feasstm_gui.core.faces.identities import (
        clip_identities,
        identities_clip,
        set_identity_actor,
    )
    from feasstm_gui.core.ingest.pipeline import holding_clip
    from feasstm_gui.core.jobs import JobResult
    from feasstm_gui.core.store import identity as idstore

    with open_store(args) as store:
        if not store.has_clip(args.clip):
            raise FeasstmError(f"no clip '{args.clip}' in the project", path=args.project)
        def finished() -> bool:
            progress = idstore.identity_progress(store, args.clip)
            frames = store.frames(args.clip)
            return bool(progress is not None and frames
                        and progress[0] >= frames[-1].frame_index
                        and any(r.identity is not None
                                for r in idstore.clip_faces(store, args.clip)))

        def job():
            # decided once this worker holds the clip: another may have grouped it meanwhile
            if not args.redo and finished():
                return JobResult(summary="already grouped")
            return (yield from identities_clip(store, args.clip, redo=args.redo))

        status = 0
        if args.redo or not finished():
            result = run_job(holding_clip(store, args.clip, "identities", job, "identities"),
                             "identities", quiet=args.json)
            status = result.exit_status
        for k, yes in ((args.actor, True), (args.not_actor, False)):
            if k is not None:
                n = set_identity_actor(store, args.clip, k, yes)
                print(f"identity {k} {'is' if yes else 'is not'} the actor: {n} change(s) "
                      "(`feasstm undo` takes them back)")
        ids = clip_identities(store, args.clip)
        if args.json:
            print(json.dumps({"clip": args.clip, "identities": [i.to_dict() for i in ids]},
                             ensure_ascii=False))
        else:
            for i in ids:
                mark = "  <- the actor" if i.is_actor else ""
                print(f"identity {i.number}: {i.frames} frames, actor's face on "
                      f"{i.actor_frames}{mark}")
        return status
