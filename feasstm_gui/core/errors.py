"""The one exception type the user sees: a message written for a person."""

from __future__ import annotations

from pathlib import Path


class FeasstmError(Exception):
    """An error the user can act on. `str()` is the whole message (file, line, what, what to do)."""

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None):
        self.path = str(path) if path is not None else None
        self.line = line
        if path is not None:
            from feasstm_gui.core.names import quote_name

            shown = quote_name(str(path))
            where = f"{shown}:{line}" if line is not None else shown
            message = f"{where}: {message}"
        super().__init__(message)


class ProjectLocked(FeasstmError):
    """Another process holds the project for writing."""

    def __init__(self, message: str, *, path: str | Path | None = None, holder: dict | None = None):
        super().__init__(message, path=path)
        self.holder = holder or {}


class ServerUnavailable(FeasstmError):
    """A project's database server cannot be reached (stopped, restarting, network): the
    change asked for was not made. The window shows it as its banner, not as a dialog."""


class Cancelled(Exception):
    """A job was cancelled by the user between two units of work."""
