"""The model as one more annotator: confusion matrices and Cohen's kappa (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa

from feasstm_gui.core.ratings.model_agreement import FINAL, cohen_kappa, model_agreement


def test_cohen_kappa_matches_statsmodels_and_is_null_where_undefined():
    table = np.array([[20, 5, 0], [10, 15, 3], [0, 2, 9]])
    assert cohen_kappa(table) == pytest.approx(cohens_kappa(table).kappa)
    assert cohen_kappa(np.zeros((7, 7))) is None
    one = np.zeros((7, 7))
    one[3, 3] = 12  # both said Happy every time: chance agreement 1
    assert cohen_kappa(one) is None


def test_model_against_each_annotator_and_the_final_labels():
    model = {"c/0": 4, "c/1": 4, "c/2": 7, "c/3": 1, "c/4": 5}
    labels = [("c/0", "ann", 4), ("c/1", "ann", 7), ("c/2", "ann", 7), ("c/3", "ann", 1),
              ("c/0", "bob", 4), ("c/2", "bob", 6), ("c/9", "bob", 2)]
    final = {"c/0": 4, "c/3": 1, "c/2": 7}
    result = model_agreement(model, labels, final, "m")
    by = {c["versus"]: c for c in result["comparisons"]}
    assert list(by) == ["ann", "bob", FINAL] and result["proposed"] == 5
    ann = by["ann"]
    assert ann["n"] == 4 and ann["agreement"] == 0.75
    m = np.array(ann["matrix"])
    assert m[3, 3] == 1 and m[3, 6] == 1 and m[6, 6] == 1 and m[0, 0] == 1 and m.sum() == 4
    assert ann["cohen_kappa"] == pytest.approx(cohens_kappa(m).kappa)
    assert by["bob"]["n"] == 2 and by["bob"]["agreement"] == 0.5
    assert by[FINAL]["agreement"] == 1.0 and by[FINAL]["cohen_kappa"] == 1.0
    lonely = model_agreement({"c/5": 4}, labels, {}, "m")["comparisons"]
    assert lonely[-1]["n"] == 0 and lonely[-1]["cohen_kappa"] is None and lonely[-1]["note"]
