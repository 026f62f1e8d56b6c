"""Checks for names that reach file names: clip ids and the like (DATASET.md, "Clip ids")."""

from __future__ import annotations

from feasstm_gui.core.errors import FeasstmError

_FORBIDDEN = set('/\\:*?"<>|')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {
    f"LPT{i}" for i in range(1, 10)
}


def clip_id_problem(clip_id: object) -> str | None:
    """Why `clip_id` is not a valid clip id, or None when it is."""
    if not isinstance(clip_id, str):
        return "a clip id must be text"
    if not clip_id:
        return "the clip id is empty"
    if len(clip_id) > 100:
        return f"the clip id is {len(clip_id)} characters long (at most 100)"
    if clip_id in (".", ".."):
        return f"'{clip_id}' is not allowed as a clip id"
    bad = sorted({c for c in clip_id if c in _FORBIDDEN})
    if bad:
        return "the clip id contains " + " ".join(repr(c) for c in bad) + ", not allowed in file names"
    if any(ord(c) < 32 or ord(c) == 127 for c in clip_id):
        return "the clip id contains a control character"
    if clip_id[0] in " ." or clip_id[-1] in " .":
        return "the clip id starts or ends with a space or a dot"
    if clip_id.split(".")[0].upper() in _WINDOWS_RESERVED:
        return f"'{clip_id}' is a reserved device name on Windows"
    return None


def check_clip_id(clip_id: object, *, path=None, line: int | None = None) -> str:
    """Return `clip_id` if valid, else raise FeasstmError naming it."""
    problem = clip_id_problem(clip_id)
    if problem:
        raise FeasstmError(f"bad clip id {clip_id!r}: {problem}", path=path, line=line)
    return clip_id  # type: ignore[return-value]
