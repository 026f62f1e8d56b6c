"""Identity leakage: the same person in the train and the test split under two actor names or
two works (issue 15).

Each clip's actor is described by the mean face descriptor of the actor's faces in it (from
`feasstm identities`: the faces that are the frames' current faces), else by the mean of the
actor's references. Two clips whose descriptors are closer than the tracker's
`identity_distance` show the same person. The export warns about such pairs across the splits
and writes the descriptors into its manifest, so `feasstm verify` can say it without the
project; `--split-by identity` keeps such clips in one split.
"""

from __future__ import annotations

from pathlib import Path

from feasstm_gui.core.problems import Problem
from feasstm_gui.core.store import Store
from feasstm_gui.core.store import identity as idstore


def clip_centroids(store: Store) -> dict[str, str]:
    """clip id -> the encoded mean descriptor of its actor (clips with nothing known left out)."""
    from feasstm_gui.core.faces import identity
    from feasstm_gui.core.faces.detector import box_iou

    refs = idstore.all_actor_refs(store)
    # Only clips with a described face need their faces and frames read (16,000 clips: seconds).
    described = idstore.described_clips(store)
    out: dict[str, str] = {}
    for clip in store.clips():
        vectors = []
        if clip.id in described:
            current = {f.frame_id: f.box for f in store.current_faces(clip.id)}
            relevant = {f.id for f in store.frames(clip.id) if not f.irrelevant}
            vectors = [r.embedding for r in idstore.clip_faces(store, clip.id)
                       if r.embedding and r.frame_id in relevant and current.get(r.frame_id)
                       and box_iou(current[r.frame_id], r.box) > 0.5]
        if not vectors:
            vectors = [r.embedding for r in refs.get(idstore.actor_key(clip), [])]
        if vectors:
            out[clip.id] = identity.encode(identity.centroid(vectors))
    return out


def same_person_pairs(centroids: dict[str, str], threshold: float) -> list[tuple[str, str, float]]:
    """Pairs of clips (sorted) whose actors' descriptors are closer than `threshold`."""
    from feasstm_gui.core.faces import identity

    ids = sorted(centroids)
    out = []
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            d = identity.distance(centroids[a], centroids[b])
            if d < threshold:
                out.append((a, b, d))
    return out


def leak_problems(where: Path, centroids: dict[str, str], threshold: float,
                  split: dict[str, str], actors: dict[str, str],
                  works: dict[str, str]) -> list[Problem]:
    """A problem for each pair of clips in different splits that show the same person under two
    actor names or two works."""
    out = []
    for a, b, d in same_person_pairs(centroids, threshold):
        if a not in split or b not in split or split[a] == split[b]:
            continue
        if actors.get(a, "") == actors.get(b, "") and works.get(a, "") == works.get(b, ""):
            continue
        out.append(Problem.at(where, 0, (
            f"identity leakage: clip '{a}' ({split[a]}, actor '{actors.get(a, '')}', work "
            f"'{works.get(a, '')}') and clip '{b}' ({split[b]}, actor '{actors.get(b, '')}', "
            f"work '{works.get(b, '')}') show the same person (face distance {d:.2f} < "
            f"{threshold:.2f}); --split-by identity keeps them in one split")))
    return out


def identity_groups(clips, centroids: dict[str, str], threshold: float) -> dict[str, str]:
    """clip id -> group key: clips of one actor name, and clips showing the same person, are
    one group (connected components)."""
    parent = {c.id: c.id for c in clips}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_actor: dict[str, str] = {}
    for c in clips:
        name = c.actor.strip()
        if name:
            if name in by_actor:
                union(by_actor[name], c.id)
            else:
                by_actor[name] = c.id
    for a, b, _ in same_person_pairs({k: v for k, v in centroids.items() if k in parent},
                                     threshold):
        union(a, b)
    return {c.id: f"identity:{find(c.id)}" for c in clips}
