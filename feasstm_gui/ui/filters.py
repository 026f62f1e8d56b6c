"""Which frames the strip shows and in what order (the scene-cut and fill-forward rule is
core/labels/fill.py).

Plain Python over FrameRow, so the model can apply them to 100,000 frames quickly and tests can
check them without a window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from feasstm_gui.core.store import FrameRow
from feasstm_gui.core.vocab import CODES, REASONS, SUGGESTED_REASONS


@dataclass(frozen=True)
class FrameFilter:
    """key: all | unlabelled | labelled | deleted | kept | irrelevant | suggested |
    code:<n> | reason:<r> | suggested:<r>."""

    key: str = "all"
    title: str = "All frames"

    def accepts(self, row: FrameRow) -> bool:
        return _predicate(self.key)(row)


def _predicate(key: str) -> Callable[[FrameRow], bool]:
    if key == "all":
        return lambda r: True
    if key == "unlabelled":
        return lambda r: r.code is None and not r.reasons and not r.irrelevant
    if key == "labelled":
        return lambda r: r.code is not None
    if key == "deleted":
        return lambda r: bool(r.reasons)
    if key == "kept":
        return lambda r: not r.reasons and not r.irrelevant
    if key == "irrelevant":
        return lambda r: r.irrelevant
    if key == "suggested":
        return lambda r: bool(r.suggested)
    kind, _, value = key.partition(":")
    if kind == "code":
        code = int(value)
        return lambda r: r.code == code
    if kind == "reason":
        return lambda r: value in r.reasons
    if kind == "suggested":
        return lambda r: value in r.suggested
    raise ValueError(f"unknown frame filter {key!r}")


FILTERS: list[FrameFilter] = [
    FrameFilter("all", "All frames"),
    FrameFilter("unlabelled", "Unlabelled"),
    FrameFilter("labelled", "Labelled"),
    FrameFilter("kept", "Not deleted"),
    FrameFilter("deleted", "Deleted (any reason)"),
    *[FrameFilter(f"reason:{r}", f"Deleted: {r}") for r in REASONS],
    FrameFilter("suggested", "Suggested flag (any)"),
    *[FrameFilter(f"suggested:{r}", f"Suggested: {r}") for r in SUGGESTED_REASONS],
    FrameFilter("irrelevant", "Irrelevant"),
    *[FrameFilter(f"code:{c}", f"Code {c} {n}") for c, n in CODES.items()],
]


@dataclass(frozen=True)
class FrameSort:
    key: str = "frame"  # frame | sharpness | prob
    title: str = "Frame order"
    descending: bool = False


SORTS: list[FrameSort] = [
    FrameSort("frame", "Frame order"),
    FrameSort("sharpness", "Sharpness, blurriest first"),
    FrameSort("sharpness", "Sharpness, sharpest first", True),
    FrameSort("prob", "Detection probability, lowest first"),
    FrameSort("prob", "Detection probability, highest first", True),
]


def visible_rows(rows: Sequence[FrameRow], flt: FrameFilter, sort: FrameSort) -> list[int]:
    """Positions in `rows` (frame order) to show, filtered and sorted. Frames without a score
    go last either way; ties keep frame order."""
    pred = _predicate(flt.key)
    picked = [i for i, r in enumerate(rows) if pred(r)]
    if sort.key == "frame":
        return picked[::-1] if sort.descending else picked
    attr = sort.key
    missing = [i for i in picked if getattr(rows[i], attr) is None]
    scored = [i for i in picked if getattr(rows[i], attr) is not None]
    scored.sort(key=lambda i: getattr(rows[i], attr), reverse=sort.descending)
    return scored + missing
