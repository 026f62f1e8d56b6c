"""The clip list of a big project (issue 19: 16,000 clips, a million frames): what a clip's
state is, which clips a filter keeps, and a second read-only handle on the project database
so the per-clip counts can be read off the window's thread.

Counting every clip's frames is a scan of all frames (views.clip_summaries: seconds at a
million frames), so the window never does it before showing the project: it lists the clips at
once (one read of the clips table) and reads the counts a chunk of clips at a time through
`reader_db`, the clips on screen first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import compress, repeat

from feasstm_gui.core.store.db import Database, SqliteDatabase
from feasstm_gui.core.store.store import Clip, Store
from feasstm_gui.core.store.views import ClipSummary

#: A clip's state, for the clip list's filter: key -> what the list calls it. `flagged` and
#: `to_process` may hold along with the labelling states (unlabelled, in progress, done).
CLIP_STATES: dict[str, str] = {
    "unlabelled": "Unlabelled",
    "in_progress": "In progress",
    "done": "Done",
    "flagged": "Flagged (deleted frames or open suggestions)",
    "to_process": "To extract or align",
}


def needs_processing(clip: Clip) -> bool:
    """A video clip whose extraction or alignment is not done (or whose video is damaged)."""
    if clip.extract_status == "damaged":
        return True
    return clip.source == "video" and (clip.extract_status != "done"
                                       or clip.align_status != "done")


def clip_states(clip: Clip, summary: ClipSummary) -> set[str]:
    """The CLIP_STATES keys that hold for a clip with these counts.

    unlabelled: frames to label and none labelled; in progress: some labelled, some not;
    done: frames, and none left to label (each is labelled, deleted or irrelevant); flagged:
    a deleted frame or an open suggestion; to_process: extraction or alignment not done."""
    out: set[str] = set()
    if summary.todo and not summary.labelled:
        out.add("unlabelled")
    elif summary.todo:
        out.add("in_progress")
    elif summary.total:
        out.add("done")
    if summary.flagged or summary.suggested:
        out.add("flagged")
    if needs_processing(clip):
        out.add("to_process")
    return out


def narrows(new: ClipFilter, old: ClipFilter) -> bool:
    """Whether `new` keeps a subset of what `old` keeps: the same lists, the search typed
    further (so `filter_clips` may look only at what `old` kept)."""
    return (new.work, new.actor, new.group, new.state) == (old.work, old.actor, old.group,
                                                            old.state) \
        and not old.needs_counts \
        and new.text.casefold().strip().startswith(old.text.casefold().strip()) \
        and new.text.casefold().strip() != ""


@dataclass(frozen=True)
class ClipFilter:
    """What the clip list shows: clips whose id contains `text` (any case), of that work,
    actor and group (empty: any) and in that state (empty: any; CLIP_STATES)."""

    text: str = ""
    work: str = ""
    actor: str = ""
    group: str = ""
    state: str = ""

    @property
    def needs_counts(self) -> bool:
        """Whether the filter reads the clips' counts (the state does)."""
        return bool(self.state) and self.state != "to_process"

    def is_empty(self) -> bool:
        return self == ClipFilter()


def filter_clips(clips: Sequence[Clip], flt: ClipFilter, summaries: dict[str, ClipSummary],
                 *, keys: Sequence[str] | None = None,
                 among: Sequence[int] | None = None) -> list[int]:
    """Positions in `clips` that `flt` keeps. `keys`: each clip's id in lower case, made once
    (`search_keys`), for a search at every key press. `among`: look at these positions only
    (a search typed further keeps a subset of what it kept). A state filter keeps only clips
    whose counts are in `summaries` (the others are not known yet)."""
    keys = keys if keys is not None else search_keys(clips)
    text = flt.text.casefold().strip()
    picked: Iterable[int] = range(len(clips)) if among is None else among
    if text:  # the loop in C (map, compress): 16,000 names in a fraction of a millisecond
        looked = keys if among is None else map(keys.__getitem__, among)
        picked = list(compress(picked, map(str.__contains__, looked, repeat(text))))
    if flt.work:
        picked = [i for i in picked if clips[i].work == flt.work]
    if flt.actor:
        picked = [i for i in picked if clips[i].actor == flt.actor]
    if flt.group:
        picked = [i for i in picked if clips[i].group == flt.group]
    if flt.state == "to_process":
        picked = [i for i in picked if needs_processing(clips[i])]
    elif flt.state:
        picked = [i for i in picked if (s := summaries.get(clips[i].id)) is not None
                  and flt.state in clip_states(clips[i], s)]
    return picked if isinstance(picked, list) and picked is not among else list(picked)


def search_keys(clips: Sequence[Clip]) -> list[str]:
    return [c.id.casefold() for c in clips]


def reader_db(store: Store) -> tuple[Database, bool]:
    """A handle to read the project's database from another thread without waiting for the
    window's own (SQLite: a second, read-only connection; WAL lets it read while the window
    writes). Returns (handle, whether it is a new connection the caller closes with
    `close_reader`). A server database, or one SQLite cannot open a second time: the store's
    own handle (its calls are serialised), not to be closed."""
    if not isinstance(store.db, SqliteDatabase) or store.db.conn is None:
        return store.db, False
    try:
        conn = sqlite3.connect(store.db_path.resolve().as_uri() + "?mode=ro", uri=True,
                               isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("SELECT COUNT(*) FROM clips").fetchone()
    except sqlite3.Error:
        return store.db, False
    return SqliteDatabase(conn), True


def close_reader(db: Database) -> None:
    if isinstance(db, SqliteDatabase) and db.conn is not None:
        with db.mutex:
            db.conn.close()


def reader_store(store: Store) -> tuple[Store, bool]:
    """The project opened a second time, read-only, for long reads off the window's thread
    (the agreement panel's million labels) that would otherwise hold the store's one
    connection, and the window with it, for seconds. Returns (store, whether it is a new one
    the caller closes); where it cannot be opened again, `store` itself."""
    try:
        return Store.open(store.folder, store.annotator, read_only=True), True
    except Exception:  # noqa: BLE001 - the store's own connection still works
        return store, False

