"""Which frames an export leaves out, and why, counted before it runs (the export dialog says
so, issue 20). Reads the same ProjectSnapshot the plan does; no SQL, no Qt."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LeftOut:
    """Frames of the project the export does not write, by reason (each frame counted once,
    under the first reason that applies, in this order)."""

    irrelevant: int = 0  # no face of the actor
    deleted: int = 0  # at least one deletion reason
    no_face: int = 0  # not aligned (no crop)
    disputed: int = 0  # annotators gave different codes; not adjudicated
    unlabelled: int = 0  # nobody labelled it

    @property
    def total(self) -> int:
        return self.irrelevant + self.deleted + self.no_face + self.disputed + self.unlabelled

    def describe(self) -> str:
        """One sentence for the dialog ('' when nothing is left out)."""
        parts = []
        if self.disputed:
            parts.append(f"{self.disputed:,} in disagreement (annotators gave different codes "
                         "and nobody adjudicated them: Tools ▸ Adjudicate disagreements)")
        if self.unlabelled:
            parts.append(f"{self.unlabelled:,} unlabelled")
        if self.deleted:
            parts.append(f"{self.deleted:,} deleted")
        if self.irrelevant:
            parts.append(f"{self.irrelevant:,} irrelevant (no face of the actor)")
        if self.no_face:
            parts.append(f"{self.no_face:,} without an aligned face")
        if not parts:
            return ""
        return f"Left out: {self.total:,} frame(s): " + "; ".join(parts) + "."


def left_out(snapshot, include_unlabelled: bool = False) -> LeftOut:
    """Count what the export leaves out of `snapshot` (export.read_project). With
    `include_unlabelled` (FAF only), frames without a final label are written (code 0), so
    only the other reasons count."""
    counts = dict.fromkeys(("irrelevant", "deleted", "no_face", "disputed", "unlabelled"), 0)
    for f in snapshot.frames:
        if f.irrelevant:
            counts["irrelevant"] += 1
        elif f.deleted:
            counts["deleted"] += 1
        elif not f.crop:
            counts["no_face"] += 1
        elif f.code is None and not include_unlabelled:
            given = {lab.code for lab in snapshot.labels.get(f.id, ())}
            counts["disputed" if len(given) > 1 else "unlabelled"] += 1
    return LeftOut(**counts)
