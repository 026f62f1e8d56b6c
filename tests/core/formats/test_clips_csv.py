"""Reading and writing the clip table (clip, video, work, actor, role, group, start_s, end_s)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.formats.clips_csv import ClipRow, read_clip_table, write_clip_table


@pytest.fixture
def videos(cjk_dir) -> dict[str, Path]:
    """Video files to point at (the table reader only checks that they exist)."""
    folder = cjk_dir / "视频 文件"
    folder.mkdir()
    out = {}
    for name in ("周迅 片段.mp4", "张三.avi", "长 视频.mkv"):
        (folder / name).write_bytes(b"\x00" * 16)
        out[name] = folder / name
    return out


GOOD_AND_BAD = [
    " Clip ,VIDEO,work,actor,role,Group,start_s,end_s,split",  # 1 any case, spaces, extra column
    "周迅 角色 一,视频 文件/周迅 片段.mp4,如懿传,周迅,如懿,A,,,train",  # 2 good, relative
    "张三 B,{abs},作品 二,张三,角色,B,1.5,20,test",  # 3 good, absolute, cut
    "",  # 4 blank
    "坏:名字,视频 文件/张三.avi,w,a,r,A,,,",  # 5 bad clip id
    ",视频 文件/张三.avi,w,a,r,A,,,",  # 6 no clip id
    "缺 视频,视频 文件/没有.mp4,w,a,r,A,,,",  # 7 video missing
    "时间 坏,视频 文件/长 视频.mkv,w,a,r,C,abc,10,",  # 8 start not a number
    "时间 反,视频 文件/长 视频.mkv,w,a,r,C,30,10,",  # 9 end before start
    "时间 负,视频 文件/长 视频.mkv,w,a,r,C,-1,10,",  # 10 negative
    "周迅 角色 一,视频 文件/长 视频.mkv,w,a,r,C,,,",  # 11 duplicate clip id
    '"引号, 片段",,"作品, 续",某人,某角,C,,5,',  # 12 good: quoted commas, no video, end only
    ",,,,,,,,",  # 13 an empty row (Excel leaves these)
]


def write_table(path: Path, lines: list[str], encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.write_bytes(newline.join(lines).encode(encoding) + newline.encode())
    return path


@pytest.mark.parametrize(
    "encoding,newline", [("utf-8", "\n"), ("utf-8-sig", "\r\n"), ("gbk", "\r\n")]
)
def test_good_and_bad_rows(cjk_dir, videos, encoding, newline):
    lines = [line.replace("{abs}", str(videos["张三.avi"])) for line in GOOD_AND_BAD]
    csv_path = write_table(cjk_dir / "片段 表.csv", lines, encoding, newline)

    rows, problems = read_clip_table(csv_path)

    assert rows == [
        ClipRow(
            "周迅 角色 一", videos["周迅 片段.mp4"], "如懿传", "周迅", "如懿", "A", None, None, 2
        ),
        ClipRow("张三 B", videos["张三.avi"], "作品 二", "张三", "角色", "B", 1.5, 20.0, 3),
        ClipRow("引号, 片段", None, "作品, 续", "某人", "某角", "C", None, 5.0, 12),
    ]
    assert rows[0].video.is_absolute()
    p = str(csv_path)
    assert [str(x) for x in problems] == [
        f"{p}:5: bad clip id '坏:名字': the clip id contains ':', not allowed in file names; "
        "row skipped",
        f"{p}:6: no clip id; row skipped",
        f"{p}:7: video file not found: {cjk_dir / '视频 文件' / '没有.mp4'}; row skipped",
        f"{p}:8: start_s 'abc' is not a number of seconds; row skipped",
        f"{p}:9: end_s 10 is not after start_s 30; row skipped",
        f"{p}:10: start_s '-1' is negative; row skipped",
        f"{p}:11: duplicate clip '周迅 角色 一' (first on line 2); row skipped",
    ]


def test_columns_in_another_order_and_unknown_column(cjk_dir, videos):
    csv_path = write_table(
        cjk_dir / "乱序.csv",
        [
            "group,role,actor,work,video,clip,备注",
            "A,如懿,周迅,如懿传,视频 文件/周迅 片段.mp4,片段 一,随便",
        ],
    )
    rows, problems = read_clip_table(csv_path)
    assert [(r.clip, r.video, r.group, r.start_s, r.line) for r in rows] == [
        ("片段 一", videos["周迅 片段.mp4"], "A", None, 2)
    ]
    assert [str(p) for p in problems] == [f"{csv_path}:1: column '备注' is not used"]


def test_row_with_too_many_fields(cjk_dir, videos):
    csv_path = write_table(
        cjk_dir / "多列.csv",
        ["clip,video,work,actor,role,group", "片段,,w,a,r,A,多余", "片段 二,,w,a,r,A,,"],
    )
    rows, problems = read_clip_table(csv_path)
    assert [r.clip for r in rows] == ["片段 二"]  # empty trailing fields are harmless
    assert [str(p) for p in problems] == [
        f"{csv_path}:2: 7 fields but the header has 6; row skipped"
    ]


def test_end_without_start_must_be_positive(cjk_dir):
    csv_path = write_table(
        cjk_dir / "零.csv", ["clip,video,work,actor,role,group,end_s", "片段,,w,a,r,A,0"]
    )
    rows, problems = read_clip_table(csv_path)
    assert rows == []
    assert [str(p) for p in problems] == [
        f"{csv_path}:2: end_s 0 is not after start_s 0; row skipped"
    ]


def test_tab_separated_table(cjk_dir, videos):
    csv_path = write_table(
        cjk_dir / "制表符.csv",
        ["clip\tvideo\twork\tactor\trole\tgroup", "片段\t视频 文件/张三.avi\tw\ta\tr\tB"],
    )
    rows, problems = read_clip_table(csv_path)
    assert [(r.clip, r.video) for r in rows] == [("片段", videos["张三.avi"])] and problems == []


def test_line_numbers_after_a_quoted_line_break(cjk_dir):
    csv_path = write_table(
        cjk_dir / "换行.csv",
        ["clip,video,work,actor,role,group", '片段 一,,"两行', '作品",a,r,A', "坏:,,w,a,r,A"],
    )
    rows, problems = read_clip_table(csv_path)
    assert [(r.clip, r.work, r.line) for r in rows] == [("片段 一", "两行\n作品", 2)]
    assert [p.line for p in problems] == [4]


@pytest.mark.parametrize(
    "lines,missing",
    [
        (["clip,video,work,actor,role"], "missing column(s) group"),
        (["片段,视频,作品"], "missing column(s) clip, video, work, actor, role, group"),
        ([], "empty file"),
        (["", "  ", ",,,"], "empty file"),
    ],
)
def test_not_a_clip_table_raises_naming_the_file(cjk_dir, lines, missing):
    csv_path = write_table(cjk_dir / "坏 表.csv", lines)
    with pytest.raises(FeasstmError) as info:
        read_clip_table(csv_path)
    assert str(info.value).startswith(f"{csv_path}")
    assert missing in str(info.value)
    assert "the header must name clip, video, work, actor, role, group" in str(info.value)


def test_duplicate_column_raises(cjk_dir):
    csv_path = write_table(cjk_dir / "重复.csv", ["clip,video,work,actor,role,group,Clip"])
    with pytest.raises(FeasstmError, match="column 'clip' appears twice"):
        read_clip_table(csv_path)


def test_missing_file_and_binary_file_name_the_file(cjk_dir):
    with pytest.raises(FeasstmError) as info:
        read_clip_table(cjk_dir / "没有.csv")
    assert str(info.value).startswith(f"{cjk_dir / '没有.csv'}: cannot read the file")
    binary = cjk_dir / "二进制.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(FeasstmError) as info:
        read_clip_table(binary)
    assert str(info.value).startswith(f"{binary}: not UTF-8 or GBK text")


def test_write_and_read_back(cjk_dir, videos, tmp_path):
    outside = tmp_path / "别处 视频.mp4"
    outside.write_bytes(b"\x00")
    rows = [
        ClipRow(
            "周迅 角色 一", videos["周迅 片段.mp4"], "如懿传", "周迅", "如懿", "A", None, None, 0
        ),
        ClipRow("引号, 片段", outside, '作品 "续"', "某人", "某角", "B", 0.1, 12.25, 0),
        ClipRow("无 视频", None, "w", "a", "r", "", None, 3.0, 0),
    ]
    csv_path = cjk_dir / "往返.csv"
    assert write_clip_table(csv_path, rows) == csv_path
    text = csv_path.read_bytes().decode("utf-8")
    assert text.startswith("clip,video,work,actor,role,group,start_s,end_s\n")
    assert "视频 文件/周迅 片段.mp4" in text  # relative inside the table's folder
    assert str(outside) in text  # absolute outside it
    back, problems = read_clip_table(csv_path)
    assert problems == []
    assert [(r.clip, r.video, r.work, r.start_s, r.end_s, r.line) for r in back] == [
        (r.clip, r.video, r.work, r.start_s, r.end_s, i) for i, r in enumerate(rows, start=2)
    ]
    write_clip_table(csv_path, rows, bom=True)
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_clip_table(csv_path)[0] == back
    assert sorted(p.name for p in cjk_dir.iterdir()) == sorted(["往返.csv", "视频 文件"])


def test_write_refuses_a_bad_clip_id(cjk_dir):
    csv_path = cjk_dir / "坏.csv"
    with pytest.raises(FeasstmError, match="bad clip id"):
        write_clip_table(csv_path, [ClipRow("a/b", None, "", "", "", "", None, None, 0)])
    assert not csv_path.exists()


# ---------------------------------------------------------------------------- random input

CELLS = st.sampled_from(
    [
        "",
        "片段",
        "坏:名",
        "clip",
        "video",
        "1.5",
        "-2",
        "nan",
        "abc",
        '"',
        '"a,b"',
        "视频/没有.mp4",
        " ",
    ]
)


@st.composite
def tables(draw) -> str:
    header = draw(
        st.sampled_from(
            [
                "clip,video,work,actor,role,group",
                "clip,video,work,actor,role,group,start_s,end_s",
                "group,clip,end_s,video,role,actor,work",
                "clip,video",
                "",
            ]
        )
    )
    rows = [",".join(draw(st.lists(CELLS, max_size=9))) for _ in range(draw(st.integers(0, 8)))]
    return draw(st.sampled_from(["\n", "\r\n"])).join([header, *rows])


def _write(tmp_path_factory, name: str, data: bytes) -> Path:
    path = tmp_path_factory.getbasetemp() / "随机 表格" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def _check(path: Path) -> None:
    try:
        rows, problems = read_clip_table(path)
    except FeasstmError as exc:
        assert str(exc).startswith(f"{path}")
        return
    assert all(p.line >= 0 and p.path == str(path) for p in problems)
    assert all(r.line >= 2 for r in rows)
    assert len({r.clip for r in rows}) == len(rows)


RANDOM = settings(
    derandomize=True,
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@RANDOM
@given(text=tables(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
def test_random_tables_never_crash(tmp_path_factory, text, encoding):
    _check(_write(tmp_path_factory, "表.csv", text.encode(encoding)))


@RANDOM
@given(data=st.binary(max_size=300))
def test_random_bytes_never_crash(tmp_path_factory, data):
    _check(_write(tmp_path_factory, "字节.csv", data))
