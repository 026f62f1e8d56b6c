"""The agreement report: one HTML page with PNG figures, for readers who do not read JSON.

The figure functions return matplotlib `Figure`s built without pyplot (no global state, no GUI
backend), so the GUI panel can show the very same figures on its own canvas; the report saves
them with the Agg canvas. matplotlib is imported inside the functions: it is slow to import.
"""

from __future__ import annotations

import contextlib
import functools
import html
import math
import warnings
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from feasstm_gui import __version__
from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.files import replacing
from feasstm_gui.core.ratings.agreement import (
    Rating,
    label_agreement,
    normalise_rows,
    rater_bias,
    ratings_from_table,
    score_agreement,
)
from feasstm_gui.core.vocab import CODES

SCORE_DISTRIBUTION = "score_distribution.png"
RATER_BIAS = "rater_bias.png"
#: Raters drawn in the rater-bias figure (one row each).
MAX_BIAS_ROWS = 60
LABEL_DISTRIBUTION = "label_distribution.png"
REPORT = "report.html"

# Fonts that can draw Chinese rater and clip names, tried in this order where installed.
_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
              "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
              "Hiragino Sans GB", "Droid Sans Fallback", "AR PL UMing CN")
_DPI = 100


def write_agreement_report(out_dir: str | Path, ratings=None, labels=None, *,
                           title: str = "Rater agreement") -> Path:
    """Write ``out_dir/report.html`` and its PNG figures; return the path of the HTML.

    `ratings`: acting scores, as rows ``(target, rater, value[, group])`` or a DataFrame in one
    of the layouts `read_agreement_csv` reads (e.g. asa/ratings.csv). `labels`: expression
    labels in the same forms (e.g. labels_by_annotator.csv). Either may be None. The HTML is
    written last, under its final name only once complete.
    """
    score_rows = as_ratings(ratings, "ratings")
    label_rows = as_ratings(labels, "labels")
    if not score_rows and not label_rows:
        raise FeasstmError("nothing to report: give acting scores, expression labels or both")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FeasstmError(f"cannot create the report folder: {exc.strerror or exc}",
                           path=out) from None

    body: list[str] = [f"<h1>{_e(title)}</h1>",
                       f"<p class=meta>Written {_e(_now())} by FEASSTM Studio {_e(__version__)}."
                       f"</p>"]
    if score_rows:
        body += _score_section(out, score_rows)
    if label_rows:
        body += _label_section(out, label_rows)
    page = _PAGE.format(title=_e(title), body="\n".join(body))
    final = out / REPORT
    with replacing(final, out / f".{REPORT}.partial") as partial:
        partial.write_text(page, encoding="utf-8", newline="\n")
    return final


def as_ratings(data, what: str = "ratings") -> list[Rating]:
    """Rows or a DataFrame as a list of `Rating`s; None gives []. A bad row is a FeasstmError."""
    if data is None:
        return []
    if hasattr(data, "columns") and hasattr(data, "itertuples"):
        rows, _, problems = ratings_from_table(data, name=what)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise FeasstmError(f"{problems[0]}{more}")
        return rows
    return normalise_rows(data)


# --------------------------------------------------------------------------------------------
# Figures


def score_distribution_figure(ratings: Iterable) -> object:
    """How often each score was given, per group: a skewed or narrow scale shows here first."""
    from matplotlib.figure import Figure

    rows = normalise_rows(ratings)
    fig = Figure(figsize=(7, 4), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    if not rows:
        return _empty(fig, ax, "no ratings")
    groups = _groups(rows)
    values = sorted({r.value for r in rows})
    if len(values) <= 20:
        width = 0.8 / len(groups)
        for i, g in enumerate(groups):
            counts = Counter(r.value for r in rows if r.group == g)
            xs = [j - 0.4 + width * (i + 0.5) for j in range(len(values))]
            ax.bar(xs, [counts.get(v, 0) for v in values], width=width,
                   label=f"{_group_name(g)} (n={sum(counts.values())})")
        ax.set_xticks(range(len(values)), [_fmt_value(v) for v in values])
    else:
        lo, hi = values[0], values[-1]
        bins = [lo + (hi - lo) * i / 20 for i in range(21)]
        for g in groups:
            data = [r.value for r in rows if r.group == g]
            ax.hist(data, bins=bins, histtype="step", linewidth=1.5,
                    label=f"{_group_name(g)} (n={len(data)})")
    ax.set_xlabel("score")
    ax.set_ylabel("ratings")
    ax.set_title("Score distribution per group" if groups != [None] else "Score distribution")
    fig.legend(frameon=False, loc="outside right upper")
    return fig


def rater_bias_figure(ratings: Iterable) -> object:
    """Each rater's mean score against the other raters' mean on the same targets: a rater to
    the right of the hollow marker is more lenient than the others, to the left more severe."""
    from matplotlib.figure import Figure

    bias = rater_bias(ratings)
    total = len(bias)
    if total > MAX_BIAS_ROWS:  # 30,001 rows made a 10,000-inch figure (std::bad_alloc)
        keep = sorted(range(total), key=lambda i: (-bias[i]["n"], i))[:MAX_BIAS_ROWS]
        bias = [bias[i] for i in sorted(keep)]
    fig = Figure(figsize=(7, 1.2 + 0.35 * max(len(bias), 2)), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    if not bias:
        return _empty(fig, ax, "no target was rated by two raters")
    ys = list(range(len(bias)))[::-1]
    for y, b in zip(ys, bias, strict=True):
        ax.plot([b["others_mean"], b["mean"]], [y, y], color="0.6", linewidth=1.5, zorder=1)
    ax.scatter([b["others_mean"] for b in bias], ys, facecolors="white", edgecolors="C0",
               zorder=2, label="other raters' mean (same targets)")
    ax.scatter([b["mean"] for b in bias], ys, color="C0", zorder=3, label="rater's mean")
    grouped = any(b["group"] is not None for b in bias)
    ax.set_yticks(ys, [(f"{_group_name(b['group'])} · " if grouped else "") + str(b["rater"])
                       + f" ({_signed(b['bias'])})" for b in bias])
    ax.set_xlabel("mean score")
    ax.set_title("Rater bias: each rater's mean against the others" + (
        f"\n({len(bias)} of {total:,} raters: those who rated most targets)"
        if total > len(bias) else ""))
    fig.legend(frameon=False, loc="outside lower center", ncols=2)
    return fig


def label_distribution_figure(labels: Iterable) -> object:
    """How often each expression code was given, per annotator (all together when there are
    many annotators): an annotator who overuses one code shows here."""
    from matplotlib.figure import Figure

    rows = normalise_rows(labels)
    fig = Figure(figsize=(8, 4), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    if not rows:
        return _empty(fig, ax, "no labels")
    codes = sorted({r.value for r in rows})
    annotators = list(dict.fromkeys(r.rater for r in rows))
    series = ([(a, [r.value for r in rows if r.rater == a]) for a in annotators]
              if len(annotators) <= 8 else [("all annotators", [r.value for r in rows])])
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series):
        counts = Counter(values)
        xs = [j - 0.4 + width * (i + 0.5) for j in range(len(codes))]
        ax.bar(xs, [counts.get(c, 0) for c in codes], width=width,
               label=f"{name} (n={len(values)})")
    ax.set_xticks(range(len(codes)), [_code_label(c) for c in codes],
                  rotation=30 if len(codes) > 4 else 0)
    ax.set_ylabel("frames")
    ax.set_title("Label distribution")
    ax.legend(frameon=False, fontsize="small")
    return fig


def confusion_figure(entry: dict) -> object:
    """One pair of annotators' confusion matrix (an entry of `confusion_matrices`)."""
    from matplotlib.figure import Figure

    labels = [_code_label(c) for c in entry["labels"]]
    size = 2.5 + 0.45 * len(labels)
    fig = Figure(figsize=(size + 0.8, size), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    matrix = entry["matrix"]
    image = ax.imshow(matrix, cmap="Blues")
    top = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            ax.text(j, i, str(count), ha="center", va="center", fontsize="small",
                    color="white" if top and count > top / 2 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel(f"{entry['rater_b']}'s label")
    ax.set_ylabel(f"{entry['rater_a']}'s label")
    ax.set_title(f"{entry['rater_a']} vs {entry['rater_b']}: n={entry['n']}, "
                 f"{100 * entry['agreement']:.0f} % agree", fontsize="medium")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def save_figure(figure, path: Path) -> Path:
    """Save with the Agg canvas (no GUI backend involved)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    with _style():
        use_cjk_fallback(figure)
        figure.savefig(path, dpi=_DPI)
    return path


def use_cjk_fallback(figure) -> None:
    """Give every text of `figure` the family list DejaVu Sans then the CJK fonts installed:
    matplotlib falls back glyph by glyph only along an explicit list of families (a generic
    'sans-serif' resolves to one font), and a text keeps the family it was created with."""
    from matplotlib.text import Text

    families = ["DejaVu Sans", *cjk_fonts()]
    if len(families) == 1:
        return
    for text in figure.findobj(Text):
        if text.get_fontfamily() in (["sans-serif"], ["DejaVu Sans"]):
            text.set_fontfamily(families)


# --------------------------------------------------------------------------------------------
# Sections of the page


def _score_section(out: Path, rows: list[Rating]) -> list[str]:
    result = score_agreement(rows)
    parts = ["<h2>Acting scores (ordinal)</h2>", _score_table(result), _notes(result)]
    with _style():
        save_figure(score_distribution_figure(rows), out / SCORE_DISTRIBUTION)
        save_figure(rater_bias_figure(rows), out / RATER_BIAS)
    parts.append(_figure(SCORE_DISTRIBUTION, "Score distribution per group",
                         "How often each score was given in each group."))
    parts.append(_figure(RATER_BIAS, "Rater bias",
                         "Each rater's mean score (filled) against the other raters' mean on "
                         "the same targets (hollow); the number is the difference."))
    return parts


def _label_section(out: Path, rows: list[Rating]) -> list[str]:
    result = label_agreement(rows)
    parts = ["<h2>Expression labels (nominal)</h2>", _label_table(result), _notes(result)]
    pairs = list(result.get("confusion_matrices") or [])
    for group, sub in (result.get("groups") or {}).items():
        pairs += [{**entry, "group": group} for entry in sub.get("confusion_matrices", [])]
    with _style():
        save_figure(label_distribution_figure(rows), out / LABEL_DISTRIBUTION)
        names = []
        for i, entry in enumerate(pairs, start=1):
            name = f"confusion_{i:02d}.png"
            save_figure(confusion_figure(entry), out / name)
            names.append(name)
    parts.append(_figure(LABEL_DISTRIBUTION, "Label distribution",
                         "How often each expression code was given, per annotator."))
    if pairs:
        parts.append("<h3>Annotator confusion matrices</h3><div class=grid>")
        for name, entry in zip(names, pairs, strict=True):
            where = f"group {entry['group']}: " if "group" in entry else ""
            parts.append(_figure(
                name, f"{entry['rater_a']} vs {entry['rater_b']}",
                f"{where}{entry['rater_a']} (rows) against {entry['rater_b']} (columns) on the "
                f"{entry['n']} frames both labelled; {100 * entry['agreement']:.1f} % agree."))
        parts.append("</div>")
    else:
        parts.append("<p>No two annotators labelled the same frame: no confusion matrix.</p>")
    return parts


_SCORE_COLUMNS = (("ICC(2,1)", "icc2_1"), ("ICC(2,k)", "icc2_k"), ("ICC(3,k)", "icc3_k"),
                  ("ICC(1)", "icc1"), ("Kendall's W", "kendall_w"), ("alpha (ordinal)", "alpha"))
_LABEL_COLUMNS = (("Fleiss' kappa", "fleiss_kappa"), ("alpha (nominal)", "alpha"))


def _score_table(result: dict) -> str:
    return _stats_table(result, _SCORE_COLUMNS)


def _label_table(result: dict) -> str:
    return _stats_table(result, _LABEL_COLUMNS)


def _stats_table(result: dict, columns) -> str:
    head = "".join(f"<th>{_e(name)}</th>" for name, _ in columns)
    rows = [("all", result)] + [(f"group {g}", sub) for g, sub in
                                (result.get("groups") or {}).items()]
    lines = [f"<table><tr><th></th><th>targets</th><th>raters</th><th>ratings</th>{head}</tr>"]
    for name, res in rows:
        cells = "".join(f"<td>{_stat_cell(res, key)}</td>" for _, key in columns)
        lines.append(f"<tr><th>{_e(name)}</th><td>{res['n_targets']}</td><td>{res['n_raters']}"
                     f"</td><td>{res['n_ratings']}</td>{cells}</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _stat_cell(result: dict, key: str) -> str:
    value = result.get(key)
    if value is None:
        return "<span class=null title='see the notes'>—</span>"
    text = f"{value:.3f}"
    ci = result.get(f"{key}_ci95")
    if ci:
        text += f"<br><small>95 % CI [{ci[0]:.2f}, {ci[1]:.2f}]</small>"
    return text


def _notes(result: dict) -> str:
    notes = [("", n) for n in result.get("notes", [])]
    for g, sub in (result.get("groups") or {}).items():
        notes += [(f"group {g}: ", n) for n in sub.get("notes", [])]
    if not notes:
        return ""
    items = "".join(f"<li>{_e(where)}{_e(n)}</li>" for where, n in notes)
    return f"<h3>Notes</h3><ul class=notes>{items}</ul>"


def _figure(src: str, alt: str, caption: str) -> str:
    return (f"<figure><img src='{_e(src)}' alt='{_e(alt)}'>"
            f"<figcaption>{_e(caption)}</figcaption></figure>")


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, "Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC",
  "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Droid Sans Fallback", "Microsoft YaHei",
  "PingFang SC", sans-serif;
       margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }}
th:first-child {{ text-align: left; }}
.null {{ color: #999; }}
.meta {{ color: #666; }}
figure {{ display: inline-block; margin: 1em 1em 1em 0; }}
figure img {{ max-width: 100%; }}
figcaption {{ color: #444; font-size: 0.9em; max-width: 40em; }}
.grid {{ display: flex; flex-wrap: wrap; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


# --------------------------------------------------------------------------------------------
# Small helpers


#: Words in a font's family name that mark a CJK font (fonts-noto-cjk's .ttc files read as
#: "Noto Sans CJK JP" whatever the language; WenQuanYi, Droid Sans Fallback, Source Han...).
_CJK_WORDS = ("CJK", "WenQuanYi", "Droid Sans Fallback", "Source Han", "YaHei", "SimHei",
              "SimSun", "PingFang", "Hiragino", "AR PL", "Heiti", "Songti", "Unifont")


def cjk_fonts() -> list[str]:
    """Installed font families that draw Chinese, best first: the known names, then any family
    whose name says CJK, then what fontconfig lists for Chinese (added to matplotlib's list
    when its font cache predates the font). Empty when none is installed: the figures then
    draw the Latin text and boxes for Chinese, and say nothing."""
    from matplotlib import font_manager

    fm = font_manager.fontManager
    installed = {f.name for f in fm.ttflist}
    if not any(name in installed for name in _CJK_FONTS):
        known = {f.fname for f in fm.ttflist}
        for path in _fontconfig_cjk_files():  # installed after matplotlib's cache was built
            if path not in known:
                try:
                    fm.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        installed = {f.name for f in fm.ttflist}
    found = [name for name in _CJK_FONTS if name in installed]
    found += sorted(n for n in installed
                    if n not in found and any(w.lower() in n.lower() for w in _CJK_WORDS))
    return found


@functools.lru_cache(maxsize=1)
def _fontconfig_cjk_files() -> list[str]:
    """Font files fontconfig says cover Chinese ([] without fc-list)."""
    import shutil
    import subprocess

    if shutil.which("fc-list") is None:
        return []
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True,
                             timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    files = [line.split(":")[0].strip() for line in out.splitlines() if line.strip()]
    sans = [f for f in files if "Sans" in f or "sans" in f]  # sans-serif faces first
    return list(dict.fromkeys(sans + files))[:5]


@contextlib.contextmanager
def _style():
    """Draw Chinese names where a CJK font is installed (matplotlib falls back glyph by glyph
    along font.sans-serif); never warn about a missing glyph."""
    import matplotlib

    with matplotlib.rc_context({"font.family": "sans-serif",
                                "font.sans-serif": ["DejaVu Sans", *cjk_fonts()]}), \
            warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
        warnings.filterwarnings("ignore", message=r".*does not have a glyph for")
        yield


def _empty(fig, ax, text: str):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return fig


def _groups(rows: list[Rating]) -> list:
    return list(dict.fromkeys(r.group for r in rows))


def _group_name(group) -> str:
    return "all" if group is None else f"group {group}"


def _fmt_value(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _code_label(code) -> str:
    if isinstance(code, float) and not math.isfinite(code):
        return str(code)
    if float(code).is_integer() and int(code) in CODES:
        return f"{int(code)} {CODES[int(code)]}"
    return _fmt_value(float(code))


def _signed(x: float) -> str:
    return f"{round(x, 2) or 0.0:+.2f}"  # no "-0.00"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _e(text) -> str:
    return html.escape(str(text), quote=True)
