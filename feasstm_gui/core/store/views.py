"""Read-side queries the labelling workstation needs, beyond the Store's own methods.

Functions take an open Store and use its database handle (`store.db`, core/store/db.py), so
all SQL still lives in this package and another back end serves them unchanged. They exist for speed (a clip of 100,000
frames opens in a fraction of a second; a key press re-reads only the frames it changed) and for
views across clips (the review grid, the history panel).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from feasstm_gui.core.store.store import FrameRow, Store, utc_now

_EMPTY: frozenset[str] = frozenset()

#: The final label of frame f: the schema's `final_labels` view is its one definition.
_FINAL_CODE = "(SELECT code FROM final_labels WHERE frame_id=f.id)"
_OWN_CODE = "(SELECT code FROM labels WHERE frame_id=f.id AND annotator=?)"

_ROW_SQL = """
SELECT f.id, f.clip, f.frame_index, f.time_ms, f.image, f.source_name, f.irrelevant,
       fa.crop, fa.prob, fa.sharpness, {code},
       (SELECT group_concat(reason) FROM deletions WHERE frame_id=f.id),
       (SELECT group_concat(reason) FROM suggestions WHERE frame_id=f.id AND status='open')
FROM frames f
LEFT JOIN faces fa ON fa.frame_id=f.id AND fa.version=f.face_version
"""


def label_sql(*, viewer: str | None = None, blind: bool | list[str] = True,
              annotator: str | None = None) -> tuple[str, list]:
    """The SQL of the label frame `f` shows, and its arguments (the labelling rule, in one
    place). `annotator`: that annotator's own label. `viewer`: what that annotator may see: on
    a clip labelled blind (`blind`, the project parameter `labelling.blind`: true for every
    clip, or a list of clip ids) their own label, elsewhere the final label. Neither: the final
    label."""
    if annotator is not None:
        return _OWN_CODE, [annotator]
    if viewer is None or not blind:
        return _FINAL_CODE, []
    if not isinstance(blind, list):
        return _OWN_CODE, [viewer]
    return (f"(CASE WHEN f.clip IN (SELECT value FROM json_each(?)) THEN {_OWN_CODE} "
            f"ELSE {_FINAL_CODE} END)", [json.dumps(blind), viewer])


def _code_sql(store: Store, viewer: str | None, annotator: str | None) -> tuple[str, list]:
    blind = store.param("labelling.blind", False) if viewer is not None else False
    return label_sql(viewer=viewer, blind=blind, annotator=annotator)


def _row(r: Sequence) -> FrameRow:
    return FrameRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8], r[9], r[10],
                    frozenset(r[11].split(",")) if r[11] else _EMPTY,
                    frozenset(r[12].split(",")) if r[12] else _EMPTY)


def clip_frames(store: Store, clip_id: str | None, *, viewer: str | None = None,
                annotator: str | None = None) -> list[FrameRow]:
    """A clip's frames in source order (every clip's, by clip, when `clip_id` is None), with
    their current face, label, reasons and open suggestions. The label is the final one, or
    what `viewer` may see (`label_sql`), or `annotator`'s own."""
    code, args = _code_sql(store, viewer, annotator)
    if clip_id is None:
        return [_row(r) for r in store.db.query(
            _ROW_SQL.format(code=code) + " ORDER BY f.clip, f.frame_index", args)]
    rows = store.db.query(_ROW_SQL.format(code=code) + " WHERE f.clip=? ORDER BY f.frame_index",
                          (*args, clip_id))
    return [_row(r) for r in rows]


def frames_by_id(store: Store, frame_ids: Iterable[int], *, viewer: str | None = None,
                 annotator: str | None = None) -> dict[int, FrameRow]:
    """The current state of a few frames (after an edit), by id; missing ids are left out.
    Labels as in `clip_frames`."""
    ids = list(dict.fromkeys(int(i) for i in frame_ids))
    out: dict[int, FrameRow] = {}
    code, args = _code_sql(store, viewer, annotator)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        sql = _ROW_SQL.format(code=code) + f" WHERE f.id IN ({','.join('?' * len(chunk))})"
        for r in store.db.query(sql, (*args, *chunk)):
            out[r[0]] = _row(r)
    return out


def review_frames(store: Store, *, code: int | None = None, reason: str | None = None,
                  suggested: str | None = None, viewer: str | None = None,
                  annotator: str | None = None, limit: int = 50_000,
                  after: tuple[int, str, int] | None = None) -> list[FrameRow]:
    """Frames across all clips with a given code, deletion reason or open suggestion (the
    review grid that catches mislabels), in clip and frame order. Labels as in
    `clip_frames`, clip by clip.

    A page at a time: at most `limit` frames, those after `after` (the last frame of the
    page before: its clip's position, its clip and its frame index, `review_key`). The clips
    are walked in list order (an index), so a page reads only as far as it needs: a million
    frames' first page in a fraction of a second, not a sort of all of them. A reason or a
    suggestion (a few frames in many) starts from those frames and sorts them instead."""
    code_sql, select_args = _code_sql(store, viewer, annotator)
    where: list[str] = ["f.clip = c.id"]
    args: list[Any] = list(select_args)
    if code is not None:
        where.append(f"{code_sql} = ?")
        args += [*select_args, int(code)]
    if reason is not None:
        where.append("f.id IN (SELECT frame_id FROM deletions WHERE reason=?)")
        args.append(reason)
    if suggested is not None:
        where.append("f.id IN (SELECT frame_id FROM suggestions WHERE reason=? "
                     "AND status='open')")
        args.append(suggested)
    if after is not None:
        where.append("(c.position, c.id, f.frame_index) > (?, ?, ?)")
        args += [int(after[0]), str(after[1]), int(after[2])]
    walk = code is not None or (reason is None and suggested is None)
    sql = _ROW_SQL.format(code=code_sql).replace(
        "FROM frames f\n", "FROM clips c CROSS JOIN frames f\n" if walk else
        "FROM frames f JOIN clips c ON c.id = f.clip\n", 1)
    sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY c.position, c.id, f.frame_index LIMIT ?"
    return [_row(r) for r in store.db.query(sql, (*args, int(limit)))]


def review_key(store: Store, row: FrameRow) -> tuple[int, str, int]:
    """Where a frame stands in the review grid's order (`review_frames(after=)`)."""
    got = store.db.one("SELECT position FROM clips WHERE id=?", (row.clip,))
    return (int(got[0]) if got else 0, row.clip, row.frame_index)


@dataclass
class ClipSummary:
    """What the clip list shows for a clip."""

    total: int = 0
    faces: int = 0
    labelled: int = 0  # neither deleted nor irrelevant, with a (final or own) label
    flagged: int = 0  # deleted: at least one deletion reason
    irrelevant: int = 0
    suggested: int = 0  # open suggestions not yet accepted or dismissed
    todo: int = 0  # neither deleted nor irrelevant, and no label shown (nor a final one)
    disputed: int = 0  # neither deleted nor irrelevant nor adjudicated; annotators differ


_SUMMARY_SQL = """
SELECT clip, COUNT(*), SUM(has_face), SUM(deleted), SUM(irrelevant),
       SUM(CASE WHEN deleted=0 AND irrelevant=0 AND code IS NOT NULL THEN 1 ELSE 0 END),
       SUM(suggested),
       SUM(CASE WHEN deleted=0 AND irrelevant=0 AND code IS NULL THEN 1 ELSE 0 END),
       SUM(CASE WHEN deleted=0 AND irrelevant=0 AND differ=1 THEN 1 ELSE 0 END)
FROM (SELECT f.clip AS clip, CASE WHEN f.face_version IS NOT NULL THEN 1 ELSE 0 END
               AS has_face, f.irrelevant,
             CASE WHEN EXISTS (SELECT 1 FROM deletions WHERE frame_id=f.id) THEN 1
                  ELSE 0 END AS deleted,
             CASE WHEN EXISTS (SELECT 1 FROM suggestions
                               WHERE frame_id=f.id AND status='open') THEN 1
                  ELSE 0 END AS suggested,
             {code} AS code,
             CASE WHEN EXISTS (SELECT 1 FROM adjudications WHERE frame_id=f.id) THEN 0
                  WHEN (SELECT MIN(code) FROM labels WHERE frame_id=f.id)
                       <> (SELECT MAX(code) FROM labels WHERE frame_id=f.id) THEN 1
                  ELSE 0 END AS differ
      FROM frames f {where}) AS s
GROUP BY clip
"""


def clip_summaries(store: Store, *, viewer: str | None = None, annotator: str | None = None,
                   clip_id: str | None = None, clip_ids: Sequence[str] | None = None,
                   db=None) -> dict[str, ClipSummary]:
    """Per clip counts for the clip list; labelled counts the labels `clip_frames` shows.
    Every clip's (a scan of all frames: seconds at a million), or `clip_id`'s, or those of
    `clip_ids` (the clip list reads a big project's counts a chunk at a time). `db`: another
    handle on the same database to read through (clip_list.reader_db), else `store.db`."""
    code, args = _code_sql(store, viewer, annotator)
    where = ""
    if clip_id is not None:
        where = "WHERE f.clip=?"
        args = [*args, clip_id]
    elif clip_ids is not None:
        where = "WHERE f.clip IN (SELECT value FROM json_each(?))"
        args = [*args, json.dumps(list(clip_ids))]
    rows = (db or store.db).query(_SUMMARY_SQL.format(code=code, where=where), args)
    return {r[0]: ClipSummary(total=r[1], faces=int(r[2] or 0), flagged=int(r[3] or 0),
                              irrelevant=int(r[4] or 0), labelled=int(r[5] or 0),
                              suggested=int(r[6] or 0), todo=int(r[7] or 0),
                              disputed=int(r[8] or 0)) for r in rows}


def next_unlabelled(store: Store, clip_id: str, after_index: int | None = None, *,
                    viewer: str | None = None, annotator: str | None = None) -> int | None:
    """The id of the first frame of a clip after `after_index` that is neither deleted nor
    irrelevant and has no label (as `clip_frames` shows labels), or None."""
    code, args = _code_sql(store, viewer, annotator)
    sql = (f"SELECT f.id FROM frames f WHERE f.clip=? AND f.irrelevant=0 "
           f"AND NOT EXISTS (SELECT 1 FROM deletions WHERE frame_id=f.id) AND {code} IS NULL")
    params: list[Any] = [clip_id, *args]
    if after_index is not None:
        sql += " AND f.frame_index > ?"
        params.append(int(after_index))
    row = store.db.one(sql + " ORDER BY f.frame_index LIMIT 1", params)
    return row[0] if row else None


def next_clip_with_unlabelled(store: Store, after_clip: str | None, *,
                              viewer: str | None = None,
                              annotator: str | None = None) -> str | None:
    """The next clip (in clip-list order, wrapping round) that still has an unlabelled frame."""
    ids = [c.id for c in store.clips()]
    if not ids:
        return None
    start = ids.index(after_clip) + 1 if after_clip in ids else 0
    for clip_id in ids[start:] + ids[:start]:
        if clip_id != after_clip and next_unlabelled(store, clip_id, viewer=viewer,
                                                     annotator=annotator) is not None:
            return clip_id
    return None


def track_marks(store: Store, frame_ids: Sequence[int]) -> dict[int, dict | None]:
    """What the tracker recorded about scene cuts with each frame (frames.track): the keys
    `cut`, `reset`, `track_id` and `id` of its JSON where present (None: no tracker state)."""
    out: dict[int, dict | None] = {}
    ids = list(frame_ids)
    keys = ("cut", "reset", "track_id", "id")
    picks = ", ".join(f"CASE WHEN json_valid(track) THEN json_extract(track, '$.{k}') END"
                      for k in keys)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for r in store.db.query(
                f"SELECT id, track IS NOT NULL, {picks} FROM frames "
                f"WHERE id IN ({','.join('?' * len(chunk))})", chunk):
            out[r[0]] = ({k: v for k, v in zip(keys, r[2:]) if v is not None} if r[1]
                         else None)
    return out


@dataclass
class EditSummary:
    """One step of the edit log, as the history panel lists it."""

    batch: int
    at: str
    annotator: str
    description: str
    state: str  # done | undone | dropped | log
    count: int  # changes in the step
    frame_id: int | None  # the first frame it touched (to jump to)
    clip: str | None


def recent_edits(store: Store, limit: int = 200, *,
                 annotator: str | None = None) -> list[EditSummary]:
    """The newest steps of the edit log in one query, newest first."""
    where = "WHERE e.annotator=?" if annotator else ""
    args: list[Any] = [annotator] if annotator else []
    rows = store.db.query(
        f"""
        SELECT e.batch, MIN(e.at), MIN(e.annotator), MIN(e.description), MIN(e.state),
               COUNT(*), MIN(CAST(json_extract(e.target, '$.frame') AS INTEGER))
        FROM edits e {where}
        GROUP BY e.batch ORDER BY e.batch DESC LIMIT ?
        """, (*args, int(limit)))
    frame_ids = [r[6] for r in rows if r[6] is not None]
    clips: dict[int, str] = {}
    for start in range(0, len(frame_ids), 500):
        chunk = frame_ids[start:start + 500]
        clips.update(store.db.query(
            f"SELECT id, clip FROM frames WHERE id IN ({','.join('?' * len(chunk))})", chunk))
    return [EditSummary(r[0], r[1], r[2], r[3], r[4], r[5], r[6], clips.get(r[6]))
            for r in rows]


def edit_frames(store: Store, batch: int) -> list[int]:
    """The frames a step of the edit log touched."""
    return [r[0] for r in store.db.query(
        "SELECT DISTINCT json_extract(target, '$.frame') FROM edits WHERE batch=? "
        "AND json_extract(target, '$.frame') IS NOT NULL", (int(batch),))]


def bulk_add_frames(store: Store, clip_id: str,
                    frames: Iterable[tuple[int, float | None, str | None, str, Any, Any,
                                           float | None, float | None]]) -> int:
    """Add many frames with an aligned face each in one transaction (benchmarks, sample
    projects): (frame_index, time_ms, image, crop, box, landmarks, prob, sharpness)."""
    at = utc_now()
    rows = list(frames)
    with store.transaction():
        db = store.db
        db.executemany(
            "INSERT INTO frames (clip, frame_index, time_ms, image, face_version) "
            "VALUES (?,?,?,?,1)",
            [(clip_id, int(r[0]), r[1], r[2]) for r in rows])
        ids = dict(db.query("SELECT frame_index, id FROM frames WHERE clip=?", (clip_id,)))
        db.executemany(
            "INSERT INTO faces (frame_id, version, box, landmarks, prob, crop, sharpness, "
            "created_at) VALUES (?,1,?,?,?,?,?,?)",
            [(ids[int(r[0])], None if r[4] is None else json.dumps(r[4]),
              None if r[5] is None else json.dumps(r[5]), r[6], r[3], r[7], at) for r in rows])
    return len(rows)
