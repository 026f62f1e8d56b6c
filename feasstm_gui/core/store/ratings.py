"""Acting-skill rating (FEASSTM-ASA) in the store: raters, groups, ratings, frame picks.

All SQL for these tables lives here. Every change an annotator makes (a score, a description,
a pick, completing a rating, a rater's or a clip's group) is an edit op registered with the
store, so it is committed at once, written to the edit log and undoable like a label.

Rating edits are logged under the rater's name (the rater is who made them), so undo in the
rating mode undoes that rater's last step and the audit trail says who scored what.

The end of the module holds the per-annotator label queries the adjudication view needs
(disagreements between annotators), which belong to the same multi-annotator issue.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.store.db import Database
from feasstm_gui.core.store.store import Store, _Op, register_op, utc_now
from feasstm_gui.core.vocab import SCORES

N_PICKS = 5
RANKS = tuple(range(1, N_PICKS + 1))


@dataclass
class Rater:
    name: str
    group: str


@dataclass
class Rating:
    """One rater's rating of one clip. `picks` maps rank (1-5) to frame id."""

    clip: str
    rater: str
    score: int | None = None
    description: str = ""
    completed_at: str | None = None
    updated_at: str | None = None
    picks: dict[int, int] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return self.completed_at is not None

    @property
    def started(self) -> bool:
        return bool(self.score is not None or self.description.strip() or self.picks)

    def picked_frames(self) -> list[int]:
        """Frame ids in rank order."""
        return [self.picks[r] for r in sorted(self.picks)]


@dataclass
class ClipSummary:
    """What the totals are made of, for one clip: its group's raters and completed scores."""

    clip: str
    actor: str
    group: str
    group_raters: int
    scores: dict[str, int]  # rater -> score, completed ratings by raters of the clip's group


@dataclass
class Disagreement:
    """A frame that several annotators labelled with different codes."""

    frame_id: int
    clip: str
    frame_index: int
    crop: str | None
    labels: dict[str, int]  # annotator -> code
    adjudicated: int | None


# ---------------------------------------------------------------------------------------------
# Edit ops
# ---------------------------------------------------------------------------------------------


def _prune_rating(db: Database, clip: str, rater: str) -> None:
    """A rating row with nothing in it is no rating: undoing the first edit leaves no trace."""
    db.execute(
        "DELETE FROM ratings WHERE clip=? AND rater=? AND score IS NULL AND description='' "
        "AND completed_at IS NULL", (clip, rater))


class _RatingFieldOp(_Op):
    """One column of a rating: score, description or completed_at."""

    def __init__(self, column: str, empty: Any):
        self.column = column
        self.empty = empty

    def get(self, db, t):
        row = db.one(f"SELECT {self.column} FROM ratings WHERE clip=? AND rater=?",
                           (t["clip"], t["rater"]))
        return row[0] if row else self.empty

    def set(self, db, t, value, who, at):
        value = self.empty if value is None else value
        db.execute(
            f"INSERT INTO ratings (clip, rater, {self.column}, updated_at) VALUES (?,?,?,?) "
            f"ON CONFLICT (clip, rater) DO UPDATE SET {self.column}=excluded.{self.column}, "
            "updated_at=excluded.updated_at",
            (t["clip"], t["rater"], value, at))
        _prune_rating(db, t["clip"], t["rater"])


class _PickOp(_Op):
    """The frame a rater picked at one rank (None: no frame at that rank)."""

    def get(self, db, t):
        row = db.one("SELECT frame_id FROM rating_picks WHERE clip=? AND rater=? AND rank=?",
                           (t["clip"], t["rater"], t["rank"]))
        return row[0] if row else None

    def set(self, db, t, value, who, at):
        if value is None:
            db.execute("DELETE FROM rating_picks WHERE clip=? AND rater=? AND rank=?",
                         (t["clip"], t["rater"], t["rank"]))
        else:
            db.execute(
                "INSERT INTO rating_picks (clip, rater, rank, frame_id) VALUES (?,?,?,?) "
                "ON CONFLICT (clip, rater, rank) DO UPDATE SET frame_id=excluded.frame_id",
                (t["clip"], t["rater"], t["rank"], int(value)))


class _RaterGroupOp(_Op):
    """A rater's group (None: the rater is not registered)."""

    def get(self, db, t):
        row = db.one("SELECT grp FROM raters WHERE name=?", (t["rater"],))
        return row[0] if row else None

    def set(self, db, t, value, who, at):
        if value is None:
            db.execute("DELETE FROM raters WHERE name=?", (t["rater"],))
        else:
            db.execute("INSERT INTO raters (name, grp) VALUES (?,?) "
                         "ON CONFLICT (name) DO UPDATE SET grp=excluded.grp", (t["rater"], value))


class _ClipGroupOp(_Op):
    """A clip's ASA group (clips.grp; '' for none)."""

    def get(self, db, t):
        row = db.one("SELECT grp FROM clips WHERE id=?", (t["clip"],))
        return row[0] if row else None

    def set(self, db, t, value, who, at):
        db.execute("UPDATE clips SET grp=? WHERE id=?", (value or "", t["clip"]))


register_op("rating_score", _RatingFieldOp("score", None))
register_op("rating_description", _RatingFieldOp("description", ""))
register_op("rating_completed", _RatingFieldOp("completed_at", None))
register_op("rating_pick", _PickOp())
register_op("rater_group", _RaterGroupOp())
register_op("clip_group", _ClipGroupOp())


# ---------------------------------------------------------------------------------------------
# Raters and groups
# ---------------------------------------------------------------------------------------------


def _check_name(name: str, what: str) -> str:
    name = (name or "").strip()
    if not name:
        raise FeasstmError(f"the {what} name is empty")
    if any(ord(c) < 32 for c in name):
        raise FeasstmError(f"the {what} name {name!r} contains a control character")
    return name


def raters(store: Store, group: str | None = None) -> list[Rater]:
    """Registered raters (of one group, when given), by group then name."""
    if group is None:
        rows = store.db.query("SELECT name, grp FROM raters ORDER BY grp, name")
    else:
        rows = store.db.query("SELECT name, grp FROM raters WHERE grp=? ORDER BY name", (group,))
    return [Rater(*r) for r in rows]


def rater(store: Store, name: str) -> Rater | None:
    row = store.db.one("SELECT name, grp FROM raters WHERE name=?", (name,))
    return Rater(*row) if row else None


def set_rater(store: Store, name: str, group: str, *, annotator: str | None = None) -> int:
    """Register a rater in a group, or move them to it. One undoable step."""
    name = _check_name(name, "rater")
    group = _check_name(group, "group")
    return store.apply_edits([("rater_group", {"rater": name}, group)],
                             f"rater {name} in group {group}", annotator=annotator)


def remove_rater(store: Store, name: str, *, annotator: str | None = None) -> int:
    """Take a rater off the list (their ratings stay in the project, uncounted)."""
    if rater(store, name) is None:
        raise FeasstmError(f"no rater '{name}' in the project")
    return store.apply_edits([("rater_group", {"rater": name}, None)], f"remove rater {name}",
                             annotator=annotator)


def set_clip_groups(store: Store, assignments: dict[str, str], *,
                    annotator: str | None = None, audit_only: bool = False) -> int:
    """Put clips in ASA groups ('' takes a clip out of its group). One step."""
    changes = []
    for clip, group in assignments.items():
        if not store.has_clip(clip):
            raise FeasstmError(f"no clip '{clip}' in the project", path=store.folder)
        changes.append(("clip_group", {"clip": clip}, (group or "").strip()))
    desc = (f"clip {next(iter(assignments))} in group {next(iter(assignments.values()))}"
            if len(assignments) == 1 else f"groups of {len(assignments)} clips")
    return store.apply_edits(changes, desc, annotator=annotator, audit_only=audit_only)


def clip_groups(store: Store) -> dict[str, str]:
    """clip -> group ('' for a clip in no group), in project order."""
    return dict(store.db.query("SELECT id, grp FROM clips ORDER BY position, id"))


def groups(store: Store) -> dict[str, tuple[list[str], list[str]]]:
    """group -> (its clips, its raters), for every group that has a clip or a rater."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    for clip, grp in store.db.query("SELECT id, grp FROM clips WHERE grp != '' "
                                  "ORDER BY grp, position, id"):
        out.setdefault(grp, ([], []))[0].append(clip)
    for name, grp in store.db.query("SELECT name, grp FROM raters ORDER BY grp, name"):
        out.setdefault(grp, ([], []))[1].append(name)
    return dict(sorted(out.items()))


def group_clips(store: Store, group: str) -> list[str]:
    return [r[0] for r in store.db.query(
        "SELECT id FROM clips WHERE grp=? ORDER BY position, id", (group,))]


# ---------------------------------------------------------------------------------------------
# Ratings
# ---------------------------------------------------------------------------------------------

_RATING_COLUMNS = "clip, rater, score, description, completed_at, updated_at"


def _picks(store: Store, where: str, args: Sequence) -> dict[tuple[str, str], dict[int, int]]:
    out: dict[tuple[str, str], dict[int, int]] = {}
    for clip, who, rank, frame_id in store.db.query(
            f"SELECT clip, rater, rank, frame_id FROM rating_picks {where}", args):
        out.setdefault((clip, who), {})[rank] = frame_id
    return out


def rating(store: Store, clip: str, rater_name: str) -> Rating:
    """A rater's rating of a clip (an empty one when not started)."""
    row = store.db.one(f"SELECT {_RATING_COLUMNS} FROM ratings WHERE clip=? AND rater=?",
                     (clip, rater_name))
    picks = _picks(store, "WHERE clip=? AND rater=?", (clip, rater_name))
    out = Rating(*row) if row else Rating(clip, rater_name)
    out.picks = picks.get((clip, rater_name), {})
    return out


def ratings(store: Store, *, rater_name: str | None = None, clip: str | None = None
            ) -> list[Rating]:
    """Ratings (started or completed), optionally of one rater or one clip, in clip order.
    A rating with picks but no score or description row is included too."""
    cond, args = [], []
    if rater_name is not None:
        cond.append("rater=?")
        args.append(rater_name)
    if clip is not None:
        cond.append("clip=?")
        args.append(clip)
    where = ("WHERE " + " AND ".join(cond)) if cond else ""
    found: dict[tuple[str, str], Rating] = {}
    for row in store.db.query(f"SELECT {_RATING_COLUMNS} FROM ratings {where}", args):
        found[(row[0], row[1])] = Rating(*row)
    for key, picks in _picks(store, where, args).items():
        found.setdefault(key, Rating(*key)).picks = picks
    order = {c: i for i, c in enumerate(clip_groups(store))}
    return sorted(found.values(), key=lambda r: (order.get(r.clip, len(order)), r.clip, r.rater))


def set_score(store: Store, clip: str, rater_name: str, score: int | None, *,
              annotator: str | None = None) -> int:
    """Set (None clears) a rater's score of a clip. One undoable step."""
    if score is not None and score not in SCORES:
        raise FeasstmError(f"clip '{clip}', rater '{rater_name}': {score} is not a score "
                           "(1 very bad, 2 bad, 3 competent, 4 good, 5 excellent)")
    _require_clip(store, clip)
    desc = f"score {clip}: {score} ({SCORES[score]})" if score else f"clear score {clip}"
    return store.apply_edits([("rating_score", {"clip": clip, "rater": rater_name}, score)],
                             desc, annotator=annotator or rater_name)


def set_description(store: Store, clip: str, rater_name: str, text: str, *,
                    annotator: str | None = None) -> int:
    _require_clip(store, clip)
    return store.apply_edits(
        [("rating_description", {"clip": clip, "rater": rater_name}, text or "")],
        f"describe {clip}", annotator=annotator or rater_name)


def pick_changes(clip: str, rater_name: str, frame_ids: Sequence[int | None]
                 ) -> list[tuple[str, dict, Any]]:
    """The edits that make `frame_ids` a rater's picks: position i is rank i + 1, None leaves
    that rank empty; at most 5, no frame twice."""
    if len(frame_ids) > N_PICKS:
        raise FeasstmError(f"clip '{clip}', rater '{rater_name}': {len(frame_ids)} frames "
                           f"picked, at most {N_PICKS}")
    present = [f for f in frame_ids if f is not None]
    if len(set(present)) != len(present):
        raise FeasstmError(f"clip '{clip}', rater '{rater_name}': a frame is picked twice")
    return [("rating_pick", {"clip": clip, "rater": rater_name, "rank": rank},
             frame_ids[rank - 1] if rank <= len(frame_ids) else None) for rank in RANKS]


def set_picks(store: Store, clip: str, rater_name: str, frame_ids: Sequence[int | None], *,
              annotator: str | None = None, description: str | None = None) -> int:
    """Make `frame_ids` (rank order; None for an empty rank) the rater's picks for the clip.
    One undoable step. Frames must belong to the clip; whether they may be picked (deleted,
    irrelevant, no face) is asa.pick_problem's call."""
    frame_ids = [None if f is None else int(f) for f in frame_ids]
    _require_clip_frames(store, clip, [f for f in frame_ids if f is not None])
    return store.apply_edits(pick_changes(clip, rater_name, frame_ids),
                             description or f"pick frames of {clip}",
                             annotator=annotator or rater_name)


def set_completed(store: Store, clip: str, rater_name: str, done: bool, *,
                  annotator: str | None = None) -> int:
    """Mark a rating completed (or reopen it). Callers check it first (asa.complete_rating)."""
    value = utc_now() if done else None
    return store.apply_edits([("rating_completed", {"clip": clip, "rater": rater_name}, value)],
                             f"{'complete' if done else 'reopen'} rating of {clip}",
                             annotator=annotator or rater_name)


def _require_clip(store: Store, clip: str) -> None:
    if not store.has_clip(clip):
        raise FeasstmError(f"no clip '{clip}' in the project", path=store.folder)


def _require_clip_frames(store: Store, clip: str, frame_ids: Iterable[int]) -> None:
    frame_ids = list(frame_ids)
    if not frame_ids:
        return
    found = {r[0] for r in store.db.query(
        f"SELECT id FROM frames WHERE clip=? AND id IN ({','.join('?' * len(frame_ids))})",
        (clip, *frame_ids))}
    missing = [f for f in frame_ids if f not in found]
    if missing:
        raise FeasstmError(f"clip '{clip}' has no frame with id {missing[0]}", path=store.folder)


def import_rating(store: Store, clip: str, rater_name: str, score: int, description: str,
                  frame_ids: Sequence[int | None] | None, source: str) -> int:
    """Write one rating from a file (score, description and, unless None, the picks), logged
    for audit under the importing annotator, not on anyone's undo stack."""
    changes: list[tuple[str, dict, Any]] = [
        ("rating_score", {"clip": clip, "rater": rater_name}, score),
        ("rating_description", {"clip": clip, "rater": rater_name}, description),
    ]
    if frame_ids is not None:
        _require_clip_frames(store, clip, [f for f in frame_ids if f is not None])
        changes += pick_changes(clip, rater_name, list(frame_ids))
    return store.apply_edits(changes, f"import rating of {clip} by {rater_name} from {source}",
                             audit_only=True)


def mark_completed_imported(store: Store, clip: str, rater_name: str, done: bool,
                            source: str) -> int:
    """Completion decided by an import (audit only). A completed rating keeps its time."""
    current = rating(store, clip, rater_name)
    if done == current.completed:
        return 0
    return store.apply_edits([("rating_completed", {"clip": clip, "rater": rater_name},
                               utc_now() if done else None)],
                             f"import rating of {clip} by {rater_name} from {source}",
                             audit_only=True)


def clip_summaries(store: Store) -> list[ClipSummary]:
    """Per clip, in project order: actor, group, how many raters the group has, and the
    completed scores of the group's raters (the totals are made of these)."""
    rows = store.db.query(
        """
        SELECT c.id, c.actor, c.grp,
               (SELECT COUNT(*) FROM raters r WHERE r.grp = c.grp AND c.grp != '')
        FROM clips c ORDER BY c.position, c.id
        """)
    scores: dict[str, dict[str, int]] = {}
    for clip, who, score in store.db.query(
            """
            SELECT rt.clip, rt.rater, rt.score FROM ratings rt
            JOIN clips c ON c.id = rt.clip
            JOIN raters r ON r.name = rt.rater AND r.grp = c.grp
            WHERE rt.completed_at IS NOT NULL AND rt.score IS NOT NULL
            ORDER BY rt.rater
            """):
        scores.setdefault(clip, {})[who] = score
    return [ClipSummary(c, actor, grp, n, scores.get(c, {})) for c, actor, grp, n in rows]


def stray_ratings(store: Store) -> list[tuple[str, str, str, str | None]]:
    """Ratings that do not count: (clip, rater, clip's group, rater's group or None) for
    ratings by a rater who is not (or no longer) in the clip's group."""
    return [tuple(r) for r in store.db.query(
        """
        SELECT rt.clip, rt.rater, c.grp, r.grp FROM ratings rt
        JOIN clips c ON c.id = rt.clip
        LEFT JOIN raters r ON r.name = rt.rater
        WHERE r.grp IS NULL OR r.grp != c.grp
        ORDER BY c.position, rt.clip, rt.rater
        """)]


def rater_progress(store: Store, rater_name: str) -> tuple[int, int]:
    """(completed, clips to rate) for a rater: the clips of their group."""
    r = rater(store, rater_name)
    if r is None:
        return 0, 0
    row = store.db.one(
        """
        SELECT COUNT(*), COALESCE(SUM(EXISTS (SELECT 1 FROM ratings rt WHERE rt.clip = c.id
                                   AND rt.rater = ? AND rt.completed_at IS NOT NULL)), 0)
        FROM clips c WHERE c.grp = ?
        """, (rater_name, r.group))
    return int(row[1]), int(row[0])


# ---------------------------------------------------------------------------------------------
# Several annotators on expression labels
# ---------------------------------------------------------------------------------------------


def disagreements(store: Store, *, include_resolved: bool = False,
                  clip: str | None = None) -> list[Disagreement]:
    """Frames whose annotators' labels differ (not deleted, not irrelevant), in clip and
    frame order; adjudicated ones only with `include_resolved`."""
    args: list = []
    where = ""
    if clip is not None:
        where = "AND f.clip = ?"
        args.append(clip)
    rows = store.db.query(
        f"""
        SELECT f.id, f.clip, f.frame_index, fa.crop, a.code
        FROM frames f
        JOIN clips c ON c.id = f.clip
        LEFT JOIN faces fa ON fa.frame_id = f.id AND fa.version = f.face_version
        LEFT JOIN adjudications a ON a.frame_id = f.id
        WHERE f.irrelevant = 0 {where}
          AND NOT EXISTS (SELECT 1 FROM deletions d WHERE d.frame_id = f.id)
          AND (SELECT COUNT(DISTINCT l.code) FROM labels l WHERE l.frame_id = f.id) > 1
          {'' if include_resolved else 'AND a.code IS NULL'}
        ORDER BY c.position, f.clip, f.frame_index
        """, args)
    out = [Disagreement(r[0], r[1], r[2], r[3], {}, r[4]) for r in rows]
    by_id = {d.frame_id: d for d in out}
    if by_id:
        for frame_id, annotator, code in store.db.query(
                "SELECT l.frame_id, l.annotator, l.code FROM labels l JOIN frames f "
                f"ON f.id = l.frame_id WHERE 1=1 {where} ORDER BY l.annotator", args):
            if frame_id in by_id:
                by_id[frame_id].labels[annotator] = code
    return out


def label_annotators(store: Store, clip: str | None = None) -> list[str]:
    """Annotators who labelled at least one frame (of a clip, when given)."""
    if clip is None:
        rows = store.db.query("SELECT DISTINCT annotator FROM labels ORDER BY annotator")
    else:
        rows = store.db.query("SELECT DISTINCT l.annotator FROM labels l JOIN frames f "
                            "ON f.id = l.frame_id WHERE f.clip=? ORDER BY l.annotator", (clip,))
    return [r[0] for r in rows]


def label_rows(store: Store) -> list[tuple[str, str, int]]:
    """(target, annotator, code) of every annotator's own label on the frames that count
    (neither deleted nor irrelevant); the target is '<clip>/<source frame index>'."""
    return [(f"{clip}/{index}", annotator, code) for clip, index, annotator, code in store.db.query(
        """
        SELECT f.clip, f.frame_index, l.annotator, l.code
        FROM labels l JOIN frames f ON f.id = l.frame_id JOIN clips c ON c.id = f.clip
        WHERE f.irrelevant = 0 AND NOT EXISTS (SELECT 1 FROM deletions d WHERE d.frame_id = f.id)
        ORDER BY c.position, f.clip, f.frame_index, l.annotator
        """)]
