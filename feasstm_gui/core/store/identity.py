"""Identity in the store: the actor's reference descriptors and every face found in a clip.

All SQL of the actor_refs, clip_faces and identity_frames tables lives here (schema: the
identity migration in schema.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from feasstm_gui.core.store.store import Clip, Store, utc_now


def actor_key(clip: Clip) -> str:
    """The name a clip's references are kept under: its actor, shared by all their clips; a
    clip without an actor name has its own."""
    return clip.actor.strip() or f"clip:{clip.id}"


@dataclass
class ActorRef:
    id: int
    actor: str
    source: str  # photo | frame | label
    photo: str | None
    frame_id: int | None
    box: list[float] | None
    embedding: str


def actor_refs(store: Store, actor: str) -> list[ActorRef]:
    rows = store.db.query("SELECT id, actor, source, photo, frame_id, box, embedding FROM actor_refs "
                        "WHERE actor=? ORDER BY id", (actor,))
    return [ActorRef(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]) if r[5] else None, r[6])
            for r in rows]


def all_actor_refs(store: Store) -> dict[str, list[ActorRef]]:
    out: dict[str, list[ActorRef]] = {}
    for (actor,) in store.db.query("SELECT DISTINCT actor FROM actor_refs ORDER BY actor"):
        out[actor] = actor_refs(store, actor)
    return out


def add_actor_refs(store: Store, refs: list[dict[str, Any]]) -> list[int]:
    """Add references (dicts: actor, source, embedding, and photo / frame_id / box) in one
    transaction."""
    ids = []
    with store._tx() as db:
        for r in refs:
            ids.append(db.one(
                "INSERT INTO actor_refs (actor, source, photo, frame_id, box, embedding, "
                "created_at) VALUES (?,?,?,?,?,?,?) RETURNING id",
                (r["actor"], r["source"], r.get("photo"), r.get("frame_id"),
                 json.dumps(r["box"]) if r.get("box") is not None else None, r["embedding"],
                 utc_now()))[0])
    return ids


def remove_actor_refs(store: Store, actor: str) -> int:
    with store._tx() as db:
        n = db.one("SELECT COUNT(*) FROM actor_refs WHERE actor=?", (actor,))[0]
        db.execute("DELETE FROM actor_refs WHERE actor=?", (actor,))
        return n


# -- every face of a clip (the identities job) ----------------------------------------------


@dataclass
class ClipFace:
    frame_id: int
    frame_index: int
    k: int
    box: list[float]
    landmarks: list[list[float]]
    prob: float | None
    track: int
    embedding: str | None
    identity: int | None


def clip_faces(store: Store, clip_id: str) -> list[ClipFace]:
    rows = store.db.query(
        "SELECT c.frame_id, f.frame_index, c.k, c.box, c.landmarks, c.prob, c.track, c.embedding, "
        "c.identity FROM clip_faces c JOIN frames f ON f.id=c.frame_id WHERE f.clip=? "
        "ORDER BY f.frame_index, c.k", (clip_id,))
    return [ClipFace(r[0], r[1], r[2], json.loads(r[3]), json.loads(r[4]), r[5], r[6], r[7], r[8])
            for r in rows]


def described_clips(store: Store) -> set[str]:
    """The clips with at least one described face (an embedding in clip_faces)."""
    return {r[0] for r in store.db.query(
        "SELECT DISTINCT f.clip FROM clip_faces c JOIN frames f ON f.id=c.frame_id "
        "WHERE c.embedding IS NOT NULL")}


def identity_progress(store: Store, clip_id: str) -> tuple[int, dict | None] | None:
    """(frame index, job state) of the last frame the identities job recorded, or None."""
    row = store.db.one(
        "SELECT f.frame_index, i.state FROM identity_frames i JOIN frames f ON f.id=i.frame_id "
        "WHERE f.clip=? ORDER BY f.frame_index DESC LIMIT 1", (clip_id,))
    return (row[0], json.loads(row[1])) if row else None


def record_identity_frames(store: Store, batch: list[tuple[int, list[dict], dict]]) -> None:
    """Each frame's faces (dicts: k, box, landmarks, prob, track, embedding) and the job's
    state after it, in one transaction."""
    with store._tx() as db:
        for frame_id, faces, state in batch:
            db.execute("DELETE FROM clip_faces WHERE frame_id=?", (frame_id,))
            for f in faces:
                db.execute(
                    "INSERT INTO clip_faces (frame_id, k, box, landmarks, prob, track, embedding) "
                    "VALUES (?,?,?,?,?,?,?)",
                    (frame_id, f["k"], json.dumps(f["box"]), json.dumps(f["landmarks"]),
                     f.get("prob"), f["track"], f.get("embedding")))
            db.execute("INSERT INTO identity_frames (frame_id, state) VALUES (?,?) "
                       "ON CONFLICT (frame_id) DO UPDATE SET state=excluded.state",
                       (frame_id, json.dumps(state, separators=(",", ":"))))


def set_identities(store: Store, clip_id: str, by_track: dict[int, int]) -> None:
    with store._tx() as db:
        for track, ident in by_track.items():
            db.execute(
                "UPDATE clip_faces SET identity=? WHERE track=? AND frame_id IN "
                "(SELECT id FROM frames WHERE clip=?)", (ident, track, clip_id))


def reset_identities(store: Store, clip_id: str) -> None:
    with store._tx() as db:
        db.execute("DELETE FROM clip_faces WHERE frame_id IN (SELECT id FROM frames WHERE clip=?)",
                     (clip_id,))
        db.execute("DELETE FROM identity_frames WHERE frame_id IN "
                     "(SELECT id FROM frames WHERE clip=?)", (clip_id,))
