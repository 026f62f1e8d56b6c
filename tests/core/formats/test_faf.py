"""Reading hand-made FEASSTM-FAF folders (both layouts) and their label TXT files.

Every test builds real 100x100 JPEG crops of the test photographs under a path with Chinese
characters and spaces, and asserts exactly which images, codes and problems come back.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.formats.faf import (
    FafImage,
    TxtLine,
    decode_text,
    natural_key,
    read_faf_txt,
    scan_faf_folder,
    write_faf_txt,
)
from feasstm_gui.core.ingest.images import read_image, write_jpeg

CLIP = "周迅 角色 一"


@pytest.fixture
def crops(face_images) -> list:
    """100x100 crops of the real face photographs."""
    out = []
    for name in ("obama", "biden", "messi5", "obama2", "astronaut", "camera"):
        image = read_image(face_images[name])
        assert image is not None
        out.append(cv2.resize(image, (100, 100), interpolation=cv2.INTER_AREA))
    return out


def make_images(folder: Path, names: list[str], crops: list) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, name in enumerate(names):
        path = folder / name
        if name.lower().endswith(".png"):
            ok, buf = cv2.imencode(".png", crops[i % len(crops)])
            path.write_bytes(buf.tobytes())
        else:
            write_jpeg(path, crops[i % len(crops)])
        out[name] = path
    return out


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def summary(images: list[FafImage]) -> list[tuple[str, int, int]]:
    return [(i.name, i.code, i.line) for i in images]


# The hand-made clip of DATASET.md: GBK, CRLF, a Chinese header, tabs and runs of spaces.
GBK_LINES = [
    "图片\t标签",  # 1 header
    "000001.jpg 4",  # 2
    "000002\t\t7",  # 3 name without extension, tabs
    "000003.jpg   9",  # 4 unknown code
    "000004.jpg",  # 5 no code
    "",  # 6 blank
    "000099.jpg 1",  # 7 no such image
    "000001.jpg 5",  # 8 duplicate
    "000006.jpg 2",  # 9 the truncated image
    "000010.jpg 0",  # 10 listed, unlabelled
    "  周迅 照片 甲.jpg  3  ",  # 11 a name with spaces
]
IMAGE_NAMES = [
    "000001.jpg",
    "000002.jpg",
    "000003.jpg",
    "000004.jpg",
    "000005.jpg",
    "000006.jpg",
    "000010.jpg",
    "周迅 照片 甲.jpg",
]


@pytest.fixture
def gbk_folder(cjk_dir, crops) -> Path:
    root = cjk_dir / "手工 FAF"
    paths = make_images(root / CLIP, list(reversed(IMAGE_NAMES)), crops)
    truncate(paths["000006.jpg"])
    (root / f"{CLIP}.txt").write_bytes("\r\n".join(GBK_LINES).encode("gbk") + b"\r\n")
    return root


def test_read_gbk_crlf_txt(gbk_folder):
    txt = gbk_folder / f"{CLIP}.txt"
    lines, problems = read_faf_txt(txt)
    assert lines == [
        TxtLine(2, "000001.jpg", 4),
        TxtLine(3, "000002", 7),
        TxtLine(7, "000099.jpg", 1),
        TxtLine(8, "000001.jpg", 5),
        TxtLine(9, "000006.jpg", 2),
        TxtLine(10, "000010.jpg", 0),
        TxtLine(11, "周迅 照片 甲.jpg", 3),
    ]
    assert [str(p) for p in problems] == [
        f"{txt}:1: header line skipped",
        f"{txt}:4: unknown code '9' for '000003.jpg' (expected 0-7)",
        f"{txt}:5: no code after '000004.jpg' (expected '<image name> <code>')",
    ]


def test_scan_folder_layout_with_txt_beside(gbk_folder):
    clips, problems = scan_faf_folder(gbk_folder)
    txt = gbk_folder / f"{CLIP}.txt"
    assert len(clips) == 1
    clip = clips[0]
    assert (clip.clip_id, clip.image_dir, clip.txt) == (CLIP, gbk_folder / CLIP, txt)
    assert summary(clip.images) == [
        ("000001.jpg", 4, 2),
        ("000002.jpg", 7, 3),
        ("000003.jpg", 0, 4),  # its line has an unknown code: imported, not labelled
        ("000004.jpg", 0, 5),  # its line has no code
        ("000005.jpg", 0, 0),  # not listed
        ("000010.jpg", 0, 10),  # listed with code 0
        ("周迅 照片 甲.jpg", 3, 11),
    ]
    assert all(i.path == gbk_folder / CLIP / i.name for i in clip.images)
    assert [str(p) for p in problems] == [
        f"{gbk_folder / CLIP / '000006.jpg'}:0: truncated JPEG (no end-of-image marker); not imported",
        f"{txt}:1: header line skipped",
        f"{txt}:4: unknown code '9' for '000003.jpg' (expected 0-7)",
        f"{txt}:5: no code after '000004.jpg' (expected '<image name> <code>')",
        f"{txt}:7: no image named '000099.jpg'",
        f"{txt}:8: duplicate line for 000001.jpg (first on line 2); ignored",
        f"{txt}:0: image 000005.jpg is not listed; imported unlabelled",
    ]


def test_scan_folder_layout_txt_inside_and_every_folder_problem(cjk_dir, crops):
    root = cjk_dir / "多 片段"
    make_images(root / "clip A 甲", ["000001.jpg", "000002.jpg", "000003.jpg", "笑脸.jpg"], crops)
    inside = root / "clip A 甲" / "labels.txt"
    # UTF-8 with BOM, \n ends; names without extension and in another case still match.
    inside.write_bytes("000001 1\n000002.jpg\t2\n000003.JPG 6\n笑脸 4\n".encode("utf-8-sig"))
    make_images(root / "无标签 片段", ["000002.jpg", "000001.jpg"], crops)
    make_images(root / "坏:名字", ["000001.jpg"], crops)
    (root / "空 文件夹").mkdir()
    (root / "孤儿.txt").write_text("000001.jpg 1\n", encoding="utf-8")
    make_images(root / "两个 TXT", ["000001.jpg"], crops)
    (root / "两个 TXT" / "a.txt").write_text("000001.jpg 1\n", encoding="utf-8")
    (root / "两个 TXT" / "b.txt").write_text("000001.jpg 2\n", encoding="utf-8")
    make_images(root / "同名", ["a.jpg", "a.png"], crops)
    (root / "同名.txt").write_text("a 3\n", encoding="utf-8")
    make_images(root / ".hidden", ["000001.jpg"], crops)

    clips, problems = scan_faf_folder(root)

    by_id = {c.clip_id: c for c in clips}
    assert sorted(by_id) == sorted(["clip A 甲", "无标签 片段", "两个 TXT", "同名"])
    assert [c.clip_id for c in clips] == sorted(by_id, key=natural_key)
    assert by_id["clip A 甲"].txt == inside
    assert summary(by_id["clip A 甲"].images) == [
        ("000001.jpg", 1, 1),
        ("000002.jpg", 2, 2),
        ("000003.jpg", 6, 3),
        ("笑脸.jpg", 4, 4),
    ]
    assert by_id["无标签 片段"].txt is None
    assert summary(by_id["无标签 片段"].images) == [("000001.jpg", 0, 0), ("000002.jpg", 0, 0)]
    assert summary(by_id["两个 TXT"].images) == [("000001.jpg", 0, 0)]
    assert summary(by_id["同名"].images) == [("a.jpg", 0, 0), ("a.png", 0, 0)]
    same = root / "同名.txt"
    assert sorted(str(p) for p in problems) == sorted(
        [
            f"{root / '无标签 片段'}:0: no 无标签 片段.txt beside this folder and no TXT inside it; "
            "2 image(s) imported unlabelled",
            f"{root / '坏:名字'}:0: bad clip id '坏:名字': the clip id contains ':', "
            "not allowed in file names; clip skipped",
            f"{root / '空 文件夹'}:0: no images in this folder; skipped",
            f"{root / '孤儿.txt'}:0: no clip folder named '孤儿'; TXT not used",
            f"{root / '两个 TXT'}:0: several TXT files (a.txt, b.txt), none named 两个 TXT.txt; "
            "1 image(s) imported unlabelled",
            f"{same}:1: 'a' matches several images (a.jpg, a.png); line not used",
            f"{same}:0: image a.jpg is not listed; imported unlabelled",
            f"{same}:0: image a.png is not listed; imported unlabelled",
        ]
    )


def test_txt_beside_wins_over_one_inside(cjk_dir, crops):
    root = cjk_dir / "两处"
    make_images(root / "片段", ["000001.jpg"], crops)
    (root / "片段.txt").write_text("000001.jpg 4\n", encoding="utf-8")
    (root / "片段" / "旧.txt").write_text("000001.jpg 5\n", encoding="utf-8")
    clips, problems = scan_faf_folder(root)
    assert summary(clips[0].images) == [("000001.jpg", 4, 1)]
    assert [str(p) for p in problems] == [
        f"{root / '片段' / '旧.txt'}:0: not used: {root / '片段.txt'} labels this clip"
    ]


def test_export_layout(cjk_dir, crops):
    root = cjk_dir / "导出 一"
    make_images(root / "faces" / CLIP, ["000001.jpg", "000002.jpg", "000003.jpg"], crops)
    make_images(root / "faces" / "张三 B", ["000001.jpg"], crops)
    (root / "annotations").mkdir()
    write_faf_txt(
        root / "annotations" / f"{CLIP}.txt",
        [("000001.jpg", 1), ("000002.jpg", 7), ("000003.jpg", 0)],
    )
    write_faf_txt(root / "annotations" / "孤儿.txt", [("000001.jpg", 1)])
    (root / "train.txt").write_text(f"{CLIP}/000001.jpg 1\n", encoding="utf-8")
    (root / "manifest.json").write_text("{}", encoding="utf-8")

    clips, problems = scan_faf_folder(root)

    assert [c.clip_id for c in clips] == sorted([CLIP, "张三 B"], key=natural_key)
    by_id = {c.clip_id: c for c in clips}
    assert by_id[CLIP].txt == root / "annotations" / f"{CLIP}.txt"
    assert by_id[CLIP].image_dir == root / "faces" / CLIP
    assert summary(by_id[CLIP].images) == [
        ("000001.jpg", 1, 1),
        ("000002.jpg", 7, 2),
        ("000003.jpg", 0, 3),
    ]
    assert summary(by_id["张三 B"].images) == [("000001.jpg", 0, 0)]
    assert sorted(str(p) for p in problems) == sorted(
        [
            f"{root / 'annotations' / '孤儿.txt'}:0: no folder faces/孤儿; TXT not used",
            f"{root / 'faces' / '张三 B'}:0: no annotations/张三 B.txt; 1 image(s) imported unlabelled",
        ]
    )


def test_a_clip_named_faces_is_the_folder_layout(cjk_dir, crops):
    root = cjk_dir / "片段们"
    make_images(root / "faces", ["000001.jpg"], crops)
    (root / "faces.txt").write_text("000001.jpg 2\n", encoding="utf-8")
    clips, problems = scan_faf_folder(root)
    assert [(c.clip_id, summary(c.images)) for c in clips] == [("faces", [("000001.jpg", 2, 1)])]
    assert problems == []


def test_clip_whose_images_are_all_damaged_is_skipped(cjk_dir, crops):
    root = cjk_dir / "坏 图"
    paths = make_images(root / "片段", ["000001.jpg", "000002.jpg"], crops)
    for path in paths.values():
        truncate(path)
    (root / "片段.txt").write_text("000001.jpg 1\n000002 2\n", encoding="utf-8")
    clips, problems = scan_faf_folder(root)
    assert clips == []
    assert [str(p) for p in problems] == [
        f"{paths['000001.jpg']}:0: truncated JPEG (no end-of-image marker); not imported",
        f"{paths['000002.jpg']}:0: truncated JPEG (no end-of-image marker); not imported",
        f"{root / '片段'}:0: no image could be read; clip skipped",
    ]


def test_txt_that_is_not_text(cjk_dir, crops):
    root = cjk_dir / "乱码"
    make_images(root / "片段", ["000001.jpg", "000002.jpg"], crops)
    txt = root / "片段.txt"
    txt.write_bytes(b"\x80\x81\xff 1\n")
    clips, problems = scan_faf_folder(root)
    assert clips[0].txt is None
    assert summary(clips[0].images) == [("000001.jpg", 0, 0), ("000002.jpg", 0, 0)]
    assert [str(p) for p in problems] == [
        f"{txt}:0: not UTF-8 or GBK text; save it as UTF-8 and try again; "
        "2 image(s) imported unlabelled"
    ]


def test_loose_images_beside_clip_folders_are_reported(cjk_dir, crops):
    root = cjk_dir / "散图"
    make_images(root / "片段", ["000001.jpg"], crops)
    make_images(root, ["x.jpg"], crops)
    (root / "片段.txt").write_text("000001.jpg 2\n", encoding="utf-8")
    clips, problems = scan_faf_folder(root)
    assert len(clips) == 1
    assert [str(p) for p in problems] == [
        f"{root}:0: 1 image(s) outside any clip folder skipped (first: x.jpg)"
    ]


@pytest.mark.parametrize("case", ["file", "missing", "empty", "images only", "empty clip dirs"])
def test_neither_layout_raises_naming_the_folder(cjk_dir, crops, case):
    target = cjk_dir / "不是 FAF"
    if case == "file":
        target.write_text("x", encoding="utf-8")
    elif case == "empty":
        target.mkdir()
    elif case == "images only":
        make_images(target, ["000001.jpg"], crops)
    elif case == "empty clip dirs":
        (target / "faces" / "片段").mkdir(parents=True)
        (target / "annotations").mkdir()
    with pytest.raises(FeasstmError) as info:
        scan_faf_folder(target)
    message = str(info.value)
    assert message.startswith(f"{target}: ")
    assert "expected (a) the export layout" in message and "(b) one folder" in message
    if case == "images only":
        assert "choose the folder that holds the clip folders" in message


def test_natural_order():
    names = ["000010.jpg", "000002.jpg", "img10.png", "img2.png", "000001.jpg"]
    assert sorted(names, key=natural_key) == [
        "000001.jpg",
        "000002.jpg",
        "000010.jpg",
        "img2.png",
        "img10.png",
    ]


# ---------------------------------------------------------------------------- text encodings


def test_decode_text_encodings(cjk_dir):
    text = "周迅 一.jpg 4\n"
    path = cjk_dir / "x.txt"
    assert decode_text(text.encode("utf-8"), path) == text
    assert decode_text(text.encode("utf-8-sig"), path) == text
    assert decode_text(text.encode("gbk"), path) == text
    for data, reason in [
        (b"\x80\x81\xff", "not UTF-8 or GBK text"),
        (text.encode("utf-16"), "UTF-16 text"),
        (b"abc\x00def", "NUL bytes"),
    ]:
        with pytest.raises(FeasstmError) as info:
            decode_text(data, path)
        assert str(info.value).startswith(f"{path}: ")
        assert reason in str(info.value)


def test_read_missing_txt_names_it(cjk_dir):
    with pytest.raises(FeasstmError) as info:
        read_faf_txt(cjk_dir / "没有.txt")
    assert str(info.value).startswith(f"{cjk_dir / '没有.txt'}: cannot read the file")


def test_header_forms(cjk_dir):
    txt = cjk_dir / "表头.txt"
    txt.write_text("\n\nimage label\n000001.jpg 1\nname code\n", encoding="utf-8")
    lines, problems = read_faf_txt(txt)
    assert lines == [TxtLine(4, "000001.jpg", 1)]
    assert [str(p) for p in problems] == [
        f"{txt}:3: header line skipped",  # first non-blank line
        f"{txt}:5: unknown code 'code' for 'name' (expected 0-7)",  # not first: a bad line
    ]
    txt.write_text("000001.jpg happy\n", encoding="utf-8")
    assert [str(p) for p in read_faf_txt(txt)[1]] == [
        f"{txt}:1: unknown code 'happy' for '000001.jpg' (expected 0-7)"
    ]


# ---------------------------------------------------------------------------- writing


def test_write_faf_txt_exact_bytes_and_round_trip(cjk_dir):
    txt = cjk_dir / "标注" / f"{CLIP}.txt"
    txt.parent.mkdir()
    rows = [("000001.jpg", 4), ("周迅 照片 甲.jpg", 0), ("000010.jpg", 7)]
    assert write_faf_txt(txt, rows) == txt
    assert txt.read_bytes() == "000001.jpg 4\n周迅 照片 甲.jpg 0\n000010.jpg 7\n".encode()
    assert [p.name for p in txt.parent.iterdir()] == [txt.name]
    lines, problems = read_faf_txt(txt)
    assert [(t.name, t.code) for t in lines] == rows and problems == []


@pytest.mark.parametrize(
    "row", [("a\nb.jpg", 1), (" a.jpg", 1), ("", 1), ("a.jpg", 8), ("a.jpg", "4")]
)
def test_write_faf_txt_refuses_rows_that_would_not_read_back(cjk_dir, row):
    txt = cjk_dir / "坏.txt"
    with pytest.raises(FeasstmError) as info:
        write_faf_txt(txt, [row])
    assert str(info.value).startswith(f"{txt}: ")
    assert not txt.exists()


# ---------------------------------------------------------------------------- random input

TOKENS = st.sampled_from(
    [
        "000001.jpg",
        "000002",
        "周迅 照片",
        "图片",
        "标签",
        "0",
        "4",
        "7",
        "8",
        "-1",
        "9",
        "x",
        "１",
        "3.5",
    ]
)
SEPARATORS = st.sampled_from([" ", "\t", "   ", " \t ", "\u3000"])


@st.composite
def txt_texts(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        tokens = draw(st.lists(TOKENS, max_size=4))
        lines.append(draw(SEPARATORS).join(tokens))
    return draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines)


def _write(tmp_path_factory, name: str, data: bytes) -> Path:
    path = tmp_path_factory.getbasetemp() / "随机 输入" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


@settings(
    derandomize=True,
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=txt_texts(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
def test_random_lines_never_crash(tmp_path_factory, text, encoding):
    path = _write(tmp_path_factory, "行.txt", text.encode(encoding))
    lines, problems = read_faf_txt(path)
    n_lines = len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    assert all(1 <= t.line <= n_lines and t.code in range(8) and t.name for t in lines)
    assert [t.line for t in lines] == sorted({t.line for t in lines})
    assert all(0 <= p.line <= n_lines and p.path == str(path) for p in problems)
    reported = {t.line for t in lines} | {p.line for p in problems}
    assert len(reported) == len(lines) + len(problems)  # one outcome per non-blank line


@settings(
    derandomize=True,
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.binary(max_size=200))
def test_random_bytes_never_crash(tmp_path_factory, data):
    path = _write(tmp_path_factory, "字节.txt", data)
    try:
        lines, problems = read_faf_txt(path)
    except FeasstmError as exc:
        assert str(exc).startswith(f"{path}: ")
        return
    assert all(t.line >= 1 and t.code in range(8) for t in lines)
    assert all(p.line >= 0 for p in problems)
