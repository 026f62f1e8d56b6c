"""What a project holds and whether it is sound: the counts `feasstm status` prints, SQLite's
integrity check and the store's own consistency checks (files named, rows pointing at rows).

Functions take an open Store and use its database handle (`store.db`, core/store/db.py);
`Store.status`, `Store.integrity_check` and `Store.consistency_problems` call them.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from feasstm_gui.core.store.store import Store
from feasstm_gui.core.vocab import CODES, REASONS, SUGGESTED_REASONS


def status(store: Store) -> dict[str, Any]:
    """The counts `feasstm status --json` prints (DATASET.md vocabulary)."""
    c = store.db.one(
        """
        SELECT (SELECT COUNT(*) FROM clips),
               COUNT(*),
               COUNT(face_version),
               COALESCE(SUM(irrelevant), 0),
               (SELECT COUNT(DISTINCT frame_id) FROM deletions)
        FROM frames
        """)
    by_reason = dict.fromkeys(REASONS, 0)
    for reason, n in store.db.query("SELECT reason, COUNT(*) FROM deletions GROUP BY reason"):
        by_reason[reason] = n
    labels = {str(k): 0 for k in CODES}
    # The final label (the schema's final_labels view) counted without reading it frame by
    # frame: adjudicated frames by their adjudication; the others from two scans of the labels
    # index (labels per code; frames labelled more than once), corrected by what only the few
    # frames left out need (irrelevant, deleted, adjudicated, labels without a frame). A
    # million frames: under a second, not several. Code 0 below: disagreements.
    by_code: dict[int, int] = {}
    for code, n in store.db.query(
            """
            SELECT a.code, COUNT(*) FROM adjudications a CROSS JOIN frames f
            WHERE f.id=a.frame_id AND f.irrelevant=0
              AND NOT EXISTS (SELECT 1 FROM deletions d WHERE d.frame_id=f.id)
            GROUP BY a.code
            """):
        by_code[code] = by_code.get(code, 0) + n
    for code, n in _agreed_codes(store, irrelevant=c[3], deleted=c[4]).items():
        by_code[code] = by_code.get(code, 0) + n
    disagreements = by_code.pop(0, 0)
    labelled = 0
    for code, n in by_code.items():
        labels[str(code)] = n
        labelled += n
    suggested = dict.fromkeys(SUGGESTED_REASONS, 0)
    for reason, n in store.db.query(
            "SELECT reason, COUNT(*) FROM suggestions WHERE status='open' GROUP BY reason"):
        suggested[reason] = n
    return {
        "project": store.name,
        "clips": c[0],
        "frames": c[1],
        "faces": c[2],
        "irrelevant": c[3],
        "labelled": labelled,
        "deleted": c[4],
        "deleted_by_reason": by_reason,
        "labels": labels,
        "suggested": suggested,
        "annotators": store.annotators(),
        "disagreements": disagreements,
        "schema_version": store.schema_version,
    }


def _agreed_codes(store: Store, irrelevant: int, deleted: int) -> dict[int, int]:
    """Frames neither irrelevant, deleted nor adjudicated, by the one code all their labels give
    (0: labels that disagree); what the final_labels view gives them, counted in bulk."""
    counts: dict[int, int] = {}
    for code, n in store.db.query("SELECT code, COUNT(*) FROM labels GROUP BY code"):
        counts[code] = n  # every label: one per frame labelled once
    disputed: list[int] = []
    several = [r[0] for r in store.db.query(  # the cheapest pass: no aggregate but the count
        "SELECT frame_id FROM labels GROUP BY frame_id HAVING COUNT(*) > 1")]
    for chunk in _chunks(several):
        for frame_id, lo, hi, n in store.db.query(
                f"SELECT frame_id, MIN(code), MAX(code), COUNT(*) FROM labels WHERE frame_id IN "
                f"({_marks(chunk)}) GROUP BY frame_id", chunk):
            if lo == hi:  # agreeing labels: one frame, not n
                counts[lo] -= n - 1
            else:
                disputed.append(frame_id)
    for chunk in _chunks(disputed):  # disagreeing labels: one disagreement, not n labels
        for code, n in store.db.query(
                f"SELECT code, COUNT(*) FROM labels WHERE frame_id IN ({_marks(chunk)}) "
                "GROUP BY code", chunk):
            counts[code] -= n
    counts[0] = len(disputed)
    out_ids: set[int] = set()  # frames whose labels do not count here
    if irrelevant:
        out_ids.update(r[0] for r in store.db.query("SELECT id FROM frames WHERE irrelevant<>0"))
    if deleted:
        out_ids.update(r[0] for r in store.db.query("SELECT frame_id FROM deletions"))
    out_ids.update(r[0] for r in store.db.query("SELECT frame_id FROM adjudications"))
    out_ids.update(r[0] for r in store.db.query(
        "SELECT DISTINCT frame_id FROM labels WHERE frame_id NOT IN (SELECT id FROM frames)"))
    for chunk in _chunks(sorted(out_ids)):
        for _, lo, hi in store.db.query(
                f"SELECT frame_id, MIN(code), MAX(code) FROM labels WHERE frame_id IN "
                f"({_marks(chunk)}) GROUP BY frame_id", chunk):
            counts[lo if lo == hi else 0] -= 1
    return {code: n for code, n in counts.items() if n}


def _chunks(ids: list[int], size: int = 500):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def _marks(chunk: list[int]) -> str:
    return ",".join("?" * len(chunk))


def integrity_check(store: Store) -> list[str]:
    """SQLite's own check: [] when the database is sound."""
    try:
        rows = store.db.query("PRAGMA integrity_check")
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    msgs = [r[0] for r in rows]
    return [] if msgs == ["ok"] else msgs


def consistency_problems(store: Store) -> list[str]:
    """The store's own checks: files it names exist, rows point at rows that exist."""
    problems = list(integrity_check(store))
    folder = store.folder
    for (msg,) in store.db.query("PRAGMA foreign_key_check"):
        problems.append(f"foreign key problem in table {msg}")
    for clip, index, crop in store.db.query(
            "SELECT f.clip, f.frame_index, fa.crop FROM frames f JOIN faces fa "
            "ON fa.frame_id=f.id AND fa.version=f.face_version"):
        if not (folder / crop).is_file():
            problems.append(f"{folder / crop}: crop of clip '{clip}' frame {index} is missing")
    for clip, index, image in store.db.query(
            "SELECT clip, frame_index, image FROM frames WHERE image IS NOT NULL"):
        if not (folder / image).is_file():
            problems.append(f"{folder / image}: image of clip '{clip}' frame {index} "
                            "is missing")
    for (n,) in store.db.query("SELECT COUNT(*) FROM labels WHERE frame_id NOT IN "
                             "(SELECT id FROM frames)"):
        if n:
            problems.append(f"{n} labels on frames that do not exist")
    for (n,) in store.db.query("SELECT COUNT(*) FROM frames WHERE face_version IS NOT NULL AND "
                             "NOT EXISTS (SELECT 1 FROM faces WHERE frame_id=frames.id AND "
                             "version=frames.face_version)"):
        if n:
            problems.append(f"{n} frames point at a face that is not stored")
    return problems
