"""The bundle's one executable. Started as `feasstm-studio` it opens the window; started through
the `feasstm` link beside it (or as `feasstm-studio cli ...`) it is the command line. One
executable keeps PyInstaller's analysis of torch to a single pass."""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path


def main() -> int:
    multiprocessing.freeze_support()
    name = Path(sys.argv[0]).name
    if name.startswith("feasstm") and not name.startswith("feasstm-studio"):
        from feasstm_gui.cli import main as cli

        return cli(sys.argv[1:])
    if sys.argv[1:2] == ["cli"]:
        from feasstm_gui.cli import main as cli

        return cli(sys.argv[2:])
    from feasstm_gui.ui.app import main as gui

    return gui(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
