"""How well the proposing model agrees with the people: the model as one more annotator.

For each annotator, and for the final labels, over the frames both labelled: a 7 x 7 confusion
matrix (rows: the model's code, columns: the other's), the share of frames they agree on and
Cohen's kappa, so a researcher sees whether to trust the proposals on this project before
accepting them in bulk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from feasstm_gui.core.vocab import CODES

FINAL = "final labels"
LABELS = list(CODES)  # rows and columns of every matrix: codes 1-7


def cohen_kappa(matrix: np.ndarray) -> float | None:
    """Cohen's kappa of a square confusion matrix; None where it is undefined (no frame, or
    chance agreement 1: both gave one and the same code to every frame)."""
    m = np.asarray(matrix, dtype=float)
    n = m.sum()
    if n == 0:
        return None
    observed = np.trace(m) / n
    expected = float((m.sum(axis=1) * m.sum(axis=0)).sum()) / (n * n)
    if expected >= 1.0 - 1e-12:
        return None
    return float((observed - expected) / (1.0 - expected))


def compare(model: Mapping[str, int], other: Mapping[str, int], versus: str) -> dict:
    """The model against one set of labels (target -> code)."""
    common = [t for t in model if t in other]
    cm = np.zeros((7, 7), dtype=int)
    for t in common:
        cm[model[t] - 1, other[t] - 1] += 1
    kappa = cohen_kappa(cm)
    note = None
    if not common:
        note = f"no frame both the model and {versus} labelled"
    elif kappa is None:
        note = (f"Cohen's kappa is undefined: the model and {versus} gave one and the same code "
                "to every frame (chance agreement 1)")
    return {"versus": versus, "n": len(common), "labels": LABELS, "matrix": cm.tolist(),
            "agreement": float(np.trace(cm)) / len(common) if common else None,
            "cohen_kappa": kappa, "note": note}


def model_agreement(model: Mapping[str, int], labels: Iterable[tuple[str, str, int]],
                    final: Mapping[str, int], model_name: str | None = None) -> dict:
    """The model against each annotator (labels: (target, annotator, code)) and the final
    labels. ``comparisons``: one `compare` entry each, annotators by name, the final labels
    last."""
    by_annotator: dict[str, dict[str, int]] = {}
    for target, who, code in labels:
        by_annotator.setdefault(who, {})[target] = int(code)
    comparisons = [compare(model, codes, who) for who, codes in sorted(by_annotator.items())]
    comparisons.append(compare(model, final, FINAL))
    return {"model": model_name, "proposed": len(model), "comparisons": comparisons}
