"""What the labelling window shows beside a frame's final label: where annotators disagree,
and where the tracker saw a scene cut (issue 20).

Read-only queries over an open Store (its `_query`, as views.py), so the SQL stays in this
package.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Dispute:
    """A frame whose annotators gave different codes and that nobody adjudicated yet: it has
    no final label, so the export leaves it out until it is adjudicated."""

    codes: tuple[int, ...]  # the distinct codes given, ascending
    own: int | None  # the asking annotator's own code (None: they gave none)


_DISPUTES = """
SELECT l.frame_id, group_concat(DISTINCT l.code),
       (SELECT code FROM labels o WHERE o.frame_id=l.frame_id AND o.annotator=?)
FROM labels l {join}
WHERE {where} AND NOT EXISTS (SELECT 1 FROM adjudications a WHERE a.frame_id=l.frame_id)
GROUP BY l.frame_id HAVING COUNT(DISTINCT l.code) > 1
"""


def _dispute(r: Sequence) -> Dispute:
    return Dispute(tuple(sorted(int(c) for c in str(r[1]).split(","))), r[2])


def disputes(store, *, clip_id: str | None = None, frame_ids: Iterable[int] | None = None,
             annotator: str = "") -> dict[int, Dispute]:
    """Frames in disagreement (of one clip, of some frames, or of the whole project), by id."""
    out: dict[int, Dispute] = {}
    if frame_ids is not None:
        ids = list(dict.fromkeys(int(i) for i in frame_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            sql = _DISPUTES.format(join="", where=f"l.frame_id IN ({','.join('?' * len(chunk))})")
            out.update((r[0], _dispute(r)) for r in store.db.query(sql, (annotator, *chunk)))
        return out
    if clip_id is not None:
        sql = _DISPUTES.format(join="JOIN frames f ON f.id=l.frame_id", where="f.clip=?")
        args: tuple = (annotator, clip_id)
    else:
        sql = _DISPUTES.format(join="", where="1=1")
        args = (annotator,)
    return {r[0]: _dispute(r) for r in store.db.query(sql, args)}


def dispute_counts(store) -> dict[str, int]:
    """Frames in disagreement per clip (clips without any are left out). It starts from the
    labels (a frame needs two to disagree), not from every frame of the project: opening a
    project or a clip reads it."""
    return dict(store.db.query(
        "SELECT f.clip, COUNT(*) FROM (SELECT frame_id FROM labels GROUP BY frame_id "
        "HAVING COUNT(DISTINCT code) > 1) m JOIN frames f ON f.id=m.frame_id "
        "WHERE f.irrelevant=0 "
        "AND NOT EXISTS (SELECT 1 FROM deletions d WHERE d.frame_id=f.id) "
        "AND NOT EXISTS (SELECT 1 FROM adjudications a WHERE a.frame_id=f.id) "
        "GROUP BY f.clip"))


def cut_marks(store, clip_id: str) -> dict[int, dict]:
    """Frames of a clip where the tracker saw a scene cut (`cut: true` in the current face's
    scores), as {frame id: {"cut": True}}. A text search picks the few candidates before any
    JSON is parsed: every face's scores hold the key. The tracker's saved state (frames.track,
    a few kB a frame) is not read here: views.track_marks reads it for the frames a fill
    forward crosses."""
    rows = store.db.query(
        "SELECT f.id, fa.scores FROM frames f "
        "JOIN faces fa ON fa.frame_id=f.id AND fa.version=f.face_version "
        "WHERE f.clip=? "
        "AND (fa.scores LIKE '%\"cut\":true%' OR fa.scores LIKE '%\"cut\": true%')", (clip_id,))
    return {r[0]: {"cut": True} for r in rows if _cut(r[1])}


def _cut(scores: str) -> bool:
    """The candidate's scores say `"cut": true` at the top level (the few candidates parsed
    here, the same on both back ends)."""
    try:
        value = json.loads(scores)
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("cut") is True
