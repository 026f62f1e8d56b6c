"""The annotator's session: one project, one annotator, the current clip, and the edit commands.

The window (ui/main_window.py) and its controllers call these commands and repaint the frames
each returns; nothing here knows about Qt, so the labelling rules are tested without a window
(tests/core/labels/test_session.py). The blind rule (a clip labelled in a blind pass shows the
annotator their own labels only) is decided here, once, for every read the window makes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from feasstm_gui.core.labels.fill import fill_forward_span, scene_cut_ids, typical_step
from feasstm_gui.core.labels.rules import labelable, refusal
from feasstm_gui.core.store import FrameRow, Store, views
from feasstm_gui.core.store import label_state as state
from feasstm_gui.core.store.store import EditBatch
from feasstm_gui.core.vocab import CODES


@dataclass
class Change:
    """What a command did: the frames to repaint, the store's count of changed rows, and a
    line for the status bar (empty: nothing to say)."""

    frames: list[int] = field(default_factory=list)
    count: int = 0
    message: str = ""


@dataclass
class LabelChange(Change):
    """Labelling: also the irrelevant frames refused (ids; they take no code)."""

    refused: list[int] = field(default_factory=list)


@dataclass
class FillChange(Change):
    """Fill forward: also where it stopped (a position in the clip's rows, None at the end)
    and why: "end", "labelled", "cut" or "gap" (core/labels/fill.FillSpan)."""

    stop: int | None = None
    reason: str = ""


@dataclass
class UndoChange(Change):
    """Undo/redo: also the step undone or redone (None: there was nothing to do)."""

    step: EditBatch | None = None
    steps: int = 0


def _frames_of(step: EditBatch) -> list[int]:
    return [t["frame"] for _op, t, _o, _n in step.changes if "frame" in t]


class Session:
    """One annotator working on one project. Commands return a `Change`."""

    def __init__(self, store: Store, annotator: str):
        self.store = store
        self.annotator = annotator
        self.clip_id: str | None = None
        store.annotator = annotator

    def set_annotator(self, name: str) -> None:
        self.annotator = name
        self.store.annotator = name

    # -- the blind rule ----------------------------------------------------------------------

    def is_blind(self, clip_id: str | None) -> bool:
        """Whether `clip_id` is labelled in a blind pass (each annotator sees their own)."""
        return clip_id is not None and self.store.is_blind(clip_id)

    def viewer_of(self, clip_id: str | None) -> str | None:
        """Whose labels a view of the clip shows: the annotator's own in a blind pass, else
        the final label (None)."""
        return self.annotator if self.is_blind(clip_id) else None

    # The views apply the blind rule clip by clip inside their SQL (views.label_sql): one
    # query each, whatever mix of blind and open clips it spans.

    def clip_rows(self, clip_id: str) -> list[FrameRow]:
        """The clip's frames, with the labels this annotator may see."""
        return views.clip_frames(self.store, clip_id, viewer=self.annotator)

    def rows(self, frame_ids: Sequence[int]) -> dict[int, FrameRow]:
        """The current state of a few frames, with the labels this annotator may see."""
        return views.frames_by_id(self.store, frame_ids, viewer=self.annotator)

    def clip_summaries(self, clip_id: str | None = None) -> dict[str, views.ClipSummary]:
        """The clip list's counts; blind clips count this annotator's own labels."""
        return views.clip_summaries(self.store, viewer=self.annotator, clip_id=clip_id)

    def review_rows(self, query: dict) -> list[FrameRow]:
        """The review grid across clips: own labels everywhere as soon as any clip is blind
        (kept as it was; `views.review_frames(viewer=)` would apply the rule clip by clip)."""
        flag = self.store.param("labelling.blind", False)  # any clip blind (not every clip read)
        blind = (any(self.store.has_clip(c) for c in flag) if isinstance(flag, list)
                 else bool(flag) and bool(self.store.db.one("SELECT 1 FROM clips LIMIT 1")))
        return views.review_frames(self.store, annotator=self.annotator if blind else None,
                                   **query)

    def next_unlabelled_clip(self, after: str | None) -> tuple[str, int | None] | None:
        """The next clip with an unlabelled frame after `after`, and that frame's id."""
        nxt = views.next_clip_with_unlabelled(self.store, after, viewer=self.annotator)
        if nxt is None:
            return None
        return nxt, views.next_unlabelled(self.store, nxt, viewer=self.annotator)

    # -- edits -------------------------------------------------------------------------------

    def label(self, frames: Sequence[int] | Sequence[FrameRow], code: int | None
              ) -> LabelChange:
        """Label the frames `code` (None clears this annotator's label). One undo step.

        `frames`: ids (read from the store) or FrameRows as the window last read them. An
        irrelevant frame (no face of the actor) takes no code (core/labels/rules.py): it is
        refused and the message says so, so what is labelled is what the counters count.
        Clearing is never refused."""
        rows = self._rows_of(frames)
        ok, refused = labelable(rows)
        if code is None:
            ok, refused = rows, []
        if refused and not ok:
            return LabelChange(message=refusal(refused, 0),
                               refused=[r.id for r in refused])
        ids = [r.id for r in ok]
        n = self.store.set_labels(ids, code, annotator=self.annotator)
        what = f"{code} {CODES[code]}" if code else "no label"
        message = refusal(refused, len(ids)) if refused else f"{len(ids)} frame(s): {what}"
        return LabelChange(ids, n, message, refused=[r.id for r in refused])

    def _rows_of(self, frames: Sequence[int] | Sequence[FrameRow]) -> list[FrameRow]:
        """FrameRows for `frames` in their order (ids are read from the store; unknown ids
        are left out)."""
        if all(isinstance(f, FrameRow) for f in frames):
            return list(frames)
        ids = [f.id if isinstance(f, FrameRow) else int(f) for f in frames]
        got = views.frames_by_id(self.store, ids, annotator=None)
        return [got[i] for i in ids if i in got]

    def clear(self, frame_ids: Sequence[int] | Sequence[FrameRow]) -> Change:
        return self.label(frame_ids, None)

    def toggle_flag(self, frame_ids: Sequence[int], reason: str) -> Change:
        """Set `reason` on all the frames unless all have it, then remove it."""
        ids = list(frame_ids)
        return Change(ids, self.store.toggle_deletion(ids, reason))

    def add_flag(self, frame_ids: Sequence[int], reason: str) -> Change:
        ids = list(frame_ids)
        return Change(ids, self.store.set_deletion(ids, reason, True))

    def restore(self, frames: Sequence[FrameRow]) -> Change:
        """Remove every deletion reason of the frames (as they were last read)."""
        ids = [f.id for f in frames]
        changes = [("deletion", {"frame": f.id, "reason": r}, False)
                   for f in frames for r in sorted(f.reasons)]
        n = self.store.apply_edits(changes, "restore (remove every deletion reason)") \
            if changes else 0
        return Change(ids, n)

    def accept_suggestions(self, frame_ids: Sequence[int]) -> Change:
        ids = list(frame_ids)
        n = self.store.accept_suggestions(ids)
        return Change(ids, n, "" if n else "No suggested flags on the selected frames")

    def dismiss_suggestions(self, frame_ids: Sequence[int]) -> Change:
        ids = list(frame_ids)
        return Change(ids, self.store.dismiss_suggestions(ids))

    def toggle_irrelevant(self, frames: Sequence[FrameRow]) -> Change:
        """Mark the frames irrelevant unless all are, then relevant again."""
        ids = [f.id for f in frames]
        value = not all(f.irrelevant for f in frames)
        return Change(ids, self.store.set_irrelevant(ids, value))

    def fill_forward(self, rows: Sequence[FrameRow], pos: int,
                     cuts: Collection[int] | None = None,
                     labelled: Callable[[FrameRow], bool] | None = None,
                     step: int | None = None) -> FillChange:
        """rows[pos]'s code onto the following unlabelled frames of `rows` (a clip in frame
        order), up to the first scene cut, run of irrelevant or deleted frames, or labelled
        frame (core/labels/fill.fill_forward_span); the message says where it stopped and why.

        `cuts`: ids of the frames that begin a new shot, where the caller already knows them
        (the strip's marks); None reads them from the store (jumps in frame index and the
        tracker's cut in the face scores). Tracker resets on the way are read as the fill goes.
        `labelled`: what counts as a labelled frame (default: one with a code; the window
        counts frames in disagreement too). `step`: the clip's typical_step where the caller
        keeps it (a fill then costs what it labels, not a walk over the clip)."""
        cur = rows[pos]
        if cur.code is None:
            return FillChange(message="The current frame has no label to fill forward")
        step = step or typical_step(rows)
        if cuts is None:
            cuts = scene_cut_ids(rows, state.cut_marks(self.store, cur.clip), step)

        def more_cuts(window: Sequence[FrameRow]) -> set[int]:
            return scene_cut_ids(window, views.track_marks(self.store, [r.id for r in window]),
                                 step)

        span = fill_forward_span(rows, pos, cuts, labelled=labelled, more_cuts=more_cuts)
        why = span.describe(rows)
        if not span.targets:
            return FillChange(stop=span.stop, reason=span.reason,
                              message=f"Nothing to fill: {why}")
        n = self.store.set_labels(span.targets, cur.code, annotator=self.annotator,
                                  description=f"fill forward {cur.code} ({CODES[cur.code]}) "
                                  f"over {len(span.targets)} frames")
        end = span.stop if span.stop is not None else len(rows)
        index = {r.id: r.frame_index for r in rows[pos:end]}  # the targets lie in between
        first, last = index[span.targets[0]], index[span.targets[-1]]
        return FillChange(span.targets, n, f"Filled {len(span.targets)} frames ({first}-{last}) "
                          f"with {cur.code} {CODES[cur.code]}; {why}", stop=span.stop,
                          reason=span.reason)

    # -- undo --------------------------------------------------------------------------------

    def undo(self) -> UndoChange:
        return self._undo_redo(undo=True)

    def redo(self) -> UndoChange:
        return self._undo_redo(undo=False)

    def _undo_redo(self, undo: bool) -> UndoChange:
        step = self.store.undo(self.annotator) if undo else self.store.redo(self.annotator)
        if step is None:
            return UndoChange(message=f"Nothing to {'undo' if undo else 'redo'}")
        return UndoChange(_frames_of(step), 1,
                          f"{'Undone' if undo else 'Redone'}: {step.description}",
                          step=step, steps=1)

    def undo_to(self, batch: int) -> UndoChange | None:
        """Undo the annotator's own steps back to and including step `batch`. None when that
        step is not one of theirs that can be undone."""
        steps = [s for s in views.recent_edits(self.store, 10_000, annotator=self.annotator)
                 if s.state == "done" and s.batch >= batch]
        if not any(s.batch == batch for s in steps):
            return None
        ids: list[int] = []
        while True:
            step = self.store.can_undo(self.annotator)
            if step is None or step.batch < batch:
                break
            self.store.undo(self.annotator)
            ids += _frames_of(step)
        return UndoChange(ids, len(steps), f"Undone {len(steps)} step(s)", steps=len(steps))
