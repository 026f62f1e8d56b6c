"""`feasstm status` counts final labels in bulk (issue 19: a million frames in under two
seconds): the same counts as the final_labels view read frame by frame, in every case the view
distinguishes (agreeing and disagreeing annotators, adjudicated, deleted, irrelevant)."""

from __future__ import annotations

import random

from export_helpers import ClipSpec, build_project

from feasstm_gui.core.vocab import CODES


def by_the_view(store) -> tuple[dict[str, int], int]:
    """The final labels of the frames that count, straight from the schema's view."""
    rows = store.db.query(
        "SELECT fl.frame_id, fl.code, (SELECT COUNT(*) FROM labels l WHERE l.frame_id=f.id) "
        "FROM final_labels fl JOIN frames f ON f.id=fl.frame_id WHERE f.irrelevant=0 "
        "AND NOT EXISTS (SELECT 1 FROM deletions d WHERE d.frame_id=f.id)")
    labels = {str(k): 0 for k in CODES}
    disputed = 0
    for _, code, n in rows:
        if code is not None:
            labels[str(code)] += 1
        elif n:
            disputed += 1
    return labels, disputed


def test_status_counts_agree_with_the_final_labels_view(cjk_dir):
    rng = random.Random(19)
    tokens = ["1", "2", "3", "4", "5", "6", "7", "-", "i", "x3", "n4"]
    clips = []
    for c in range(6):
        frames = [rng.choice(tokens) for _ in range(40)]
        others = {name: {p: rng.randint(1, 7) if rng.random() < 0.5 else int(t)
                         for p, t in enumerate(frames) if t.isdigit() and rng.random() < 0.4}
                  for name in ("alice", "=bob")}
        clips.append(ClipSpec(f"片段 {c}", frames, actor=f"演员 {c}", others=others))
    built = build_project(cjk_dir / "项目", clips)
    store = built.store
    try:
        ids = [fid for rows in built.frames.values() for _, fid, _ in rows]
        store.adjudicate(rng.sample(ids, 25), 7)
        store.set_labels(rng.sample(ids, 10), 2, annotator="carol")
        status = store.status()
        labels, disputed = by_the_view(store)
        assert disputed > 0 and sum(labels.values()) > 0
        assert status["labels"] == labels
        assert status["disagreements"] == disputed
        assert status["labelled"] == sum(labels.values())
    finally:
        store.close()
