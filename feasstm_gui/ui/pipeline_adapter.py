"""The window's door to the core jobs that import, extract, align, re-align and follow the actor.

The jobs are generators in `feasstm_gui.core.ingest.pipeline` and `core.importer`; they are imported
only when the user runs one, so the window opens without importing torch.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence

from feasstm_gui.core.store import Store


def extract_job(store: Store, clip_id: str) -> Generator:
    from feasstm_gui.core.ingest.pipeline import extract_clip, holding_clip

    # on a server project the clip is held meanwhile (workers elsewhere wait for it)
    return holding_clip(store, clip_id, "extract", lambda: extract_clip(store, clip_id))


def align_job(store: Store, clip_id: str) -> Generator:
    from feasstm_gui.core.ingest.pipeline import align_clip, holding_clip

    return holding_clip(store, clip_id, "align", lambda: align_clip(store, clip_id))


def realign_job(store: Store, frame_ids: Sequence[int], options: dict) -> Generator:
    from feasstm_gui.core.ingest.pipeline import holding_frames, realign_frames

    ids = list(frame_ids)  # on a server project the frames' clips are held meanwhile
    return holding_frames(store, ids, "realign", lambda: realign_frames(store, ids, options))


def actor_job(store: Store, frame_id: int, box: Sequence[float] | None) -> Generator:
    from feasstm_gui.core.ingest.pipeline import holding_frames, set_actor

    return holding_frames(store, [frame_id], "actor",
                          lambda: set_actor(store, frame_id, None if box is None else list(box)))


def process_job(store: Store, clip_ids: Sequence[str] | None = None) -> Generator:
    """Extract and align in one pass: the given clips, or every unfinished one."""
    from feasstm_gui.core.ingest.pipeline import process_clips

    return process_clips(store, None if clip_ids is None else list(clip_ids))


def import_videos_job(store: Store, paths: Sequence[str], metadata: dict,
                      process: bool) -> Generator:
    from feasstm_gui.core.ingest.importer import import_videos

    meta = {k: metadata.get(k, "") or "" for k in ("work", "actor", "role", "group")}
    photos = list(metadata.get("actor_photos") or [])
    return _then_process(store, import_videos(store, list(paths), **meta, actor_photos=photos),
                         process)


def import_clips_job(store: Store, table: str, process: bool) -> Generator:
    from feasstm_gui.core.ingest.importer import import_clip_table

    return _then_process(store, import_clip_table(store, table), process)


def _then_process(store: Store, job: Generator, process: bool) -> Generator:
    from feasstm_gui.core.ingest.pipeline import import_then_process

    return import_then_process(store, job) if process else job


def import_faf_job(store: Store, folder: str) -> Generator:
    from feasstm_gui.core.ingest.importer import import_faf

    return import_faf(store, folder)
