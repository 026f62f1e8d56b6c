"""The project settings a researcher may change, with their ranges: one registry that the
`feasstm params` command and the window's Project settings dialog both read.

Settings are stored as project parameters (`Store.params`). Most are plain values
(`align.size`); the detector's, the tracker's and the quality thresholds are stored as one object
each (`align.detector`, ...) and are edited field by field here (`align.detector.min_face_size`).
A value is checked against its setting's type and range before anything is written, and several
values are written in one transaction: all or none.

Changing how faces are found or cropped does not touch the crops already made: they keep the
parameters they were made with (each face records them); re-align frames to apply new ones.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from feasstm_gui.core.errors import FeasstmError

if TYPE_CHECKING:  # the store reads DEFAULTS from here: no import of it at run time
    from feasstm_gui.core.store import Store

#: The plain parameters of a new project and their defaults: the one place they are written.
#: A new project stores them all (so it keeps its own); a project without one reads this.
DEFAULTS: dict[str, Any] = {
    "align.preset": "emotion_fan",
    "align.size": 100,
    "align.margin": None,  # None: the preset's own margin
    "extract.fps": None,
    "extract.jpeg_quality": 95,
    # frames of a video stored reduced to this longer side (the video gives the full frame
    # again when needed: core/ingest/full_frames.py); None stores full frames (issue 19)
    "extract.preview_side": 640,
    "backup.keep": 10,
    "backup.min_interval_s": 600,
    "backup.every_edits": 1000,
    "proposals.in_blind_pass": "hidden",  # a model's proposals anchor a blind pass
}


def object_classes() -> dict[str, type]:
    """Parameters stored as one object, and the settings class whose field defaults are theirs
    (imported when first asked for: they bring numpy, which the store does not need)."""
    from feasstm_gui.core.faces.detector import DetectorSettings
    from feasstm_gui.core.faces.quality import QualityThresholds
    from feasstm_gui.core.faces.tracker import TrackerSettings

    return {"align.detector": DetectorSettings, "align.tracker": TrackerSettings,
            "quality.thresholds": QualityThresholds}


class StoredSettings:
    """The JSON form of a frozen settings dataclass (detector, tracker, quality thresholds),
    one rule for all: `to_dict` gives plain values (tuples as lists); `from_dict` takes the
    fields it knows (older and newer projects), lists back to tuples and whole numbers to
    floats where the field's default is one."""

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        known = {}
        for f in fields(cls):
            if f.name in d:
                known[f.name] = _like(f.default, d[f.name])
        return cls(**known)


def _like(default: Any, value: Any) -> Any:
    if isinstance(default, tuple) and isinstance(value, (list, tuple)):
        return tuple(_like(default[0] if default else None, v) for v in value)
    if isinstance(default, float) and isinstance(value, (int, str)) and not isinstance(value, bool):
        return float(value)
    return value


@dataclass(frozen=True)
class Setting:
    """One editable setting: its key, what it means, its type and range."""

    key: str
    title: str
    kind: str  # "int", "float", "choice", "device"
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    #: None is allowed, and means this (shown in place of an empty value)
    none_means: str | None = None
    help: str = ""
    #: changing it affects faces found or cropped from now on (not the crops made before)
    faces: bool = False

    @property
    def parent(self) -> str | None:
        for obj in object_classes():
            if self.key.startswith(obj + "."):
                return obj
        return None

    @property
    def field(self) -> str:
        parent = self.parent
        return self.key[len(parent) + 1:] if parent else self.key

    def default(self) -> Any:
        parent = self.parent
        if parent is None:
            return DEFAULTS.get(self.key)
        return object_classes()[parent]().to_dict()[self.field]

    def get(self, store: Store) -> Any:
        parent = self.parent
        if parent is None:
            return store.param(self.key)
        return _object_value(store, parent)[self.field]

    def parse(self, text: str | Any) -> Any:
        """A value from what a user typed (or a JSON value), checked; FeasstmError if wrong."""
        value = text.strip() if isinstance(text, str) else text
        if value is None or (isinstance(value, str) and value.lower() in ("", "none", "null")):
            if self.none_means is None:
                raise FeasstmError(f"{self.key} needs a value ({self.describe_range()})")
            return None
        if self.kind == "choice":
            if str(value) not in self.choices:
                raise FeasstmError(f"{self.key} must be one of {', '.join(self.choices)} "
                                   f"(not {value!r})")
            return str(value)
        if self.kind == "device":
            value = str(value)
            if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", value):
                raise FeasstmError(f"{self.key} must be auto, cpu, cuda or cuda:N (not {value!r})")
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise FeasstmError(f"{self.key} must be a number ({self.describe_range()}), not "
                               f"{value!r}") from None
        if not math.isfinite(number):
            raise FeasstmError(f"{self.key} must be a finite number, not {value!r}")
        if self.kind == "int":
            if number != int(number):
                raise FeasstmError(f"{self.key} must be a whole number, not {value!r}")
            number = int(number)
        if (self.lo is not None and number < self.lo) or (self.hi is not None and number > self.hi):
            raise FeasstmError(f"{self.key} must be {self.describe_range()}, not {value!r}")
        return number

    def describe_range(self) -> str:
        if self.kind == "choice":
            text = "one of " + ", ".join(self.choices)
        elif self.kind == "device":
            text = "auto, cpu, cuda or cuda:N"
        else:
            what = "a whole number" if self.kind == "int" else "a number"
            text = f"{what} from {_fmt(self.lo)} to {_fmt(self.hi)}"
        if self.none_means is not None:
            text += f", or none ({self.none_means})"
        return text

    def show(self, value: Any) -> str:
        if value is None:
            return f"none ({self.none_means})" if self.none_means else "none"
        return _fmt(value)


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _object_value(store: Store, parent: str) -> dict[str, Any]:
    """The object as stored, completed with the defaults of fields it lacks (older projects)."""
    cls = object_classes()[parent]
    stored = store.param(parent) or {}
    full = cls.from_dict(stored).to_dict()
    extra = {k: v for k, v in stored.items() if k not in full}  # e.g. the detector's "model"
    return {**full, **extra}


def _presets() -> tuple[str, ...]:
    from feasstm_gui.core.faces.align import PRESETS

    return tuple(PRESETS)


def _registry() -> list[Setting]:
    return [
        Setting("extract.fps", "Frames kept per second", "float", 0.1, 1000.0,
                none_means="every frame", help="extraction keeps the first frame of each "
                "1/fps interval"),
        Setting("extract.jpeg_quality", "JPEG quality of stored frames", "int", 50, 100),
        Setting("extract.preview_side", "Stored frames' longer side (pixels)", "int", 160, 8192,
                none_means="the full frame", help="frames of a video stored for the preview "
                "at most this size; re-align and identities decode the full frame from the "
                "video again (so the video must stay where it is)"),
        Setting("align.preset", "Alignment template", "choice", choices=_presets(), faces=True,
                help="emotion_fan: close to Emotion-FAN's dlib face chip; arcface: tighter"),
        Setting("align.size", "Crop size (pixels)", "int", 32, 1024, faces=True),
        Setting("align.margin", "Crop margin (fraction of the face frame)", "float", 0.0, 1.0,
                none_means="the template's own", faces=True),
        Setting("align.detector.min_face_size", "Smallest face (pixels)", "float", 12, 2000,
                faces=True),
        Setting("align.detector.min_prob", "Lowest detection probability kept", "float",
                0.5, 1.0, faces=True),
        Setting("align.detector.device", "Detector device", "device", faces=True,
                help="auto uses a CUDA GPU when torch sees one"),
        Setting("align.tracker.full_every", "Whole-frame check every N frames", "int", 1, 100000,
                faces=True, help="how soon a face that appears elsewhere is noticed"),
        Setting("align.tracker.absent_full_every", "While the actor is absent, all sizes every "
                "N frames", "int", 1, 1000, faces=True, help="all sizes at each cut and once N "
                "frames have passed since the last all-sizes search; between, faces of the "
                "actor's last size (1: all sizes always)"),
        Setting("align.tracker.absent_every", "While the actor is absent, search one frame in "
                "N", "int", 1, 100, faces=True, help="the search at the actor's size runs on one "
                "frame in N while it is absent within a shot; an actor walking in mid-shot is "
                "found at most N-1 frames late (1: every frame)"),
        Setting("align.tracker.cut_threshold", "Scene cut threshold", "float", 0.01, 1.0,
                faces=True, help="colour-histogram distance between frames that counts as a cut"),
        Setting("align.tracker.identity_distance", "Actor identity: largest face-descriptor "
                "distance", "float", 0.1, 1.5, faces=True, help="mean distance of a shot's "
                "faces to the actor's references; same person 0.27-0.57, others 0.56-0.91 "
                "measured (docs/ALIGNMENT.md)"),
        Setting("align.tracker.identity_every", "Actor identity: compare a followed face again "
                "every N frames", "int", 1, 100000, faces=True, help="its samples vote; each "
                "costs about 0.1 s"),
        Setting("align.tracker.identity_settled", "Actor identity: a face this far from the "
                "limit is settled", "float", 0.0, 2.0, faces=True, help="its vote is not sampled "
                "again until a cut or a jump (2: every face sampled every N frames)"),
        Setting("align.tracker.identity_margin", "Actor identity: margin for a face that looks "
                "like the actor's last frame", "float", 0.0, 1.0, faces=True, help="a face up "
                "to this much further than the limit is the actor when its thumbnail also "
                "matches the actor's last frame (0: never)"),
        Setting("align.tracker.min_similarity", "Actor identity: thumbnail similarity for that "
                "margin", "float", 0.0, 1.0, faces=True, help="correlation of 16 x 16 grey "
                "thumbnails; the same face in a shot 0.92-1.0, another person 0.23-0.25"),
        Setting("align.tracker.identity_max_faces", "Actor identity: faces compared per frame",
                "int", 1, 100, faces=True, help="the largest faces first"),
        Setting("quality.thresholds.min_prob", "Alignment failure: probability below", "float",
                0.0, 1.0, faces=True),
        Setting("quality.thresholds.max_yaw", "Alignment failure: yaw above (degrees)", "float",
                0.0, 90.0, faces=True),
        Setting("quality.thresholds.max_roll", "Alignment failure: roll above (degrees)",
                "float", 0.0, 180.0, faces=True),
        Setting("quality.thresholds.min_box_visible", "Incomplete: face box inside the frame "
                "below", "float", 0.0, 1.0, faces=True),
        Setting("quality.thresholds.min_crop_visible", "Incomplete: crop inside the frame below",
                "float", 0.0, 1.0, faces=True),
        Setting("quality.thresholds.blur_relative", "Blur: sharpness below this fraction of the "
                "clip's median", "float", 0.0, 1.0, faces=True),
        Setting("quality.thresholds.blur_absolute", "Blur: sharpness below", "float", 0.0, 1e6,
                faces=True),
        Setting("proposals.in_blind_pass", "Expression proposals in a blind pass", "choice",
                choices=("hidden", "shown"), help="a model's proposals anchor annotators: "
                "hidden while each annotator labels alone, unless the project decides otherwise"),
        Setting("proposals.queue_min_p", "Disagreement queue: proposals at least this "
                "probable", "float", 0.0, 1.0, none_means="0.6"),
        Setting("backup.keep", "Backups kept", "int", 1, 1000),
        Setting("backup.min_interval_s", "Seconds between automatic backups", "int", 0, 10**7),
        Setting("backup.every_edits", "Automatic backup after this many edits", "int", 1, 10**7),
    ]


@functools.cache
def _built() -> tuple[list[Setting], dict[str, Setting]]:
    settings = _registry()
    return settings, {s.key: s for s in settings}


def __getattr__(name: str) -> Any:
    """SETTINGS (every setting, in order) and BY_KEY are built when first used: the registry
    reads the alignment presets, and with them numpy, which the store reading DEFAULTS does
    not need."""
    if name == "SETTINGS":
        return _built()[0]
    if name == "BY_KEY":
        return _built()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def setting(key: str) -> Setting:
    by_key = _built()[1]
    s = by_key.get(key)
    if s is None:
        close = [k for k in by_key if key.split(".")[-1] in k] or list(by_key)
        raise FeasstmError(f"no setting named {key!r}; settings: {', '.join(close)}")
    return s


def current(store: Store) -> dict[str, Any]:
    """Every setting's value in this project."""
    return {s.key: s.get(store) for s in _built()[0]}


def apply(store: Store, values: dict[str, Any]) -> list[tuple[Setting, Any, Any]]:
    """Check every value, then write them all in one transaction. Returns (setting, old, new)
    for the values that changed. Raises FeasstmError (nothing written) on any bad value."""
    parsed = {key: setting(key).parse(v) for key, v in values.items()}
    changes: list[tuple[Setting, Any, Any]] = []
    plain: dict[str, Any] = {}
    objects: dict[str, dict[str, Any]] = {}
    for key, value in parsed.items():
        s = setting(key)
        old = s.get(store)
        if old == value:
            continue
        changes.append((s, old, value))
        parent = s.parent
        if parent is None:
            plain[key] = value
        else:
            obj = objects.setdefault(parent, _object_value(store, parent))
            obj[s.field] = value
    if plain or objects:
        store.set_params({**plain, **objects})
    return changes


def faces_affected(store: Store, changes: list[tuple[Setting, Any, Any]]) -> int:
    """How many frames already have a face that the changes do not apply to (re-align them)."""
    if not any(s.faces for s, _, _ in changes):
        return 0
    return sum(1 for c in store.clips() if c.source == "video"
               for f in store.frames(c.id) if f.crop)
