"""FEASSTM-FAF folders made by hand: TXT label lists and the clip folders they describe.

The rules are DATASET.md's "What the application reads". Reading never stops at the first bad
line: every problem is collected as a `Problem` (`file:line: reason`) and the rest is kept, so an
annotator can fix all of them in one pass.
"""

from __future__ import annotations

import numbers
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.files import TEXT_MAX_BYTES, NotReadable, entry_kind, read_regular
from feasstm_gui.core.ingest.images import atomic_write_bytes, image_problem, is_image_name
from feasstm_gui.core.names import clip_id_problem, fs_text, normal_id
from feasstm_gui.core.problems import Problem

#: Codes a TXT line may carry: 0 unlabelled, 1-7 the expressions (DATASET.md, "Codes").
VALID_CODES = range(0, 8)

LAYOUTS = (
    "expected (a) the export layout, faces/<clip>/ with annotations/<clip>.txt, or "
    "(b) one folder of images per clip, <clip>/, with <clip>.txt beside it or one *.txt inside it"
)

_UTF8_BOM = b"\xef\xbb\xbf"
_CODE = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]*)?")
_DIGITS = re.compile(r"([0-9]+)")
#: How much of a bad line a message quotes (a 200,000-character line must not flood stderr).
_QUOTE_MAX = 80


def _quote(text: str) -> str:
    """repr() of a piece of a line for a message, shortened when it is long."""
    if len(text) <= _QUOTE_MAX:
        return repr(text)
    return f"{text[:_QUOTE_MAX]!r}... ({len(text)} characters)"


@dataclass
class TxtLine:
    """One valid line of a label TXT: an image name (maybe without extension) and its code."""

    line: int
    name: str
    code: int


@dataclass
class FafImage:
    """An image to import. `code` 0 is unlabelled; `line` 0 when no TXT line names it."""

    name: str
    path: Path
    code: int
    line: int


@dataclass
class FafClip:
    """One clip folder: its id (the folder name), its TXT if any, and its readable images."""

    clip_id: str
    image_dir: Path
    txt: Path | None
    images: list[FafImage]


# ---------------------------------------------------------------------------- text and TXT lines


def decode_text(data: bytes, path: str | Path) -> str:
    """Text of a file that is UTF-8 (with or without BOM) or GBK; FeasstmError otherwise."""
    text, reason = _decode(data)
    if text is None:
        raise FeasstmError(reason, path=path)
    return text


def read_text(path: str | Path) -> str:
    """Read and decode a text file, as decode_text; a file that cannot be read is a FeasstmError."""
    try:
        data = read_regular(path, TEXT_MAX_BYTES)
    except NotReadable as exc:
        raise FeasstmError(f"cannot read the file: {exc.reason}", path=path) from exc
    return decode_text(data, path)


def _decode(data: bytes) -> tuple[str | None, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, "UTF-16 text, not UTF-8 or GBK; save it as UTF-8 and try again"
    if data.startswith(_UTF8_BOM):
        try:
            text = data[len(_UTF8_BOM) :].decode("utf-8")
        except UnicodeDecodeError as exc:
            return (
                None,
                f"not UTF-8 text after its UTF-8 mark (byte {exc.start + 3}); save it as UTF-8",
            )
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                # GB18030 is a superset of GBK (and of GB2312): one decoder reads all three.
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                return None, "not UTF-8 or GBK text; save it as UTF-8 and try again"
    if "\x00" in text:
        return None, "not UTF-8 or GBK text (it holds NUL bytes); is it really a text file?"
    return text, ""


def split_lines(text: str) -> list[str]:
    """Lines as an editor numbers them: `\\r\\n`, `\\n` or a lone `\\r` ends a line."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


@dataclass
class _ParsedTxt:
    lines: list[TxtLine] = field(default_factory=list)
    #: (line, name) of lines that name an image but carry no valid code.
    invalid: list[tuple[int, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def read_faf_txt(path: str | Path) -> tuple[list[TxtLine], list[Problem]]:
    """The valid `<image name> <code>` lines of a label TXT, and a Problem for each bad line.

    Blank lines are skipped silently; a header line (the first line, when its last field is not
    a number) is skipped and reported. Duplicate names are returned as they are: which line
    wins depends on the images (`a` and `a.jpg` name the same one), so scan_faf_folder decides.
    A file that cannot be read or decoded raises FeasstmError naming it.
    """
    parsed = _parse_txt(read_text(path), path)
    return parsed.lines, parsed.problems


def _parse_txt(text: str, path: str | Path) -> _ParsedTxt:
    out = _ParsedTxt()
    seen_content = False
    for number, raw in enumerate(split_lines(text), start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        first, seen_content = not seen_content, True
        fields = stripped.rsplit(None, 1)
        if len(fields) == 1:
            out.invalid.append((number, stripped))
            out.problems.append(
                Problem.at(
                    path, number, f"no code after {_quote(stripped)} (expected '<image name> <code>')"
                )
            )
            continue
        name, code = fields[0].strip(), fields[1]
        if _CODE.fullmatch(code) and int(code) in VALID_CODES:
            out.lines.append(TxtLine(number, name, int(code)))
        elif first and not _NUMBER.fullmatch(code) and not is_image_name(name):
            out.problems.append(Problem.at(path, number, "header line skipped"))
        else:
            out.invalid.append((number, name))
            out.problems.append(
                Problem.at(path, number, f"unknown code {_quote(code)} for {_quote(name)} (expected 0-7)")
            )
    return out


def write_faf_txt(path: str | Path, rows: Iterable[tuple[str, int]]) -> Path:
    """Write a label TXT: one `<image name> <code>` line per row, UTF-8 without BOM, `\\n` ends.

    The file appears complete or not at all. A name that would not read back the same (empty,
    spaces around it, a line break) or a code outside 0-7 raises FeasstmError.
    """
    out = []
    for name, code in rows:
        if not isinstance(name, str) or not name or name != name.strip() or _has_break(name):
            raise FeasstmError(f"cannot write image name {name!r} to a TXT line", path=path)
        if (
            isinstance(code, bool)
            or not isinstance(code, numbers.Integral)
            or code not in VALID_CODES
        ):
            raise FeasstmError(f"cannot write code {code!r} for {name!r} (expected 0-7)", path=path)
        out.append(f"{name} {int(code)}\n")
    return atomic_write_bytes(path, "".join(out).encode("utf-8"), durable=True)


def _has_break(name: str) -> bool:
    return "\n" in name or "\r" in name


# ---------------------------------------------------------------------------- folders


def natural_key(name: str) -> tuple:
    """Sort key that puts 000002 before 000010 and img2 before img10."""
    parts = _DIGITS.split(name)
    key = tuple((0, int(p), p) if i % 2 else (1, 0, p.casefold()) for i, p in enumerate(parts))
    return key, name


@dataclass
class _ClipSource:
    clip_id: str
    image_dir: Path
    images: list[Path]
    txt: Path | None
    #: Why there is no TXT, when `txt` is None.
    no_txt: str = ""


def scan_faf_folder(folder: str | Path) -> tuple[list[FafClip], list[Problem]]:
    """The clips of a hand-made FAF folder in either layout, and every problem found.

    Raises FeasstmError naming the folder when it matches neither layout (nothing to import).
    A clip with a bad id, or with no readable image, is reported and left out.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FeasstmError(f"not a folder; {LAYOUTS}", path=folder)
    problems: list[Problem] = []
    sources = _export_layout(folder, problems)
    if sources is None:
        sources = _folder_layout(folder, problems)
    clips = []
    for source in sorted(sources, key=lambda s: natural_key(s.clip_id)):
        clip = _scan_clip(source, problems)
        if clip is not None:
            clips.append(clip)
    return clips, problems


def _listing(folder: Path, problems: list[Problem] | None = None) -> tuple[list[Path], list[Path]]:
    """(regular files, folders) of `folder` in natural order, hidden entries (`.x`, macOS `._x`)
    left out. Anything else (a named pipe, a device or a link to one, a socket, a symbolic link
    loop, a broken link) is never opened: it is reported to `problems`, by name, and skipped."""
    files: list[Path] = []
    dirs: list[Path] = []
    odd: list[tuple[Path, str]] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                kind = ("folder" if entry.is_dir() else "file" if entry.is_file()
                        else entry_kind(entry.path))
            except OSError:  # a symbolic link loop: is_dir() follows the link
                kind = entry_kind(entry.path)
            if kind == "folder":
                dirs.append(Path(entry.path))
            elif kind == "file":
                files.append(Path(entry.path))
            else:
                odd.append((Path(entry.path), kind))
    key = lambda p: natural_key(p.name)  # noqa: E731
    if problems is not None:
        for path, kind in sorted(odd, key=lambda e: key(e[0])):
            problems.append(Problem.at(path, 0, f"{kind}, not a file or folder; skipped"))
    return sorted(files, key=key), sorted(dirs, key=key)


def _top_listing(folder: Path, problems: list[Problem] | None = None
                 ) -> tuple[list[Path], list[Path]]:
    try:
        return _listing(folder, problems)
    except OSError as exc:
        raise FeasstmError(f"cannot list the folder: {exc.strerror or exc}", path=folder) from exc


def _images(files: list[Path]) -> list[Path]:
    return [p for p in files if is_image_name(p.name)]


def _texts(files: list[Path]) -> list[Path]:
    return [p for p in files if p.suffix.lower() == ".txt"]


def _candidates(dirs: list[Path], problems: list[Problem]) -> list[tuple[Path, list[Path]]]:
    """(folder, files) of each folder that holds at least one image; the others are reported."""
    out = []
    for d in dirs:
        try:
            files = _listing(d, problems)[0]
        except OSError as exc:
            problems.append(
                Problem.at(d, 0, f"cannot list this folder ({exc.strerror or exc}); skipped")
            )
            continue
        if _images(files):
            out.append((d, files))
        else:
            problems.append(Problem.at(d, 0, "no images in this folder; skipped"))
    return out


def _export_layout(folder: Path, problems: list[Problem]) -> list[_ClipSource] | None:
    """Clips of the export layout, or None when `folder` is not in it."""
    faces, annotations = folder / "faces", folder / "annotations"
    if not faces.is_dir():
        return None
    found_problems: list[Problem] = []
    clip_dirs = _top_listing(faces, found_problems)[1]
    found = _candidates(clip_dirs, found_problems)
    if not found:
        return None  # perhaps a clip named "faces" in layout (b)
    problems.extend(found_problems)
    sources = []
    for clip_dir, files in found:
        txt = annotations / f"{clip_dir.name}.txt"
        if txt.is_file():
            sources.append(_ClipSource(clip_dir.name, clip_dir, _images(files), txt))
        else:
            why = f"no annotations/{clip_dir.name}.txt"
            sources.append(_ClipSource(clip_dir.name, clip_dir, _images(files), None, why))
    if annotations.is_dir():
        names = {d.name for d in clip_dirs}
        for txt in _texts(_top_listing(annotations, problems)[0]):
            if txt.stem not in names:
                problems.append(Problem.at(txt, 0, f"no folder faces/{txt.stem}; TXT not used"))
    return sources


def _folder_layout(folder: Path, problems: list[Problem]) -> list[_ClipSource]:
    """Clips of the one-folder-per-clip layout; FeasstmError when there are none."""
    found_problems: list[Problem] = []
    files, dirs = _top_listing(folder, found_problems)
    found = _candidates(dirs, found_problems)
    loose = _images(files)
    if not found:
        hint = "; it holds images itself: choose the folder that holds the clip folders"
        raise FeasstmError(
            f"no clip folder with images found{hint if loose else ''}; {LAYOUTS}", path=folder
        )
    problems.extend(found_problems)
    if loose:
        problems.append(
            Problem.at(
                folder,
                0,
                f"{len(loose)} image(s) outside any clip folder skipped (first: {loose[0].name})",
            )
        )
    sources = [_folder_clip(folder, clip_dir, files, problems) for clip_dir, files in found]
    names = {d.name for d in dirs}
    for txt in _texts(files):
        if txt.stem not in names:
            problems.append(Problem.at(txt, 0, f"no clip folder named {txt.stem!r}; TXT not used"))
    return sources


def _folder_clip(
    folder: Path, clip_dir: Path, files: list[Path], problems: list[Problem]
) -> _ClipSource:
    """Find the TXT of a clip folder in layout (b): beside it, or the single one inside it."""
    beside = folder / f"{clip_dir.name}.txt"
    inside = _texts(files)
    named_inside = clip_dir / f"{clip_dir.name}.txt"
    chosen: Path | None = None
    if beside.is_file():
        chosen = beside
    elif len(inside) == 1:
        chosen = inside[0]
    elif named_inside in inside:
        chosen = named_inside
    images = _images(files)
    if chosen is not None:
        for other in inside:
            if other != chosen:
                problems.append(Problem.at(other, 0, f"not used: {chosen} labels this clip"))
        return _ClipSource(clip_dir.name, clip_dir, images, chosen)
    if inside:
        listed = ", ".join(p.name for p in inside)
        why = f"several TXT files ({listed}), none named {clip_dir.name}.txt"
    else:
        why = f"no {clip_dir.name}.txt beside this folder and no TXT inside it"
    return _ClipSource(clip_dir.name, clip_dir, images, None, why)


# ---------------------------------------------------------------------------- one clip


class _NameIndex:
    """Find the images a TXT name means: the file name, else the name without extension; then
    the same ignoring case. Names compare in Unicode form NFC: a TXT typed on Windows says
    'café.jpg' (NFC) where a folder from macOS holds 'café.jpg' (NFD), and both mean one image."""

    def __init__(self, named: list[tuple[str, Path]]):
        self._tables: list[dict[str, list[Path]]] = [{}, {}, {}, {}]
        for name, p in named:
            name = _nfc(name)
            stem = Path(name).stem
            for table, key in zip(
                self._tables, (name, stem, name.casefold(), stem.casefold()), strict=True
            ):
                table.setdefault(key, []).append(p)

    def find(self, name: str) -> list[Path]:
        name = _nfc(name)
        for table, key in zip(
            self._tables, (name, name, name.casefold(), name.casefold()), strict=True
        ):
            if key in table:
                return table[key]
        return []


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _names_as_text(source: _ClipSource, problems: list[Problem]) -> dict[Path, str] | None:
    """Each image's name as text (`fs_text`: GBK bytes read as GBK), and the clip id; None when
    the folder's own name cannot be read (reported). Images whose names cannot be read are
    reported and left out of the result."""
    clip_id = fs_text(source.clip_id)
    if clip_id is None:
        problems.append(Problem.at(
            source.image_dir, 0, "the folder name is neither UTF-8 nor GBK text; rename it "
            "(e.g. convmv) and import again; clip skipped"))
        return None
    if clip_id != source.clip_id:
        problems.append(Problem.at(
            source.image_dir, 0, f"the folder name is GBK, not UTF-8: imported as clip "
            f"{clip_id!r}"))
    source.clip_id = normal_id(clip_id)
    names: dict[Path, str] = {}
    read_as_gbk = []
    for path in source.images:
        text = fs_text(path.name)
        if text is None:
            problems.append(Problem.at(path, 0, "the file name is neither UTF-8 nor GBK text; "
                                       "rename it (e.g. convmv) and import again; not imported"))
            continue
        if any(unicodedata.category(c) == "Cc" for c in text):
            # a TXT line cannot name it, and an export could not list it
            problems.append(Problem.at(path, 0, "the file name holds a line break or another "
                                       "control character; rename it; not imported"))
            continue
        if text != path.name:
            read_as_gbk.append(text)
        names[path] = text
    if read_as_gbk:
        problems.append(Problem.at(
            source.image_dir, 0, f"{len(read_as_gbk)} file name(s) are GBK, not UTF-8: imported "
            f"under their GBK reading (first: {read_as_gbk[0]!r})"))
    return names


def _scan_clip(source: _ClipSource, problems: list[Problem]) -> FafClip | None:
    names = _names_as_text(source, problems)
    if names is None:
        return None
    problem = clip_id_problem(source.clip_id)
    if problem:
        problems.append(
            Problem.at(
                source.image_dir, 0, f"bad clip id {source.clip_id!r}: {problem}; clip skipped"
            )
        )
        return None
    source.images = [p for p in source.images if p in names]
    readable = []
    for path in source.images:
        reason = image_problem(path)
        if reason:
            problems.append(Problem.at(path, 0, f"{reason}; not imported"))
        else:
            readable.append(path)
    txt, parsed = source.txt, None
    if txt is not None:
        parsed = _load_txt(txt, len(readable), problems)
        txt = txt if parsed is not None else None
    elif readable:
        problems.append(
            Problem.at(
                source.image_dir,
                0,
                f"{source.no_txt}; {len(readable)} image(s) imported unlabelled",
            )
        )
    claims = (
        _claims(txt, parsed, [(names[p], p) for p in source.images], problems)
        if txt is not None and parsed is not None
        else {}
    )
    images = []
    for path in readable:
        line, code = claims.get(path, (0, 0))
        images.append(FafImage(names[path], path, code, line))
        if txt is not None and path not in claims:
            problems.append(
                Problem.at(txt, 0, f"image {names[path]} is not listed; imported unlabelled")
            )
    if not images:
        problems.append(Problem.at(source.image_dir, 0, "no image could be read; clip skipped"))
        return None
    return FafClip(source.clip_id, source.image_dir, txt, images)


def _load_txt(txt: Path, n_images: int, problems: list[Problem]) -> _ParsedTxt | None:
    """The parsed TXT, or None (reported) when it cannot be read as text."""
    try:
        text, reason = _decode(read_regular(txt, TEXT_MAX_BYTES))
    except NotReadable as exc:
        text, reason = None, f"cannot read the file: {exc.reason}"
    if text is None:
        problems.append(Problem.at(txt, 0, f"{reason}; {n_images} image(s) imported unlabelled"))
        return None
    return _parse_txt(text, txt)


def _claims(
    txt: Path, parsed: _ParsedTxt, named: list[tuple[str, Path]], problems: list[Problem]
) -> dict[Path, tuple[int, int]]:
    """(line, code) per image named by the clip's TXT; the first line naming an image wins.

    A line with a bad code still claims its image (which is then imported unlabelled), so a
    later line cannot silently give it a label the annotator may not have meant. Damaged
    images take part, so their lines are not reported as naming no image.
    """
    found: list[Problem] = list(parsed.problems)
    index = _NameIndex(named)
    text_of = {p: name for name, p in named}
    entries = [(t.line, t.name, t.code, True) for t in parsed.lines]
    entries += [(line, name, 0, False) for line, name in parsed.invalid]
    claims: dict[Path, tuple[int, int]] = {}
    for line, name, code, valid in sorted(entries):
        matches = index.find(name)
        if len(matches) == 1 and matches[0] not in claims:
            claims[matches[0]] = (line, code)
        elif not valid:
            continue  # already reported as a bad line
        elif len(matches) == 1:
            first = claims[matches[0]][0]
            found.append(
                Problem.at(
                    txt,
                    line,
                    f"duplicate line for {text_of[matches[0]]} (first on line {first}); ignored",
                )
            )
        elif matches:
            several = ", ".join(text_of[p] for p in matches)
            found.append(
                Problem.at(txt, line, f"{_quote(name)} matches several images ({several}); line not used")
            )
        else:
            found.append(Problem.at(txt, line, f"no image named {_quote(name)}"))
    problems.extend(sorted(found, key=lambda p: p.line))
    return claims
