"""Problems found in a batch (import, extract, align, export): one line each, `file:line: reason`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Exit statuses shared by every batch command (DATASET.md).
EXIT_OK = 0
EXIT_REPORTED = 1
EXIT_FAILED = 2


@dataclass(frozen=True)
class Problem:
    """One reported problem. `line` is 0 where no line applies."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        # A file name with a newline (or bytes that are not UTF-8) is quoted, and the reason
        # kept on one line, so one problem is always exactly one `file:line: reason` line.
        from feasstm_gui.core.names import one_line, quote_name

        return f"{quote_name(self.path)}:{self.line}: {one_line(self.reason)}"

    @classmethod
    def at(cls, path: str | Path, line: int, reason: str) -> Problem:
        return cls(str(path), int(line), reason)
