"""The export's proposal columns in provenance.csv and --label-distribution (issue 17)."""

from __future__ import annotations

import pytest
from proposal_helpers import make_aligned_project

from feasstm_gui.core.dataset.export import ExportOptions, export_dataset
from feasstm_gui.core.dataset.verify import verify
from feasstm_gui.core.formats.csvsafe import read_csv
from feasstm_gui.core.jobs import drive
from feasstm_gui.core.labels.expression_model import load_model
from feasstm_gui.core.labels.propose import propose
from feasstm_gui.core.store import proposals as sp


def test_provenance_says_what_was_proposed_and_accepted(cjk_dir):
    names = ["obama", "astronaut", "biden", "camera"]
    store, ids = make_aligned_project(cjk_dir / "项目", clips={"片段": names})
    drive(propose(store, None, load_model()))
    props = sp.proposals_for(store)
    obama, astro, biden, camera = (ids[f"片段/{n}"] for n in names)
    sp.accept_proposals(store, [obama, astro])  # tester accepts two (Happy, Happy)
    store.set_labels([biden], 7)  # types one
    store.set_labels([obama], 4, annotator="bob")  # agrees, typed
    store.set_labels([astro], 1, annotator="bob")  # disagrees ...
    store.adjudicate([astro], 4)  # ... adjudicated: the adjudicator's own label
    store.set_labels([camera], 2, annotator="bob")
    store.set_labels([camera], 2)
    out = cjk_dir / "导出"
    result = drive(export_dataset(store, out, ExportOptions(label_distribution=True,
                                                            test_fraction=0.0)))
    assert result.exit_status == 0, result.problems
    prov = {r["image name"]: r for r in read_csv(out / "provenance.csv")}
    assert [prov[n]["proposed code"] for n in sorted(prov)] == [
        str(props[f].code) for f in sorted(ids.values())]
    first = prov["000001.jpg"]  # obama: tester accepted, bob typed the same
    assert first["proposed code"] == "4" and float(first["proposal probability"]) > 0.9
    assert first["accepted proposal"] == "yes" and first["annotator"] == "bob;tester"
    assert prov["000002.jpg"]["accepted proposal"] == "no"  # adjudicated
    assert prov["000003.jpg"]["accepted proposal"] == "no"  # typed
    assert float(prov["000003.jpg"]["proposal probability"]) == pytest.approx(
        props[biden].p, abs=1e-6)

    dist = {r["image name"]: r for r in read_csv(out / "label_distribution.csv")}
    assert list(dist["000001.jpg"]) == ["clip", "image name", "1 Surprise", "2 Fear",
                                        "3 Disgust", "4 Happy", "5 Sadness", "6 Anger",
                                        "7 Neutral", "annotators"]
    assert dist["000001.jpg"]["4 Happy"] == "1" and dist["000001.jpg"]["annotators"] == "2"
    assert dist["000002.jpg"]["4 Happy"] == "0.5" and dist["000002.jpg"]["1 Surprise"] == "0.5"
    assert dist["000003.jpg"]["7 Neutral"] == "1" and dist["000003.jpg"]["annotators"] == "1"
    assert len(dist) == 4
    assert verify(out) == []
    store.close()
