"""The dataset's vocabulary: expression codes, deletion reasons, acting scores (DATASET.md)."""

from __future__ import annotations

CODES: dict[int, str] = {
    1: "Surprise",
    2: "Fear",
    3: "Disgust",
    4: "Happy",
    5: "Sadness",
    6: "Anger",
    7: "Neutral",
}

#: Reasons a frame is deleted (kept in the project, dropped from exports).
REASONS: tuple[str, ...] = ("alignment_failure", "incomplete", "blur", "other")
#: Reasons the quality scores may suggest.
SUGGESTED_REASONS: tuple[str, ...] = ("alignment_failure", "incomplete", "blur")

SCORES: dict[int, str] = {1: "very bad", 2: "bad", 3: "competent", 4: "good", 5: "excellent"}


def code_name(code: int | None) -> str:
    return CODES.get(code or 0, "unlabelled")
