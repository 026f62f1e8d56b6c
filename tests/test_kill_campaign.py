"""The kill campaigns of benchmarks/kill_campaign.py, small: a few `kill -9` at random moments
of a labelling session driven by key presses in the real main window, of an alignment job and
of an export. After each: the database is sound, every acknowledged edit is there, the job
resumes to the same result as an uninterrupted run, no partial export exists under its final
name. The standalone script runs the same code with 100+ kills."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import kill_campaign as kc  # noqa: E402


def _clean(counts: kc.Counts) -> None:
    assert (counts.lost_edits, counts.corrupt, counts.partial_exports,
            counts.align_mismatches) == (0, 0, 0, 0), counts.notes


def test_kill_9_during_a_labelling_session_by_key_presses(cjk_dir):
    counts = kc.label_campaign(cjk_dir, kills=5, rng=random.Random(1), n_frames=60)
    assert counts.kills == 5 and counts.acked >= 5
    _clean(counts)


def test_kill_9_during_an_export_leaves_no_partial_export(cjk_dir):
    counts = kc.export_campaign(cjk_dir, kills=5, rng=random.Random(2), n_frames=200)
    assert counts.kills == 5
    _clean(counts)


@pytest.mark.slow
def test_kill_9_during_alignment_resumes_to_the_uninterrupted_result(cjk_dir):
    counts = kc.align_campaign(cjk_dir, kills=2, rng=random.Random(3), n_frames=8)
    assert 1 <= counts.kills <= 2
    _clean(counts)
