"""The sample project a new user opens first: built from the bundled photographs by the real
pipeline (clips written, imported, extracted, aligned), interrupted and resumed, through the
`feasstm sample` command."""

from __future__ import annotations

import json

from feasstm_gui.cli import main as cli_main
from feasstm_gui.core.jobs import drive
from feasstm_gui.core.store import Store, ratings
from feasstm_gui.sample import (
    VIDEOS_DIR,
    create_sample_project,
    is_complete,
    load_recipe,
    sample_job,
)


def _expected(recipe: dict) -> dict[str, dict[str, set[int]]]:
    """Per clip: the frame indices the recipe blurs and the faceless ones."""
    out = {}
    for spec in recipe["clips"]:
        blur, faceless, start = set(), set(), 0
        for shot in spec["shots"]:
            if shot["photo"] not in recipe["faces"]:
                faceless.update(range(start, start + shot["frames"]))
            faceless.update(start + int(k) for k in shot.get("splice", {}))
            blur.update(start + int(k) for k in shot.get("blur", {}))
            start += shot["frames"]
        out[spec["id"]] = {"blur": blur, "faceless": faceless, "frames": start}
    return out


def test_sample_project_built_interrupted_resumed(cjk_dir, capsys):
    folder = cjk_dir / "sample project"
    recipe = load_recipe()
    store = create_sample_project(folder, annotator="tester")
    steps = []
    drive(sample_job(store), steps.append, should_stop=lambda: len(steps) >= len(recipe["clips"]))
    store.close()
    assert len(list((folder / VIDEOS_DIR).glob("*.avi"))) == len(recipe["clips"])
    assert not is_complete(folder)

    assert cli_main(["sample", str(folder)]) == 0  # resumes: extract, align, annotate
    assert is_complete(folder)
    assert cli_main(["sample", str(folder)]) == 0
    assert "already built" in capsys.readouterr().out

    expected = _expected(recipe)
    with Store.open(folder, annotator="tester", read_only=True) as store:
        status = store.status()
        assert status["clips"] == len(recipe["clips"])
        assert status["labelled"] > 0 and status["disagreements"] > 0
        clips = {c.id: c for c in store.clips()}
        for spec in recipe["clips"]:
            clip = clips[spec["id"]]
            assert (clip.work, clip.actor, clip.role, clip.group) == \
                (spec["work"], spec["actor"], spec["role"], spec["group"])
            frames = store.frames(clip.id)
            want = expected[clip.id]
            assert len(frames) == want["frames"]
            irrelevant = {f.frame_index for f in frames if f.irrelevant}
            assert irrelevant == want["faceless"], clip.id
            faces = [f for f in frames if f.crop]
            assert len(faces) == want["frames"] - len(want["faceless"])
            assert all((folder / f.crop).is_file() for f in faces)
            blur = {f.frame_index for f in frames if "blur" in f.suggested}
            assert blur and blur <= want["blur"], clip.id
            assert len(blur) >= len(want["blur"]) - 1, clip.id  # one may escape a threshold
        rating = ratings.rating(store, recipe["rating"]["clip"], recipe["rating"]["rater"])
        assert rating.score == recipe["rating"]["score"]
        assert len(rating.picks) == 5

    assert cli_main(["status", str(folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["faces"] == status["faces"]
