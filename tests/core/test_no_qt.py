"""The domain imports no Qt: importing every module of feasstm_gui.core with PySide6 blocked."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKED = textwrap.dedent(
    """
    import importlib, importlib.abc, pkgutil, sys

    class BlockQt(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("PySide6", "shiboken6", "PyQt5", "PyQt6", "qtpy"):
                raise ImportError(f"Qt is blocked in this test: {name}")
            return None

    sys.meta_path.insert(0, BlockQt())
    import feasstm_gui.core as core
    names = [m.name for m in pkgutil.walk_packages(core.__path__, "feasstm_gui.core.")]
    for name in names:
        importlib.import_module(name)
    # the CLI stands on the core alone, too
    import feasstm_gui.cli
    feasstm_gui.cli.build_parser()
    assert not any(m.startswith(("PySide6", "shiboken6")) for m in sys.modules)
    print(len(names))
    """
)


def test_core_imports_without_qt():
    run = subprocess.run([sys.executable, "-c", BLOCKED], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert int(run.stdout.strip()) >= 5
