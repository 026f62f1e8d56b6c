"""The project database's schema and its migrations.

`PRAGMA user_version` holds the schema version. Each migration moves the database from
version N-1 to N inside one transaction; a database from a newer version is refused.
"""

from __future__ import annotations

SCHEMA_V1 = """
CREATE TABLE params (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL                 -- JSON
);

CREATE TABLE clips (
    id             TEXT PRIMARY KEY,
    video          TEXT,                -- absolute path of the source video, NULL for FAF imports
    work           TEXT NOT NULL DEFAULT '',
    actor          TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL DEFAULT '',
    grp            TEXT NOT NULL DEFAULT '',
    start_s        REAL,
    end_s          REAL,
    fps            REAL,
    source         TEXT NOT NULL DEFAULT 'video' CHECK (source IN ('video', 'faf')),
    extract_status TEXT NOT NULL DEFAULT 'pending',  -- pending | done | damaged
    align_status   TEXT NOT NULL DEFAULT 'pending',  -- pending | partial | done
    error          TEXT,
    position       INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL
);

CREATE TABLE frames (
    id           INTEGER PRIMARY KEY,
    clip         TEXT NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
    frame_index  INTEGER NOT NULL,       -- source frame index (identity with clip)
    time_ms      REAL,
    image        TEXT,                   -- full frame, relative to the project folder
    source_name  TEXT,                   -- the image's name where it came from (FAF import)
    irrelevant   INTEGER NOT NULL DEFAULT 0,
    face_version INTEGER,                -- current row of faces; NULL: no aligned face
    aligned_at   TEXT,                   -- when the alignment job last processed it (resume)
    track        TEXT,                   -- JSON tracker state after this frame (resume)
    UNIQUE (clip, frame_index)
);

CREATE TABLE faces (
    frame_id   INTEGER NOT NULL REFERENCES frames(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    box        TEXT,                     -- JSON [x1, y1, x2, y2] in frame pixels
    landmarks  TEXT,                     -- JSON [[x, y] * 5] in frame pixels
    prob       REAL,
    crop       TEXT NOT NULL,            -- relative to the project folder
    params     TEXT,                     -- JSON alignment parameters
    sharpness  REAL,
    scores     TEXT,                     -- JSON quality scores
    created_at TEXT NOT NULL,
    PRIMARY KEY (frame_id, version)
);

CREATE TABLE annotators (
    name       TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE TABLE labels (
    frame_id    INTEGER NOT NULL REFERENCES frames(id) ON DELETE CASCADE,
    annotator   TEXT NOT NULL,
    code        INTEGER NOT NULL CHECK (code BETWEEN 1 AND 7),
    labelled_at TEXT NOT NULL,
    PRIMARY KEY (frame_id, annotator)
);

CREATE TABLE adjudications (
    frame_id   INTEGER PRIMARY KEY REFERENCES frames(id) ON DELETE CASCADE,
    code       INTEGER NOT NULL CHECK (code BETWEEN 1 AND 7),
    annotator  TEXT NOT NULL,
    decided_at TEXT NOT NULL
);

CREATE TABLE deletions (
    frame_id  INTEGER NOT NULL REFERENCES frames(id) ON DELETE CASCADE,
    reason    TEXT NOT NULL CHECK (reason IN ('alignment_failure', 'incomplete', 'blur', 'other')),
    annotator TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (frame_id, reason)
);

CREATE TABLE suggestions (
    frame_id INTEGER NOT NULL REFERENCES frames(id) ON DELETE CASCADE,
    reason   TEXT NOT NULL CHECK (reason IN ('alignment_failure', 'incomplete', 'blur')),
    status   TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'dismissed')),
    score    REAL,
    PRIMARY KEY (frame_id, reason)
);

-- Every edit, with its inverse: undo/redo and the audit trail.
-- state: done (undoable) | undone (redoable) | dropped (undone, then superseded) | log (audit only)
CREATE TABLE edits (
    id          INTEGER PRIMARY KEY,
    batch       INTEGER NOT NULL,
    at          TEXT NOT NULL,
    annotator   TEXT NOT NULL,
    op          TEXT NOT NULL,
    target      TEXT NOT NULL,           -- JSON
    old         TEXT,                    -- JSON
    new         TEXT,                    -- JSON
    state       TEXT NOT NULL DEFAULT 'done',
    description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX edits_batch ON edits (batch);
CREATE INDEX edits_annotator ON edits (annotator, state, batch);

-- Acting-skill rating (FEASSTM-ASA).
CREATE TABLE raters (
    name TEXT PRIMARY KEY,
    grp  TEXT NOT NULL
);
CREATE TABLE ratings (
    clip         TEXT NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
    rater        TEXT NOT NULL,
    score        INTEGER CHECK (score BETWEEN 1 AND 5),
    description  TEXT NOT NULL DEFAULT '',
    completed_at TEXT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (clip, rater)
);
CREATE TABLE rating_picks (
    clip     TEXT NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
    rater    TEXT NOT NULL,
    rank     INTEGER NOT NULL CHECK (rank BETWEEN 1 AND 5),
    frame_id INTEGER NOT NULL REFERENCES frames(id) ON DELETE CASCADE,
    PRIMARY KEY (clip, rater, rank)
);

CREATE INDEX frames_clip ON frames (clip, frame_index);
CREATE INDEX labels_annotator ON labels (annotator);

-- The final label (DATASET.md): the adjudicated code, else the code all annotators agree on.
CREATE VIEW final_labels AS
SELECT f.id AS frame_id,
       COALESCE(a.code, (SELECT CASE WHEN COUNT(DISTINCT l.code) = 1 THEN MIN(l.code) END
                         FROM labels l WHERE l.frame_id = f.id)) AS code
FROM frames f LEFT JOIN adjudications a ON a.frame_id = f.id;
"""

# Expression proposals (issue 17): a model's guess per aligned face, apart from the labels, and
# which annotators' labels were accepted proposals (written with the label, undone with it).
PROPOSALS = """
CREATE TABLE proposals (
    frame_id     INTEGER PRIMARY KEY REFERENCES frames(id) ON DELETE CASCADE,
    face_version INTEGER NOT NULL,       -- the face (crop) it was proposed from
    model        TEXT NOT NULL,          -- the model's name and the start of its SHA-256
    code         INTEGER NOT NULL CHECK (code BETWEEN 1 AND 7),
    p            REAL NOT NULL,          -- the proposed code's probability
    probs        TEXT NOT NULL,          -- JSON: seven probabilities, codes 1-7 in order
    proposed_at  TEXT NOT NULL
);
CREATE INDEX proposals_p ON proposals (p);
CREATE TABLE proposal_accepts (
    frame_id    INTEGER NOT NULL REFERENCES frames(id) ON DELETE CASCADE,
    annotator   TEXT NOT NULL,
    code        INTEGER NOT NULL CHECK (code BETWEEN 1 AND 7),
    accepted_at TEXT NOT NULL,
    PRIMARY KEY (frame_id, annotator)
);
"""

# Identity (issue 15): the actor's reference face descriptors, shared by all clips of an actor,
# and every face found in a clip with its face track and identity cluster.
IDENTITY = """
CREATE TABLE actor_refs (
    id         INTEGER PRIMARY KEY,
    actor      TEXT NOT NULL,           -- the clips' actor name (clip:<id> for a clip without one)
    source     TEXT NOT NULL,           -- photo | frame | label
    photo      TEXT,                    -- the reference photo's path (source photo)
    frame_id   INTEGER REFERENCES frames(id) ON DELETE CASCADE,
    box        TEXT,                    -- JSON [x1, y1, x2, y2] of the face used
    embedding  TEXT NOT NULL,           -- base64 of 128 float32 (core/faces/identity.py)
    created_at TEXT NOT NULL
);
CREATE INDEX actor_refs_actor ON actor_refs (actor);
CREATE TABLE clip_faces (
    frame_id  INTEGER NOT NULL REFERENCES frames(id) ON DELETE CASCADE,
    k         INTEGER NOT NULL,         -- the face's number in its frame (largest first)
    box       TEXT NOT NULL,            -- JSON, frame pixels
    landmarks TEXT NOT NULL,            -- JSON [[x, y] * 5]
    prob      REAL,
    track     INTEGER NOT NULL,         -- face track in the clip (geometry within a shot)
    embedding TEXT,                     -- descriptor, on the sampled faces of a track only
    identity  INTEGER,                  -- identity cluster (0: the most frames), after grouping
    PRIMARY KEY (frame_id, k)
);
CREATE TABLE identity_frames (
    frame_id INTEGER PRIMARY KEY REFERENCES frames(id) ON DELETE CASCADE,
    state    TEXT NOT NULL              -- JSON state of the identity job after this frame (resume)
)
"""

# Scale (issue 19: a million frames): the labels of a frame with their codes in one index, so
# the final label and the per-clip and project counts read the index alone, frame after frame;
# the clips in list order without sorting them (the clip list, the review grid's pages).
SCALE_INDEXES = """
CREATE INDEX labels_frame_code ON labels (frame_id, code);
CREATE INDEX clips_position ON clips (position, id);
"""

# Jobs shared by machines (issue 16): who took which clip for which job, when, and how it ended.
# The exclusion itself is the server's session advisory lock (core/store/claims.py); these rows
# are the record (a killed worker's row is closed as 'abandoned' by the worker that takes over).
JOB_CLAIMS = """
CREATE TABLE job_claims (
    id         INTEGER PRIMARY KEY,
    clip       TEXT NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
    job        TEXT NOT NULL,           -- extract | align | extract and align | identities
    worker     TEXT NOT NULL,           -- host:pid
    started_at TEXT NOT NULL,
    ended_at   TEXT,                    -- NULL while the worker holds the clip
    outcome    TEXT,                    -- done | failed | stopped | finished-by-other | abandoned
    frames     INTEGER                  -- frames committed while it held the clip
);
CREATE INDEX job_claims_clip ON job_claims (clip, job);
"""

#: MIGRATIONS[n] takes the database from version n to n + 1.
MIGRATIONS: list[str] = [SCHEMA_V1, PROPOSALS, IDENTITY, SCALE_INDEXES, JOB_CLAIMS]

SCHEMA_VERSION = len(MIGRATIONS)
