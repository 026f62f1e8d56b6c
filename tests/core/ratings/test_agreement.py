"""Agreement statistics, checked against published worked examples (not against the libraries
that compute them), plus the rules for data where a statistic has no value."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.ratings.agreement import (
    GROUPS_NOTE_ORDINAL,
    LABELS,
    NO_GROUP,
    SCORES,
    AgreementUndefined,
    Rating,
    confusion_matrices,
    fleiss_kappa,
    icc_table,
    kendall_w,
    krippendorff_alpha,
    label_agreement,
    label_counts,
    rater_bias,
    read_agreement_csv,
    score_agreement,
    tie_sum,
)


def close(value, published: float, places: int) -> bool:
    """`value` rounds to the published figure, at the precision it was published with."""
    return value is not None and abs(value - published) <= 0.5 * 10**-places + 1e-12


def rows_of(matrix, prefix_t="t", prefix_r="r", group=None):
    """targets x raters matrix -> (target, rater, value[, group]) rows; NaN = not rated."""
    out = []
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            out.append((f"{prefix_t}{i + 1}", f"{prefix_r}{j + 1}", v)
                       + ((group,) if group is not None else ()))
    return out


def dumps(result) -> str:
    """What the CLI prints; fails on NaN or infinity."""
    return json.dumps(result, allow_nan=False, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
# reliability. Psychological Bulletin 86(2), 420-428. Worked example: 6 targets rated by 4
# judges (their Table 2), with the ANOVA mean squares BMS 11.24, WMS 6.26, JMS 32.49,
# EMS 1.02 and the six ICCs computed from them in the paper: ICC(1,1) = .17, ICC(2,1) = .29,
# ICC(3,1) = .71, ICC(1,4) = .44, ICC(2,4) = .62, ICC(3,4) = .91.
SHROUT_FLEISS = [
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
]
SHROUT_FLEISS_ICC = {"icc1_1": 0.17, "icc2_1": 0.29, "icc3_1": 0.71,
                     "icc1_k": 0.44, "icc2_k": 0.62, "icc3_k": 0.91}


def test_icc_table_reproduces_shrout_fleiss_1979():
    table = icc_table(SHROUT_FLEISS)
    for key, published in SHROUT_FLEISS_ICC.items():
        value, (low, high) = table[key]
        assert close(value, published, 2), (key, value, published)
        assert low <= value <= high


def test_score_agreement_reproduces_shrout_fleiss_1979():
    result = score_agreement(rows_of(SHROUT_FLEISS))
    assert close(result["icc2_1"], 0.29, 2)
    assert close(result["icc2_k"], 0.62, 2)
    assert close(result["icc3_k"], 0.91, 2)
    assert close(result["icc1"], 0.17, 2)
    for key in ("icc2_1", "icc2_k", "icc3_k", "icc1"):
        low, high = result[f"{key}_ci95"]
        assert isinstance(low, float) and isinstance(high, float)
        assert low <= result[key] <= high
    assert (result["n_targets"], result["n_raters"], result["n_ratings"]) == (6, 4, 24)
    assert result["notes"] == []
    dumps(result)


def test_icc3_k_interval_follows_shrout_fleiss_case_3_formula():
    # Shrout & Fleiss (1979), Case 3 interval for the k-rating ICC: with F0 = BMS/EMS,
    # FL = F0 / F(.975; n-1, (n-1)(k-1)), FU = F0 * F(.975; (n-1)(k-1), n-1), the interval is
    # [1 - 1/FL, 1 - 1/FU]. Mean squares from their Table 3 (to the precision there):
    from scipy.stats import f

    f0 = 11.24 / 1.02
    fl, fu = f0 / f.ppf(0.975, 5, 15), f0 * f.ppf(0.975, 15, 5)
    low, high = score_agreement(rows_of(SHROUT_FLEISS))["icc3_k_ci95"]
    assert low == pytest.approx(1 - 1 / fl, abs=0.005)
    assert high == pytest.approx(1 - 1 / fu, abs=0.005)


# --------------------------------------------------------------------------------------------
# Kendall's W


def test_kendall_w_siegel_1956_without_ties():
    # Siegel, S. (1956). Nonparametric Statistics for the Behavioral Sciences, ch. 9: three
    # executives rank six job applicants; rank sums 8, 14, 11, 11, 11, 8; s = 25.5; W = .16.
    executives = np.array([[1, 6, 3, 2, 5, 4], [1, 5, 6, 4, 2, 3], [6, 3, 2, 5, 4, 1]]).T
    assert close(kendall_w(executives), 0.16, 2)
    assert kendall_w(executives, ties=False) == kendall_w(executives)  # no ties: no correction


def test_kendall_w_kothari_illustration_9():
    # Kothari, C. R. (2004). Research Methodology, 2nd ed., ch. 12, Illustration 9: four judges
    # rank seven individuals A-G at a music competition (the book's data). By the book's
    # formula: rank sums 7, 13, 9, 14, 27, 18, 24; s = 332; W = s / (k^2 (N^3 - N) / 12)
    # = 332 / 448 = 0.741.
    judges = np.array([[1, 3, 2, 5, 7, 4, 6], [2, 4, 1, 3, 7, 5, 6],
                       [3, 4, 1, 2, 7, 6, 5], [1, 2, 5, 4, 6, 3, 7]]).T
    assert close(kendall_w(judges), 0.741, 3)


def test_tie_term_kothari_example():
    # Kothari (2004), "Case of tied ranks": ranks 1, 2, 3.5, 5, 6, 3.5, 8, 10, 8, 8 have one
    # pair and one triple tied, T = ((2^3 - 2) + (3^3 - 3)) / 12 = 2.5.
    assert tie_sum([1, 2, 3.5, 5, 6, 3.5, 8, 10, 8, 8]) / 12 == 2.5


# NAG Library Manual, g08daf (nagf_nonpar_concordance_kendall), example program results:
# three comparisons of ten objects with tied scores; "Kendall's coefficient = 0.828", W
# corrected for ties as the routine's description states (ref. Siegel 1956).
NAG_G08DAF = np.array([
    [1.0, 4.5, 2.0, 4.5, 3.0, 7.5, 6.0, 9.0, 7.5, 10.0],
    [2.5, 1.0, 2.5, 4.5, 4.5, 8.0, 9.0, 6.5, 10.0, 6.5],
    [2.0, 1.0, 4.5, 4.5, 4.5, 4.5, 8.0, 8.0, 8.0, 10.0],
]).T


def test_kendall_w_with_ties_nag_g08daf():
    assert close(kendall_w(NAG_G08DAF), 0.828, 3)


def test_kendall_w_without_tie_correction_is_smaller():
    # By hand from the same data: rank sums 5.5, 6.5, 9, 13.5, 12, 20, 23, 23.5, 25.5, 26.5 give
    # s = 591; the tie terms sum (t^3 - t) are 12, 18 and 84. Uncorrected
    # W = 12 * 591 / (3^2 (10^3 - 10)) = 0.796; corrected 12 * 591 / (8910 - 3 * 114) = 0.828.
    assert kendall_w(NAG_G08DAF, ties=False) == pytest.approx(12 * 591 / (9 * 990))
    assert kendall_w(NAG_G08DAF, ties=False) < kendall_w(NAG_G08DAF)


def test_score_agreement_uses_tie_corrected_w():
    result = score_agreement(rows_of(NAG_G08DAF))
    assert close(result["kendall_w"], 0.828, 3)


def test_kendall_w_all_tied_is_undefined():
    with pytest.raises(AgreementUndefined, match="tied"):
        kendall_w([[3, 1], [3, 1], [3, 1]])


# --------------------------------------------------------------------------------------------
# Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School for
# Communication, University of Pennsylvania. Example: 4 observers x 12 units, values 1-5,
# with missing values: alpha nominal = .743, ordinal = .815, interval = .849, ratio = .797.
NAN = float("nan")
KRIPPENDORFF_2011 = np.array([
    # observers A, B, C, D for units 1..12
    [1, 1, NAN, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
    [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [NAN, 5, 5, 5], [NAN, NAN, 1, 1], [NAN, NAN, 3, NAN],
])


@pytest.mark.parametrize(("level", "published"), [
    ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)])
def test_krippendorff_2011_example(level, published):
    assert close(krippendorff_alpha(KRIPPENDORFF_2011, level), published, 3)


def test_score_and_label_agreement_give_krippendorff_2011_alphas():
    rows = rows_of(KRIPPENDORFF_2011)
    scores = score_agreement(rows)
    labels = label_agreement(rows)
    assert close(scores["alpha"], 0.815, 3)
    assert close(labels["alpha"], 0.743, 3)
    # ICC and W need complete rows: units 2-9 are the ones all four observers coded.
    assert any("4 of 12 targets were not rated by all 4 raters" in n for n in scores["notes"])
    assert scores["icc2_1"] is not None and scores["kendall_w"] is not None
    # Fleiss' kappa needs the same number of annotators per unit; alpha does not.
    assert labels["fleiss_kappa"] is None
    assert any("same number of annotators" in n for n in labels["notes"])
    dumps(scores), dumps(labels)


def test_krippendorff_wikipedia_example_nominal():
    # Wikipedia, "Krippendorff's alpha", "A computational example": 3 coders x 15 units,
    # alpha nominal = 0.691.
    coders = [
        "* * * * * 3 4 1 2 1 1 3 3 * 3",
        "1 * 2 1 3 3 4 3 * * * * * * *",
        "* * 2 1 3 4 4 * 2 1 1 3 3 * 4",
    ]
    data = np.array([[NAN if v == "*" else float(v) for v in c.split()] for c in coders]).T
    assert close(krippendorff_alpha(data, "nominal"), 0.691, 3)


# --------------------------------------------------------------------------------------------
# Fleiss' kappa. Wikipedia, "Fleiss' kappa", "Worked example": 10 subjects, 14 raters,
# 5 categories (counts per subject and category); P-bar = 0.378, P-bar-e = 0.213, kappa = 0.210.
WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]


def test_fleiss_kappa_wikipedia_worked_example():
    assert close(fleiss_kappa(WIKIPEDIA_FLEISS), 0.210, 3)


def test_label_agreement_wikipedia_fleiss_example_from_raw_labels():
    rows = []
    for i, counts in enumerate(WIKIPEDIA_FLEISS):
        labels = [cat + 1 for cat, c in enumerate(counts) for _ in range(c)]
        rows += [(f"subject {i + 1}", f"rater {j + 1}", label) for j, label in enumerate(labels)]
    result = label_agreement(rows)
    assert close(result["fleiss_kappa"], 0.210, 3)
    assert len(result["confusion_matrices"]) == 14 * 13 // 2
    dumps(result)


def test_label_counts_rebuilds_the_count_table():
    labels = [[5] * 14, [2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5]]
    table, categories = label_counts(labels)
    assert categories == [2, 3, 4, 5]
    assert table.tolist() == [[0, 0, 0, 14], [2, 6, 4, 2]]


def test_fleiss_kappa_refuses_unequal_annotator_counts():
    with pytest.raises(AgreementUndefined, match="same number of annotators"):
        fleiss_kappa([[2, 1], [1, 1]])


# --------------------------------------------------------------------------------------------
# Confusion matrices and rater bias (small enough to count by hand)


def test_confusion_matrices_per_pair():
    rows = [("f1", "ann", 4), ("f1", "bob", 4), ("f2", "ann", 4), ("f2", "bob", 7),
            ("f3", "ann", 1), ("f3", "bob", 1), ("f4", "ann", 7), ("f4", "cy", 7)]
    pairs = {(e["rater_a"], e["rater_b"]): e for e in confusion_matrices(rows)}
    assert set(pairs) == {("ann", "bob"), ("ann", "cy")}  # bob and cy share no frame
    ab = pairs[("ann", "bob")]
    assert ab["labels"] == [1, 4, 7]
    assert ab["matrix"] == [[1, 0, 0], [0, 1, 1], [0, 0, 0]]  # rows: ann, columns: bob
    assert ab["n"] == 3 and ab["agreement"] == pytest.approx(2 / 3)
    assert pairs[("ann", "cy")]["matrix"][2][2] == 1


def test_rater_bias_against_the_others_on_the_same_targets():
    rows = [("c1", "x", 5), ("c1", "y", 3), ("c1", "z", 3),
            ("c2", "x", 4), ("c2", "y", 2), ("c2", "z", 4), ("c3", "x", 1)]
    bias = {b["rater"]: b for b in rater_bias(rows)}
    assert bias["x"]["n"] == 2  # c3 has no other rater
    assert bias["x"]["mean"] == 4.5 and bias["x"]["others_mean"] == 3.0
    assert bias["x"]["bias"] == 1.5
    assert bias["y"]["bias"] == pytest.approx(2.5 - 4.0)


# --------------------------------------------------------------------------------------------
# Groups: each group has its own raters


def grouped_rows():
    a = rows_of(SHROUT_FLEISS, "a", "A-judge", group="A")
    b = rows_of(KRIPPENDORFF_2011[1:9], "b", "B-judge", group="B")  # complete units 2-9
    return a + b


def test_groups_get_their_own_statistics():
    result = score_agreement(grouped_rows())
    a, b = result["groups"]["A"], result["groups"]["B"]
    assert close(a["icc2_1"], 0.29, 2) and close(a["icc3_k"], 0.91, 2)
    assert b["icc2_1"] is not None and b["kendall_w"] is not None
    assert (a["n_raters"], b["n_raters"]) == (4, 4)
    dumps(result)


def test_top_level_across_groups_gives_one_way_icc_and_says_why():
    result = score_agreement(grouped_rows())
    for key in ("icc2_1", "icc2_k", "icc3_k", "kendall_w",
                "icc2_1_ci95", "icc2_k_ci95", "icc3_k_ci95"):
        assert result[key] is None, key
    assert isinstance(result["icc1"], float)
    assert len(result["icc1_ci95"]) == 2
    assert isinstance(result["alpha"], float)  # alpha takes different coders per unit
    assert result["notes"][0] == GROUPS_NOTE_ORDINAL
    assert "only computed when all targets share one rater set" in result["notes"][0]
    assert any("2 different rater sets" in n for n in result["notes"])


def test_top_level_is_computed_when_groups_share_the_raters():
    rows = rows_of(SHROUT_FLEISS[:3], "a", "j", group="A") + [
        (t.replace("a", "b"), r, v, "B") for t, r, v, _ in rows_of(SHROUT_FLEISS[3:], "a", "j",
                                                                    group="B")]
    result = score_agreement(rows)
    assert close(result["icc2_1"], 0.29, 2)  # the same 6 x 4 table, split over two groups


def test_rows_without_a_group_among_grouped_rows_get_their_own_group():
    rows = grouped_rows() + [("lone", "x", 3, None), ("lone", "y", 4, "")]
    result = score_agreement(rows)
    assert set(result["groups"]) == {"A", "B", NO_GROUP}
    assert result["groups"][NO_GROUP]["n_ratings"] == 2


def test_label_groups_give_confusion_matrices_per_group():
    rows = [("f1", "a", 1, "A"), ("f1", "b", 1, "A"), ("f2", "a", 2, "A"), ("f2", "b", 3, "A"),
            ("g1", "c", 4, "B"), ("g1", "d", 4, "B"), ("g2", "c", 5, "B"), ("g2", "d", 5, "B")]
    result = label_agreement(rows)
    assert result["confusion_matrices"] == []
    assert [e["rater_a"] for e in result["groups"]["A"]["confusion_matrices"]] == ["a"]
    assert result["groups"]["B"]["fleiss_kappa"] == pytest.approx(1.0)
    assert isinstance(result["fleiss_kappa"], float)  # same count per frame across groups


# --------------------------------------------------------------------------------------------
# Data that leave a statistic without a value: null and a reason, never NaN, never a traceback


def test_one_rater_gives_nulls_with_a_reason():
    result = score_agreement([("c1", "solo", 3), ("c2", "solo", 4)])
    assert all(result[k] is None for k in ("icc2_1", "icc2_k", "icc3_k", "kendall_w", "alpha"))
    assert any("at least two raters" in n and "solo" in n for n in result["notes"])
    labels = label_agreement([("f1", "solo", 3), ("f2", "solo", 4)])
    assert labels["fleiss_kappa"] is None and labels["alpha"] is None
    assert any("at least two raters" in n for n in labels["notes"])


def test_one_target_gives_nulls_with_a_reason():
    result = score_agreement([("c1", "x", 3), ("c1", "y", 4)])
    assert result["icc2_1"] is None and result["alpha"] is None
    assert any("at least two targets" in n for n in result["notes"])


def test_all_identical_values_say_why_icc_is_undefined():
    rows = rows_of([[3, 3, 3]] * 5)
    result = score_agreement(rows)
    assert all(result[k] is None for k in ("icc2_1", "icc2_k", "icc3_k", "icc1", "kendall_w",
                                           "alpha"))
    assert any("all 15 values are 3" in n and "no variance" in n for n in result["notes"])
    labels = label_agreement(rows)
    assert labels["fleiss_kappa"] is None and labels["alpha"] is None
    dumps(result), dumps(labels)


def test_perfect_agreement_gives_icc_1_and_explains_the_missing_interval():
    result = score_agreement(rows_of([[1, 1], [3, 3], [2, 2], [5, 5]]))
    assert result["icc2_1"] == pytest.approx(1.0)
    assert result["icc2_1_ci95"] is None
    assert any("agree perfectly" in n for n in result["notes"])
    dumps(result)


def test_too_few_ratings_for_pingouin_is_a_reason_not_a_traceback():
    result = score_agreement(rows_of([[1, 2], [3, 5]]))
    assert result["icc2_1"] is None
    assert any("at least 5" in n for n in result["notes"])
    assert result["kendall_w"] == pytest.approx(1.0)


def test_a_second_rating_of_a_target_by_the_same_rater_is_refused():
    with pytest.raises(FeasstmError, match="more than once"):
        score_agreement([("c1", "x", 1), ("c1", "x", 2), ("c2", "x", 3)])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(1, 5)),
             min_size=0, max_size=40, unique_by=lambda t: (t[0], t[1])),
    st.booleans(),
)
def test_any_ratings_give_numbers_or_nulls_never_nan(cells, grouped):
    rows = [(f"t{t}", f"r{r}", v) + ((f"g{t % 2}",) if grouped else ()) for t, r, v in cells]
    for result in (score_agreement(rows), label_agreement(rows)):
        dumps(result)
        for res in [result, *(result.get("groups") or {}).values()]:
            for key, value in res.items():
                if key.endswith("_ci95") and value is not None:
                    assert len(value) == 2 and value[0] <= value[1]
            assert all(isinstance(n, str) for n in res["notes"])
        w = result.get("kendall_w")
        assert w is None or -1e-9 <= w <= 1 + 1e-9


# --------------------------------------------------------------------------------------------
# Reading the CSVs


def test_read_plain_layout(cjk_dir):
    path = cjk_dir / "评分 ratings.csv"
    path.write_text("target,rater,value\n片段一,张三,3\n片段一,李四,4.5\n", encoding="utf-8")
    rows, kind, problems = read_agreement_csv(path)
    assert kind == SCORES and problems == []
    assert rows == [Rating("片段一", "张三", 3.0), Rating("片段一", "李四", 4.5)]


def test_read_exported_asa_ratings_with_groups_and_multiline_descriptions(cjk_dir):
    path = cjk_dir / "ratings.csv"
    path.write_text(
        "clip,group,rater,score,description\n"
        'c1,A,r1,3,"calm,\nthen angry"\n'        # lines 2-3
        "c1,A,r2,four,\n"                       # line 4: not a number
        "c1,A,r1,5,again\n"                     # line 5: r1 rated c1 already
        "c2,,r1,2,\n"                           # line 6: no group
        "c2,B,r2,2,\n"                          # line 7: c2 already in group (none)
        "c3,A,,2,\n",                           # line 8: no rater
        encoding="utf-8-sig")
    rows, kind, problems = read_agreement_csv(path)
    assert kind == SCORES
    assert rows[0] == Rating("c1", "r1", 3.0, "A")
    assert [r.group for r in rows] == ["A", NO_GROUP, NO_GROUP]
    assert [p.line for p in problems] == [4, 5, 6, 7, 8]
    text = [str(p) for p in problems]
    assert text[0] == f"{path}:4: score 'four' is not a number; line skipped"
    assert "already rated 'c1' at line 2" in text[1]
    assert "no rater" in text[4]


def test_read_exported_labels_by_annotator(cjk_dir):
    path = cjk_dir / "labels_by_annotator.csv"
    path.write_text("clip,image name,annotator,code\n"
                    "影片 一,000001.jpg,张三,4\n影片 一,000001.jpg,li,4\n", encoding="utf-8")
    rows, kind, problems = read_agreement_csv(path)
    assert kind == LABELS and problems == []
    assert rows[0] == Rating("影片 一/000001.jpg", "张三", 4.0)


def test_read_drops_the_exporters_formula_guard(cjk_dir):
    # Exported CSVs write a text cell that starts with = + - @ as '= ... so that spreadsheets
    # show it as text; the quote is not part of the name.
    path = cjk_dir / "guarded.csv"
    path.write_text("target,rater,value\n'-clip,'@ann,2\n'-clip,o'brien,3\n", encoding="utf-8")
    rows, _, _ = read_agreement_csv(path)
    assert [(r.target, r.rater) for r in rows] == [("-clip", "@ann"), ("-clip", "o'brien")]


def test_read_gbk_csv(cjk_dir):
    path = cjk_dir / "gbk.csv"
    path.write_bytes("target,rater,value\n片段,张三,2\n".encode("gbk"))
    rows, _, _ = read_agreement_csv(path)
    assert rows == [Rating("片段", "张三", 2.0)]


def test_read_refuses_a_csv_without_the_needed_columns(cjk_dir):
    path = cjk_dir / "wrong.csv"
    path.write_text("clip,judge,points\nc1,a,3\n", encoding="utf-8")
    with pytest.raises(FeasstmError) as err:
        read_agreement_csv(path)
    message = str(err.value)
    assert str(path) in message and "'judge'" in message and "target,rater,value" in message


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_read_refuses_an_empty_file(cjk_dir, content):
    path = cjk_dir / "empty.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FeasstmError, match="empty"):
        read_agreement_csv(path)


def test_read_refuses_a_missing_file(cjk_dir):
    with pytest.raises(FeasstmError, match="no such file"):
        read_agreement_csv(cjk_dir / "nope.csv")


def test_heavy_libraries_are_imported_only_when_used():
    code = ("import sys\n"
            "import feasstm_gui.core.ratings.agreement, feasstm_gui.core.ratings.report\n"
            "import feasstm_gui.cli.ratings_stats\n"
            "heavy = {'pandas', 'pingouin', 'statsmodels', 'matplotlib', 'scipy', 'krippendorff'}\n"
            "print(sorted(heavy & set(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_rows_normalised_once_are_taken_as_they_are():
    """normalise_rows returns its own result unchanged (the panel's statistics and figures on a
    million labels check them once), with the same statistics as the raw rows."""
    from feasstm_gui.core.ratings.agreement import Ratings, label_agreement, normalise_rows

    rows = [(f"t{i}", r, (i * 7 + len(r)) % 5 + 1) for i in range(40) for r in ("甲", "乙", "丙")]
    once = normalise_rows(rows)
    assert isinstance(once, Ratings) and normalise_rows(once) is once
    assert label_agreement(once) == label_agreement(rows)
    with pytest.raises(FeasstmError):
        normalise_rows(rows + [rows[0]])  # raw rows are still checked
