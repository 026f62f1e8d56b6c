"""Splits by whole clips or actors: closest fraction, seeded, stratified, from a file."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from export_helpers import ClipSpec, build_project
from hypothesis import given, settings
from hypothesis import strategies as st

from feasstm_gui.core.dataset.export import ExportOptions, plan_export
from feasstm_gui.core.dataset.split import choose_test_groups, read_split_file
from feasstm_gui.core.errors import FeasstmError

groups_strategy = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=3),
    st.dictionaries(st.integers(1, 7), st.integers(0, 40), max_size=3),
    min_size=0, max_size=9)


def sizes(groups):
    return {g: sum(c.values()) for g, c in groups.items()}


@settings(max_examples=150, deadline=None)
@given(groups_strategy, st.floats(0.05, 0.95), st.integers(0, 10))
def test_plain_split_reaches_the_closest_fraction_with_whole_groups(groups, fraction, seed):
    result = choose_test_groups(groups, fraction, seed)
    n = sizes(groups)
    total = sum(n.values())
    assert result.test <= {g for g in groups if n[g]}
    weighted = [g for g in groups if n[g]]
    if len(weighted) < 2:
        assert result.test == set()
        return
    got = sum(n[g] for g in result.test)
    assert 0 < got < total
    best = min(abs(sum(n[g] for g in combo) - fraction * total)
               for k in range(1, len(weighted))
               for combo in itertools.combinations(weighted, k))
    assert abs(got - fraction * total) == pytest.approx(best)
    assert choose_test_groups(groups, fraction, seed).test == result.test  # reproducible


def test_seed_changes_which_clips_not_how_many_images():
    groups = {f"c{i}": {1: 10} for i in range(20)}
    splits = {frozenset(choose_test_groups(groups, 0.2, seed).test) for seed in range(10)}
    assert len(splits) > 1
    assert all(len(s) == 4 for s in splits)


def test_edge_fractions():
    groups = {"a": {1: 3}, "b": {2: 5}, "empty": {}}
    assert choose_test_groups(groups, 0.0).test == set()
    assert choose_test_groups(groups, 1.0).test == {"a", "b"}
    with pytest.raises(FeasstmError, match="between 0 and 1"):
        choose_test_groups(groups, 1.5)
    one = choose_test_groups({"a": {1: 3}}, 0.2)
    assert one.test == set() and "only one clip has images" in one.notes[0]


def test_stratify_balances_codes():
    # half the clips hold mostly code 1, the other half mostly code 7
    groups = {}
    for i in range(10):
        groups[f"x{i}"] = {1: 20 + i, 7: 2}
        groups[f"y{i}"] = {7: 20 + i, 1: 2}

    def worst(test):
        per, in_test = Counter(), Counter()
        for g, codes in groups.items():
            for c, n in codes.items():
                per[c] += n
                in_test[c] += n if g in test else 0
        return max(abs(in_test[c] / per[c] - 0.2) for c in per)

    for seed in range(5):
        result = choose_test_groups(groups, 0.2, seed, stratify=True)
        assert worst(result.test) < 0.02 and result.notes == []
        total = sum(sizes(groups).values())
        assert abs(sum(sizes(groups)[g] for g in result.test) / total - 0.2) < 0.02


def test_stratify_says_when_whole_clips_cannot_balance():
    groups = {"a": {1: 50}, "b": {1: 50}, "c": {1: 50}, "d": {1: 40, 3: 10}}
    result = choose_test_groups(groups, 0.25, 0, stratify=True)
    assert len(result.notes) == 1
    assert "code 3 (Disgust)" in result.notes[0] and "all its images are in one clip" in result.notes[0]


def test_read_split_file(cjk_dir):
    f = cjk_dir / "split.csv"
    f.write_bytes("\ufeffclip,split\n片段 一,train\n片段 二, TEST \n\n".encode())
    assert read_split_file(f) == {"片段 一": "train", "片段 二": "test"}
    f.write_bytes("片段 一,train\r\n片段 二,test\r\n".encode("gbk"))
    assert read_split_file(f) == {"片段 一": "train", "片段 二": "test"}
    f.write_text("a,train\nb,validation\n", encoding="utf-8")
    with pytest.raises(FeasstmError, match=r"split\.csv:2: split 'validation'"):
        read_split_file(f)
    f.write_text("a,train\na,test\n", encoding="utf-8")
    with pytest.raises(FeasstmError, match="listed twice"):
        read_split_file(f)
    f.write_text("a\n", encoding="utf-8")
    with pytest.raises(FeasstmError, match="expected 'clip,split'"):
        read_split_file(f)


@pytest.fixture
def actors(cjk_dir):
    specs = [ClipSpec(f"片段 {i}", ["1"] * (3 + i) + ["7"] * 2, actor=f"演员 {i % 3}")
             for i in range(9)]
    specs.append(ClipSpec("无名", ["4", "4"], actor=""))
    b = build_project(cjk_dir / "项目", specs)
    yield b
    b.store.close()


def test_split_by_actor_keeps_each_actor_in_one_split(actors):
    for seed in range(4):
        plan = plan_export(actors.store, ExportOptions(split_by="actor", seed=seed))
        by_actor = {}
        for clip in plan.clips:
            by_actor.setdefault(clip.actor or clip.id, set()).add(plan.split[clip.id])
        assert all(len(s) == 1 for s in by_actor.values())
        assert {"train", "test"} == set(plan.split.values())
        assert [p.reason for p in plan.problems] == [
            "clip '无名' has no actor; --split-by actor treats it as an actor of its own"]


def test_split_file_fixes_the_split(actors, cjk_dir):
    f = cjk_dir / "split.csv"
    rows = [f"片段 {i},{'test' if i < 2 else 'train'}" for i in range(9)]
    f.write_text("\n".join(["clip,split", *rows, "无名,test", "ghost,train"]) + "\n",
                 encoding="utf-8")
    plan = plan_export(actors.store, ExportOptions(split_file=f))
    assert plan.split["片段 0"] == plan.split["片段 1"] == plan.split["无名"] == "test"
    assert plan.split["片段 5"] == "train"
    assert [p.reason for p in plan.problems] == ["clip 'ghost' is not in the project; ignored"]
    assert plan.split_method == "file"
    # by actor, the same file splits actor 0 (clips 0, 3, 6) and actor 1: refused
    with pytest.raises(FeasstmError, match="'演员 0', '演员 1' in both"):
        plan_export(actors.store, ExportOptions(split_file=f, split_by="actor"))
    f.write_text("片段 0,train\n", encoding="utf-8")
    with pytest.raises(FeasstmError, match=r"9 clip\(s\) with labelled images are not in the "
                       "split file: '片段 1'"):
        plan_export(actors.store, ExportOptions(split_file=f))


def test_plan_counts(actors):
    plan = plan_export(actors.store, ExportOptions(seed=2))
    counts = plan.counts_by_split()
    assert sum(counts["train"].values()) + sum(counts["test"].values()) == len(plan.images)
    assert counts["train"][1] + counts["test"][1] == sum(3 + i for i in range(9))
    assert abs(plan.test_fraction_reached() - 0.2) < 0.03
