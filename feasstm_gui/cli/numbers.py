"""Argument types for numbers: finite, in range, or argparse's one-line error naming the option.

`float()` takes 'inf', 'nan' and '1e308'; `int()` takes any number of digits. Every one of them
once reached a job and ended in a traceback (OverflowError from SQLite, a NaN box in OpenCV) or
passed a `> 0` check (NaN compares false both ways). These types refuse them at the command line
(argparse then prints `feasstm CMD: error: argument --fps: ...` and exits 2).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

#: Largest count a command takes (SQLite integers are 64-bit; nobody lists 2**31 steps).
MAX_COUNT = 2**31 - 1
#: No frame is wider or taller than this many pixels (16K video is 15,360); box and landmark
#: coordinates outside +-MAX_PIXELS are a typo, not a place in a frame.
MAX_PIXELS = 100_000


def finite_float(low: float | None = None, high: float | None = None, *,
                 low_open: bool = False) -> Callable[[str], float]:
    """A float type: finite, and within [low, high] (`low_open`: strictly above `low`)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if low is not None and (value <= low if low_open else value < low):
            word = "above" if low_open else "at least"
            raise argparse.ArgumentTypeError(f"must be {word} {_show(low)} (got {text})")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be at most {_show(high)} (got {text})")
        return value

    parse.__name__ = "number"
    return parse


def bounded_int(low: int = 0, high: int = MAX_COUNT) -> Callable[[str], int]:
    """An int type within [low, high]; digits only (no 1e3, no 2.0)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be from {low:,} to {high:,} (got {_short(text)})")
        return value

    parse.__name__ = "whole number"
    return parse


def _show(value: float) -> str:
    return f"{value:g}"


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} digits)"


#: Frames per second to keep: above 0, at most 1000 (no camera records faster that we decode).
FPS = finite_float(0.0, 1000.0, low_open=True)
