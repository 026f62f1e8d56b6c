"""`feasstm agreement`, driven through its own argparse registration (not the main CLI)."""

from __future__ import annotations

import argparse
import json

import pytest

from feasstm_gui.cli.ratings_stats import register, run_agreement
from feasstm_gui.core.errors import FeasstmError

# Shrout & Fleiss (1979), 6 targets x 4 judges: ICC(2,1) = .29, ICC(2,4) = .62, ICC(3,4) = .91.
SF = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="feasstm")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["agreement", *argv])


def run(capsys, *argv: str) -> tuple[int, str, str]:
    args = parse(*argv)
    assert args.func is run_agreement
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def sf_csv(cjk_dir):
    lines = ["target,rater,value"] + [
        f"目标{i},评分员{j},{v}" for i, row in enumerate(SF) for j, v in enumerate(row)]
    return write(cjk_dir / "评分 表.csv", "\n".join(lines) + "\n")


def test_json_for_scores(cjk_dir, capsys):
    code, out, err = run(capsys, str(sf_csv(cjk_dir)), "--json")
    assert code == 0 and err == ""
    result = json.loads(out)
    for key in ("icc2_1", "icc2_k", "icc3_k", "kendall_w", "alpha"):
        assert isinstance(result[key], float), key
    for key in ("icc2_1_ci95", "icc2_k_ci95", "icc3_k_ci95"):
        low, high = result[key]
        assert isinstance(low, float) and low <= result[key[:-5]] <= high
    assert round(result["icc2_1"], 2) == 0.29
    assert round(result["icc2_k"], 2) == 0.62
    assert round(result["icc3_k"], 2) == 0.91
    assert result["notes"] == [] and result["kind"] == "scores" and result["level"] == "ordinal"


def test_text_for_scores(cjk_dir, capsys):
    code, out, _ = run(capsys, str(sf_csv(cjk_dir)))
    assert code == 0
    assert "ICC(2,1)" in out and "0.290" in out and "95% CI" in out and "Kendall's W" in out


def test_exported_asa_ratings_give_groups(cjk_dir, capsys):
    lines = ["clip,group,rater,score,description"]
    lines += [f"片段A{i},A,甲{j},{v},\"说明, 很好\"" for i, row in enumerate(SF)
              for j, v in enumerate(row)]
    lines += [f"clip B{i},B,乙{j},{(i * j) % 5 + 1}," for i in range(5) for j in range(4)]
    path = write(cjk_dir / "ratings.csv", "\n".join(lines) + "\n")
    code, out, _ = run(capsys, str(path), "--json")
    result = json.loads(out)
    assert code == 0
    assert set(result["groups"]) == {"A", "B"}
    assert round(result["groups"]["A"]["icc2_1"], 2) == 0.29
    assert result["icc2_1"] is None and result["kendall_w"] is None
    assert isinstance(result["icc1"], float)
    assert any("only computed when all targets share one rater set" in n
               for n in result["notes"])


def test_labels_by_annotator_default_to_nominal(cjk_dir, capsys):
    rows = ["clip,image name,annotator,code"]
    for i, codes in enumerate([(4, 4, 4), (1, 1, 7), (7, 7, 7), (5, 6, 5), (2, 2, 2)]):
        rows += [f"影片,{i + 1:06d}.jpg,{a},{c}" for a, c in zip(("张三", "li", "wang"), codes,
                                                                 strict=True)]
    path = write(cjk_dir / "labels_by_annotator.csv", "\n".join(rows) + "\n")
    code, out, _ = run(capsys, str(path), "--json")
    result = json.loads(out)
    assert code == 0 and result["kind"] == "labels" and result["level"] == "nominal"
    assert isinstance(result["fleiss_kappa"], float) and isinstance(result["alpha"], float)
    assert len(result["confusion_matrices"]) == 3
    assert "icc2_1" not in result
    code, out, _ = run(capsys, str(path), "--json", "--level", "ordinal")
    assert "icc2_1" in json.loads(out)


def test_non_numeric_values_name_file_and_line(cjk_dir, capsys):
    path = write(cjk_dir / "bad.csv",
                 "target,rater,value\na,x,1\na,y,2\nb,x,three\nb,y,3\nc,x,2\nc,y,2\n")
    code, out, err = run(capsys, str(path), "--json")
    assert code == 1
    assert f"{path}:4: value 'three' is not a number; line skipped" in err
    assert json.loads(out)["n_ratings"] == 5  # the rest is still used


def test_nothing_readable_is_an_error(cjk_dir, capsys):
    path = write(cjk_dir / "bad.csv", "target,rater,value\na,x,one\n")
    with pytest.raises(FeasstmError, match="no rating could be read"):
        run(capsys, str(path))


def test_missing_columns_is_an_error(cjk_dir, capsys):
    path = write(cjk_dir / "cols.csv", "item,judge,score\na,x,1\n")
    with pytest.raises(FeasstmError, match="expected 'target,rater,value'"):
        run(capsys, str(path))


def test_one_rater_gives_nulls_with_reasons(cjk_dir, capsys):
    path = write(cjk_dir / "one.csv", "target,rater,value\na,x,1\nb,x,2\nc,x,3\n")
    code, out, _ = run(capsys, str(path), "--json")
    result = json.loads(out)
    assert code == 0
    assert result["icc2_1"] is None and result["alpha"] is None
    assert any("at least two raters" in n for n in result["notes"])


def test_one_target_gives_nulls_with_reasons(cjk_dir, capsys):
    path = write(cjk_dir / "one.csv", "target,rater,value\na,x,1\na,y,2\n")
    result = json.loads(run(capsys, str(path), "--json")[1])
    assert result["kendall_w"] is None
    assert any("at least two targets" in n for n in result["notes"])


def test_identical_values_say_why(cjk_dir, capsys):
    path = write(cjk_dir / "same.csv",
                 "target,rater,value\n" + "".join(f"{t},{r},4\n" for t in "abc" for r in "xy"))
    code, out, _ = run(capsys, str(path))
    assert code == 0
    assert "null (see notes)" in out and "all 6 values are 4" in out and "no variance" in out
    result = json.loads(run(capsys, str(path), "--json")[1])
    assert result["icc2_1"] is None and result["icc2_1_ci95"] is None


def test_report_option_writes_the_report(cjk_dir, capsys):
    out_dir = cjk_dir / "报告"
    code, out, err = run(capsys, str(sf_csv(cjk_dir)), "--json", "--report", str(out_dir))
    assert code == 0
    json.loads(out)  # stdout stays pure JSON
    assert f"report: {out_dir / 'report.html'}" in err
    assert (out_dir / "report.html").is_file() and (out_dir / "rater_bias.png").is_file()


def test_main_cli_turns_errors_into_exit_2(cjk_dir, capsys):
    try:
        from feasstm_gui.cli import main
    except ImportError:  # the dispatcher is someone else's; this module does not need it
        pytest.skip("feasstm_gui.cli.main not available")
    path = write(cjk_dir / "cols.csv", "item,judge,score\na,x,1\n")
    assert main(["agreement", str(path)]) == 2
    assert "expected 'target,rater,value'" in capsys.readouterr().err
