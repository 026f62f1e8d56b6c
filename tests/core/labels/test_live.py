"""Which frames a label-while-playing run takes (core/labels/live.py), without Qt."""

from __future__ import annotations

from feasstm_gui.core.labels.live import LabelRun, has_actor_face
from feasstm_gui.core.store import FrameRow


def row(index: int, *, crop: bool = True, irrelevant: bool = False) -> FrameRow:
    return FrameRow(id=100 + index, clip="片段", frame_index=index, time_ms=index * 40.0,
                    image=None, source_name=None, irrelevant=irrelevant,
                    crop=f"crops/{index:06d}.jpg" if crop else None, prob=None, sharpness=None,
                    code=None)


def test_frames_the_screen_skipped_while_playing_on_passed_too():
    run = LabelRun(4)
    run.start(10)
    for i in (11, 13, 16):  # 12, 14 and 15 were never painted (a busy machine, a fast rate)
        run.moved(i)
    assert run.passed == set(range(10, 17)) and run.span == (10, 16)


def test_a_jump_adds_only_the_frame_it_lands_on():
    run = LabelRun(4)
    run.start(20)
    run.moved(22)
    run.moved(40, jump=True)  # a seek forward
    run.moved(41)
    run.moved(5)  # the loop going back to its start
    run.moved(6)
    assert run.passed == {20, 21, 22, 40, 41, 5, 6}


def test_frames_without_the_actors_face_are_skipped():
    rows = [row(0), row(1, crop=False), row(2, irrelevant=True), row(3), row(9)]
    run = LabelRun(2)
    run.start(0)
    run.moved(3)
    assert [r.frame_index for r in run.frames(rows)] == [0, 3]
    assert not has_actor_face(rows[1]) and not has_actor_face(rows[2])


def test_a_run_that_never_saw_a_frame_takes_nothing():
    run = LabelRun(1)
    run.start(-1)
    assert run.span is None and run.frames([row(0)]) == []
