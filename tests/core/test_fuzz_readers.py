"""Fuzzing the three text readers a user feeds files to: the FAF label TXT, the clip table CSV
and the ratings CSV. Random bytes, several encodings, mixed line ends (`\\n`, `\\r\\n`, a lone
`\\r` in one file), NUL bytes and huge lines: no reader ever raises anything but FeasstmError
(which the CLI prints as one line), an error names the file, and every rejected line is named
by its line number. A good line hidden among bad ones is still read, at its own line number.

tests/core/formats/ already fuzzes the TXT and clip CSV readers with token soups; this adds
what they lack (the ratings reader, the import of ratings into a project, hostile bytes).
Deterministic and bounded: derandomize, no deadline, capped examples.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.formats.clips_csv import read_clip_table
from feasstm_gui.core.formats.faf import read_faf_txt
from feasstm_gui.core.ratings import asa
from feasstm_gui.core.store import Clip, Store
from feasstm_gui.core.store import ratings as rdb

FUZZ = settings(derandomize=True, deadline=None, max_examples=120, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

ENDS = st.sampled_from(["\n", "\r\n", "\r"])
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "gbk", "utf-16", "latin-1"])
HUGE = 200_000  # above the csv module's field limit (131,072) and far above any sane line

#: Cells that stress each reader: separators, quotes, control characters, scripts, numbers.
NASTY = ["", " ", "\t", ",", ";", '"', '""', '"a,b"', "\x00", "\x1c", "\u2028", "\u3000", "\ufeff",
         "片段", "周迅 照片", "甲", "坏:名", "../../etc/passwd", "a/b", "nan", "inf", "-1", "0",
         "1", "4", "5", "6", "7", "8", "4.0", "4.5", "１", "000001.jpg", "000002", "é", "🙂",
         "clip", "rater", "score", "description", "frames", "video", "group"]


@st.composite
def documents(draw, headers: list[str], good: str | None = None) -> tuple[bytes, int | None]:
    """A file's bytes and the line number of the good line (None when there is none or it
    cannot survive the encoding). Each line ends with its own line end."""
    lines = [draw(st.sampled_from(headers))]
    for _ in range(draw(st.integers(0, 10))):
        sep = draw(st.sampled_from([",", "\t", " ", "  "]))
        lines.append(sep.join(draw(st.lists(st.sampled_from(NASTY), max_size=7))))
    if draw(st.booleans()):  # one huge line somewhere
        at = draw(st.integers(1, len(lines)))
        lines.insert(at, draw(st.sampled_from(["x", "片", ",", "4 "])) * HUGE)
    at = draw(st.integers(1, len(lines)))
    if good is not None:
        lines.insert(at, good)
    ends = [draw(ENDS) for _ in lines]
    text = "".join(line + end for line, end in zip(lines, ends))
    good_line = None
    if good is not None:  # a "\r" end then an empty line's "\n" make one "\r\n": count as read
        before = "".join(line + end for line, end in zip(lines[:at], ends[:at]))
        good_line = before.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    encoding = draw(ENCODINGS)
    data = text.encode(encoding, errors="replace")
    if encoding not in ("utf-8", "utf-8-sig", "gbk"):
        good_line = None
    return data, good_line


def _file(tmp_path_factory, name: str, data: bytes) -> Path:
    path = tmp_path_factory.getbasetemp() / "模糊 测试" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def _max_line(data: bytes) -> int:
    """An upper bound on the line number any message may give (every \\r and \\n ends one)."""
    return data.count(b"\n") + data.count(b"\r") + 1


def _read(reader, path: Path, data: bytes):
    """Run a reader; check what a user would see. Returns its result, or None when it refused
    the whole file."""
    try:
        result = reader(path)
    except FeasstmError as exc:
        assert str(exc).startswith(str(path)), str(exc)[:200]
        assert exc.line is None or 1 <= exc.line <= _max_line(data) + 1
        assert len(str(exc)) < 2000, "an error must stay one readable line"
        return None
    problems = result[1]
    for p in problems:
        assert p.path == str(path)
        assert 1 <= p.line <= _max_line(data), str(p)[:200]  # a rejected line is named
        assert len(str(p)) < 2000, "a problem must stay one readable line"
        assert "\n" not in str(p) and "\r" not in str(p)
    return result


# ---------------------------------------------------------------------------- FAF label TXT

TXT_HEADERS = ["", "图片 标签", "name code", "000001.jpg 4", "\ufeff000001 7"]


@FUZZ
@given(doc=documents(TXT_HEADERS, good="好的 000777.jpg 5"))
def test_faf_txt_survives_hostile_files(tmp_path_factory, doc):
    data, good_line = doc
    result = _read(read_faf_txt, _file(tmp_path_factory, "标签.txt", data), data)
    if result is None:
        return
    lines, problems = result
    assert all(1 <= t.line <= _max_line(data) and t.code in range(8) for t in lines)
    if good_line is not None:
        assert any(t.name == "好的 000777.jpg" and t.code == 5 and t.line == good_line
                   for t in lines), (good_line, [(t.line, t.name[:20]) for t in lines])


# ---------------------------------------------------------------------------- clip table CSV

CSV_HEADERS = ["clip,video,work,actor,role,group", "clip\tvideo\twork\tactor\trole\tgroup",
               "clip,video,work,actor,role,group,start_s,end_s", "group,clip,video", "",
               "CLIP , Video,work,actor,role,group"]


@FUZZ
@given(doc=documents(CSV_HEADERS))
def test_clip_table_survives_hostile_files(tmp_path_factory, doc):
    data, _ = doc
    result = _read(read_clip_table, _file(tmp_path_factory, "片段 表.csv", data), data)
    if result is not None:
        rows, _ = result
        assert all(2 <= r.line <= _max_line(data) for r in rows)
        assert len({r.clip for r in rows}) == len(rows)


# ---------------------------------------------------------------------------- ratings CSV

RATING_HEADERS = ["clip,rater,score,description", "clip,rater,score,description,frames",
                  "clip\trater\tscore\tdescription", "Clip , RATER,Score,Description",
                  "rater,clip", "", "clip,rater,score,description,clip"]


@FUZZ
@given(doc=documents(RATING_HEADERS, good="片段 一,甲,4,眉头先皱后舒展"))
def test_ratings_csv_survives_hostile_files(tmp_path_factory, doc):
    data, good_line = doc
    result = _read(asa.read_ratings_csv, _file(tmp_path_factory, "评分.csv", data), data)
    if result is None:
        return
    rows, _ = result
    assert all(1 <= r.line <= _max_line(data) and r.score in range(1, 6) for r in rows)
    assert len({(r.clip, r.rater) for r in rows}) == len(rows)


@FUZZ
@given(data=st.binary(max_size=400))
def test_readers_survive_random_bytes(tmp_path_factory, data):
    for reader, name in ((read_faf_txt, "字节.txt"), (read_clip_table, "字节.csv"),
                         (asa.read_ratings_csv, "评分 字节.csv")):
        _read(reader, _file(tmp_path_factory, name, data), data)


@pytest.mark.parametrize("reader", [read_faf_txt, read_clip_table, asa.read_ratings_csv],
                         ids=["faf_txt", "clip_csv", "ratings_csv"])
@pytest.mark.parametrize("case", ["nul", "huge_line", "mixed_ends", "utf16", "empty", "folder"])
def test_named_hostile_inputs(tmp_path_factory, reader, case):
    """The cases the fuzzers reach by chance, each once for sure."""
    header = {read_faf_txt: "000001.jpg 4", read_clip_table: "clip,video,work,actor,role,group",
              asa.read_ratings_csv: "clip,rater,score,description"}[reader]
    data = {
        "nul": f"{header}\nab\x00cd,1\n".encode(),
        "huge_line": f"{header}\n{'x' * HUGE}\nlast 4\n".encode(),
        "mixed_ends": f"{header}\r\nbad line\rsecond bad\nthird,bad\r\n".encode(),
        "utf16": f"{header}\n".encode("utf-16"),
        "empty": b"",
        "folder": b"",
    }[case]
    path = _file(tmp_path_factory, f"{case} {reader.__name__}.txt", data)
    if case == "folder":
        path.unlink()
        path.mkdir()
    result = _read(reader, path, data)
    if case == "mixed_ends" and result is not None:
        lines = {p.line for p in result[1]} | {getattr(r, "line", 0) for r in result[0]}
        assert lines <= {1, 2, 3, 4}


# ---------------------------------------------------------------------------- ratings import


@pytest.fixture(scope="module")
def rated_project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("评分 项目") / "项目 一"
    store = Store.create(folder, annotator="tester")
    store.add_clip(Clip("片段 一", group="A"))
    store.add_frames("片段 一", [(i, None, None, None) for i in range(10)])
    rdb.set_rater(store, "甲", "A")
    yield store
    store.close()


@settings(derandomize=True, deadline=None, max_examples=40, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(doc=documents(RATING_HEADERS[:2], good="片段 一,甲,4,眉头先皱后舒展"))
def test_importing_hostile_ratings_never_breaks_the_project(tmp_path_factory, rated_project,
                                                            doc):
    data, good_line = doc
    path = _file(tmp_path_factory, "导入 评分.csv", data)
    try:
        result = asa.import_ratings(rated_project, path)
    except FeasstmError as exc:
        assert str(exc).startswith(str(path))
        return
    assert all(p.path == str(path) and 0 <= p.line <= _max_line(data) for p in result.problems)
    assert all(p.line >= 1 for p in result.problems if "only a header" not in p.reason)
    assert rated_project.integrity_check() == []
    if good_line is not None:
        assert rdb.rating(rated_project, "片段 一", "甲").score is not None
