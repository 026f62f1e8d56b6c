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
    # The final label (the schema's final_labels view) counted in two passes that each read a
    # table once, not the view frame by frame (a million frames: seconds, not a minute):
    # adjudicated frames by their adjudication; the others by their labels, grouped per frame:
    # one code among them is the final label, several a disagreement (code 0 below).
    by_code: dict[int, int] = {}
    for code, n in store.db.query(
            """
            SELECT a.code, COUNT(*) FROM adjudications a CROSS JOIN frames f
            WHERE f.id=a.frame_id AND f.irrelevant=0
              AND NOT EXISTS (SELECT 1 FROM deletions d WHERE d.frame_id=f.id)
            GROUP BY a.code
            """):
        by_code[code] = by_code.get(code, 0) + n
    for code, n in store.db.query(
            """
            SELECT CASE WHEN g.lo = g.hi THEN g.lo ELSE 0 END, COUNT(*)
            FROM (SELECT frame_id, MIN(code) AS lo, MAX(code) AS hi FROM labels
                  GROUP BY frame_id) AS g
            JOIN frames f ON f.id=g.frame_id
            WHERE f.irrelevant=0
              AND NOT EXISTS (SELECT 1 FROM adjudications a WHERE a.frame_id=f.id)
              AND NOT EXISTS (SELECT 1 FROM deletions d WHERE d.frame_id=f.id)
            GROUP BY 1
            """):
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
