"""The sample project a new user opens first: built from the bundled photographs by the real
pipeline (clips written, imported, extracted, aligned), interrupted, then finished by the welcome
screen's "Open sample" on the window's worker; `feasstm sample` then finds it built."""

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


def test_welcome_offers_the_sample(qtbot):
    from feasstm_gui.ui.welcome import WelcomeDialog

    dialog = WelcomeDialog([])
    qtbot.addWidget(dialog)
    dialog.sample_btn.click()
    assert dialog.choice == "sample" and dialog.result() == dialog.DialogCode.Accepted


def test_sample_project_built_interrupted_resumed(cjk_dir, capsys, qtbot):
    from feasstm_gui.ui.main_window import MainWindow
    from feasstm_gui.ui.welcome import open_sample

    folder = cjk_dir / "sample project"
    recipe = load_recipe()
    store = create_sample_project(folder, annotator="tester")
    steps = []
    # cancelled in the middle of extracting the first clip (after its first batch of frames)
    drive(sample_job(store), steps.append,
          should_stop=lambda: len(steps) > len(recipe["clips"]))
    assert 0 < store.status()["frames"] < _expected(recipe)[recipe["clips"][0]["id"]]["frames"]
    store.close()
    assert len(list((folder / VIDEOS_DIR).glob("*.avi"))) == len(recipe["clips"])
    assert not is_complete(folder)

    window = MainWindow(annotator="tester")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.runner.finished, timeout=120_000) as blocker:
        assert open_sample(window, folder)  # resumes: extract, align, annotate
    assert blocker.args[0].error is None
    assert window.clip_model.rowCount() == len(recipe["clips"])
    qtbot.waitUntil(lambda: len(window.strip_model.frames()) > 0)
    window.close()
    assert is_complete(folder)
    window = MainWindow(annotator="tester")  # a finished sample opens at once, no job
    qtbot.addWidget(window)
    assert open_sample(window, folder) and not window.runner.busy
    window.close()
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
