"""Train/test splits by whole clips (or whole actors), never by frame (DATASET.md).

Neighbouring frames of a clip are nearly identical, so a frame-level split would leak test
images into training. The unit here is a *group*: a clip, or all clips of one actor. The test
split is a set of whole groups whose image count comes as close as whole groups allow to
`test_fraction` of all images; `seed` decides among equally good choices, so the same project,
options and seed always give the same split.

- Plain split: an exact subset-sum over the group sizes (bitsets as Python integers) after a
  seeded shuffle, so the image fraction is the closest reachable one.
- Stratified split: starts from that, then moves and swaps groups between the splits to bring
  each code's test share near `test_fraction` too, keeping the overall fraction near it; what
  whole groups cannot balance is said in `SplitResult.notes`.
- A split file (CSV `clip,split`) fixes the split instead.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.vocab import CODES

TRAIN = "train"
TEST = "test"
SPLITS = (TRAIN, TEST)

#: A code whose test share is further than this from the target fraction is reported.
STRATIFY_TOLERANCE = 0.05
#: Bits the exact subset-sum may keep in memory before falling back to a greedy choice.
_MAX_DP_BITS = 400_000_000


@dataclass
class SplitResult:
    """The groups in the test split, and what could not be done as asked."""

    test: set[str]
    notes: list[str] = field(default_factory=list)


def choose_test_groups(groups: Mapping[str, Mapping[int, int]], test_fraction: float,
                       seed: int = 0, stratify: bool = False, unit: str = "clip") -> SplitResult:
    """Pick whole groups for the test split. `groups` maps a group key to its images per code;
    `unit` names a group in the notes ("clip" or "actor")."""
    if not 0.0 <= test_fraction <= 1.0:
        raise FeasstmError(f"--test-fraction must be between 0 and 1, not {test_fraction}")
    sizes = {g: sum(c.values()) for g, c in groups.items()}
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    weighted = [g for g in keys if sizes[g] > 0]
    total = sum(sizes.values())
    notes: list[str] = []
    if test_fraction == 0.0 or not weighted:
        return SplitResult(set(), notes)
    if test_fraction == 1.0:
        return SplitResult(set(weighted), notes)
    if len(weighted) < 2:
        notes.append(f"only one {unit} has images: it is in train and the test split is empty")
        return SplitResult(set(), notes)
    test = _closest_subset([(g, sizes[g]) for g in weighted], test_fraction * total)
    if stratify:
        test = _stratify(groups, weighted, test, test_fraction, seed)
        notes.extend(_balance_notes(groups, test, test_fraction, unit))
    return SplitResult(test, notes)


def _closest_subset(items: list[tuple[str, int]], target: float) -> set[str]:
    """The subset whose size sum is closest to `target`, neither empty nor everything."""
    total = sum(n for _, n in items)
    if len(items) * (total + 1) > _MAX_DP_BITS:
        return _greedy_subset(items, target)
    reach = [1]  # reach[i]: bit s set when some subset of the first i items sums to s
    for _, n in items:
        reach.append(reach[-1] | (reach[-1] << n))
    final = reach[-1]
    best = None
    for s in range(1, total):
        if final >> s & 1 and (best is None or abs(s - target) < abs(best - target)):
            best = s
    if best is None:  # pragma: no cover - two or more positive items always reach some s
        return {items[0][0]}
    chosen: set[str] = set()
    s = best
    for i in range(len(items), 0, -1):  # walk back: leave an item out whenever possible
        if reach[i - 1] >> s & 1:
            continue
        key, n = items[i - 1]
        chosen.add(key)
        s -= n
    return chosen


def _greedy_subset(items: list[tuple[str, int]], target: float) -> set[str]:
    chosen: set[str] = set()
    s = 0
    for key, n in items:
        if abs(s + n - target) < abs(s - target) and len(chosen) < len(items) - 1:
            chosen.add(key)
            s += n
    return chosen or {items[0][0]}


def _stratify(groups: Mapping[str, Mapping[int, int]], keys: list[str], start: set[str],
              fraction: float, seed: int) -> set[str]:
    """Local search over moves and swaps of whole groups, from a few seeded starts."""
    codes = sorted({c for g in keys for c, n in groups[g].items() if n})
    w = np.array([[groups[g].get(c, 0) for c in codes] for g in keys], dtype=float)
    per_code = w.sum(axis=0)
    total = per_code.sum()
    starts = [np.array([g in start for g in keys])]
    rng = random.Random(seed)
    for _ in range(7):
        order = list(keys)
        rng.shuffle(order)
        sizes = dict(zip(keys, w.sum(axis=1)))
        chosen = _closest_subset([(g, int(sizes[g])) for g in order], fraction * total)
        starts.append(np.array([g in chosen for g in keys]))
    best_mask, best_cost = None, np.inf
    for mask in starts:
        mask, cost = _descend(w, per_code, total, fraction, mask.copy())
        if cost < best_cost - 1e-12:
            best_mask, best_cost = mask, cost
    return {g for g, m in zip(keys, best_mask) if m}


def _cost(t: np.ndarray, per_code: np.ndarray, total: float, fraction: float) -> np.ndarray:
    """Squared error of each code's test share plus (weighted by the number of codes) that of
    the overall test share; `t` holds test counts per code in its last axis."""
    share = t / per_code
    overall = t.sum(axis=-1) / total
    return ((share - fraction) ** 2).sum(axis=-1) + len(per_code) * (overall - fraction) ** 2


def _descend(w, per_code, total, fraction, mask):
    cost = float(_cost(w[mask].sum(axis=0), per_code, total, fraction))
    for _ in range(10_000):
        t = w[mask].sum(axis=0)
        test_idx, train_idx = np.flatnonzero(mask), np.flatnonzero(~mask)
        best = (cost - 1e-12, None)
        if len(train_idx) > 1:  # move one group train -> test
            c = _cost(t + w[train_idx], per_code, total, fraction)
            i = int(np.argmin(c))
            if c[i] < best[0]:
                best = (float(c[i]), ("add", train_idx[i]))
        if len(test_idx) > 1:  # move one group test -> train
            c = _cost(t - w[test_idx], per_code, total, fraction)
            i = int(np.argmin(c))
            if c[i] < best[0]:
                best = (float(c[i]), ("drop", test_idx[i]))
        if len(test_idx) and len(train_idx):  # swap one of each
            delta = w[train_idx][:, None, :] - w[test_idx][None, :, :]
            c = _cost(t + delta, per_code, total, fraction)
            i, j = np.unravel_index(int(np.argmin(c)), c.shape)
            if c[i, j] < best[0]:
                best = (float(c[i, j]), ("swap", train_idx[i], test_idx[j]))
        if best[1] is None:
            break
        cost, move = best
        if move[0] == "add":
            mask[move[1]] = True
        elif move[0] == "drop":
            mask[move[1]] = False
        else:
            mask[move[1]], mask[move[2]] = True, False
    return mask, cost


def _balance_notes(groups: Mapping[str, Mapping[int, int]], test: set[str],
                   fraction: float, unit: str) -> list[str]:
    per_code: Counter[int] = Counter()
    in_test: Counter[int] = Counter()
    for g, codes in groups.items():
        for c, n in codes.items():
            per_code[c] += n
            if g in test:
                in_test[c] += n
    notes = []
    for c in sorted(per_code):
        n = per_code[c]
        if n and abs(in_test[c] / n - fraction) > STRATIFY_TOLERANCE:
            holders = sum(1 for codes in groups.values() if codes.get(c))
            why = (f"whole {unit}s allow no closer balance" if holders > 1
                   else f"all its images are in one {unit}, which is not split")
            notes.append(
                f"--stratify: code {c} ({CODES.get(c, c)}) has {in_test[c]} of {n} images in "
                f"test ({in_test[c] / n:.0%}, target {fraction:.0%}); {why}")
    return notes


# --------------------------------------------------------------------------- split file


def read_split_file(path: str | Path) -> dict[str, str]:
    """A CSV `clip,split` (header optional; UTF-8, UTF-8 with BOM or GBK): clip -> train|test.

    A bad line raises FeasstmError naming the file and line (the split must be exactly what the
    file says, so nothing is guessed)."""
    import csv
    import io

    from feasstm_gui.core.files import TEXT_MAX_BYTES, NotReadable, read_regular

    path = Path(path)
    try:  # a regular file only: a named pipe here blocked the export forever
        data = read_regular(path, TEXT_MAX_BYTES)
    except NotReadable as exc:
        raise FeasstmError(f"cannot read the split file: {exc.reason}", path=path) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise FeasstmError("the split file is not UTF-8 or GBK text", path=path) from exc
    out: dict[str, str] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) < 2:
            raise FeasstmError("expected 'clip,split'", path=path, line=number)
        clip, split = cells[0], cells[1].lower()
        if number == 1 and clip.lower() == "clip" and split == "split":
            continue
        if split not in SPLITS:
            raise FeasstmError(f"split {cells[1]!r} for clip {clip!r} is not 'train' or 'test'",
                               path=path, line=number)
        if clip in out and out[clip] != split:
            raise FeasstmError(f"clip {clip!r} is listed twice, in both splits",
                               path=path, line=number)
        out[clip] = split
    if not out:
        raise FeasstmError("the split file lists no clip", path=path)
    return out
