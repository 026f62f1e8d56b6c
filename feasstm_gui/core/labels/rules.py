"""Which frames may take a label (issue 20): a frame without the actor's face (irrelevant)
takes none. The window refuses such a key press and says why in the status bar, so what is
labelled is always what the counters count. Plain Python over FrameRow; no Qt."""

from __future__ import annotations

from collections.abc import Sequence

from feasstm_gui.core.store import FrameRow


def labelable(rows: Sequence[FrameRow]) -> tuple[list[FrameRow], list[FrameRow]]:
    """(frames that may take a code, irrelevant frames that may not)."""
    ok = [r for r in rows if not r.irrelevant]
    refused = [r for r in rows if r.irrelevant]
    return ok, refused


def refusal(refused: Sequence[FrameRow], labelled: int) -> str:
    """The status-bar message for frames refused (empty when none were)."""
    if not refused:
        return ""
    if len(refused) == 1:
        what = f"frame {refused[0].frame_index} is irrelevant (no face of the actor)"
    else:
        what = f"{len(refused)} irrelevant frames (no face of the actor) left out"
    if labelled:
        return f"{labelled} frame(s) labelled; {what}"
    return f"Not labelled: {what}; X makes a frame relevant"
