"""Checks for names that reach file names: clip ids and the like (DATASET.md, "Clip ids"),
and how names from the file system are read and shown.

File names are bytes on Linux. Python hands bytes that are not UTF-8 (a zip made on a Chinese
Windows, unpacked here: GBK bytes) over as lone surrogates ('\udcc6'), which neither SQLite nor
a UTF-8 terminal accepts. `fs_text` reads such a name as GBK (GB18030) when that gives the very
same bytes back, so the name is stored and shown as the text the user sees on the system that
made it, and re-encoding it as GBK gives the original bytes; anything else is refused by name.
`quote_name` shows any name on one line (a newline in a file name must not forge a second
`file:line:` problem line).
"""

from __future__ import annotations

import os
import unicodedata

from feasstm_gui.core.errors import FeasstmError

_FORBIDDEN = set('/\\:*?"<>|')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {
    f"LPT{i}" for i in range(1, 10)
}


#: File systems limit a name to 255 bytes (ext4, APFS, and NTFS in UTF-16 units); a clip id is
#: a folder name and, with a suffix and a temporary prefix, a file name (`.<clip>.txt.1a2b3c4d.tmp`
#: while an export writes annotations/<clip>.txt). 200 bytes of UTF-8 leave room for those:
#: 66 Chinese characters (3 bytes each), 100 Latin ones.
MAX_CLIP_ID_BYTES = 200


def clip_id_problem(clip_id: object) -> str | None:
    """Why `clip_id` is not a valid clip id, or None when it is."""
    if not isinstance(clip_id, str):
        return "a clip id must be text"
    if not clip_id:
        return "the clip id is empty"
    if has_undecodable(clip_id):
        return "the name is not valid UTF-8 text (a file name in another encoding)"
    if len(clip_id) > 100:
        return f"the clip id is {len(clip_id)} characters long (at most 100)"
    size = len(clip_id.encode("utf-8"))
    if size > MAX_CLIP_ID_BYTES:
        return (f"the clip id is {size} bytes long in UTF-8 (at most {MAX_CLIP_ID_BYTES}: file "
                f"names are limited in bytes, and a Chinese character takes 3)")
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


def clip_key(clip_id: str) -> str:
    """What makes two clip ids the same folder somewhere: Unicode form (macOS stores NFD names)
    and case (Windows and macOS ignore it). Two ids with one key cannot coexist."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", clip_id).casefold())


def normal_id(clip_id: str) -> str:
    """A clip id as stored: NFC, so 'café' typed and 'café' from a macOS folder name are one."""
    return unicodedata.normalize("NFC", clip_id)


def has_undecodable(text: str) -> bool:
    """True when `text` holds lone surrogates (bytes that were not UTF-8, or broken text)."""
    return any("\ud800" <= c <= "\udfff" for c in text)


def fs_text(name: str) -> str | None:
    """A file-system name as text: itself when it is valid Unicode; a name whose bytes are not
    UTF-8 read as GBK/GB18030 when that decodes them and encodes back to the same bytes; else
    None (refuse it by name)."""
    if not has_undecodable(name):
        return name
    try:
        raw = os.fsencode(name)
        text = raw.decode("gb18030")
    except (UnicodeError, ValueError):
        return None
    if text.encode("gb18030") != raw or any(_is_control(c) for c in text):
        return None
    return text


def quote_name(text: str) -> str:
    """`text` as it is when it shows plainly on one line; otherwise quoted like repr() ('a\\nb'),
    with bytes that were not UTF-8 as \\xNN, so a message stays one line and says exactly
    which name it means."""
    if not any(_is_control(c) or "\ud800" <= c <= "\udfff" for c in text):
        return text
    return "'" + "".join(_escape(c) for c in text.replace("\\", "\\\\").replace("'", "\\'")) \
        + "'"


def one_line(text: str) -> str:
    """`text` with control characters and undecodable bytes escaped (no quotes added): a message
    that mentions a name with a newline still prints as one line."""
    if not any(_is_control(c) or "\ud800" <= c <= "\udfff" for c in text):
        return text
    return "".join(_escape(c) for c in text)


def _is_control(c: str) -> bool:
    return unicodedata.category(c) in ("Cc", "Zl", "Zp")


def _escape(c: str) -> str:
    if "\udc80" <= c <= "\udcff":  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{ord(c) - 0xDC00:02x}"
    if "\ud800" <= c <= "\udfff" or _is_control(c):
        named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
        return named.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
    return c
