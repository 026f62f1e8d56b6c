"""Expression proposals in the store: a model's code and probabilities per aligned face, kept
apart from the labels (a proposal is never a label by itself), and which labels were accepted
proposals.

A proposal belongs to the face (crop) it was made from: re-aligning a frame makes it stale, and
stale proposals are neither shown nor counted (the next `propose` run replaces them). Accepting a
proposal is an undoable edit of two ops in one step: the annotator's label, and a record
(`proposal_accept`) that this label came from the proposal; undo takes both back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from feasstm_gui.core.store.store import Store, _Op, register_op, utc_now

if TYPE_CHECKING:  # numpy is loaded where proposals are stored, not with the window
    import numpy as np

#: Where a proposal counts as current: made from the frame's current face.
_CURRENT = "p.face_version = f.face_version"


@dataclass(frozen=True)
class Proposal:
    frame_id: int
    code: int
    p: float  # the proposed code's probability
    probs: tuple[float, ...]  # codes 1-7
    model: str


class _AcceptOp(_Op):
    """Which code an annotator accepted from a proposal on a frame (None: not an accepted one)."""

    def get(self, db, t):
        row = db.one("SELECT code FROM proposal_accepts WHERE frame_id=? AND annotator=?",
                     (t["frame"], t["annotator"]))
        return row[0] if row else None

    def set(self, db, t, value, who, at):
        if value is None:
            db.execute("DELETE FROM proposal_accepts WHERE frame_id=? AND annotator=?",
                         (t["frame"], t["annotator"]))
        else:
            db.execute(
                "INSERT INTO proposal_accepts (frame_id, annotator, code, accepted_at) "
                "VALUES (?,?,?,?) ON CONFLICT (frame_id, annotator) DO UPDATE SET "
                "code=excluded.code, accepted_at=excluded.accepted_at",
                (t["frame"], t["annotator"], int(value), at))


register_op("proposal_accept", _AcceptOp())


# -- the job's side ----------------------------------------------------------------------------


def faces_to_propose(store: Store, clip_id: str, model: str) -> list[tuple[int, int, str]]:
    """(frame id, face version, crop) of a clip's aligned faces that have no current proposal
    from `model`, in frame order: what a (resumed) run still has to do."""
    return [(r[0], r[1], r[2]) for r in store.db.query(
        """SELECT f.id, f.face_version, fa.crop FROM frames f
           JOIN faces fa ON fa.frame_id=f.id AND fa.version=f.face_version
           LEFT JOIN proposals p ON p.frame_id=f.id
           WHERE f.clip=? AND (p.frame_id IS NULL OR p.model<>? OR p.face_version<>f.face_version)
           ORDER BY f.frame_index""", (clip_id, model))]


def aligned_count(store: Store, clip_id: str) -> int:
    return store.db.one("SELECT COUNT(*) FROM frames WHERE clip=? AND face_version IS NOT NULL",
                      (clip_id,))[0]


def store_proposals(store: Store, rows: Sequence[tuple[int, int]], probs: np.ndarray,
                    model: str) -> None:
    """Write one batch of proposals in one transaction: rows are (frame id, face version),
    probs the matching (n, 7) probabilities."""
    import numpy as np

    at = utc_now()
    values = []
    for (frame_id, version), p in zip(rows, probs):
        code = int(np.argmax(p)) + 1
        values.append((frame_id, version, model, code, float(p[code - 1]),
                       json.dumps([round(float(v), 6) for v in p]), at))
    with store.transaction():
        store.db.executemany(
            "INSERT INTO proposals (frame_id, face_version, model, code, p, probs, proposed_at) "
            "VALUES (?,?,?,?,?,?,?) ON CONFLICT (frame_id) DO UPDATE SET "
            "face_version=excluded.face_version, model=excluded.model, code=excluded.code, "
            "p=excluded.p, probs=excluded.probs, proposed_at=excluded.proposed_at", values)


# -- reading -----------------------------------------------------------------------------------


def has_proposals_table(store: Store) -> bool:
    """False for a project opened read-only before its schema had proposals (not migrated)."""
    return store.db.has_table("proposals")


def proposed_count(store: Store) -> int:
    """Faces with a current proposal (`feasstm status --json`: `proposed`)."""
    if not has_proposals_table(store):
        return 0
    return store.db.one(f"SELECT COUNT(*) FROM proposals p JOIN frames f ON f.id=p.frame_id "
                      f"WHERE {_CURRENT}")[0]


def _proposal(r: Sequence) -> Proposal:
    return Proposal(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4])


def proposals_for(store: Store, frame_ids: Iterable[int] | None = None, *,
                  clip_id: str | None = None) -> dict[int, Proposal]:
    """Current proposals by frame id: of the given frames, of one clip, or of all frames."""
    sql = (f"SELECT p.frame_id, p.code, p.p, p.probs, p.model FROM proposals p "
           f"JOIN frames f ON f.id=p.frame_id WHERE {_CURRENT}")
    args: list = []
    if clip_id is not None:
        sql += " AND f.clip=?"
        args.append(clip_id)
    if frame_ids is not None:
        ids = [int(i) for i in frame_ids]
        out: dict[int, Proposal] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = store.db.query(sql + f" AND p.frame_id IN ({','.join('?' * len(chunk))})",
                                [*args, *chunk])
            out.update((r[0], _proposal(r)) for r in rows)
        return out
    return {r[0]: _proposal(r) for r in store.db.query(sql, args)}


def codes_for(store: Store, *, clip_id: str | None = None,
              frame_ids: Iterable[int] | None = None) -> dict[int, tuple[int, float]]:
    """frame id -> (proposed code, probability) of current proposals, of one clip or of the
    given frames: what the window paints (no probabilities parsed, so a clip of 100,000 frames
    reads in a fraction of a second). A project without proposals answers at once."""
    if not has_proposals_table(store) or store.db.one("SELECT 1 FROM proposals LIMIT 1") is None:
        return {}
    sql = (f"SELECT p.frame_id, p.code, p.p FROM proposals p JOIN frames f ON f.id=p.frame_id "
           f"WHERE {_CURRENT}")
    if clip_id is not None:
        return {r[0]: (r[1], r[2]) for r in store.db.query(sql + " AND f.clip=?", (clip_id,))}
    ids = [int(i) for i in frame_ids or ()]
    out: dict[int, tuple[int, float]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        out.update((r[0], (r[1], r[2])) for r in store.db.query(
            sql + f" AND p.frame_id IN ({','.join('?' * len(chunk))})", chunk))
    return out


def accepted_for(store: Store, frame_ids: Iterable[int] | None = None) -> dict[int, dict[str, int]]:
    """frame id -> {annotator: code} for labels that were accepted proposals and still are the
    annotator's label (a label typed over an accepted one no longer counts)."""
    rows = store.db.query(
        "SELECT a.frame_id, a.annotator, a.code FROM proposal_accepts a JOIN labels l "
        "ON l.frame_id=a.frame_id AND l.annotator=a.annotator AND l.code=a.code")
    wanted = None if frame_ids is None else {int(i) for i in frame_ids}
    out: dict[int, dict[str, int]] = {}
    for frame_id, who, code in rows:
        if wanted is None or frame_id in wanted:
            out.setdefault(frame_id, {})[who] = code
    return out


# -- accepting (undoable) ----------------------------------------------------------------------


def accept_proposals(store: Store, frame_ids: Iterable[int], *, annotator: str | None = None,
                     only_unlabelled: bool = False, description: str | None = None) -> int:
    """Give frames their proposed code as the annotator's label, recorded as accepted
    proposals: one undo step. Frames without a current proposal are left alone; with
    `only_unlabelled`, so are frames the annotator has already labelled (or that are deleted or
    irrelevant). Returns the number of frames whose label changed or was recorded."""
    who = annotator or store.annotator
    ids = list(dict.fromkeys(int(i) for i in frame_ids))
    props = proposals_for(store, ids)
    skip: set[int] = set()
    if only_unlabelled and props:
        chosen = list(props)
        for start in range(0, len(chosen), 500):
            chunk = chosen[start:start + 500]
            marks = ",".join("?" * len(chunk))
            skip.update(r[0] for r in store.db.query(
                f"""SELECT f.id FROM frames f WHERE f.id IN ({marks}) AND (f.irrelevant=1
                    OR EXISTS (SELECT 1 FROM labels l WHERE l.frame_id=f.id AND l.annotator=?)
                    OR EXISTS (SELECT 1 FROM deletions d WHERE d.frame_id=f.id))""",
                [*chunk, who]))
    changes = []
    for fid in ids:
        prop = props.get(fid)
        if prop is None or fid in skip:
            continue
        changes.append(("label", {"frame": fid, "annotator": who}, prop.code))
        changes.append(("proposal_accept", {"frame": fid, "annotator": who}, prop.code))
    n = sum(1 for c in changes if c[0] == "proposal_accept")
    desc = description or f"accept {n} proposal{'s' if n != 1 else ''}"
    store.apply_edits(changes, desc, annotator=who)
    return len({c[1]["frame"] for c in changes})


# -- what the agreement panel, the export and the review need ----------------------------------


@dataclass(frozen=True)
class QueueItem:
    """A frame the review should look at: why, and how sure the model is."""

    frame_id: int
    clip: str
    frame_index: int
    why: str  # "model" (a confident proposal differs from the final label) | "annotators"
    confidence: float  # the proposal's probability (0 where there is none)
    proposed: int | None
    final: int | None
    labels: dict[str, int]


def disagreement_queue(store: Store, *, min_p: float = 0.6) -> list[QueueItem]:
    """Frames where a proposal with probability >= min_p differs from the final label, and frames
    where annotators differ; most confident proposal first. Deleted and irrelevant frames are
    left out."""
    labels: dict[int, dict[str, int]] = {}
    for fid, who, code in store.db.query(
            "SELECT l.frame_id, l.annotator, l.code FROM labels l JOIN frames f ON "
            "f.id=l.frame_id WHERE f.irrelevant=0 AND NOT EXISTS "
            "(SELECT 1 FROM deletions d WHERE d.frame_id=f.id)"):
        labels.setdefault(fid, {})[who] = code
    adjudicated = dict(store.db.query("SELECT frame_id, code FROM adjudications"))
    props = {r[0]: (r[1], r[2]) for r in store.db.query(
        f"SELECT p.frame_id, p.code, p.p FROM proposals p JOIN frames f ON f.id=p.frame_id "
        f"WHERE {_CURRENT}")}
    keys = {r[0]: (r[1], r[2]) for r in store.db.query(
        "SELECT f.id, f.clip, f.frame_index FROM frames f WHERE f.irrelevant=0")}
    items = []
    for fid, by in labels.items():
        if fid not in keys:
            continue
        codes = set(by.values())
        final = adjudicated.get(fid, next(iter(codes)) if len(codes) == 1 else None)
        code, p = props.get(fid, (None, 0.0))
        why = None
        if final is not None and code is not None and p >= min_p and code != final:
            why = "model"
        elif len(codes) > 1 and fid not in adjudicated:
            why = "annotators"
        if why:
            items.append(QueueItem(fid, *keys[fid], why, float(p), code, final, dict(by)))
    items.sort(key=lambda q: (-q.confidence, q.clip, q.frame_index))
    return items


def proposals_for_export(store: Store) -> tuple[dict[int, tuple[int, float]],
                                                dict[int, dict[str, int]]]:
    """For the export's provenance: frame id -> (proposed code, probability) of current
    proposals, and frame id -> {annotator: code} of labels that were accepted proposals."""
    if not has_proposals_table(store):
        return {}, {}
    props = {r[0]: (r[1], r[2]) for r in store.db.query(
        f"SELECT p.frame_id, p.code, p.p FROM proposals p JOIN frames f ON f.id=p.frame_id "
        f"WHERE {_CURRENT}")}
    return props, accepted_for(store)


def model_and_final_codes(store: Store) -> tuple[dict[str, int], dict[str, int], str | None]:
    """For the agreement statistics, on the frames that count (neither deleted nor irrelevant),
    targets named '<clip>/<source frame index>' as `ratings.label_rows` names them: the current
    proposals' codes, the final labels, and the model that made most of the proposals."""
    if not has_proposals_table(store) or store.db.one("SELECT 1 FROM proposals LIMIT 1") is None:
        return {}, {}, None  # no proposal: the join below scans every frame (seconds at 1M)
    keep = ("f.irrelevant = 0 AND NOT EXISTS (SELECT 1 FROM deletions d "
            "WHERE d.frame_id = f.id)")
    proposed = {f"{c}/{i}": code for c, i, code in store.db.query(
        f"SELECT f.clip, f.frame_index, p.code FROM proposals p JOIN frames f ON "
        f"f.id = p.frame_id WHERE {_CURRENT} AND {keep}")}
    if not proposed:  # nothing to compare: skip the final labels (a scan of every frame)
        return {}, {}, None
    final = {f"{c}/{i}": code for c, i, code in store.db.query(
        f"SELECT f.clip, f.frame_index, fl.code FROM final_labels fl JOIN frames f ON "
        f"f.id = fl.frame_id WHERE fl.code IS NOT NULL AND {keep}")}
    row = store.db.one(f"SELECT p.model, COUNT(*) AS n FROM proposals p JOIN frames f ON "
                     f"f.id = p.frame_id WHERE {_CURRENT} GROUP BY p.model ORDER BY n DESC")
    return proposed, final, row[0] if row else None


def model_agreement_of(store: Store, labels: list[tuple[str, str, int]] | None = None
                       ) -> tuple[dict | None, str | None]:
    """The model against each annotator and the final labels (ratings/model_agreement.py) and
    the model's name; (None, None) without proposals. `labels`: `ratings.label_rows(store)`
    when already read (a million rows: seconds). Reads only: runs off the window's thread."""
    from feasstm_gui.core.ratings.model_agreement import model_agreement
    from feasstm_gui.core.store import ratings as rdb

    proposed, final, name = model_and_final_codes(store)
    if not proposed:
        return None, None
    labels = rdb.label_rows(store) if labels is None else labels
    return model_agreement(proposed, labels, final, name), name
