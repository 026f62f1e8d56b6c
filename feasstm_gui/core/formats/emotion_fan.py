"""Emotion-FAN's video lists (the AFEW layout its data_generator.py reads).

Emotion-FAN (Meng et al., ICIP 2019) gives one label per folder of frames. Its list files hold
one line per folder, `<ClassName>/<folder> <ClassName>`, which it reads with
`line.strip().split()` (so a folder name must hold no whitespace), joins to a root folder, and
takes the frames in `sorted(os.listdir(folder))` order. Frames are named with seven digits.

A FEASSTM clip carries one code per frame, so the export writes each *run* (consecutive exported
frames with the same code) as one folder `<ClassName>/<clip>_<run>/0000001.jpg ...`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: Our expression codes (vocab.CODES) to the class names of Emotion-FAN's AFEW lists.
AFEW_CLASSES: dict[int, str] = {
    1: "Surprise",
    2: "Fear",
    3: "Disgust",
    4: "Happy",
    5: "Sad",
    6: "Angry",
    7: "Neutral",
}
CLASS_CODES: dict[str, int] = {name: code for code, name in AFEW_CLASSES.items()}
FRAME_DIGITS = 7

_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Run:
    """Frames `start` to `stop - 1` (positions in the clip's exported sequence) share `code`."""

    start: int
    stop: int
    code: int

    def __len__(self) -> int:
        return self.stop - self.start


def find_runs(codes: Sequence[int | None], min_run: int = 1) -> list[Run]:
    """Runs of equal codes in a clip's frame sequence. An unlabelled frame (None or 0) ends a
    run and starts none; runs shorter than `min_run` are left out."""
    runs = []
    start = 0
    for i in range(1, len(codes) + 1):
        if i == len(codes) or codes[i] != codes[start]:
            if codes[start] and i - start >= min_run:
                runs.append(Run(start, i, int(codes[start])))
            start = i
    return runs


def folder_name(clip_id: str, run_number: int) -> str:
    """`<clip>_<run>` with whitespace in the clip id replaced by `_` (the lists split on it)."""
    return f"{_SPACE.sub('_', clip_id)}_{run_number:03d}"


def frame_name(number: int, suffix: str = ".jpg") -> str:
    return f"{number:0{FRAME_DIGITS}d}{suffix}"


def list_line(code: int, folder: str) -> str:
    name = AFEW_CLASSES[code]
    return f"{name}/{folder} {name}\n"


def read_list(path: str | Path) -> list[tuple[int, str, str]]:
    """(line number, folder path, class name) of each non-blank line, split as Emotion-FAN
    splits it; a line without two fields gives an empty class name."""
    out = []
    text = Path(path).read_text(encoding="utf-8")
    for number, line in enumerate(text.split("\n"), start=1):
        fields = line.strip().split()
        if not fields:
            continue
        out.append((number, fields[0], fields[1] if len(fields) == 2 else ""))
    return out
