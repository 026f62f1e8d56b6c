"""A thin adapter from the window to the core jobs that detect, align, track and import.

The jobs live in `feasstm_gui.core.pipeline` (generators that yield Progress). They are imported
only when the user runs one, so the window opens without importing torch. Where a job is not
there (an installation without the face stack), the user gets a message that says so.
"""

from __future__ import annotations

import importlib
from collections.abc import Generator, Sequence
from types import ModuleType
from typing import Any

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.store import Store

PIPELINE = "feasstm_gui.core.pipeline"

#: Job name -> (module, function) candidates, first found wins.
CANDIDATES: dict[str, list[tuple[str, str]]] = {
    "extract": [(PIPELINE, "extract_clip")],
    "align": [(PIPELINE, "align_clip")],
    "realign": [(PIPELINE, "realign_frames")],
    "actor": [(PIPELINE, "set_actor"), (PIPELINE, "mark_actor"), (PIPELINE, "propagate_actor"),
              (PIPELINE, "track_actor")],
    "import_faf": [("feasstm_gui.core.importer", "import_faf"), (PIPELINE, "import_faf")],
}

_WHAT = {
    "extract": "frame extraction",
    "align": "face alignment",
    "realign": "re-alignment",
    "actor": "the actor tracker",
    "import_faf": "FAF import",
}


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):  # the module itself (or its package) is absent
            return None
        raise FeasstmError(
            f"{_pretty(name)} cannot be loaded: {exc} is not installed; install the face stack "
            "(`pip install -e .`) and restart") from exc


def _pretty(module: str) -> str:
    return module.replace("feasstm_gui.", "")


def find(job: str) -> Any | None:
    for module, func in CANDIDATES[job]:
        mod = _module(module)
        if mod is not None and callable(getattr(mod, func, None)):
            return getattr(mod, func)
    return None


def available(job: str) -> bool:
    """Whether the job can run (imports the pipeline module: call it only when needed)."""
    try:
        return find(job) is not None
    except FeasstmError:
        return False


def _require(job: str) -> Any:
    func = find(job)
    if func is None:
        raise FeasstmError(f"{_WHAT[job]} is not available in this installation "
                           f"({PIPELINE} has no such job yet); use the `feasstm` command, or "
                           "update FEASSTM Studio")
    return func


def _as_job(value: Any) -> Generator:
    """A job function returns a generator; one that does its work at once returns a result."""
    if hasattr(value, "__next__") and hasattr(value, "close"):
        return value
    return _done(value)


def _done(value: Any) -> Generator:
    return value
    yield  # pragma: no cover - makes this a generator


def extract_job(store: Store, clip_id: str) -> Generator:
    return _as_job(_require("extract")(store, clip_id))


def align_job(store: Store, clip_id: str) -> Generator:
    return _as_job(_require("align")(store, clip_id))


def realign_options(options: dict) -> dict:
    """The window's options in the pipeline's terms: the window draws boxes as corners
    [x1, y1, x2, y2]; RealignOptions takes [x, y, width, height]. Hand-placed landmarks win over
    the box (the pipeline aligns on them directly)."""
    out = {k: v for k, v in options.items() if v is not None}
    box = out.pop("box", None)
    if box is not None and "landmarks" not in out:
        x1, y1, x2, y2 = (float(v) for v in box[:4])
        out["box"] = [min(x1, x2), min(y1, y2), abs(x2 - x1), abs(y2 - y1)]
    return out


def realign_job(store: Store, frame_ids: Sequence[int], options: dict) -> Generator:
    return _as_job(_require("realign")(store, list(frame_ids), realign_options(options)))


def actor_job(store: Store, frame_id: int, box: Sequence[float] | None) -> Generator:
    return _as_job(_require("actor")(store, frame_id, None if box is None else list(box)))


def import_faf_job(store: Store, folder: str) -> Generator:
    return _as_job(_require("import_faf")(store, folder))
