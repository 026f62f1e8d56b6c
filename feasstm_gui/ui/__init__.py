"""The Qt skin of FEASSTM Studio: main window, frame strip, preview, dialogs, workers.

Everything here is thin over `feasstm_gui.core`; the store is the single source of truth.
"""

from __future__ import annotations

import sys


def _pin_singletons() -> None:
    """Work around a PySide6 6.12 reference-count bug on CPython < 3.12.

    This PySide6 build returns None (every void method: QPainter.fillRect, setPen, ...) and
    True (`SignalInstance.emit()`) without taking a reference, as if they were immortal, which
    they are only from CPython 3.12 on. Each call drops one reference; None and True start with
    a few hundred to a few thousand, and once they reach zero CPython aborts ("none_dealloc:
    deallocating None"): a few seconds of scrolling the frame strip. Before 3.12 we give these
    static singletons a reference count no session can use up; they are never freed, so nothing
    else changes. Importing any `feasstm_gui.ui` module applies it.
    """
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return
    import ctypes

    for obj in (None, True, False, Ellipsis, NotImplemented):
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40


_pin_singletons()
