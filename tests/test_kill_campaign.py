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


CHILD_KILLED_IN_RMTREE = """
import os, shutil, signal, sys
from feasstm_gui.core.dataset import export as export_mod
from feasstm_gui.core.dataset.export import ExportOptions, export_dataset
from feasstm_gui.core.jobs import drive
from feasstm_gui.core.store import Store

real = shutil.rmtree

def rmtree_then_die(path, *args, **kwargs):
    # delete part of the old export (its manifest first), then the process dies: kill -9
    if (os.path.basename(path).startswith(".") and os.path.isdir(path)
            and os.path.exists(os.path.join(path, "manifest.json"))):
        os.remove(os.path.join(path, "manifest.json"))
        os.kill(os.getpid(), signal.SIGKILL)
    return real(path, *args, **kwargs)

export_mod.shutil.rmtree = rmtree_then_die
store = Store.open(sys.argv[1], read_only=True)
drive(export_dataset(store, sys.argv[2], ExportOptions(link=False), force=True))
"""


def test_kill_9_while_the_replaced_export_is_deleted_never_brings_it_back(cjk_dir):
    """--force sets the old export aside, renames the new one in, then deletes the old one.
    Killed in the middle of that deletion, the half-deleted old export must never come back
    under the final name (a later export used to rename it back as if the kill had landed
    between the two renames)."""
    import shutil
    import signal
    import subprocess

    folder = kc.build_crops_project(cjk_dir / "项目", 20, clips=2, labelled=True)
    out = cjk_dir / "导出" / "数据 集"
    for force in ("0", "1"):  # a first export, then --force over it, killed while deleting
        child = kc._spawn(["export", str(folder), str(out), force]) if force == "0" else \
            subprocess.Popen([sys.executable, "-c", CHILD_KILLED_IN_RMTREE, str(folder),
                              str(out)])
        child.communicate()
    assert child.returncode == -signal.SIGKILL
    assert kc._export_state(out) == "complete"  # the new export is in place
    shutil.rmtree(out)  # the user removes it, then exports again
    kc._finish(kc._spawn(["export", str(folder), str(out), "0"]), "export")
    assert kc._export_state(out) == "complete"
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]


def test_kill_9_while_labelling_and_exporting_on_a_server(cjk_dir, pg_cluster, monkeypatch):
    """The same campaigns on the PostgreSQL back end (issue 16): each project's database a new
    one on the throw-away cluster."""
    monkeypatch.setattr(kc, "SERVER", pg_cluster.url())
    counts = kc.label_campaign(cjk_dir, kills=3, rng=random.Random(4), n_frames=40)
    assert counts.kills == 3 and counts.acked >= 3
    _clean(counts)
    counts = kc.export_campaign(cjk_dir, kills=3, rng=random.Random(5), n_frames=80)
    assert counts.kills == 3
    _clean(counts)
    assert (cjk_dir / "标注 项目" / "server.json").is_file()
