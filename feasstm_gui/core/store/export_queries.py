"""Read-only queries the export needs, each one pass over a table (fast for 100k frames).

`Store.frames()` answers the strip and the preview one clip at a time; an export wants every
frame, every annotator's label and the final label's author at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from feasstm_gui.core.store.store import Store

#: Rows read per query by the export's big reads.
PAGE = 20_000


@contextmanager
def read_snapshot(store: Store) -> Iterator[None]:
    """Run several reads in one read transaction, so an export sees one consistent state of
    the project even while an annotator keeps labelling in the GUI."""
    with store.db.snapshot():
        yield


class ExportFrame:
    """One frame with what the export writes about it. `code` is the final label (None:
    unlabelled); `crop` is relative to the project folder (None: no aligned face).

    A million of these stay in memory during an export: slots, and the crop's folder kept once
    for all the frames of a clip (`folders`, a dict the reader passes; a Chinese clip folder
    made every crop path a 2-byte-per-character string of its own). Not to be changed."""

    __slots__ = ("id", "clip", "frame_index", "time_ms", "source_name", "irrelevant",
                 "deleted", "_crop_dir", "_crop_name", "prob", "sharpness", "code")
    _FIELDS = ("id", "clip", "frame_index", "time_ms", "source_name", "irrelevant", "deleted",
               "crop", "prob", "sharpness", "code")

    def __init__(self, id: int, clip: str, frame_index: int, time_ms: float | None,
                 source_name: str | None, irrelevant: bool, deleted: bool, crop: str | None,
                 prob: float | None, sharpness: float | None, code: int | None,
                 folders: dict[str, str] | None = None):
        self.id, self.clip, self.frame_index, self.time_ms = id, clip, frame_index, time_ms
        self.source_name, self.irrelevant, self.deleted = source_name, irrelevant, deleted
        self.prob, self.sharpness, self.code = prob, sharpness, code
        if crop is None:
            self._crop_dir, self._crop_name = "", None
        else:
            cut = crop.rfind("/") + 1
            head = crop[:cut]
            self._crop_dir = head if folders is None else folders.setdefault(head, head)
            self._crop_name = crop[cut:]

    @property
    def crop(self) -> str | None:
        name = self._crop_name
        return None if name is None else self._crop_dir + name

    def _values(self) -> tuple:
        return tuple(getattr(self, f) for f in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExportFrame):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return "ExportFrame(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in self._FIELDS) + ")"


def export_frames(store: Store, labels: dict[int, tuple[LabelRow, ...]] | None = None,
                  decided: dict[int, LabelRow] | None = None) -> list[ExportFrame]:
    """Every frame of the project, by clip then source frame index. With `labels` and
    `decided` (labels_by_frame and adjudications, read in the same snapshot) the final label is
    worked out from them here instead of by the final_labels view, frame by frame in SQL (a
    million frames: seconds less)."""
    if labels is not None and decided is not None:
        return _export_frames(store, labels, decided)
    rows = store.db.query(
        """
        SELECT f.id, f.clip, f.frame_index, f.time_ms, f.source_name, f.irrelevant,
               EXISTS (SELECT 1 FROM deletions d WHERE d.frame_id = f.id),
               fa.crop, fa.prob, fa.sharpness, fl.code
        FROM frames f
        JOIN final_labels fl ON fl.frame_id = f.id
        LEFT JOIN faces fa ON fa.frame_id = f.id AND fa.version = f.face_version
        ORDER BY f.clip, f.frame_index
        """)
    return [ExportFrame(r[0], r[1], r[2], r[3], r[4], bool(r[5]), bool(r[6]), r[7], r[8], r[9],
                        r[10]) for r in rows]


def _export_frames(store: Store, labels: dict[int, tuple[LabelRow, ...]],
                   decided: dict[int, LabelRow]) -> list[ExportFrame]:
    """export_frames with the final label as the final_labels view defines it: the
    adjudication, else the one code every annotator gave (None: none, or different codes)."""
    deleted = {r[0] for r in store.db.query("SELECT DISTINCT frame_id FROM deletions")}
    clips: dict[str, str] = {}  # one string per clip id, not one per frame
    folders: dict[str, str] = {}
    out = []
    append = out.append
    get = labels.get
    for fid, clip, index, time_ms, source, irrelevant, crop, prob, sharp in _pages(
            store, """
            SELECT f.id, f.clip, f.frame_index, f.time_ms, f.source_name, f.irrelevant,
                   fa.crop, fa.prob, fa.sharpness
            FROM frames f
            LEFT JOIN faces fa ON fa.frame_id = f.id AND fa.version = f.face_version
            {where} ORDER BY f.clip, f.frame_index LIMIT {limit}
            """, "(f.clip, f.frame_index) > (?, ?)", lambda r: (r[1], r[2])):
        adj = decided.get(fid) if decided else None
        if adj is not None:
            code = adj.code
        else:
            rows = get(fid)
            if not rows:
                code = None
            elif len(rows) == 1:
                code = rows[0].code
            else:
                first = rows[0].code
                code = first if all(r.code == first for r in rows) else None
        append(ExportFrame(fid, clips.setdefault(clip, clip), index, time_ms, source,
                           bool(irrelevant), fid in deleted, crop, prob, sharp, code, folders))
    return out


def _pages(store: Store, sql: str, after: str, key, size: int | None = None
           ) -> Iterator[tuple]:
    """The rows of `sql` (ordered by a unique key, with `{where}` and `{limit}` in it) a page at
    a time: a million rows are never all in memory at once as tuples (hundreds of MB). Run it
    inside read_snapshot so the pages are of one state of the project."""
    size = size or PAGE
    rows = store.db.query(sql.format(where="", limit=int(size)))
    while rows:
        yield from rows
        if len(rows) < size:
            return
        rows = store.db.query(sql.format(where=f"WHERE {after}", limit=int(size)),
                              key(rows[-1]))


@dataclass(frozen=True, slots=True)
class LabelRow:
    annotator: str
    code: int
    labelled_at: str


def labels_by_frame(store: Store) -> dict[int, tuple[LabelRow, ...]]:
    """Every annotator's own label, per frame id (annotators in name order). Equal names and
    times share one string, and a frame's labels are a tuple (a million labels: a few hundred
    MB less than a list and strings each)."""
    out: dict[int, tuple[LabelRow, ...]] = {}
    names: dict[str, str] = {}
    times: dict[str, str] = {}
    last = None
    rows: list[LabelRow] = []
    for frame_id, annotator, code, at in _pages(
            store, "SELECT frame_id, annotator, code, labelled_at FROM labels {where} "
            "ORDER BY frame_id, annotator LIMIT {limit}", "(frame_id, annotator) > (?, ?)",
            lambda r: (r[0], r[1])):
        if frame_id != last:
            if rows:
                out[last] = tuple(rows)
                rows.clear()
            last = frame_id
        rows.append(LabelRow(names.setdefault(annotator, annotator), code,
                             times.setdefault(at, at)))
    if rows:
        out[last] = tuple(rows)
    return out


def adjudications(store: Store) -> dict[int, LabelRow]:
    """The adjudicated label of each frame that has one (who decided, and when)."""
    return {r[0]: LabelRow(r[1], r[2], r[3]) for r in store.db.query(
        "SELECT frame_id, annotator, code, decided_at FROM adjudications")}


def has_ratings(store: Store) -> bool:
    """Whether any acting-skill rating or rating pick is stored (the export then writes asa/)."""
    row = store.db.one("SELECT EXISTS (SELECT 1 FROM ratings) OR EXISTS (SELECT 1 FROM rating_picks)")
    return bool(row and row[0])
