"""The agreement report: an HTML page and its PNG figures, on disk, in a folder whose path holds
Chinese characters and spaces."""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
import pytest

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.ratings.report import (
    LABEL_DISTRIBUTION,
    RATER_BIAS,
    REPORT,
    SCORE_DISTRIBUTION,
    confusion_figure,
    label_distribution_figure,
    rater_bias_figure,
    score_distribution_figure,
    write_agreement_report,
)

PNG = b"\x89PNG\r\n\x1a\n"

# Shrout & Fleiss (1979) 6 targets x 4 judges, used as group A; group B is another 4 raters.
SF = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def asa_rows():
    rows = [(f"片段A{i}", f"评分员{j}", v, "A") for i, r in enumerate(SF) for j, v in enumerate(r)]
    rows += [(f"clip B{i}", f"rater {j}", min(5, max(1, (i + j) % 5 + 1)), "B")
             for i in range(5) for j in range(4)]
    return rows


def label_rows():
    codes = [4, 4, 7, 1, 5, 6, 2, 3, 7, 4]
    rows = []
    for i, code in enumerate(codes):
        rows.append((f"影片/{i:06d}.jpg", "张三", code))
        rows.append((f"影片/{i:06d}.jpg", "li", code if i % 3 else 7))
        rows.append((f"影片/{i:06d}.jpg", "wang", code if i % 4 else 4))
    return rows


def images_in(page: str) -> list[str]:
    return re.findall(r"<img src='([^']+)'", page)


def test_report_with_scores_and_labels(cjk_dir):
    out = cjk_dir / "报告 report"
    path = write_agreement_report(out, asa_rows(), label_rows())
    assert path == out / REPORT
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    srcs = images_in(page)
    assert {SCORE_DISTRIBUTION, RATER_BIAS, LABEL_DISTRIBUTION} <= set(srcs)
    assert sum(s.startswith("confusion_") for s in srcs) == 3  # 3 annotators: 3 pairs
    for src in srcs:
        data = (out / src).read_bytes()
        assert data.startswith(PNG) and len(data) > 2000, src
    # the statistics are on the page, per group, with the reason for each null
    assert "group A" in page and "group B" in page
    assert "0.290" in page and "0.909" in page  # ICC(2,1), ICC(3,k) of Shrout & Fleiss
    assert "only computed when all targets share one rater set" in page
    assert "张三" in page and "nan" not in page.lower().replace("nominal", "")
    assert not list(out.glob(".*partial"))


def test_report_accepts_exported_dataframes(cjk_dir):
    ratings = pd.DataFrame(
        [{"clip": t, "group": g, "rater": r, "score": v, "description": ""}
         for t, r, v, g in asa_rows()])
    labels = pd.DataFrame(
        [{"clip": t.split("/")[0], "image name": t.split("/")[1], "annotator": a, "code": c}
         for t, a, c in label_rows()])
    path = write_agreement_report(cjk_dir / "df", ratings, labels)
    page = path.read_text(encoding="utf-8")
    assert "0.290" in page and LABEL_DISTRIBUTION in page


def test_report_with_labels_only(cjk_dir):
    path = write_agreement_report(cjk_dir / "labels", None, label_rows())
    page = path.read_text(encoding="utf-8")
    assert SCORE_DISTRIBUTION not in page and LABEL_DISTRIBUTION in page
    assert "Fleiss" in page


def test_report_with_scores_only_where_nothing_can_be_computed(cjk_dir):
    path = write_agreement_report(cjk_dir / "one", [("c1", "solo", 3), ("c2", "solo", 4)])
    page = path.read_text(encoding="utf-8")
    assert "at least two raters" in page
    assert (cjk_dir / "one" / RATER_BIAS).read_bytes().startswith(PNG)  # an empty figure


def test_report_refuses_nothing_and_bad_frames(cjk_dir):
    with pytest.raises(FeasstmError, match="nothing to report"):
        write_agreement_report(cjk_dir / "x", None, None)
    bad = pd.DataFrame({"target": ["a", "b"], "rater": ["x", "y"], "value": [1, "high"]})
    with pytest.raises(FeasstmError, match="'high' is not a number"):
        write_agreement_report(cjk_dir / "x", bad)


def test_figures_are_plain_matplotlib_figures_for_the_gui():
    from matplotlib.figure import Figure

    figures = [score_distribution_figure(asa_rows()), rater_bias_figure(asa_rows()),
               label_distribution_figure(label_rows()),
               confusion_figure({"rater_a": "a", "rater_b": "b", "labels": [1, 4],
                                 "matrix": [[2, 0], [1, 3]], "n": 6, "agreement": 5 / 6})]
    for fig in figures:
        assert isinstance(fig, Figure) and fig.axes


def test_rater_bias_figure_labels_lenient_and_severe_raters():
    fig = rater_bias_figure([("c1", "x", 5), ("c1", "y", 3), ("c2", "x", 4), ("c2", "y", 2)])
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert sorted(labels) == ["x (+2.00)", "y (-2.00)"]


def test_report_figures_do_not_use_pyplot(cjk_dir):
    # Labels only: the score statistics call pingouin, which imports pyplot itself.
    code = ("import sys\n"
            "from feasstm_gui.core.ratings.report import write_agreement_report\n"
            f"write_agreement_report({str(cjk_dir / 'sub')!r}, None, "
            "[('a','x',1),('a','y',2),('b','x',3),('b','y',3),('c','x',4),('c','y',5)])\n"
            "print('matplotlib.pyplot' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert "Traceback" not in out.stderr
