"""Project settings: checked values, written together, read by the pipeline; `feasstm params`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from clipmaker import Shot, make_clip

from feasstm_gui.core import project_settings as ps
from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.ingest.pipeline import face_settings, process_clip
from feasstm_gui.core.jobs import drive
from feasstm_gui.core.store import Clip, Store


@pytest.fixture
def store(cjk_dir):
    s = Store.create(cjk_dir / "项目 设置", annotator="alice")
    yield s
    s.close()


def test_defaults_are_the_pipelines_defaults(store):
    values = ps.current(store)
    align, detector, tracker, quality = face_settings(store)
    assert values["align.preset"] == align.preset == "emotion_fan"
    assert values["align.size"] == align.size == 100
    assert values["align.margin"] is None
    assert values["extract.fps"] is None
    assert values["align.detector.min_face_size"] == detector.min_face_size == 20
    assert values["align.tracker.full_every"] == tracker.full_every == 30
    assert values["quality.thresholds.blur_relative"] == quality.blur_relative == 0.4
    assert all(values[s.key] == s.default() for s in ps.SETTINGS)


def test_values_are_checked_and_written_together_or_not_at_all(store):
    with pytest.raises(FeasstmError, match="align.size must be a whole number from 32 to 1024"):
        ps.apply(store, {"align.preset": "arcface", "align.size": "20"})
    assert ps.current(store)["align.preset"] == "emotion_fan"  # nothing written
    for key, bad, message in [("align.preset", "dlib", "one of emotion_fan, arcface"),
                              ("align.size", "100.5", "whole number"),
                              ("extract.fps", "fast", "must be a number"),
                              ("extract.fps", "nan", "finite"),
                              ("align.detector.device", "gpu", "auto, cpu, cuda"),
                              ("align.size", "none", "needs a value"),
                              ("no.such", "1", "no setting named 'no.such'")]:
        with pytest.raises(FeasstmError, match=message):
            ps.apply(store, {key: bad})
    changes = ps.apply(store, {"align.preset": "arcface", "extract.fps": "12.5",
                               "align.detector.min_face_size": 40, "align.margin": "none",
                               "quality.thresholds.blur_relative": "0.3"})
    assert {s.key: (old, new) for s, old, new in changes} == {
        "align.preset": ("emotion_fan", "arcface"), "extract.fps": (None, 12.5),
        "align.detector.min_face_size": (20, 40.0),
        "quality.thresholds.blur_relative": (0.4, 0.3)}
    align, detector, _, quality = face_settings(store)
    assert (align.preset, detector.min_face_size, quality.blur_relative) == ("arcface", 40, 0.3)
    assert detector.min_prob == 0.9  # the other fields of the object are kept
    assert store.param("extract.fps") == 12.5
    assert ps.apply(store, {"align.preset": "arcface"}) == []  # unchanged: nothing written


def test_new_settings_apply_to_the_next_run_and_old_crops_are_counted(store, cjk_dir):
    video, _ = make_clip(cjk_dir / "视频 一.avi",
                         [Shot("a", "obama", 10, (150, 0.0, 300, 215), (156, 1.0, 306, 219))])
    store.add_clip(Clip("片段", video=str(video)))
    ps.apply(store, {"extract.fps": 12.5, "align.preset": "arcface", "align.size": 112})
    assert drive(process_clip(store, "片段")).exit_status == 0
    frames = store.frames("片段")
    assert [f.frame_index for f in frames] == [0, 2, 4, 6, 8]  # 12.5 of 25 frames a second
    face = store.face(frames[0].id)
    assert face.params["preset"] == "arcface" and face.params["size"] == 112
    from feasstm_gui.core.ingest.images import read_image

    assert read_image(store.folder / face.crop).shape[:2] == (112, 112)
    changes = ps.apply(store, {"align.size": 100})
    assert ps.faces_affected(store, changes) == sum(1 for f in frames if f.crop) >= 4
    assert ps.faces_affected(store, ps.apply(store, {"backup.keep": 5})) == 0


def _cli(*args):
    proc = subprocess.run([sys.executable, "-m", "feasstm_gui.cli", *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_feasstm_params_lists_shows_and_changes(cjk_dir):
    project = cjk_dir / "命令 项目"
    assert _cli("new", project).returncode == 0
    listing = _cli("params", project)
    assert listing.returncode == 0
    assert "align.preset" in listing.stdout and "one of emotion_fan, arcface" in listing.stdout
    changed = _cli("params", project, "align.preset=arcface", "extract.fps=5")
    assert changed.returncode == 0, changed.stderr
    assert "align.preset: emotion_fan -> arcface" in changed.stdout
    assert "extract.fps: none (every frame) -> 5" in changed.stdout
    assert _cli("params", project, "align.preset").stdout.strip() == "arcface"
    shown = json.loads(_cli("params", project, "extract.fps", "align.size", "--json").stdout)
    assert shown == {"extract.fps": 5.0, "align.size": 100}
    bad = _cli("params", project, "align.size=8", "align.preset=emotion_fan")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "feasstm: align.size must be a whole number from 32 to 1024, " \
                                 "not '8'"
    assert _cli("params", project, "align.preset").stdout.strip() == "arcface"  # not written
    assert _cli("params", project, "extract.fps=none").stdout.strip() == \
        "extract.fps: 5 -> none (every frame)"


def test_every_identity_parameter_is_a_project_setting(store, capsys):
    """The tracker's identity parameters (issue 15) are in the registry that `feasstm params`
    and the Project settings dialog read, with the tracker's defaults, and reach the tracker."""
    from feasstm_gui.cli import main as cli_main
    from feasstm_gui.core.faces.tracker import TrackerSettings

    identity_fields = [f for f in TrackerSettings().to_dict()
                       if f.startswith("identity_") or f == "min_similarity"]
    assert {"identity_distance", "identity_margin", "identity_every", "identity_settled",
            "identity_max_faces"} <= set(identity_fields)
    for name in identity_fields:
        s = ps.setting(f"align.tracker.{name}")
        assert s.default() == getattr(TrackerSettings(), name) and s.faces
    folder = str(store.folder)
    store.close()
    assert cli_main(["params", folder]) == 0
    listing = capsys.readouterr().out
    assert "align.tracker.identity_margin" in listing and "0.15" in listing
    assert cli_main(["params", folder, "align.tracker.identity_margin=0.1",
                     "align.tracker.identity_max_faces=2"]) == 0
    assert "align.tracker.identity_margin: 0.15 -> 0.1" in capsys.readouterr().out
    assert cli_main(["params", folder, "align.tracker.identity_margin=1.5"]) == 2
    assert "identity_margin must be a number from 0 to 1" in capsys.readouterr().err
    with Store.open(folder, read_only=True) as reopened:
        _, _, tracker, _ = face_settings(reopened)
    assert (tracker.identity_margin, tracker.identity_max_faces) == (0.1, 2)
