"""FEASSTM-ASA: complete ratings, totals, checks, ratings CSV import, the asa/*.csv tables."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from projects import make_project

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.ratings import asa
from feasstm_gui.core.store import ratings as rdb

A1, A2, B1 = "片段 甲", "=片段 乙", "片段 丙"


@pytest.fixture
def store(cjk_dir):
    s = make_project(cjk_dir / "项目", {A1: ("演员 一", "A"), A2: ("演员 二", "A"),
                                        B1: ("演员 一", "B")})
    for name, group in (("r1", "A"), ("r2", "A"), ("评分员", "A"), ("r4", "B"), ("r5", "B")):
        rdb.set_rater(s, name, group)
    yield s
    s.close()


def fids(store, clip):
    return [f.id for f in store.frames(clip)]


def rate(store, clip, rater, score, picks=None, text="表情由平静转为愤怒"):
    rdb.set_score(store, clip, rater, score)
    rdb.set_description(store, clip, rater, text)
    rdb.set_picks(store, clip, rater, picks if picks is not None else fids(store, clip)[:5])
    asa.complete_rating(store, clip, rater)


def test_a_rating_needs_score_description_and_five_picks(store):
    with pytest.raises(FeasstmError) as err:
        asa.complete_rating(store, A1, "r1")
    msg = str(err.value)
    assert msg.startswith(f"clip '{A1}', rater 'r1': the rating cannot be completed")
    assert "no score" in msg and "no description" in msg and "0 of 5 frames picked" in msg
    rdb.set_score(store, A1, "r1", 3)
    rdb.set_description(store, A1, "r1", "眉头紧锁")
    rdb.set_picks(store, A1, "r1", fids(store, A1)[:4])
    with pytest.raises(FeasstmError, match="4 of 5 frames picked"):
        asa.complete_rating(store, A1, "r1")
    asa.toggle_pick(store, A1, "r1", fids(store, A1)[6])
    asa.complete_rating(store, A1, "r1")
    assert rdb.rating(store, A1, "r1").completed


def test_rater_outside_the_clips_group_cannot_complete(store):
    rdb.set_score(store, A1, "r4", 3)
    with pytest.raises(FeasstmError, match="rater 'r4' is in group 'B', the clip in group 'A'"):
        asa.complete_rating(store, A1, "r4")
    with pytest.raises(FeasstmError, match="rater 'nobody' has no group"):
        asa.complete_rating(store, A1, "nobody")


def test_toggle_pick_fills_the_first_free_rank_and_refuses_bad_frames(store):
    f = fids(store, A1)
    for fid in f[:5]:
        asa.toggle_pick(store, A1, "r1", fid)
    with pytest.raises(FeasstmError, match="5 frames are picked already"):
        asa.toggle_pick(store, A1, "r1", f[5])
    assert asa.toggle_pick(store, A1, "r1", f[1]) == {1: f[0], 3: f[2], 4: f[3], 5: f[4]}
    assert asa.toggle_pick(store, A1, "r1", f[6])[2] == f[6]
    store.set_deletion([f[7]], "blur", True)
    asa.toggle_pick(store, A1, "r1", f[6])
    with pytest.raises(FeasstmError, match=r"the frame \(frame 21\) was deleted \(blur\)"):
        asa.toggle_pick(store, A1, "r1", f[7])
    store.set_irrelevant([f[5]], True)
    with pytest.raises(FeasstmError, match="marked irrelevant"):
        asa.toggle_pick(store, A1, "r1", f[5])
    with pytest.raises(FeasstmError, match="not a frame of the clip"):
        asa.toggle_pick(store, A1, "r1", fids(store, B1)[0])
    # each toggle was one undo step of the rater
    store.undo("r1")
    assert rdb.rating(store, A1, "r1").picks.get(2) == f[6]


def test_totals_sum_only_complete_clips(store):
    rate(store, A1, "r1", 4)
    rate(store, A1, "r2", 5)
    rate(store, A1, "评分员", 3)
    rate(store, A2, "r1", 2)
    rate(store, A2, "r2", 2)
    rdb.set_score(store, A2, "评分员", 5)  # started, not completed: not counted
    by = {t.clip: t for t in asa.totals(store)}
    assert (by[A1].n_raters, by[A1].group_raters, by[A1].complete, by[A1].total) == (3, 3, True, 12)
    assert (by[A2].n_raters, by[A2].complete, by[A2].total) == (2, False, None)
    assert by[A2].scores == {"r1": 2, "r2": 2}
    assert (by[B1].n_raters, by[B1].complete, by[B1].total) == (0, False, None)
    actors = {a.actor: a for a in asa.actor_totals(asa.totals(store))}
    assert actors["演员 一"].clips == [A1, B1]
    assert (actors["演员 一"].complete, actors["演员 一"].mean_total) == (1, 12.0)
    assert actors["演员 二"].mean_total is None


def test_a_clip_is_complete_with_four_raters_only_when_all_four_rated(store):
    rdb.set_rater(store, "r6", "B")
    rdb.set_rater(store, "r7", "B")
    for name, score in (("r4", 5), ("r5", 5), ("r6", 4)):
        rate(store, B1, name, score)
    t = {t.clip: t for t in asa.totals(store)}[B1]
    assert (t.n_raters, t.group_raters, t.complete, t.total) == (3, 4, False, None)
    rate(store, B1, "r7", 1)
    t = {t.clip: t for t in asa.totals(store)}[B1]
    assert (t.n_raters, t.complete, t.total) == (4, True, 15)


def test_check_ratings_names_clip_and_rater(store):
    f = fids(store, A1)
    rate(store, A1, "r1", 4)
    store.set_deletion([f[2]], "blur", True)  # a pick deleted after the rating was completed
    rate(store, B1, "r4", 3)
    rdb.set_rater(store, "r4", "A")  # moved to another group afterwards
    problems = asa.check_ratings(store)
    assert (f"clip '{A1}', rater 'r1': completed, but pick 3 (frame 6) was deleted (blur); "
            "pick another frame") in problems
    assert (f"clip '{B1}', rater 'r4': rater 'r4' is in group 'A', the clip in 'B'; "
            "the rating is not counted") in problems
    assert "group 'B' has 1 rater(s) (r5); agreement statistics need at least two" in problems


def test_score_rows_feed_the_agreement_statistics(store):
    from feasstm_gui.core.ratings.agreement import score_agreement

    rate(store, A1, "r1", 4)
    rate(store, A1, "r2", 5)
    rate(store, A2, "r1", 2)
    rate(store, A2, "r2", 1)
    rows = asa.score_rows(store)
    assert rows == [(A1, "r1", 4, "A"), (A1, "r2", 5, "A"), (A2, "r1", 2, "A"),
                    (A2, "r2", 1, "A")]
    result = score_agreement(rows)
    assert result["groups"]["A"]["n_raters"] == 2


# ------------------------------------------------------------------------------ ratings CSV


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_import_ratings_with_frames_completes_them(store, cjk_dir):
    path = write(cjk_dir / "评分 表.csv",
                 "clip,rater,score,description,frames\n"
                 f"{A1},r1,4,\"眉头紧锁，\n嘴角下垂\",0;3;6;9;12\n"
                 f"{B1},r4,2,平淡,21;18;15;12;9\n")
    result = asa.import_ratings(store, path)
    assert (result.done, result.problems, result.exit_status) == (2, [], 0)
    r = rdb.rating(store, A1, "r1")
    assert (r.score, r.description, r.completed) == (4, "眉头紧锁，\n嘴角下垂", True)
    assert [store.frame_key(f)[1] for f in r.picked_frames()] == [0, 3, 6, 9, 12]
    assert [store.frame_key(f)[1] for f in rdb.rating(store, B1, "r4").picked_frames()] == [
        21, 18, 15, 12, 9]
    # audited, not on anybody's undo stack
    assert store.can_undo("r1") is None
    assert store.can_undo("tester").description == "rater r5 in group B"
    assert any("import rating" in s.description for s in store.history())
    # importing the same file again changes nothing
    assert asa.import_ratings(store, path).problems == []


def test_import_reports_each_bad_line_with_file_line_clip_and_rater(store, cjk_dir):
    f = fids(store, A1)
    store.set_deletion([f[1]], "blur", True)
    path = write(cjk_dir / "bad.csv",
                 "\ufeffClip,Rater,Score,Description,Frames\n"
                 f"{A1},r1,7,太好了,0;6;9;12;15\n"
                 f"{A1},stranger,3,一般,0;6;9;12;15\n"
                 f"{A1},r2,3,一般,0;3;6;9;12\n"
                 f"{A1},r4,3,一般,0;6;9;12;15\n"
                 f"没有,r1,3,x,\n"
                 f"{A2},r1,3,,0;6;9;12;15\n"
                 f"{A2},r1,4,again,\n"
                 f"{A2},r2,five,x,\n")
    result = asa.import_ratings(store, path)
    lines = [str(p) for p in result.problems]
    assert lines[0].startswith(f"{path}:2: clip '{A1}', rater 'r1': score '7' is not a score 1-5")
    assert f"{path}:8: clip '{A2}', rater 'r1': already rated at line 7; the first line is kept" \
        in lines
    assert any(s.startswith(f"{path}:9: clip '{A2}', rater 'r2': score 'five'") for s in lines)
    assert (f"{path}:3: clip '{A1}', rater 'stranger': rater 'stranger' has no group; add the "
            "rater to the clip's group first (feasstm raters PROJECT add 'stranger' --group G); "
            "line skipped") in lines
    assert (f"{path}:4: clip '{A1}', rater 'r2': pick 2 (frame 3) was deleted (blur); pick "
            "another frame") in lines
    assert (f"{path}:4: clip '{A1}', rater 'r2': imported but not completed: 4 of 5 frames "
            "picked") in lines
    assert (f"{path}:5: clip '{A1}', rater 'r4': rater 'r4' is in group 'B', the clip in group "
            "'A'; line skipped") in lines
    assert f"{path}:6: clip '没有', rater 'r1': no such clip in the project; line skipped" in lines
    assert (f"{path}:7: clip '{A2}', rater 'r1': imported but not completed: no description of "
            "the actor's expression changes") in lines
    assert result.done == 2 and result.exit_status == 1
    r2 = rdb.rating(store, A1, "r2")
    assert r2.score == 3 and not r2.completed and 2 not in r2.picks and len(r2.picks) == 4


def test_import_of_nothing_usable_fails(store, cjk_dir):
    path = write(cjk_dir / "x.csv", "clip,rater,score,description\n" f"{A1},r1,0,x\n")
    assert asa.import_ratings(store, path).exit_status == 2
    empty = write(cjk_dir / "h.csv", "clip,rater,score,description\n")
    result = asa.import_ratings(store, empty)
    assert result.exit_status == 2 and "only a header" in str(result.problems[0])
    with pytest.raises(FeasstmError, match="missing column"):
        asa.import_ratings(store, write(cjk_dir / "y.csv", "clip,score\n"))
    with pytest.raises(FeasstmError, match="empty file"):
        asa.import_ratings(store, write(cjk_dir / "z.csv", ""))


def test_import_reads_gbk_and_tabs(store, cjk_dir):
    path = write(cjk_dir / "gbk.csv", f"clip\trater\tscore\tdescription\n{A1}\tr1\t5\t很好\n",
                 encoding="gbk")
    result = asa.import_ratings(store, path)
    assert result.done == 1
    assert rdb.rating(store, A1, "r1").description == "很好"


# ------------------------------------------------------------------------------ asa/*.csv


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_write_asa_tables(store, cjk_dir):
    f = fids(store, A1)
    rate(store, A1, "r1", 4, text="-突然大笑")
    rate(store, A1, "r2", 5)
    rate(store, A1, "评分员", 3, picks=[f[7], f[6], f[5], f[4], f[3]])
    rate(store, A2, "r1", 2)
    rate(store, B1, "r4", 1)
    rdb.set_score(store, B1, "r5", 3)  # not completed
    store.set_deletion([f[7]], "blur", True)  # not in faces/ any more
    image_names = {fid: f"{i + 1:06d}.jpg" for i, fid in enumerate(f[:7])}
    out = cjk_dir / "导出" / "asa"
    paths = asa.write_asa_tables(store, out, {A1: "train", A2: "test", B1: "train"}, image_names)
    assert [p.name for p in paths] == ["ratings.csv", "selected_frames.csv", "totals.csv"]
    assert read_csv(out / "ratings.csv") == [
        ["clip", "group", "rater", "score", "description"],
        [A1, "A", "r1", "4", "'-突然大笑"],
        [A1, "A", "r2", "5", "表情由平静转为愤怒"],
        [A1, "A", "评分员", "3", "表情由平静转为愤怒"],
        ["'" + A2, "A", "r1", "2", "表情由平静转为愤怒"],
        [B1, "B", "r4", "1", "表情由平静转为愤怒"],
    ]
    picks = read_csv(out / "selected_frames.csv")
    assert picks[0] == ["clip", "rater", "rank", "source frame index", "image name"]
    assert picks[1:6] == [[A1, "r1", str(k), str(3 * (k - 1)), f"{k:06d}.jpg"]
                          for k in range(1, 6)]
    assert picks[11:13] == [[A1, "评分员", "1", "21", ""], [A1, "评分员", "2", "18", "000007.jpg"]]
    assert len(picks) == 1 + 5 * 5
    assert read_csv(out / "totals.csv") == [
        ["clip", "actor", "group", "n_raters", "complete", "total", "split"],
        [A1, "演员 一", "A", "3", "true", "12", "train"],
        ["'" + A2, "演员 二", "A", "1", "false", "", "test"],
        [B1, "演员 一", "B", "1", "false", "", "train"],
    ]
    raw = (out / "totals.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw


def test_write_asa_tables_only_for_exported_clips(store, cjk_dir):
    rate(store, A1, "r1", 4)
    out = cjk_dir / "asa"
    asa.write_asa_tables(store, out, {A2: "test"}, {})
    assert read_csv(out / "ratings.csv") == [["clip", "group", "rater", "score", "description"]]
    assert [r[0] for r in read_csv(out / "totals.csv")] == ["clip", "'" + A2]


def test_exported_ratings_csv_imports_back(store, cjk_dir):
    rate(store, A1, "r1", 4, text="=SUM(A1)")
    out = cjk_dir / "asa"
    asa.write_asa_tables(store, out, {A1: "train", A2: "test", B1: "train"}, {})
    rdb.set_description(store, A1, "r1", "changed")
    result = asa.import_ratings(store, out / "ratings.csv")
    assert result.problems == [] and result.done == 1
    assert rdb.rating(store, A1, "r1").description == "=SUM(A1)"
