"""Acting-skill annotation (FEASSTM-ASA): what makes a rating complete, the totals, the checks,
reading a ratings CSV and writing the asa/*.csv tables of an export (DATASET.md).

A rating is complete when it has a score (1-5), a description of the expression changes and
exactly 5 distinct frames picked from the clip's face strip (frames with an aligned face that
are neither deleted nor irrelevant). A clip's total is the sum of its group's raters' scores,
and only when every rater of the group has completed a rating: a clip with fewer is incomplete
and has no total, never a partial sum.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.formats.csvfile import csv_records
from feasstm_gui.core.formats.csvsafe import unsafe_cell, write_csv
from feasstm_gui.core.formats.faf import read_text
from feasstm_gui.core.jobs import JobResult
from feasstm_gui.core.problems import Problem
from feasstm_gui.core.store import FrameRow, Store
from feasstm_gui.core.store import ratings as rdb
from feasstm_gui.core.store.ratings import N_PICKS, Rating
from feasstm_gui.core.vocab import SCORES

RATINGS_CSV = "ratings.csv"
SELECTED_FRAMES_CSV = "selected_frames.csv"
TOTALS_CSV = "totals.csv"

#: Column names of the asa/ tables, as DATASET.md lists them.
RATINGS_COLUMNS = ("clip", "group", "rater", "score", "description")
SELECTED_FRAMES_COLUMNS = ("clip", "rater", "rank", "source frame index", "image name")
TOTALS_COLUMNS = ("clip", "actor", "group", "n_raters", "complete", "total", "split")

#: Columns of a ratings CSV to import; `frames` (source frame indices, ';'-separated) optional.
IMPORT_COLUMNS = ("clip", "rater", "score", "description")
IMPORT_HELP = ("the header must name clip, rater, score, description (and optionally frames: "
               "5 source frame indices separated by ';')")

_SCORE_HELP = ", ".join(f"{k} {v}" for k, v in SCORES.items())


# ---------------------------------------------------------------------------------------------
# What a rating needs
# ---------------------------------------------------------------------------------------------


def who(clip: str, rater: str) -> str:
    """The prefix of every message about one rating."""
    return f"clip '{clip}', rater '{rater}'"


def pickable(frame: FrameRow) -> bool:
    """Whether a frame is in the clip's face strip for picking."""
    return frame.crop is not None and not frame.deleted and not frame.irrelevant


def pickable_frames(store: Store, clip: str) -> list[FrameRow]:
    """The frames a rater may pick from, in source order."""
    return [f for f in store.frames(clip) if pickable(f)]


def pick_problem(frame: FrameRow | None, clip: str, rank: int | None = None,
                 frame_ref: str | None = None) -> str | None:
    """Why a frame cannot be a pick of `clip` (None when it can)."""
    what = f"pick {rank}" if rank is not None else "the frame"
    ref = frame_ref or (f"frame {frame.frame_index}" if frame is not None else "a frame")
    if frame is None or frame.clip != clip:
        return f"{what} ({ref}) is not a frame of the clip"
    if frame.deleted:
        return (f"{what} ({ref}) was deleted ({', '.join(sorted(frame.reasons))}); "
                "pick another frame")
    if frame.irrelevant:
        return f"{what} ({ref}) is marked irrelevant; pick another frame"
    if frame.crop is None:
        return f"{what} ({ref}) has no aligned face; pick a frame from the face strip"
    return None


def rating_problems(store: Store, r: Rating, frames: dict[int, FrameRow] | None = None
                    ) -> list[str]:
    """Why a rating is not complete (empty when it can be completed). `frames` (id -> row of
    the clip) saves reading the clip's frames again when checking many ratings."""
    if frames is None:
        frames = {f.id: f for f in store.frames(r.clip)}
    out = []
    if r.score is None:
        out.append(f"no score (press 1-5: {_SCORE_HELP})")
    if not r.description.strip():
        out.append("no description of the actor's expression changes")
    for rank in sorted(r.picks):
        problem = pick_problem(frames.get(r.picks[rank]), r.clip, rank)
        if problem:
            out.append(problem)
    if len(r.picks) != N_PICKS:
        out.append(f"{len(r.picks)} of {N_PICKS} frames picked")
    return out


def complete_rating(store: Store, clip: str, rater: str, *, annotator: str | None = None) -> None:
    """Mark a rating completed, or raise FeasstmError saying everything it still lacks."""
    r = rdb.rating(store, clip, rater)
    problems = group_problems(store, clip, rater) + rating_problems(store, r)
    if problems:
        raise FeasstmError(f"{who(clip, rater)}: the rating cannot be completed: "
                           + "; ".join(problems))
    if not r.completed:
        rdb.set_completed(store, clip, rater, True, annotator=annotator)


def group_problems(store: Store, clip: str, rater: str) -> list[str]:
    """Why `rater` may not rate `clip` (no group, another group)."""
    r = rdb.rater(store, rater)
    group = store.clip(clip).group
    if r is None or not r.group:
        return [f"rater '{rater}' has no group; add the rater to the clip's group first "
                f"(feasstm raters PROJECT add '{rater}' --group G)"]
    if not group:
        return [f"clip '{clip}' is in no group; put it in group {r.group!r} first "
                f"(feasstm groups PROJECT --clip '{clip}' --group {r.group})"]
    if r.group != group:
        return [f"rater '{rater}' is in group {r.group!r}, the clip in group {group!r}"]
    return []


def toggle_pick(store: Store, clip: str, rater: str, frame_id: int, *,
                annotator: str | None = None) -> dict[int, int]:
    """Pick a frame (at the first free rank) or unpick it (its rank is left free). One undoable
    step. Refuses a sixth pick and a frame that is not in the face strip. Returns the picks."""
    r = rdb.rating(store, clip, rater)
    ranks: list[int | None] = [r.picks.get(k) for k in rdb.RANKS]
    if frame_id in ranks:
        ranks[ranks.index(frame_id)] = None
        desc = f"unpick a frame of {clip}"
    else:
        frame = store.frame(frame_id)
        problem = pick_problem(frame, clip)
        if problem:
            raise FeasstmError(f"{who(clip, rater)}: {problem}")
        if None not in ranks:
            raise FeasstmError(f"{who(clip, rater)}: {N_PICKS} frames are picked already; "
                               "unpick one first")
        ranks[ranks.index(None)] = frame_id
        desc = f"pick frame {frame.frame_index} of {clip}"
    while ranks and ranks[-1] is None:
        ranks.pop()
    rdb.set_picks(store, clip, rater, ranks, annotator=annotator, description=desc)
    return rdb.rating(store, clip, rater).picks


# ---------------------------------------------------------------------------------------------
# Totals
# ---------------------------------------------------------------------------------------------


@dataclass
class ClipTotal:
    """One clip's ASA total. `total` is None unless every rater of its group completed a
    rating (`complete`); `n_raters` counts the completed ratings, `group_raters` the group."""

    clip: str
    actor: str
    group: str
    n_raters: int
    group_raters: int
    complete: bool
    total: int | None
    scores: dict[str, int] = field(default_factory=dict)


@dataclass
class ActorTotal:
    """An actor over their clips: how many are complete and the mean of their totals."""

    actor: str
    clips: list[str]
    complete: int
    mean_total: float | None


def totals(store: Store) -> list[ClipTotal]:
    """Per clip, in project order."""
    out = []
    for s in rdb.clip_summaries(store):
        n = len(s.scores)
        complete = s.group_raters > 0 and n >= s.group_raters
        out.append(ClipTotal(s.clip, s.actor, s.group, n, s.group_raters, complete,
                             sum(s.scores.values()) if complete else None, dict(s.scores)))
    return out


def actor_totals(clip_totals: Iterable[ClipTotal]) -> list[ActorTotal]:
    """Per actor (by name): their clips, how many are complete, the mean complete total."""
    by_actor: dict[str, list[ClipTotal]] = {}
    for t in clip_totals:
        by_actor.setdefault(t.actor, []).append(t)
    out = []
    for actor, items in sorted(by_actor.items()):
        done = [t.total for t in items if t.total is not None]
        out.append(ActorTotal(actor, [t.clip for t in items], len(done),
                              sum(done) / len(done) if done else None))
    return out


def totals_json(store: Store) -> dict:
    """What `feasstm totals --json` prints."""
    clip_totals = totals(store)
    return {"clips": [asdict(t) for t in clip_totals],
            "actors": [asdict(a) for a in actor_totals(clip_totals)],
            "problems": check_ratings(store)}


# ---------------------------------------------------------------------------------------------
# Checks over the whole project
# ---------------------------------------------------------------------------------------------


def check_ratings(store: Store) -> list[str]:
    """Everything wrong with the project's ratings, one message each, naming clip and rater:
    raters with no group, ratings that do not count, completed ratings whose picks were
    deleted since, groups too small for agreement statistics."""
    out: list[str] = []
    for r in rdb.raters(store):
        if not r.group:
            out.append(f"rater '{r.name}' has no group; add them to one "
                       f"(feasstm raters PROJECT add '{r.name}' --group G)")
    for clip, rater, clip_group, rater_group in rdb.stray_ratings(store):
        if rater_group is None:
            why = f"rater '{rater}' has no group (not a registered rater)"
        elif not clip_group:
            why = "the clip is in no group"
        else:
            why = f"rater '{rater}' is in group {rater_group!r}, the clip in {clip_group!r}"
        out.append(f"{who(clip, rater)}: {why}; the rating is not counted")
    frames_of: dict[str, dict[int, FrameRow]] = {}
    for r in rdb.ratings(store):
        if not r.completed:
            continue
        if r.clip not in frames_of:
            frames_of[r.clip] = {f.id: f for f in store.frames(r.clip)}
        for problem in rating_problems(store, r, frames_of[r.clip]):
            out.append(f"{who(r.clip, r.rater)}: completed, but {problem}")
    for group, (clips, names) in rdb.groups(store).items():
        if clips and len(names) < 2:
            out.append(f"group {group!r} has {len(names)} rater(s){_names(names)}; agreement "
                       "statistics need at least two")
    return out


def _names(names: Sequence[str]) -> str:
    return f" ({', '.join(names)})" if names else ""


def score_rows(store: Store) -> list[tuple[str, str, int, str]]:
    """(clip, rater, score, group) of every counted rating, for core.agreement."""
    rows = []
    for t in totals(store):
        for rater, score in t.scores.items():
            rows.append((t.clip, rater, score, t.group))
    return rows


# ---------------------------------------------------------------------------------------------
# Reading a ratings CSV
# ---------------------------------------------------------------------------------------------


@dataclass
class RatingLine:
    """One parsed line of a ratings CSV. `frames` is None when the file has no frames column."""

    line: int
    clip: str
    rater: str
    score: int
    description: str
    frames: list[int] | None


def read_ratings_csv(path: str | Path) -> tuple[list[RatingLine], list[Problem]]:
    """The good lines of a ratings CSV and a Problem (file:line) for each line skipped.
    UTF-8 (with or without BOM) or GBK; comma- or tab-separated; header names in any case."""
    path = Path(path)
    text = read_text(path)
    header_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = "\t" if "," not in header_line and "\t" in header_line else ","
    problems: list[Problem] = []
    out: list[RatingLine] = []
    columns: list[str] | None = None
    seen: dict[tuple[str, str], int] = {}
    for line, fields in csv_records(text, path, delimiter, problems):
        if columns is None:
            columns = _import_header(fields, path, line)
            continue
        row = _import_row(fields, columns, path, line, problems)
        if row is None:
            continue
        key = (row.clip, row.rater)
        if key in seen:
            problems.append(Problem.at(path, line, f"{who(*key)}: already rated at line "
                                       f"{seen[key]}; the first line is kept"))
            continue
        seen[key] = line
        out.append(row)
    if columns is None:
        raise FeasstmError(f"empty file; {IMPORT_HELP}", path=path)
    return out, problems


def _import_header(fields: list[str], path: Path, line: int) -> list[str]:
    names = [" ".join(f.strip().lstrip("\ufeff").lower().split()) for f in fields]
    missing = [c for c in IMPORT_COLUMNS if c not in names]
    if missing:
        raise FeasstmError(f"missing column(s) {', '.join(missing)}; {IMPORT_HELP}",
                           path=path, line=line)
    return names


def _import_row(fields: list[str], columns: list[str], path: Path, line: int,
                problems: list[Problem]) -> RatingLine | None:
    cells: dict[str, str] = {}
    for i, name in enumerate(columns):
        if name and name not in cells:
            cells[name] = fields[i] if i < len(fields) else ""
    clip = unsafe_cell(cells["clip"].strip())
    rater = unsafe_cell(cells["rater"].strip())
    if not clip or not rater:
        problems.append(Problem.at(path, line, "no clip or no rater; line skipped"))
        return None
    raw = cells["score"].strip()
    score = _score(raw)
    if score is None:
        shown = f"score {raw!r}" if raw else "no score"
        problems.append(Problem.at(path, line, f"{who(clip, rater)}: {shown} is not a score "
                                   f"1-5 ({_SCORE_HELP}); line skipped"))
        return None
    frames = None
    if cells.get("frames", "").strip():  # a blank cell keeps the picks the project has
        frames = []
        for token in cells["frames"].replace(",", ";").replace(" ", ";").split(";"):
            if not token.strip():
                continue
            try:
                frames.append(int(token))
            except ValueError:
                problems.append(Problem.at(path, line, f"{who(clip, rater)}: frame {token!r} is "
                                           "not a source frame index; it is left out"))
    return RatingLine(line, clip, rater, score, unsafe_cell(cells["description"].strip()),
                      frames)


def _score(raw: str) -> int | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    if not value.is_integer() or int(value) not in SCORES:
        return None
    return int(value)


def import_ratings(store: Store, path: str | Path) -> JobResult:
    """Import a ratings CSV (clip, rater, score, description[, frames]). Each good line writes
    its rating (audit-logged, not undoable); it is completed when complete (see module doc).
    Every problem names file:line, clip and rater. failed: no line could be imported."""
    path = Path(path)
    lines, problems = read_ratings_csv(path)
    done = 0
    frames_of: dict[str, list[FrameRow]] = {}
    for row in lines:
        if _import_line(store, path, row, frames_of, problems):
            done += 1
    if not lines and not problems:
        problems.append(Problem.at(path, 0, "no ratings in the file (only a header)"))
    return JobResult(done=done, problems=problems, failed=done == 0,
                     summary=f"{done} rating(s) imported from {path.name}")


def _import_line(store: Store, path: Path, row: RatingLine,
                 frames_of: dict[str, list[FrameRow]], problems: list[Problem]) -> bool:
    tag = who(row.clip, row.rater)
    if not store.has_clip(row.clip):
        problems.append(Problem.at(path, row.line, f"{tag}: no such clip in the project; "
                                   "line skipped"))
        return False
    reasons = group_problems(store, row.clip, row.rater)
    if reasons:
        problems.append(Problem.at(path, row.line, f"{tag}: {reasons[0]}; line skipped"))
        return False
    picks: list[int | None] | None = None
    if row.frames is not None:
        if row.clip not in frames_of:
            frames_of[row.clip] = store.frames(row.clip)
        picks = _picks_from_indices(row, frames_of[row.clip], path, problems)
    source = path.name
    with store.transaction():
        rdb.import_rating(store, row.clip, row.rater, row.score, row.description, picks, source)
        incomplete = rating_problems(store, rdb.rating(store, row.clip, row.rater),
                                     {f.id: f for f in frames_of.get(row.clip) or
                                      store.frames(row.clip)})
        rdb.mark_completed_imported(store, row.clip, row.rater, not incomplete, source)
    if incomplete:
        problems.append(Problem.at(path, row.line, f"{tag}: imported but not completed: "
                                   + "; ".join(incomplete)))
    return True


def _picks_from_indices(row: RatingLine, frames: list[FrameRow], path: Path,
                        problems: list[Problem]) -> list[int | None]:
    """Frame ids for the listed source indices, rank by position; a bad one leaves its rank
    empty (and is reported), so the other ranks keep their meaning."""
    tag = who(row.clip, row.rater)
    by_index = {f.frame_index: f for f in frames}
    if len(row.frames) > N_PICKS:
        problems.append(Problem.at(path, row.line, f"{tag}: {len(row.frames)} frames listed, "
                                   f"{N_PICKS} expected; the first {N_PICKS} are kept"))
    picks: list[int | None] = []
    for rank, index in enumerate(row.frames[:N_PICKS], start=1):
        frame = by_index.get(index)
        if frame is not None and frame.id in picks:
            problems.append(Problem.at(path, row.line, f"{tag}: frame {index} is listed twice; "
                                       f"rank {rank} is left empty"))
            picks.append(None)
            continue
        problem = pick_problem(frame, row.clip, rank, f"frame {index}")
        if problem:
            problems.append(Problem.at(path, row.line, f"{tag}: {problem}"))
            picks.append(None)
        else:
            picks.append(frame.id)
    while picks and picks[-1] is None:
        picks.pop()
    return picks


# ---------------------------------------------------------------------------------------------
# Writing the asa/ tables of an export
# ---------------------------------------------------------------------------------------------


def write_asa_tables(store: Store, asa_dir: Path, clip_split: dict[str, str],
                     image_names: dict[int, str]) -> list[Path]:
    """Write asa/ratings.csv, asa/selected_frames.csv and asa/totals.csv for the exported clips
    (the keys of `clip_split`, clip -> split) and return their paths.

    Only counted ratings are written: completed, by a rater of the clip's group. `image_names`
    maps a frame id to its image name under faces/; a picked frame that is not there gets an
    empty image name. totals.csv has a row per exported clip; `total` is empty unless complete.
    """
    asa_dir = Path(asa_dir)
    asa_dir.mkdir(parents=True, exist_ok=True)
    clip_totals = [t for t in totals(store) if t.clip in clip_split]
    counted = {(t.clip, r) for t in clip_totals for r in t.scores}
    group_of = {t.clip: t.group for t in clip_totals}
    rating_rows, pick_rows = [], []
    frame_index: dict[int, int] = {}
    for r in rdb.ratings(store):
        if (r.clip, r.rater) not in counted:
            continue
        rating_rows.append((r.clip, group_of[r.clip], r.rater, r.score, r.description))
        if r.picks and not all(f in frame_index for f in r.picks.values()):
            frame_index.update({f.id: f.frame_index for f in store.frames(r.clip)})
        for rank in sorted(r.picks):
            fid = r.picks[rank]
            pick_rows.append((r.clip, r.rater, rank, frame_index.get(fid, ""),
                              image_names.get(fid, "")))
    total_rows = [(t.clip, t.actor, t.group, t.n_raters, "true" if t.complete else "false",
                   "" if t.total is None else t.total, clip_split.get(t.clip, ""))
                  for t in clip_totals]
    return [
        write_csv(asa_dir / RATINGS_CSV, RATINGS_COLUMNS, rating_rows),
        write_csv(asa_dir / SELECTED_FRAMES_CSV, SELECTED_FRAMES_COLUMNS, pick_rows),
        write_csv(asa_dir / TOTALS_CSV, TOTALS_COLUMNS, total_rows),
    ]

