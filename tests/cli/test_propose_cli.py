"""`feasstm propose` as a user runs it (a subprocess), and `status --json`'s `proposed`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from proposal_helpers import PHOTOS, make_aligned_project, tiny_onnx


def feasstm(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "FEASSTM_ANNOTATOR": "tester", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run([sys.executable, "-m", "feasstm_gui.cli", *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_propose_then_resume_then_own_model(cjk_dir):
    project = cjk_dir / "项目"
    store, _ = make_aligned_project(project, clips={"片段 一": list(PHOTOS[:4]),
                                                    "片段 二": list(PHOTOS[4:])})
    store.close()
    r = feasstm("propose", project, "--clip", "片段 二")
    assert r.returncode == 0 and r.stderr == ""
    assert "3 faces proposed" in r.stdout and "FER2013 mini-Xception" in r.stdout
    assert json.loads(feasstm("status", project, "--json").stdout)["proposed"] == 3
    r = feasstm("propose", project)  # resumes: only the first clip is left
    assert r.returncode == 0 and "2 of 2 clips, 4 faces proposed" in r.stdout
    assert json.loads(feasstm("status", project, "--json").stdout)["proposed"] == 7

    model, _ = tiny_onnx(cjk_dir / "我的 模型")
    r = feasstm("propose", project, "--model", model)
    assert r.returncode == 0 and "7 faces proposed (model: own " in r.stdout
    r = feasstm("propose", project, "--clip", "没有")
    assert r.returncode == 2 and "no such clip: '没有'" in r.stderr


def test_agreement_on_a_project_shows_the_model_as_an_annotator(cjk_dir):
    from feasstm_gui.core.store import Store
    from feasstm_gui.core.store import proposals as sp

    project = cjk_dir / "项目"
    store, ids = make_aligned_project(project)
    store.close()
    r = feasstm("agreement", project)
    assert r.returncode == 0 and "no proposals (run `feasstm propose` first)" in r.stdout
    assert feasstm("propose", project).returncode == 0
    with Store.open(project, annotator="甲") as store:
        sp.accept_proposals(store, list(ids.values()))
        store.set_labels(list(ids.values()), 4, annotator="乙")
    r = feasstm("agreement", project, "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    by = {c["versus"]: c for c in result["model"]["comparisons"]}
    assert set(by) == {"甲", "乙", "final labels"}
    assert by["甲"]["n"] == len(PHOTOS) and by["甲"]["agreement"] == 1.0
    assert result["annotators"]["n_raters"] == 2
    text = feasstm("agreement", project).stdout
    assert "vs 甲: 7 frames, 100.0 % agree, Cohen's kappa 1.000" in text
