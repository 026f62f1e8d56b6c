"""Labelling while the clip plays: the frames that pass while a code key is held get that code.

A run starts on the frame on screen when the key goes down and takes every source index the
player moves through until it comes up: frames the screen skipped on the way (a busy machine,
a fast rate) passed too, while a jump (a seek, the loop going back to its start) adds only the
frame it lands on. When the run ends, its frames that the store holds and that show the actor's
face (a crop, not marked irrelevant) are labelled in one edit, so one undo takes the run back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from feasstm_gui.core.store import FrameRow


@dataclass
class LabelRun:
    """One press of a code key during playback."""

    code: int
    passed: set[int] = field(default_factory=set)
    _last: int | None = None

    def start(self, index: int) -> None:
        if index >= 0:
            self.passed.add(index)
            self._last = index

    def moved(self, index: int, *, jump: bool = False) -> None:
        """The player shows `index`. `jump`: it got there by a seek, not by playing on."""
        if index < 0:
            return
        if self._last is not None and not jump and index > self._last:
            self.passed.update(range(self._last + 1, index + 1))
        else:
            self.passed.add(index)
        self._last = index

    @property
    def span(self) -> tuple[int, int] | None:
        return (min(self.passed), max(self.passed)) if self.passed else None

    def frames(self, rows: Iterable[FrameRow]) -> list[FrameRow]:
        """The stored frames the run labels: passed, and showing the actor's face."""
        return [r for r in rows if r.frame_index in self.passed and has_actor_face(r)]


def has_actor_face(row: FrameRow) -> bool:
    """Whether a frame shows the actor's face (a crop was made and it is not marked as another
    person's)."""
    return row.crop is not None and not row.irrelevant
