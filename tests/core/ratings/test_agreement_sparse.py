"""Sparse ratings (issue 13): alpha, confusion matrices and rater bias without a targets x
raters matrix, giving the same values as the dense computations."""

from __future__ import annotations

import random
from itertools import combinations

import numpy as np
import pytest

from feasstm_gui.core.ratings import agreement as ag


def _random_rows(seed: int, scale=(1, 2, 3, 4, 5)) -> list[tuple[str, str, float]]:
    rng = random.Random(seed)
    rows = []
    for t in range(rng.randint(4, 25)):
        for r in range(rng.randint(2, 7)):
            if rng.random() < 0.6:
                rows.append((f"t{t}", f"r{r}", float(rng.choice(scale))))
    return rows


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("level", [ag.ORDINAL, ag.NOMINAL])
def test_sparse_alpha_equals_the_krippendorff_package(seed, level):
    rows = _random_rows(seed, scale=(1, 2, 2.5, 3, 5))
    ratings = ag.normalise_rows(rows)
    try:
        dense = ag.krippendorff_alpha(ag._full_matrix(ratings), level)
    except ag.AgreementUndefined:
        with pytest.raises(ag.AgreementUndefined):
            ag.krippendorff_alpha_sparse(rows, level)
        return
    assert ag.krippendorff_alpha_sparse(rows, level) == pytest.approx(dense, abs=1e-12)


def _sparse_csv_rows(n_targets: int) -> list[tuple[str, str, float]]:
    """Target t rated by raters t and t+1: n_targets x (n_targets + 1), two ratings each."""
    rng = random.Random(1)
    return [(f"t{t}", f"r{r}", float(rng.randint(1, 5)))
            for t in range(n_targets) for r in (t, t + 1)]


def test_thirty_thousand_raters_never_build_the_dense_matrix(monkeypatch):
    rows = _sparse_csv_rows(30_000)

    def refuse(ratings):  # the 30,000 x 30,001 matrix is 7 GB
        raise AssertionError("dense matrix built")

    monkeypatch.setattr(ag, "_full_matrix", refuse)
    result = ag.score_agreement(rows)
    assert result["n_targets"] == 30_000 and result["n_raters"] == 30_001
    assert result["alpha"] is not None and -1 <= result["alpha"] <= 1
    labels = ag.label_agreement(rows)
    assert labels["alpha"] == pytest.approx(ag.krippendorff_alpha_sparse(rows, ag.NOMINAL))
    assert len(labels["confusion_matrices"]) == ag.MAX_CONFUSION_PAIRS
    assert any("of 30,000 pairs" in note for note in labels["notes"])


def test_sparse_and_dense_alpha_agree_across_the_threshold(monkeypatch):
    rows = _sparse_csv_rows(300)
    small = ag.score_agreement(rows)["alpha"]
    monkeypatch.setattr(ag, "DENSE_CELLS", 10)
    assert ag.score_agreement(rows)["alpha"] == pytest.approx(small, abs=1e-12)


def test_confusion_matrices_from_targets_match_all_pairs():
    rows = _random_rows(5, scale=(1, 2, 3))
    got = ag.confusion_matrices(rows)
    by_rater: dict[str, dict[str, float]] = {}
    for t, r, v in rows:
        by_rater.setdefault(r, {})[t] = v
    labels = sorted({v for _, _, v in rows})
    expected = []
    for a, b in combinations(sorted(by_rater), 2):
        common = [t for t in by_rater[a] if t in by_rater[b]]
        if common:
            cm = np.zeros((len(labels), len(labels)), dtype=int)
            for t in common:
                cm[labels.index(by_rater[a][t]), labels.index(by_rater[b][t])] += 1
            expected.append((a, b, cm.tolist(), len(common)))
    assert [(e["rater_a"], e["rater_b"], e["matrix"], e["n"]) for e in got] == expected


def test_rater_bias_one_pass_matches_the_definition():
    rows = _random_rows(7)
    got = {(b["rater"]): b for b in ag.rater_bias(rows)}
    by_target: dict[str, dict[str, float]] = {}
    for t, r, v in rows:
        by_target.setdefault(t, {})[r] = v
    for rater, entry in got.items():
        own = [d[rater] for d in by_target.values() if rater in d and len(d) > 1]
        others = [np.mean([v for w, v in d.items() if w != rater])
                  for d in by_target.values() if rater in d and len(d) > 1]
        assert entry["n"] == len(own)
        assert entry["bias"] == pytest.approx(np.mean(own) - np.mean(others))
