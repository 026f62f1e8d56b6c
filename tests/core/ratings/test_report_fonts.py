"""Chinese names in the agreement figures (issue 20): a CJK font installed on the system is
found (any name fontconfig or matplotlib knows it by), and no font is no error."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from feasstm_gui.core.ratings import report


def _system_has_cjk() -> bool:
    if shutil.which("fc-list") is None:
        return False
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True,
                         check=False).stdout
    return bool(out.strip())


@pytest.mark.skipif(not _system_has_cjk(), reason="no CJK font installed on this machine")
def test_an_installed_cjk_font_is_used_for_chinese_names(tmp_path):
    fonts = report.cjk_fonts()
    assert fonts
    from matplotlib import font_manager

    with report._style():
        import matplotlib

        assert fonts[0] in matplotlib.rcParams["font.sans-serif"]
        path = font_manager.findfont(font_manager.FontProperties(family=fonts[0]),
                                     fallback_to_default=False)
    from matplotlib.ft2font import FT2Font

    assert FT2Font(path).get_char_index(ord("评")) != 0  # the font really draws Chinese
    rows = [("c1", "示例 评分员", 4, "A"), ("c1", "评分员 乙", 5, "A"),
            ("c2", "示例 评分员", 2, "A"), ("c2", "评分员 乙", 3, "A")]
    fig = report.rater_bias_figure(rows)  # Chinese rater names on the y axis
    assert report.save_figure(fig, tmp_path / "图.png").stat().st_size > 1000
    labels = [t for t in fig.axes[0].get_yticklabels() if "评分员" in t.get_text()]
    assert labels
    for label in labels:  # the names are drawn with a font that has their glyphs
        found = font_manager.fontManager._find_fonts_by_props(label.get_fontproperties())
        assert any(FT2Font(str(f)).get_char_index(ord("评")) for f in found)


def test_no_cjk_font_is_no_error(monkeypatch, tmp_path):
    from matplotlib import font_manager

    monkeypatch.setattr(font_manager.fontManager, "ttflist",
                        [f for f in font_manager.fontManager.ttflist if "DejaVu" in f.name])
    monkeypatch.setattr(report, "_fontconfig_cjk_files", lambda: [])
    assert report.cjk_fonts() == []
    fig = report.score_distribution_figure([("奥巴马 演讲", "评分员 乙", 4, "甲组")])
    assert report.save_figure(fig, tmp_path / "图.png").is_file()
