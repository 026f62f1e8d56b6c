"""Small projects of real video clips for the jobs shared by workers (issue 16): each clip a
short synthetic video (clipmaker) of the actor and a cut to another person, imported but not
yet extracted or aligned. Used by tests and by benchmarks/team_workers.py."""

from __future__ import annotations

from pathlib import Path

from clipmaker import Shot, render_clip, write_video

from feasstm_gui.core.ingest.importer import import_videos
from feasstm_gui.core.jobs import drive
from feasstm_gui.core.store import Store

#: 320 x 240: the actor (obama) then biden, so each clip has faces and frames without the actor.
SHOTS = [Shot("a", "obama", 8, (70, -4.0, 150, 110), (85, 4.0, 170, 118)),
         Shot("b", "biden", 4, (80, 2.0, 160, 110), (78, -1.0, 155, 114))]


def make_video_project(folder: Path, n_clips: int, *, server: str | None = None,
                       frames_per_clip: int = 12) -> list[str]:
    """A new project at `folder` with `n_clips` clips of `frames_per_clip` frames (videos beside
    the folder). Returns the clip ids."""
    frames, _ = render_clip(SHOTS, size=(320, 240))
    frames = (frames * (frames_per_clip // len(frames) + 1))[:frames_per_clip]
    videos_dir = folder.parent / (folder.name + " videos")
    videos_dir.mkdir(parents=True, exist_ok=True)
    videos = [write_video(videos_dir / f"片段 {k:02d}.avi", frames) for k in range(n_clips)]
    with Store.create(folder, annotator="researcher", server=server) as store:
        drive(import_videos(store, videos))
        return [c.id for c in store.clips()]
