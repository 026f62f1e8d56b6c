"""What the window's controllers share: the window they work for, and `guarded`.

The main window (ui/main_window.py) holds the widgets and their wiring; the controllers hold
what the actions do (ui/editing.py, navigation.py, job_control.py, project_control.py,
tools.py). An action's handler reaches them through the window (`w.edits.undo()`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from feasstm_gui.core.labels.session import Session
    from feasstm_gui.core.store import Store
    from feasstm_gui.ui.main_window import MainWindow


def guarded(method: Callable) -> Callable:
    """A handler never crashes the window: errors become a dialog that says what to do."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.report_error(exc)
            return None
    return wrapper


class Controller:
    """One area of the window's behaviour; `window` gives the widgets and the session."""

    def __init__(self, window: MainWindow):
        self.window = window

    @property
    def store(self) -> Store | None:
        return self.window.store

    @property
    def session(self) -> Session | None:
        return self.window.session

    def status(self, text: str, msecs: int = 4000) -> None:
        self.window.statusBar().showMessage(text, msecs)

    def report_error(self, exc: BaseException | str) -> None:
        self.window.report_error(exc)
