"""Agreement between raters: ICC, Kendall's W, Krippendorff's alpha, Fleiss' kappa.

Pure functions on plain data. A rating is a row ``(target, rater, value)`` or
``(target, rater, value, group)``: the target is what was rated (a clip for acting scores, a
frame for expression labels), the rater who rated it, the value the number they gave.

`score_agreement` and `label_agreement` return what ``feasstm agreement --json`` prints (the
command adds ``file`` and ``kind``): every statistic is a float or None, never NaN, each CI a
``[low, high]`` list or None, and the reason for each None is in ``notes``. ``icc1`` is the
one-way ICC(1,1), the one ICC that holds across groups whose raters differ.

Matrices are ``targets x raters`` (one row per target, one column per rater), as in pingouin's
wide format and statsmodels' ``aggregate_raters``; a missing rating is NaN.

pandas, pingouin, statsmodels, scipy and krippendorff are imported inside the functions that
use them: together they take about two seconds to import, and the GUI must start fast.
"""

from __future__ import annotations

import csv
import errno
import io
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.files import TEXT_MAX_BYTES, NotReadable, read_regular
from feasstm_gui.core.formats.csvfile import long_cell
from feasstm_gui.core.problems import Problem

ORDINAL = "ordinal"
NOMINAL = "nominal"
LEVELS = (ORDINAL, NOMINAL)

#: `read_agreement_csv` kinds: numbers on a scale, or expression labels per frame.
SCORES = "scores"
LABELS = "labels"

#: Group given to a rating whose group cell is empty.
NO_GROUP = "(none)"

GROUPS_NOTE_ORDINAL = (
    "the input has a group column and each group has its own raters, so ICC and Kendall's W "
    "are computed within each group (see groups); the top-level ICC(2,1), ICC(2,k), ICC(3,k) "
    "and Kendall's W are only computed when all targets share one rater set, otherwise the "
    "top level gives the one-way ICC(1) across groups (icc1) or null with a reason"
)
GROUPS_NOTE_NOMINAL = (
    "the input has a group column: statistics are given per group (see groups) and across "
    "groups; Fleiss' kappa and Krippendorff's alpha do not need the same annotators on every "
    "frame, so the top-level values pool all groups"
)


class AgreementUndefined(ValueError):
    """A statistic that has no value for these data; `str()` says why, for a person."""


@dataclass(frozen=True)
class Rating:
    """One rater's value for one target. `group` is None when the input has no groups."""

    target: str
    rater: str
    value: float
    group: str | None = None


RatingRow = Rating | Sequence


# --------------------------------------------------------------------------------------------
# The statistics, one function each (low level: they raise AgreementUndefined)


def icc_table(matrix) -> dict[str, tuple[float, tuple[float, float]]]:
    """All six Shrout & Fleiss (1979) ICCs of a complete targets x raters matrix, with 95 % CIs.

    Keys are ``icc1_1, icc2_1, icc3_1, icc1_k, icc2_k, icc3_k`` (Shrout & Fleiss' ICC(1,1) ...
    ICC(3,k); McGraw & Wong's ICC(1), ICC(A,1), ICC(C,1) ...). Computed by pingouin; a CI bound
    may be NaN where the F-based interval does not exist (perfect agreement).
    """
    m = _complete_matrix(matrix, "ICC is undefined: it needs")
    n, k = m.shape
    if np.ptp(m) == 0:
        raise AgreementUndefined(_identical_reason(m.ravel(), "ICC is"))
    if n * k < 5:
        raise AgreementUndefined(
            f"ICC is not computed from {n * k} ratings: pingouin's two-way ANOVA needs at least 5")

    import pandas as pd
    import pingouin

    long = pd.DataFrame(
        {"target": np.repeat(np.arange(n), k), "rater": np.tile(np.arange(k), n),
         "value": m.ravel()}
    )
    saved = dict(pingouin.options)
    pingouin.options["round"] = None
    pingouin.options["round.column.CI95"] = None  # pingouin rounds CIs to 2 decimals by default
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas deprecations inside pingouin; we check results
            table = pingouin.intraclass_corr(long, targets="target", raters="rater", ratings="value")
    except (AssertionError, ValueError, ZeroDivisionError) as exc:
        raise AgreementUndefined(f"ICC could not be computed by pingouin: {exc}") from exc
    finally:
        pingouin.options.clear()
        pingouin.options.update(saved)
    out: dict[str, tuple[float, tuple[float, float]]] = {}
    for _, row in table.iterrows():
        key = _PINGOUIN_TYPES.get(str(row["Type"]))
        if key:
            low, high = (float(x) for x in row["CI95"])
            out[key] = (float(row["ICC"]), (low, high))
    missing = set(_PINGOUIN_TYPES.values()) - set(out)
    if missing:  # a pingouin that names its ICCs differently: fail loudly, not silently
        raise RuntimeError(f"pingouin returned ICC types {list(table['Type'])}; missing {missing}")
    return out


# pingouin >= 0.7 uses McGraw & Wong's names; older versions use ICC1 ... ICC3k.
_PINGOUIN_TYPES = {
    "ICC(1,1)": "icc1_1", "ICC(A,1)": "icc2_1", "ICC(C,1)": "icc3_1",
    "ICC(1,k)": "icc1_k", "ICC(A,k)": "icc2_k", "ICC(C,k)": "icc3_k",
    "ICC1": "icc1_1", "ICC2": "icc2_1", "ICC3": "icc3_1",
    "ICC1k": "icc1_k", "ICC2k": "icc2_k", "ICC3k": "icc3_k",
}


def tie_sum(values: Iterable[float]) -> int:
    """Sum of t^3 - t over each run of t tied values: Kendall's tie term for one rater."""
    _, counts = np.unique(np.asarray(list(values), dtype=float), return_counts=True)
    return int(((counts.astype(np.int64) ** 3) - counts).sum())


def kendall_w(matrix, ties: bool = True) -> float:
    """Kendall's coefficient of concordance W of a complete targets x raters matrix.

    Each rater's values are ranked over the targets (ties get their mean rank), and
    W = 12 S / (m^2 (n^3 - n) - m sum T_j), with T_j = sum (t^3 - t) over rater j's ties
    when `ties` is true (Kendall & Babington Smith 1939; Siegel 1956).
    """
    from scipy.stats import rankdata

    m_ = _complete_matrix(matrix, "Kendall's W needs")
    n, m = m_.shape
    ranks = np.column_stack([rankdata(m_[:, j]) for j in range(m)])
    sums = ranks.sum(axis=1)
    s = float(((sums - sums.mean()) ** 2).sum())
    tie_term = sum(tie_sum(m_[:, j]) for j in range(m)) if ties else 0
    denominator = m * m * (n**3 - n) - m * tie_term
    if denominator <= 0:
        raise AgreementUndefined(
            "Kendall's W is undefined: every rater gave all targets the same value, so all "
            "ranks are tied")
    return 12.0 * s / denominator


def krippendorff_alpha(matrix, level: str) -> float:
    """Krippendorff's alpha of a targets x raters matrix (NaN = not rated), by the krippendorff
    package; `level` is ``ordinal`` or ``nominal`` (or ``interval``/``ratio``)."""
    import krippendorff

    m = _as_matrix(matrix)
    present = m[~np.isnan(m)]
    if m.shape[1] < 2:
        raise AgreementUndefined("Krippendorff's alpha needs at least two raters")
    if present.size and np.ptp(present) == 0:
        raise AgreementUndefined(_identical_reason(present, "Krippendorff's alpha is"))
    pairable = (~np.isnan(m)).sum(axis=1) >= 2
    if not pairable.any():
        raise AgreementUndefined(
            "Krippendorff's alpha needs at least one target rated by two raters; none is")
    with np.errstate(all="ignore"):
        value = float(krippendorff.alpha(reliability_data=m.T, level_of_measurement=level))
    if not math.isfinite(value):
        raise AgreementUndefined(
            "Krippendorff's alpha is undefined: the targets rated by two or more raters all "
            "have one and the same value, so the expected disagreement is 0")
    return value


#: A targets x raters matrix with more cells than this (8 bytes each: 64 MB) is not built;
#: Krippendorff's alpha is then computed from the ratings themselves (`krippendorff_alpha_sparse`).
DENSE_CELLS = 8_000_000
#: Distinct values the sparse alpha handles (its coincidence matrix is values x values).
MAX_ALPHA_VALUES = 2_000
#: Pairs of ratings of one target by two raters that confusion matrices go through.
MAX_PAIR_RATINGS = 20_000_000
#: Confusion matrices listed (and drawn in the report): the pairs with most targets in common.
MAX_CONFUSION_PAIRS = 200


def _alpha(ratings: list[Rating], level: str) -> float:
    """Krippendorff's alpha by the krippendorff package on the targets x raters matrix, or,
    when that matrix would be large and mostly empty, from the ratings (same value)."""
    n_targets = len(_unique(r.target for r in ratings))
    n_raters = len(_unique(r.rater for r in ratings))
    if n_targets * n_raters <= DENSE_CELLS:
        return krippendorff_alpha(_full_matrix(ratings), level)
    return krippendorff_alpha_sparse(ratings, level)


def krippendorff_alpha_sparse(rows: Iterable[RatingRow], level: str) -> float:
    """Krippendorff's alpha from (target, rater, value) rows, without a targets x raters matrix.

    The coincidence matrix (Krippendorff 2011, "Computing Krippendorff's alpha-reliability")
    needs only each target's values: a target with m >= 2 values adds 1/(m-1) for each ordered
    pair of its values. alpha = 1 - (n-1) * sum(o_ck d_ck) / sum(n_c n_k d_ck), with d the
    nominal (0/1) or ordinal metric. Equal to `krippendorff_alpha` on the same data (tested);
    memory grows with the number of ratings and of distinct values, not targets x raters."""
    ratings = normalise_rows(rows)
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {LEVELS}")
    if len(_unique(r.rater for r in ratings)) < 2:
        raise AgreementUndefined("Krippendorff's alpha needs at least two raters")
    by_target = _by_target(ratings)
    units = [list(d.values()) for d in by_target.values() if len(d) >= 2]
    if not units:
        raise AgreementUndefined(
            "Krippendorff's alpha needs at least one target rated by two raters; none is")
    present = [r.value for r in ratings]
    if len(set(present)) == 1:
        raise AgreementUndefined(_identical_reason(present, "Krippendorff's alpha is"))
    values = sorted({v for unit in units for v in unit})
    if len(values) > MAX_ALPHA_VALUES:
        raise AgreementUndefined(
            f"Krippendorff's alpha is not computed: the ratings hold {len(values):,} distinct "
            f"values (at most {MAX_ALPHA_VALUES:,}); round them to a scale")
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for unit in units:
        counts = np.bincount([index[v] for v in unit], minlength=len(values))
        seen = np.flatnonzero(counts)
        c = counts[seen].astype(float)
        block = np.outer(c, c) - np.diag(c)  # ordered pairs of different ratings in the unit
        o[np.ix_(seen, seen)] += block / (len(unit) - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if level == NOMINAL:
        delta = 1.0 - np.eye(len(values))
    else:
        cum = np.cumsum(n_c)
        lo = np.minimum.outer(np.arange(len(values)), np.arange(len(values)))
        hi = np.maximum.outer(np.arange(len(values)), np.arange(len(values)))
        between = cum[hi] - cum[lo] + n_c[lo]  # sum of n_g for g from lo to hi
        delta = (between - (n_c[lo] + n_c[hi]) / 2.0) ** 2
    expected = float((np.outer(n_c, n_c) * delta).sum())
    if expected == 0:
        raise AgreementUndefined(
            "Krippendorff's alpha is undefined: the targets rated by two or more raters all "
            "have one and the same value, so the expected disagreement is 0")
    return 1.0 - (n - 1) * float((o * delta).sum()) / expected


def label_counts(matrix) -> tuple[np.ndarray, list[float]]:
    """Turn a targets x annotators label matrix into a targets x categories count table
    (statsmodels' aggregate_raters); returns the table and the category of each column."""
    from statsmodels.stats.inter_rater import aggregate_raters

    m = _as_matrix(matrix)
    if np.isnan(m).any():
        raise AgreementUndefined("a count table needs a label from every annotator")
    categories = sorted(set(m.ravel().tolist()))
    codes = np.searchsorted(np.asarray(categories), m)
    table, _ = aggregate_raters(codes, n_cat=len(categories))
    return table, categories


def fleiss_kappa(counts) -> float:
    """Fleiss' (1971) kappa of a targets x categories count table (statsmodels).

    Each row counts how many annotators put that target in each category; every row must have
    the same total (the same number of annotators per target, not necessarily the same people).
    """
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

    table = np.asarray(counts, dtype=float)
    if table.ndim != 2 or table.shape[0] < 2:
        raise AgreementUndefined("Fleiss' kappa needs at least two targets")
    totals = table.sum(axis=1)
    if np.ptp(totals) != 0:
        raise AgreementUndefined(
            f"Fleiss' kappa needs the same number of annotators for every target; here "
            f"targets have {int(totals.min())} to {int(totals.max())}")
    if totals[0] < 2:
        raise AgreementUndefined("Fleiss' kappa needs at least two annotators per target")
    shares = table.sum(axis=0) / table.sum()
    if float((shares**2).sum()) >= 1.0 - 1e-12:
        raise AgreementUndefined(
            "Fleiss' kappa is undefined: every label is the same, so chance agreement is 1 "
            "and kappa is 0/0")
    return float(sm_fleiss_kappa(table, method="fleiss"))


def confusion_matrices(rows: Iterable[RatingRow], limit: int | None = None) -> list[dict]:
    """For each pair of raters, counts of (label by a, label by b) over the targets both rated.

    Each entry: ``rater_a``, ``rater_b``, ``labels`` (rows and columns, in order), ``matrix``
    (rows: rater_a's label, columns: rater_b's), ``n`` (targets both rated) and ``agreement``
    (share of those targets on which they agree). Pairs with no target in common are left out.
    With `limit`, only the `limit` pairs with the most targets in common (ties: by name).

    The pairs come from the targets (who rated the same target), not from every pair of raters:
    30,001 raters with two ratings each make 30,000 pairs here, not 450 million. Raises
    AgreementUndefined when the targets hold more than MAX_PAIR_RATINGS pairs of ratings.
    """
    ratings = normalise_rows(rows)
    by_target: dict[str, dict[str, float]] = {}
    for r in ratings:
        by_target.setdefault(r.target, {})[r.rater] = r.value
    pair_ratings = sum(len(d) * (len(d) - 1) // 2 for d in by_target.values())
    if pair_ratings > MAX_PAIR_RATINGS:
        raise AgreementUndefined(
            f"confusion matrices are not computed: the targets hold {pair_ratings:,} pairs of "
            f"ratings by two annotators (at most {MAX_PAIR_RATINGS:,})")
    labels = sorted({r.value for r in ratings})
    index = {v: i for i, v in enumerate(labels)}
    pairs: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for values in by_target.values():
        for a, b in combinations(sorted(values), 2):
            pairs.setdefault((a, b), []).append((index[values[a]], index[values[b]]))
    chosen = sorted(pairs)
    if limit is not None and len(chosen) > limit:
        chosen = sorted(sorted(chosen, key=lambda k: -len(pairs[k]))[:limit])
    out = []
    for a, b in chosen:
        cm = np.zeros((len(labels), len(labels)), dtype=int)
        for i, j in pairs[(a, b)]:
            cm[i, j] += 1
        n = len(pairs[(a, b)])
        out.append({
            "rater_a": a, "rater_b": b, "labels": [_number(v) for v in labels],
            "matrix": cm.tolist(), "n": n, "agreement": float(np.trace(cm)) / n,
        })
    return out


def confusion_pair_count(rows: Iterable[RatingRow]) -> int:
    """How many pairs of raters rated at least one target in common."""
    by_target: dict[str, list[str]] = {}
    for r in normalise_rows(rows):
        by_target.setdefault(r.target, []).append(r.rater)
    pairs: set[tuple[str, str]] = set()
    for raters in by_target.values():
        pairs.update(combinations(sorted(raters), 2))
    return len(pairs)


def rater_bias(rows: Iterable[RatingRow]) -> list[dict]:
    """Each rater's mean value against the other raters' mean on the same targets.

    One entry per (group, rater): ``group``, ``rater``, ``n`` (targets that someone else rated
    too), ``mean``, ``others_mean`` and ``bias`` = mean - others_mean (positive: lenient).
    """
    ratings = normalise_rows(rows)
    by_target: dict[tuple, dict[str, float]] = {}
    for r in ratings:
        by_target.setdefault((r.group, r.target), {})[r.rater] = r.value
    # One pass over the targets (not one per rater): 30,001 raters x 30,000 targets was 900
    # million steps.
    own: dict[tuple, list[float]] = {}
    others: dict[tuple, list[float]] = {}
    for (group, _), values in by_target.items():
        if len(values) < 2:
            continue
        total = sum(values.values())
        for rater, value in values.items():
            own.setdefault((group, rater), []).append(value)
            others.setdefault((group, rater), []).append((total - value) / (len(values) - 1))
    out = []
    for group, rater in _unique((r.group, r.rater) for r in ratings):
        mine = own.get((group, rater))
        if mine:
            mean, others_mean = float(np.mean(mine)), float(np.mean(others[(group, rater)]))
            out.append({"group": group, "rater": rater, "n": len(mine), "mean": mean,
                        "others_mean": others_mean, "bias": mean - others_mean})
    return out


# --------------------------------------------------------------------------------------------
# The summaries (high level: a dict with None and a note where a statistic has no value)


def score_agreement(rows: Iterable[RatingRow]) -> dict:
    """ICC(2,1), ICC(2,k), ICC(3,k) with 95 % CIs, Kendall's W (tie-corrected) and ordinal
    Krippendorff's alpha for scores; per group under ``groups`` when the rows carry a group."""
    return _summarise(normalise_rows(rows), _score_stats, GROUPS_NOTE_ORDINAL)


def label_agreement(rows: Iterable[RatingRow]) -> dict:
    """Fleiss' kappa, nominal Krippendorff's alpha and a confusion matrix per pair of
    annotators for expression labels; per group under ``groups`` when the rows carry a group."""
    return _summarise(normalise_rows(rows), _label_stats, GROUPS_NOTE_NOMINAL)


def agreement(rows: Iterable[RatingRow], level: str) -> dict:
    """`score_agreement` for ``ordinal``, `label_agreement` for ``nominal``."""
    if level == ORDINAL:
        return score_agreement(rows)
    if level == NOMINAL:
        return label_agreement(rows)
    raise ValueError(f"unknown level {level!r}; expected one of {LEVELS}")


def _summarise(ratings: list[Rating], stats: Callable, groups_note: str) -> dict:
    grouped = any(r.group is not None for r in ratings)
    result = stats(ratings, across_groups=grouped)
    if grouped:
        result["notes"].insert(0, groups_note)
        result["groups"] = {
            g: stats([r for r in ratings if r.group == g], across_groups=False)
            for g in _unique(r.group for r in ratings)
        }
    return result


def _score_stats(ratings: list[Rating], *, across_groups: bool) -> dict:
    out: dict = {"level": ORDINAL, **_counts(ratings)}
    for key in ("icc2_1", "icc2_k", "icc3_k", "icc1"):
        out[key] = None
        out[f"{key}_ci95"] = None
    out.update(kendall_w=None, alpha=None, notes=[])
    notes: list[str] = out["notes"]
    if not _enough(ratings, "ICC, Kendall's W and Krippendorff's alpha", notes):
        return out
    by_target = _by_target(ratings)
    raters = _unique(r.rater for r in ratings)
    rater_sets = {frozenset(d) for d in by_target.values()}
    if across_groups and len(rater_sets) > 1:
        notes.append(
            f"ICC(2,1), ICC(2,k), ICC(3,k) and Kendall's W are null here: the targets are rated "
            f"by {len(rater_sets)} different rater sets, and these statistics need one set of "
            f"raters who rated every target; see groups")
    else:
        complete = [t for t, d in by_target.items() if len(d) == len(raters)]
        left_out = [t for t in by_target if t not in set(complete)]
        if left_out:
            notes.append(
                f"{len(left_out)} of {len(by_target)} targets were not rated by all "
                f"{len(raters)} raters and are left out of ICC and Kendall's W: "
                f"{_preview(left_out)}")
        if len(complete) < 2:
            notes.append(
                f"ICC and Kendall's W are null: they need at least two targets rated by every "
                f"rater, and {len(complete)} is")
        else:
            matrix = [[by_target[t][r] for r in raters] for t in complete]
            _fill_icc(out, matrix, ("icc2_1", "icc2_k", "icc3_k"), notes)
            out["kendall_w"] = _attempt(lambda: kendall_w(matrix), "Kendall's W", notes)
    _fill_one_way_icc(out, by_target, notes)
    out["alpha"] = _attempt(lambda: _alpha(ratings, ORDINAL), "Krippendorff's alpha", notes)
    return out


def _label_stats(ratings: list[Rating], *, across_groups: bool) -> dict:
    out: dict = {"level": NOMINAL, **_counts(ratings),
                 "fleiss_kappa": None, "alpha": None, "confusion_matrices": [], "notes": []}
    notes: list[str] = out["notes"]
    if not _enough(ratings, "Fleiss' kappa and Krippendorff's alpha", notes):
        return out
    by_target = _by_target(ratings)
    per_target = {len(d) for d in by_target.values()}
    if len(per_target) > 1:
        notes.append(
            f"Fleiss' kappa is null: it needs the same number of annotators on every frame, "
            f"and here frames have {min(per_target)} to {max(per_target)} (Krippendorff's "
            f"alpha allows missing labels)")
    else:
        labels = [list(d.values()) for d in by_target.values()]
        out["fleiss_kappa"] = _attempt(
            lambda: fleiss_kappa(label_counts(labels)[0]), "Fleiss' kappa", notes)
    out["alpha"] = _attempt(lambda: _alpha(ratings, NOMINAL), "Krippendorff's alpha", notes)
    if not across_groups:
        try:
            out["confusion_matrices"] = confusion_matrices(ratings, limit=MAX_CONFUSION_PAIRS)
        except AgreementUndefined as exc:
            notes.append(str(exc))
        else:
            pairs = confusion_pair_count(ratings)
            if pairs > MAX_CONFUSION_PAIRS:
                notes.append(f"confusion matrices are given for the {MAX_CONFUSION_PAIRS} pairs "
                             f"of annotators with the most frames in common, of {pairs:,} pairs")
    else:
        notes.append("confusion matrices are given per group (annotators differ between groups)")
    return out


def _fill_icc(out: dict, matrix, keys: Sequence[str], notes: list[str]) -> None:
    try:
        table = icc_table(matrix)
    except AgreementUndefined as exc:
        notes.append(f"ICC(2,1), ICC(2,k) and ICC(3,k) are null: {exc}")
        return
    no_interval, degenerate = [], []
    for key in keys:
        value, (low, high) = table[key]
        if not math.isfinite(value):
            notes.append(f"{_ICC_NAMES[key]} is null: the ratings leave it undefined (0/0)")
            continue
        out[key] = value
        if not (math.isfinite(low) and math.isfinite(high)):
            no_interval.append(_ICC_NAMES[key])
        elif not low <= value <= high:
            degenerate.append(_ICC_NAMES[key])
        else:
            out[f"{key}_ci95"] = [low, high]
    if no_interval:
        why = ("the raters agree perfectly (no residual variance), so the F-based interval does "
               "not exist" if _no_residual(_as_matrix(matrix)) else
               "the F-based interval does not exist for these ratings")
        notes.append(f"the 95 % CI of {' and '.join(no_interval)} is null: {why}")
    if degenerate:
        notes.append(
            f"the 95 % CI of {' and '.join(degenerate)} is null: with so few targets the lower "
            f"bound of the single-rating interval falls below -1/(k-1), where the Spearman-Brown "
            f"step to the k-rating interval breaks down (pingouin returns bounds out of order)")


def _fill_one_way_icc(out: dict, by_target: dict, notes: list[str]) -> None:
    """ICC(1,1): one-way, raters nested in targets, so it holds across groups with their own
    raters. Needs the same number of ratings per target (pingouin takes balanced data)."""
    sizes = {len(d) for d in by_target.values()}
    if len(sizes) != 1:
        notes.append(f"the one-way ICC(1) (icc1) is null: it needs the same number of ratings "
                     f"per target, and here targets have {min(sizes)} to {max(sizes)}")
        return
    # Rater identity does not enter a one-way model: line each target's ratings up by position.
    matrix = [sorted(d.values()) for d in by_target.values()]
    try:
        value, (low, high) = icc_table(matrix)["icc1_1"]
    except AgreementUndefined as exc:
        notes.append(f"the one-way ICC(1) (icc1) is null: {exc}")
        return
    if not math.isfinite(value):
        notes.append("the one-way ICC(1) (icc1) is null: the ratings leave it undefined (0/0)")
        return
    out["icc1"] = value
    if math.isfinite(low) and math.isfinite(high) and low <= value <= high:
        out["icc1_ci95"] = [low, high]
    else:
        notes.append("the 95 % CI of ICC(1) is null: every target's ratings are identical "
                     "(no within-target variance), so the F-based interval does not exist")


_ICC_NAMES = {"icc2_1": "ICC(2,1)", "icc2_k": "ICC(2,k)", "icc3_k": "ICC(3,k)",
              "icc1_1": "ICC(1,1)", "icc3_1": "ICC(3,1)", "icc1_k": "ICC(1,k)"}


def _attempt(compute: Callable[[], float], name: str, notes: list[str]) -> float | None:
    try:
        value = compute()
    except AgreementUndefined as exc:
        text = str(exc)
        notes.append(text if text.startswith(name) else f"{name} is null: {text}")
        return None
    if not math.isfinite(value):
        notes.append(f"{name} is null: the ratings leave it undefined")
        return None
    return float(value)


def _enough(ratings: list[Rating], what: str, notes: list[str]) -> bool:
    raters = _unique(r.rater for r in ratings)
    targets = _unique(r.target for r in ratings)
    if len(raters) < 2:
        names = f" ({', '.join(raters)})" if raters else ""
        notes.append(f"{what} are null: they need at least two raters, and the ratings have "
                     f"{len(raters)}{names}")
        return False
    if len(targets) < 2:
        notes.append(f"{what} are null: they need at least two targets, and the ratings have "
                     f"{len(targets)}")
        return False
    if len({r.value for r in ratings}) == 1:
        notes.append(_identical_reason([r.value for r in ratings], f"{what} are"))
        return False
    return True


def _identical_reason(values, subject: str) -> str:
    """Why a statistic has no value when every value is the same; `subject` is "ICC is"."""
    values = list(values)
    return (f"{subject} undefined: all {len(values)} values are {_number(values[0])}, so there "
            f"is no variance between targets or raters and the ratio is 0/0")


def _no_residual(m: np.ndarray) -> bool:
    resid = m - m.mean(axis=1, keepdims=True) - m.mean(axis=0, keepdims=True) + m.mean()
    return bool(np.allclose(resid, 0.0))


# --------------------------------------------------------------------------------------------
# Rows


class Ratings(list):
    """What `normalise_rows` returns: given to it again (the panel's statistics and figures
    on the same million labels), it is returned as it is instead of checked once more."""


def normalise_rows(rows: Iterable[RatingRow]) -> list[Rating]:
    """Rows as `Rating`s; refuses a rater who rated one target twice (FeasstmError).

    Where some rows carry a group and others carry none (None or ""), the latter are put in the
    group ``(none)``. Returns a `Ratings` list, which it returns unchanged when given back."""
    if isinstance(rows, Ratings):
        return rows
    out: list[Rating] = []
    seen: set[tuple] = set()
    for row in rows:
        if isinstance(row, Rating):
            r = row
        else:
            if len(row) not in (3, 4):
                raise FeasstmError(f"a rating is (target, rater, value[, group]), got {row!r}")
            group = None if len(row) == 3 or row[3] in (None, "") else str(row[3])
            r = Rating(str(row[0]), str(row[1]), _finite(row[2]), group)
        key = (r.target, r.rater)
        if key in seen:
            raise FeasstmError(f"rater {r.rater!r} rated target {r.target!r} more than once; "
                               f"keep one rating per rater and target")
        seen.add(key)
        out.append(r)
    if any(r.group is not None for r in out):
        out = [r if r.group is not None else Rating(r.target, r.rater, r.value, NO_GROUP)
               for r in out]
    return Ratings(out)


def _finite(value) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise FeasstmError(f"{value!r} is not a number") from None
    if not math.isfinite(x):
        raise FeasstmError(f"{value!r} is not a finite number")
    return x


def _counts(ratings: list[Rating]) -> dict:
    return {"n_targets": len(_unique(r.target for r in ratings)),
            "n_raters": len(_unique(r.rater for r in ratings)), "n_ratings": len(ratings)}


def _by_target(ratings: list[Rating]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for r in ratings:
        out.setdefault(r.target, {})[r.rater] = r.value
    return out


def _full_matrix(ratings: list[Rating]) -> np.ndarray:
    targets = {t: i for i, t in enumerate(_unique(r.target for r in ratings))}
    raters = {t: i for i, t in enumerate(_unique(r.rater for r in ratings))}
    m = np.full((len(targets), len(raters)), np.nan)
    for r in ratings:
        m[targets[r.target], raters[r.rater]] = r.value
    return m


def _complete_matrix(matrix, needs: str) -> np.ndarray:
    """The matrix (targets x raters) when every target is rated by every rater and there are
    at least two of each; else AgreementUndefined, starting with `needs`."""
    m = _as_matrix(matrix)
    if np.isnan(m).any():
        raise AgreementUndefined(f"{needs} every target rated by every rater")
    n, k = m.shape
    if n < 2 or k < 2:
        raise AgreementUndefined(f"{needs} at least two targets and two raters ({n} x {k} here)")
    return m


def _as_matrix(matrix) -> np.ndarray:
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2:
        raise AgreementUndefined(f"expected a targets x raters table, got shape {m.shape}")
    return m


def _unique(items: Iterable) -> list:
    return list(dict.fromkeys(items))


def _preview(items: Sequence, limit: int = 5) -> str:
    shown = ", ".join(str(x) for x in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _number(v: float) -> int | float:
    return int(v) if float(v).is_integer() else float(v)


# --------------------------------------------------------------------------------------------
# Reading a CSV

#: Accepted layouts: which columns hold the target, the rater and the value.
_LAYOUTS = (
    # labels_by_annotator.csv from an export: (clip, image name) -> target
    (LABELS, ("clip", "image name", "annotator", "code")),
    # the plain layout
    (SCORES, ("target", "rater", "value")),
    # asa/ratings.csv from an export: clip -> target, score -> value
    (SCORES, ("clip", "rater", "score")),
)
_ALIASES = {"image": "image name", "imagename": "image name", "image name": "image name"}


def read_agreement_csv(path: str | Path) -> tuple[list[Rating], str, list[Problem]]:
    """Read ratings from `path`: ``target,rater,value``, an exported ``asa/ratings.csv`` or an
    exported ``labels_by_annotator.csv`` (optionally with a ``group`` column).

    Returns the ratings, the kind (``scores`` or ``labels``) and one Problem per line skipped
    (not a number, missing cell, a rater's second rating of a target). Raises FeasstmError when
    the file cannot be read or lacks the needed columns.
    """
    path = Path(path)
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    header = next(reader, None)
    while header is not None and not any(c.strip() for c in header):
        header = next(reader, None)
    if header is None:
        raise FeasstmError("the file is empty; expected a header row such as "
                           "'target,rater,value'", path=path)

    long: list[Problem] = []

    def records():
        previous = reader.line_num
        try:
            for record in reader:
                line, previous = previous + 1, reader.line_num  # where a multi-line record starts
                reason = long_cell(record)
                if reason:  # reported; the records after it are still read
                    long.append(Problem.at(path, line, f"{reason}; line skipped"))
                    continue
                yield line, record
        except csv.Error as exc:
            raise FeasstmError(f"not a readable CSV: {exc}", path=path,
                               line=previous + 1) from exc

    ratings, kind, problems = _parse_records(path, header, records())
    return ratings, kind, sorted(long + problems, key=lambda p: p.line)


def ratings_from_table(table, *, name: str = "table") -> tuple[list[Rating], str, list[Problem]]:
    """Like `read_agreement_csv`, for a pandas DataFrame (anything with ``columns`` and
    ``itertuples``) in one of the same layouts; a problem's line is the row number + 2."""
    records = (
        (i + 2, [_cell_text(v) for v in row])
        for i, row in enumerate(table.itertuples(index=False, name=None))
    )
    return _parse_records(name, [str(c) for c in table.columns], records)


def _cell_text(value) -> str:
    if value is None:
        return ""
    try:
        if value != value:  # NaN, pandas NA
            return ""
    except (TypeError, ValueError):
        return ""
    return str(value)


def _parse_records(path, header: list[str], records) -> tuple[list[Rating], str, list[Problem]]:
    columns = [_column_name(c) for c in header]
    kind, wanted = _layout(columns, path)
    at = {name: columns.index(name) for name in wanted}
    group_at = columns.index("group") if "group" in columns else None

    ratings: list[Rating] = []
    problems: list[Problem] = []
    first_seen: dict[tuple[str, str], int] = {}
    group_of: dict[str, tuple[str, int]] = {}
    for line, record in records:
        if not any(c.strip() for c in record):
            continue
        cells = {name: _unquote(record[i].strip()) if i < len(record) else ""
                 for name, i in at.items()}
        empty = [name for name in wanted if not cells[name]]
        if empty:
            problems.append(Problem.at(path, line, f"no {' / '.join(empty)}; line skipped"))
            continue
        if kind == LABELS:
            target = f"{cells['clip']}/{cells['image name']}"
            rater, raw = cells["annotator"], cells["code"]
        else:
            target = cells.get("target") or cells["clip"]
            rater, raw = cells["rater"], cells.get("value") or cells["score"]
        value = _parse_value(raw)
        if value is None:
            problems.append(Problem.at(
                path, line, f"{wanted[-1]} {raw!r} is not a number; line skipped"))
            continue
        key = (target, rater)
        if key in first_seen:
            problems.append(Problem.at(
                path, line, f"rater {rater!r} already rated {target!r} at line {first_seen[key]}; "
                f"the first rating is kept"))
            continue
        group = None
        if group_at is not None:
            group = _unquote(record[group_at].strip()) if group_at < len(record) else ""
            if not group:
                problems.append(Problem.at(
                    path, line, f"no group for {target!r}; counted in group {NO_GROUP!r}"))
                group = NO_GROUP
            known = group_of.setdefault(target, (group, line))
            if known[0] != group:
                problems.append(Problem.at(
                    path, line, f"{target!r} is in group {known[0]!r} at line {known[1]}, not "
                    f"{group!r}; counted in {known[0]!r}"))
                group = known[0]
        first_seen[key] = line
        ratings.append(Rating(target, rater, value, group))
    return ratings, kind, problems


def _read_text(path: Path) -> str:
    try:
        data = read_regular(path, TEXT_MAX_BYTES)
    except NotReadable as exc:
        if exc.errno == errno.ENOENT and not path.is_symlink():
            raise FeasstmError("no such file; check the path", path=path) from None
        if path.is_dir():
            raise FeasstmError("is a folder; give the ratings CSV file", path=path) from None
        raise FeasstmError(f"cannot read the file: {exc.reason}", path=path) from None
    for encoding in ("utf-8-sig", "gbk"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FeasstmError("is neither UTF-8 nor GBK text; save it as UTF-8 CSV", path=path)


def _column_name(cell: str) -> str:
    name = " ".join(cell.strip().lower().replace("_", " ").split())
    return _ALIASES.get(name, name)


def _layout(columns: list[str], path) -> tuple[str, tuple[str, ...]]:
    for kind, wanted in _LAYOUTS:
        if all(c in columns for c in wanted):
            return kind, wanted
    found = ", ".join(repr(c) for c in columns if c) or "none"
    raise FeasstmError(
        f"the header has columns {found}; expected 'target,rater,value', an exported "
        f"asa/ratings.csv ('clip,group,rater,score,description') or an exported "
        f"labels_by_annotator.csv ('clip,image name,annotator,code'). Rename the columns or "
        f"export again", path=path, line=1)


def _unquote(text: str) -> str:
    """Undo the exporter's guard against CSV injection: a cell that starts with = + - @ (or a
    tab or carriage return) is written with a leading ' , which is not part of the name."""
    if text[:1] == "'" and text[1:2] and text[1] in "=+-@\t\r":
        return text[1:]
    return text


def _parse_value(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
