"""The researcher's progress figures (issue 16): who labelled and rated how much, how fast.

Read from the project as it is (both back ends, one consistent snapshot):
- frames labelled: the annotator's label rows now (imports included; a label undone is gone);
- time spent: from the edit log. A person's steps (one key press, one fill, one undo: one
  step) are put in time order, separately for labelling (steps on frames: labels, flags,
  adjudications, accepted proposals) and for rating (the `rating_*` ops; setting up raters and
  groups counts as neither); each step is credited with the time since the same person's
  previous step of that kind, capped at `idle_s` (default 300 s): a longer gap is a break, of
  which only the cap counts. The first step of all counts nothing. The time is credited to the
  clip (and its group) the step was made on;
- throughput: frames labelled per hour of labelling time (annotators), ratings completed per
  hour of rating time (raters); None while no time is counted;
- ASA completion per rater group: a clip is complete when every rater of its group has
  completed their rating of it; `ratings_done / ratings_needed` counts rater-clip pairs.

`progress(store)` returns plain data (the CLI prints it as JSON, the window as tables).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

#: A gap between two steps longer than this (seconds) counts as this much (a break).
IDLE_S = 300.0


def _seconds(at: str) -> float:
    try:
        return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
    except (AttributeError, ValueError):
        return float("nan")


def duration_text(seconds: float) -> str:
    """A time spent as people read it: 42 s, 7 min 05 s, 3 h 02 min."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def _per_hour(n: int, seconds: float) -> float | None:
    return round(n * 3600.0 / seconds, 1) if seconds > 0 else None


def _is_rating(op: str) -> bool:
    return op.startswith("rating_")


def _time_spent(steps: list[tuple[float, int, str | None]], idle_s: float
                ) -> tuple[float, dict[str | None, float]]:
    """(total seconds, seconds per clip) for one person's steps (time, step, clip)."""
    total = 0.0
    per_clip: dict[str | None, float] = {}
    last = None
    for t, _batch, clip in sorted(steps, key=lambda s: (s[0], s[1])):
        if last is not None and t == t and last == last:  # NaN (an unreadable time) skipped
            gap = min(max(t - last, 0.0), idle_s)
            total += gap
            per_clip[clip] = per_clip.get(clip, 0.0) + gap
        last = t
    return total, per_clip


def progress(store, *, idle_s: float = IDLE_S) -> dict[str, Any]:
    """The progress figures of the project (see the module's docstring)."""
    db = store.db
    with db.snapshot():
        clips = {c: g for c, g in db.query("SELECT id, grp FROM clips ORDER BY position, id")}
        frames_per_clip = dict(db.query("SELECT clip, COUNT(*) FROM frames GROUP BY clip"))
        labelled = db.query(
            "SELECT l.annotator, f.clip, COUNT(*) FROM labels l JOIN frames f ON f.id = l.frame_id "
            "GROUP BY l.annotator, f.clip ORDER BY l.annotator, f.clip")
        # one row per step: its time, the person, the op and the clip of its first target
        rows = db.query(
            "SELECT e.annotator, e.batch, e.at, e.op, f.clip, "
            "json_extract(e.target, '$.clip') FROM edits e "
            "JOIN (SELECT MIN(id) AS id FROM edits GROUP BY batch) firsts ON firsts.id = e.id "
            "LEFT JOIN frames f ON f.id = CAST(json_extract(e.target, '$.frame') AS INTEGER)")
        raters = db.query("SELECT name, grp FROM raters ORDER BY grp, name")
        completed = db.query(
            "SELECT rt.rater, rt.clip FROM ratings rt JOIN raters r ON r.name = rt.rater "
            "JOIN clips c ON c.id = rt.clip AND c.grp = r.grp WHERE rt.completed_at IS NOT NULL")

    steps: dict[tuple[str, bool], list[tuple[float, int, str | None]]] = {}
    for who, batch, at, op, frame_clip, target_clip in rows:
        if _is_rating(op):
            clip = target_clip if isinstance(target_clip, str) else None
            steps.setdefault((who, True), []).append((_seconds(at), batch, clip))
        elif frame_clip is not None:  # an edit of a frame: labelling work
            steps.setdefault((who, False), []).append((_seconds(at), batch, frame_clip))
        # (setting up raters and groups is neither)

    # -- annotators ------------------------------------------------------------------------
    per_annotator: dict[str, dict[str, int]] = {}
    for who, clip, n in labelled:
        per_annotator.setdefault(who, {})[clip] = int(n)
    labelling_people = set(per_annotator) | {w for (w, rating) in steps if not rating}
    annotators = []
    for who in sorted(labelling_people):
        seconds, clip_seconds = _time_spent(steps.get((who, False), []), idle_s)
        by_clip = per_annotator.get(who, {})
        n = sum(by_clip.values())
        clip_rows = []
        for clip in clips:
            if clip in by_clip or clip_seconds.get(clip):
                c_n, c_s = by_clip.get(clip, 0), clip_seconds.get(clip, 0.0)
                clip_rows.append({"clip": clip, "group": clips[clip], "frames": c_n,
                                  "of": int(frames_per_clip.get(clip, 0)),
                                  "time_s": round(c_s, 1), "per_hour": _per_hour(c_n, c_s)})
        groups: dict[str, dict[str, Any]] = {}
        for r in clip_rows:
            g = groups.setdefault(r["group"], {"group": r["group"], "frames": 0, "time_s": 0.0})
            g["frames"] += r["frames"]
            g["time_s"] = round(g["time_s"] + r["time_s"], 1)
        for g in groups.values():
            g["per_hour"] = _per_hour(g["frames"], g["time_s"])
        annotators.append({
            "name": who, "frames_labelled": n, "steps": len(steps.get((who, False), [])),
            "time_s": round(seconds, 1), "per_hour": _per_hour(n, seconds),
            "clips": clip_rows, "groups": sorted(groups.values(), key=lambda g: g["group"])})

    # -- raters and ASA completion per group -----------------------------------------------
    done_by: dict[str, set[str]] = {}
    for who, clip in completed:
        done_by.setdefault(who, set()).add(clip)
    group_clips: dict[str, list[str]] = {}
    for clip, grp in clips.items():
        if grp:
            group_clips.setdefault(grp, []).append(clip)
    group_raters: dict[str, list[str]] = {}
    out_raters = []
    for who, grp in raters:
        group_raters.setdefault(grp, []).append(who)
        mine = group_clips.get(grp, [])
        done = len(done_by.get(who, set()) & set(mine))
        seconds, _ = _time_spent(steps.get((who, True), []), idle_s)
        out_raters.append({"name": who, "group": grp, "completed": done, "clips": len(mine),
                           "steps": len(steps.get((who, True), [])),
                           "time_s": round(seconds, 1), "per_hour": _per_hour(done, seconds)})
    out_groups = []
    for grp in sorted(set(group_clips) | set(group_raters)):
        mine, who = group_clips.get(grp, []), group_raters.get(grp, [])
        complete = sum(1 for c in mine if who and all(c in done_by.get(r, set()) for r in who))
        pairs_done = sum(len(done_by.get(r, set()) & set(mine)) for r in who)
        needed = len(mine) * len(who)
        out_groups.append({"group": grp, "clips": len(mine), "raters": len(who),
                           "clips_complete": complete, "ratings_done": pairs_done,
                           "ratings_needed": needed,
                           "completion": round(pairs_done / needed, 4) if needed else None})
    total_frames = sum(int(v) for v in frames_per_clip.values())
    return {"idle_s": idle_s, "frames": total_frames, "annotators": annotators,
            "raters": out_raters, "groups": out_groups}
