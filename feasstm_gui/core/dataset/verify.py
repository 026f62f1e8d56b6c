"""Check an export against its manifest and against DATASET.md's rules (`feasstm verify`).

What is checked, each failure one `file:line: reason` Problem:
- every file listed in manifest.json is there with the same SHA-256 and size, and nothing else
  is there (a file added, removed or changed after the export);
- FEASSTM-FAF: image names continuous from 000001 in each faces/<clip>/; every TXT line names an
  image and every image has a line; codes 1-7 (0 only in an export made with
  --include-unlabelled); train/test lines agree with annotations/; TXT files are UTF-8 without
  BOM with `\\n` line ends;
- Emotion-FAN: every list line is `<Class>/<folder> <Class>` with a known class, every folder
  is listed once and holds frames named continuously with seven digits;
- no clip is in both splits, and (when the export was split by actor) no actor either.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from binascii import unhexlify
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.formats import emotion_fan as ef
from feasstm_gui.core.formats.csvsafe import read_csv
from feasstm_gui.core.ingest.images import IMAGE_EXTENSIONS
from feasstm_gui.core.jobs import Job, JobResult, Progress, drive
from feasstm_gui.core.names import clip_id_problem
from feasstm_gui.core.problems import Problem

MANIFEST = "manifest.json"
CHUNK = 2000
_FAF_NAME = re.compile(r"^([0-9]{6})(\.[a-z]+)$")
_FAN_NAME = re.compile(r"^([0-9]{7})(\.[a-z]+)$")


def verify(folder: str | Path) -> list[Problem]:
    """Every problem of the export at `folder` ([] when it is sound)."""
    return drive(verify_export(folder)).problems


def verify_export(folder: str | Path) -> Job:
    """The check as a job: hashes in chunks (progress, cancel), then the structure."""
    folder = Path(folder)
    manifest = load_manifest(folder)
    files: dict[str, Any] = manifest.get("files") or {}
    problems: list[Problem] = []
    total = len(files) + 1
    yield Progress(0, total, "reading")
    names = sorted(files)
    done = 0
    # One task per slice of a chunk, not per file: a future per file cost more than the hash.
    workers = min(4, os.cpu_count() or 1)
    base = os.fspath(folder)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(names), CHUNK):
            chunk = names[start:start + CHUNK]
            step = -(-len(chunk) // workers)
            parts = pool.map(lambda part: _check_files(base, folder, part, files),
                             [chunk[i:i + step] for i in range(0, len(chunk), step)])
            found = [p for part in parts for p in part]
            problems.extend(found)
            done += len(chunk)
            yield Progress(done, total, "hashes", found)
    del names
    found = _unlisted(folder, files)
    if manifest.get("format") == "emotion-fan":
        found += _check_emotion_fan(folder, manifest)
    else:
        found += _check_faf(folder, manifest)
    problems.extend(found)
    yield Progress(total, total, "structure", found)
    summary = (f"{folder}: {len(files)} files verified, no problem" if not problems
               else f"{folder}: {len(problems)} problem(s)")
    return JobResult(done=len(files), problems=problems, summary=summary)


def load_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not folder.is_dir():
        raise FeasstmError("no such export folder", path=folder)
    try:
        manifest = _read_as_written(path)
        if manifest is None:  # not byte for byte as the export writes it: the JSON parser
            manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FeasstmError(f"not an export: no {MANIFEST}", path=folder) from exc
    except (OSError, ValueError) as exc:
        raise FeasstmError(f"cannot read the manifest ({exc})", path=path) from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise FeasstmError("not an export manifest (no 'files' table)", path=path)
    return manifest


# A manifest as export.py writes it: the files table one entry in four lines.
_ENTRY = re.compile(rb'  "([^"\\\x00-\x1f]*(?:\\.[^"\\\x00-\x1f]*)*)": \{\n'
                    rb'   "sha256": "([0-9a-f]{64})",\n   "bytes": (0|[1-9][0-9]{0,17})\n  \}(,?)\n')
_BLOCK = 1 << 22


def _read_as_written(path: Path) -> dict[str, Any] | None:
    """The manifest, when it is laid out exactly as the export writes it, read line by line
    with each file's entry packed in 40 bytes (SHA-256, then the size): a million files take
    a few hundred MB less than the JSON parser's dicts and the whole text at once. None when
    the layout differs anywhere (then the JSON parser reads it, as before)."""
    try:
        with open(path, "rb") as f:
            head: list[bytes] = []
            for line in f:
                if line == b' "files": {\n':
                    break
                head.append(line)
            else:
                return None
            if not head or head[0] != b"{\n" or not head[-1].endswith(b",\n"):
                return None
            head[-1] = head[-1][:-2] + b"\n}"
            manifest = json.loads(b"".join(head).decode("utf-8"))
            if not isinstance(manifest, dict) or "files" in manifest:
                return None
            files: dict[str, bytes] = {}
            buf, pos, more, last = f.read(_BLOCK), 0, True, False
            while not last:
                m = _ENTRY.match(buf, pos)
                if m is None:
                    if not more:
                        return None
                    block = f.read(_BLOCK)  # an entry cut by the block's end: read on
                    more = bool(block)
                    buf, pos = buf[pos:] + block, 0
                    continue
                key, sha, size, comma = m.groups()
                rel = json.loads(b'"' + key + b'"') if b"\\" in key else key.decode("utf-8")
                files[rel] = unhexlify(sha) + int(size).to_bytes(8, "little")
                pos, last = m.end(), not comma
            if buf[pos:] + f.read() != b" }\n}\n":
                return None
    except (ValueError, UnicodeDecodeError):
        return None
    manifest["files"] = files
    return manifest


def _entry(entry: Any) -> Any:
    """A files table entry as the JSON gives it (a dict), also from a packed one."""
    if isinstance(entry, bytes) and len(entry) == 40:
        return {"sha256": entry[:32].hex(), "bytes": int.from_bytes(entry[32:], "little")}
    return entry


def _check_files(base: str, folder: Path, rels: list[str], files: dict[str, Any]
                 ) -> list[Problem]:
    """_check_file of each of `rels`, in one tight loop."""
    out = []
    sha256 = hashlib.sha256
    sep = os.sep
    for rel in rels:
        entry = files[rel]
        if sep == "/" and _inside(rel):  # the usual case, quickly
            try:
                with open(f"{base}/{rel}", "rb", buffering=0) as f:
                    data = f.read(1 << 20)
                if len(data) < 1 << 20:
                    if isinstance(entry, bytes):
                        if sha256(data).digest() == entry[:32] \
                                and int.from_bytes(entry[32:], "little") == len(data):
                            continue
                    elif isinstance(entry, dict) and sha256(data).hexdigest() == \
                            entry.get("sha256") and entry.get("bytes") in (None, len(data)):
                        continue
            except OSError:
                pass
        problem = _check_file(folder, rel, _entry(entry))  # the full check: what is wrong
        if problem is not None:
            out.append(problem)
    return out


def _check_file(folder: Path, rel: str, entry: Any) -> Problem | None:
    path = folder / rel
    if not _inside(rel):
        return Problem.at(folder / MANIFEST, 0, f"the manifest names {rel!r}, outside the export")
    h = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
                size += len(block)
    except FileNotFoundError:
        return Problem.at(path, 0, "missing (listed in the manifest)")
    except OSError as exc:
        return Problem.at(path, 0, f"cannot be read ({exc.strerror or exc})")
    want = entry.get("sha256") if isinstance(entry, dict) else None
    if h.hexdigest() != want:
        return Problem.at(path, 0, "SHA-256 differs from the manifest: the file was changed or "
                          "damaged after the export")
    if isinstance(entry, dict) and entry.get("bytes") not in (None, size):
        return Problem.at(path, 0, f"{size} bytes, the manifest says {entry.get('bytes')}")
    return None


def _inside(rel: str) -> bool:
    parts = rel.split("/")
    return bool(rel) and not rel.startswith("/") and ".." not in parts and "\\" not in rel \
        and ":" not in parts[0]


def _unlisted(folder: Path, listed) -> list[Problem]:
    """Files under `folder` that `listed` (paths relative to it, POSIX) does not hold, in
    os.walk's order with sorted names: one directory listing per folder, no stat per file."""
    out = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        rel_root = os.path.relpath(root, folder)
        prefix = "" if rel_root == os.curdir else rel_root.replace(os.sep, "/") + "/"
        for name in sorted(files):
            rel = prefix + name
            if rel != MANIFEST and rel not in listed:
                out.append(Problem.at(Path(root, name), 0, "not listed in the manifest (added "
                                      "after the export?)"))
    return out


# ---------------------------------------------------------------------------- text files


def _lines(path: Path, problems: list[Problem]) -> Iterator[tuple[int, str]]:
    """(number, text) of each line of a TXT we wrote; format slips reported on the way."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.append(Problem.at(path, 0, "missing"))
        return
    except OSError as exc:
        problems.append(Problem.at(path, 0, f"cannot be read ({exc.strerror or exc})"))
        return
    if data.startswith(b"\xef\xbb\xbf"):
        problems.append(Problem.at(path, 1, "starts with a byte-order mark (must be UTF-8 "
                                   "without BOM)"))
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem.at(path, 0, f"not UTF-8 (byte {exc.start})"))
        return
    if "\r" in text:
        problems.append(Problem.at(path, text[:text.index("\r")].count("\n") + 1,
                                   "\\r in the file (line ends must be \\n)"))
    if text and not text.endswith("\n"):
        problems.append(Problem.at(path, text.count("\n") + 1, "the last line has no \\n"))
    # text.split("\n"), one line at a time (a million lines: no list of them all)
    start, number, end_of_text = 0, 0, len(text)
    while start <= end_of_text:
        end = text.find("\n", start)
        if end < 0:
            end = end_of_text
        number += 1
        line = text[start:end]
        if line.strip("\r"):
            yield number, line.rstrip("\r")
        start = end + 1


def _code(text: str, allowed: range | tuple) -> int | None:
    return int(text) if text.isdigit() and len(text) == 1 and int(text) in allowed else None


# ---------------------------------------------------------------------------- FEASSTM-FAF


def _check_faf(folder: Path, manifest: dict) -> list[Problem]:
    problems: list[Problem] = []
    unlabelled_ok = bool((manifest.get("options") or {}).get("include_unlabelled"))
    allowed = range(0, 8) if unlabelled_ok else range(1, 8)
    images = _faf_images(folder, problems)
    # clip -> image name -> code + _LISTED * (1 + index of the list naming it, 0: none yet).
    # One small int per image (a million images: no tuple or second dict each).
    codes: dict[str, dict[str, int]] = {}
    ann_dir = folder / "annotations"
    for clip in list(images):
        codes[clip] = _check_annotation(ann_dir / f"{clip}.txt", images[clip], allowed,
                                        problems)
        images[clip] = None  # the names are the keys of codes[clip] now
    if ann_dir.is_dir():
        for txt in sorted(ann_dir.iterdir()):
            if txt.suffix != ".txt" or txt.stem not in images:
                problems.append(Problem.at(txt, 0, f"no folder faces/{txt.stem}/ for this file"))
    clip_splits: dict[str, set[str]] = defaultdict(set)
    lists = ["train", "test"] + (["unlabelled"] if unlabelled_ok else [])
    for list_name in lists:
        path = folder / f"{list_name}.txt"
        want = range(0, 1) if list_name == "unlabelled" else range(1, 8)
        for number, line in _lines(path, problems):
            where, _, code_text = line.rpartition(" ")
            clip, _, name = where.partition("/")
            code = _code(code_text, want)
            if not where or code is None:
                problems.append(Problem.at(path, number, f"expected '<clip>/<image name> <code>' "
                                           f"with code {'0' if want == range(0, 1) else '1-7'}, "
                                           f"got {line!r}"))
                continue
            names = codes.get(clip)
            state = names.get(name) if names is not None else None
            if state is None:
                problems.append(Problem.at(path, number, f"no image faces/{where}"))
                continue
            if state % _LISTED != code:
                problems.append(Problem.at(path, number, f"code {code} differs from "
                                           f"annotations/{clip}.txt ({state % _LISTED})"))
            if state >= _LISTED:
                problems.append(Problem.at(path, number, f"{where} is already listed in "
                                           f"{lists[state // _LISTED - 1]}.txt"))
                continue
            names[name] = state + _LISTED * (1 + lists.index(list_name))
            if list_name != "unlabelled":
                clip_splits[clip].add(list_name)
    for clip, names in codes.items():
        for name, code in names.items():
            if code >= _LISTED:
                continue
            why = ("listed in neither train.txt nor test.txt" if code
                   else "not listed in unlabelled.txt")
            problems.append(Problem.at(folder / "faces" / clip / name, 0, why))
    problems.extend(_leaks(folder, manifest, clip_splits))
    return problems


_LISTED = 16  # codes are 0-7


def _faf_images(folder: Path, problems: list[Problem]) -> dict[str, dict[str, None]]:
    """faces/<clip>/ -> its image names (in order), names checked for continuity."""
    faces = folder / "faces"
    out: dict[str, dict[str, None]] = {}
    if not faces.is_dir():
        problems.append(Problem.at(faces, 0, "missing: no faces/ folder"))
        return out
    for clip_dir in sorted(faces.iterdir()):
        if not clip_dir.is_dir():
            problems.append(Problem.at(clip_dir, 0, "a file directly in faces/ (expected clip "
                                       "folders only)"))
            continue
        bad_id = clip_id_problem(clip_dir.name)
        if bad_id:
            problems.append(Problem.at(clip_dir, 0, f"bad clip id: {bad_id}"))
        names = sorted(os.listdir(clip_dir))
        out[clip_dir.name] = {n: n for n in names}
        _continuity(clip_dir, names, _FAF_NAME, problems)
    return out


def _continuity(folder: Path, names: list[str], pattern: re.Pattern, problems: list[Problem],
                ) -> None:
    numbers: dict[int, str] = {}
    for name in names:
        m = pattern.match(name)
        if not m or m.group(2) not in IMAGE_EXTENSIONS:
            problems.append(Problem.at(folder / name, 0, "not an image named by its number "
                                       f"({'000001' if pattern is _FAF_NAME else '0000001'}.jpg "
                                       "...)"))
            continue
        n = int(m.group(1))
        if n in numbers:
            problems.append(Problem.at(folder / name, 0, f"number {n} is used twice (also "
                                       f"{numbers[n]})"))
        numbers[n] = name
    want = set(range(1, len(numbers) + 1))
    missing = sorted(want - set(numbers))
    if missing:
        extra = sorted(set(numbers) - want)
        problems.append(Problem.at(folder, 0, f"names are not continuous from 1: "
                                   f"{len(missing)} number(s) missing (first {missing[0]}), "
                                   f"{len(extra)} beyond {len(numbers)} (first {extra[0]})"))


def _check_annotation(path: Path, names: dict[str, None], allowed: range,
                      problems: list[Problem]) -> dict[str, int]:
    codes: dict[str, int] = {}
    last = ""
    for number, line in _lines(path, problems):
        name, sep, code_text = line.rpartition(" ")
        code = _code(code_text, allowed)
        if not sep or not name or code is None:
            problems.append(Problem.at(path, number, f"expected '<image name> <code>' with code "
                                       f"{'0-7' if 0 in allowed else '1-7'}, got {line!r}"))
            continue
        if name not in names:
            problems.append(Problem.at(path, number, f"no image {name} in faces/{path.stem}/"))
            continue
        if name in codes:
            problems.append(Problem.at(path, number, f"{name} is listed twice"))
            continue
        if name < last:
            problems.append(Problem.at(path, number, f"{name} is out of name order"))
        last = name
        codes[names[name] or name] = code  # the listing's string: one per image, not two
    for name in names:
        if name not in codes and path.exists():
            problems.append(Problem.at(path.parent.parent / "faces" / path.stem / name, 0,
                                       f"no line in annotations/{path.name}"))
    return codes


# ---------------------------------------------------------------------------- Emotion-FAN


def _check_emotion_fan(folder: Path, manifest: dict) -> list[Problem]:
    problems: list[Problem] = []
    on_disk: set[str] = set()
    for cls in ef.CLASS_CODES:
        cls_dir = folder / cls
        if cls_dir.is_dir():
            for run_dir in sorted(cls_dir.iterdir()):
                if run_dir.is_dir():
                    on_disk.add(f"{cls}/{run_dir.name}")
                    _continuity(run_dir, sorted(os.listdir(run_dir)), _FAN_NAME, problems)
                else:
                    problems.append(Problem.at(run_dir, 0, "a file where only folders belong"))
    runs = {}
    runs_csv = folder / "runs.csv"
    try:
        runs = {r["folder"]: r for r in read_csv(runs_csv)}
    except (OSError, KeyError, ValueError) as exc:
        problems.append(Problem.at(runs_csv, 0, f"cannot be read ({exc})"))
    listed: dict[str, str] = {}
    clip_splits: dict[str, set[str]] = defaultdict(set)
    for list_name in ("train", "test"):
        path = folder / f"{list_name}.txt"
        for number, line in _lines(path, problems):
            fields = line.strip().split()
            cls, _, run = fields[0].partition("/") if fields else ("", "", "")
            if len(fields) != 2 or line != f"{fields[0]} {fields[1]}" or cls != fields[1] \
                    or cls not in ef.CLASS_CODES or not run or "/" in run:
                problems.append(Problem.at(path, number, "expected '<Class>/<folder> <Class>' "
                                           f"with Class one of {', '.join(ef.CLASS_CODES)}, "
                                           f"got {line!r}"))
                continue
            if fields[0] not in on_disk:
                problems.append(Problem.at(path, number, f"no folder {fields[0]}/"))
                continue
            if fields[0] in listed:
                problems.append(Problem.at(path, number, f"{fields[0]} is already listed in "
                                           f"{listed[fields[0]]}.txt"))
                continue
            listed[fields[0]] = list_name
            clip = (runs.get(fields[0]) or {}).get("clip")
            if clip is None:
                problems.append(Problem.at(runs_csv, 0, f"{fields[0]} is not in runs.csv"))
            else:
                clip_splits[clip].add(list_name)
    for rel in sorted(on_disk - set(listed)):
        problems.append(Problem.at(folder / rel, 0, "listed in neither train.txt nor test.txt"))
    problems.extend(_leaks(folder, manifest, clip_splits))
    return problems


# ---------------------------------------------------------------------------- splits


def _leaks(folder: Path, manifest: dict, clip_splits: dict[str, set[str]]) -> list[Problem]:
    """A clip in both splits; an actor in both when the export was split by actor."""
    out = []
    for clip in sorted(clip_splits):
        if len(clip_splits[clip]) > 1:
            out.append(Problem.at(folder / "test.txt", 0, f"clip '{clip}' is in both train.txt "
                                  "and test.txt"))
    clips_csv = folder / "clips.csv"
    try:
        rows = read_csv(clips_csv)
    except OSError as exc:
        return [*out, Problem.at(clips_csv, 0, f"cannot be read ({exc.strerror or exc})")]
    table = {r.get("clip", ""): r for r in rows}
    for clip, splits in sorted(clip_splits.items()):
        row = table.get(clip)
        if row is None:
            out.append(Problem.at(clips_csv, 0, f"clip '{clip}' is not in clips.csv"))
        elif len(splits) == 1 and row.get("split") not in splits:
            out.append(Problem.at(clips_csv, 0, f"clip '{clip}' has split "
                                  f"{row.get('split')!r}, but its images are in "
                                  f"{next(iter(splits))}.txt"))
    ident = manifest.get("identity") or {}
    if ident.get("clips"):
        from feasstm_gui.core.dataset.identity_leaks import leak_problems

        try:
            split = {c: next(iter(s)) for c, s in clip_splits.items() if len(s) == 1}
            out += leak_problems(clips_csv, dict(ident["clips"]), float(ident["distance"]), split,
                                 {c: (r.get("actor") or "").strip() for c, r in table.items()},
                                 {c: (r.get("work") or "").strip() for c, r in table.items()})
        except (TypeError, ValueError, KeyError):
            out.append(Problem.at(folder / "manifest.json", 0, "its identity section cannot be "
                                  "read"))
    if (manifest.get("split") or {}).get("by") == "actor":
        actors: dict[str, set[str]] = defaultdict(set)
        for clip, splits in clip_splits.items():
            actor = (table.get(clip) or {}).get("actor", "").strip()
            if actor:
                actors[actor] |= splits
        for actor in sorted(actors):
            if len(actors[actor]) > 1:
                out.append(Problem.at(clips_csv, 0, f"actor '{actor}' is in both splits (the "
                                      "export was split by actor)"))
    return out
