"""The installed PySide6 keeps Python's reference counts right (6.12.0 did not on Python < 3.12:
void methods and Signal.emit dropped references to None and True until the process aborted)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QApplication, QWidget
    app = QApplication([])
    w = QWidget()
    class O(QObject):
        s = Signal(bool)
    o = O()
    n0, t0 = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(20000):
        w.setEnabled(True)
        o.s.emit(True)
    print(abs(sys.getrefcount(None) - n0), abs(sys.getrefcount(True) - t0))
    """
)


def test_void_calls_and_emits_do_not_leak_or_drop_references():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-500:]
    none_delta, true_delta = (int(v) for v in run.stdout.split())
    assert none_delta < 100 and true_delta < 100
