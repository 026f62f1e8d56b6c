"""The `feasstm` command: the core jobs from a terminal, with a progress bar.

Each area registers its commands from its own module. A user error (FeasstmError) prints one
line naming the file and the problem and exits non-zero; never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading

from feasstm_gui import __version__
from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.names import one_line, quote_name
from feasstm_gui.core.problems import EXIT_FAILED

#: Modules under feasstm_gui.cli that add commands (each has `register(subparsers)`).
COMMAND_MODULES = ("project", "faces", "export", "ratings", "ratings_stats", "sample",
                   "propose", "identity", "team")

COMMAND_MODULES += ("progress",)  # issue 16: feasstm progress (a module that is absent is skipped)


#: Which module registers each command, so that `feasstm status` imports the one module it
#: needs, not all of them (numpy, OpenCV and the stores' code: half a second a command).
#: tests/cli/test_cli_lazy.py checks it against what the modules register; a command missing
#: here still works (every module is then imported).
COMMAND_HOMES = {
    "new": "project", "import": "project", "import-faf": "project", "check": "project",
    "params": "project", "status": "project", "undo": "project", "redo": "project",
    "log": "project", "backup": "project", "restore": "project",
    "extract": "faces", "align": "faces", "process": "faces", "realign": "faces",
    "export": "export", "verify": "export",
    "raters": "ratings", "groups": "ratings", "import-ratings": "ratings", "totals": "ratings",
    "ratings-report": "ratings", "agreement": "ratings_stats", "sample": "sample",
    "propose": "propose", "actor": "identity", "identities": "identity",
    "move-to-server": "team", "snapshot": "team", "server-roles": "team",
    "progress": "progress",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with `only` (a module of COMMAND_MODULES) that module's commands."""
    parser = argparse.ArgumentParser(
        prog="feasstm",
        description="FEASSTM Studio from the command line: import clips, extract and align "
        "faces, check, export the FEASSTM dataset.",
    )
    parser.add_argument("--version", action="version", version=f"feasstm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in (only,) if only else COMMAND_MODULES:
        full = f"feasstm_gui.cli.{name}"
        try:
            module = importlib.import_module(full)
        except ModuleNotFoundError as exc:
            if exc.name == full:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    _utf8_streams()
    # OpenCV's own warnings ("[ WARN:0@0.1] global cap.cpp:212 open VIDEOIO(FFMPEG): ...") would
    # stand beside our one-line message about the same file; it is read before cv2 is imported.
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    words = sys.argv[1:] if argv is None else argv
    home = COMMAND_HOMES.get(words[0]) if words else None
    parser = build_parser(only=home)
    args = parser.parse_args(argv)
    previous = _terminate_as_interrupt()
    try:
        return int(args.func(args) or 0)
    except FeasstmError as exc:
        print(f"feasstm: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as exc:
        # A command whose work is all or nothing (export) says so with `interrupted=` in its
        # parser defaults; the others commit as they go.
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        said = getattr(args, "interrupted", None) or "everything done so far is saved"
        print(f"feasstm: {what}; {said}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        where = f"{quote_name(str(exc.filename))}: " if exc.filename else ""
        print(f"feasstm: {where}{one_line(str(exc.strerror or exc))}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl+C: the job stops at once, its cleanups run, exit 130."""


def _on_terminate(signum, frame) -> None:
    raise Terminated


def _terminate_as_interrupt():
    """SIGTERM (kill, a logout, a batch system) raises like Ctrl+C; returns the old handler."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        return signal.signal(signal.SIGTERM, _on_terminate)
    except (ValueError, OSError):
        return None


def _utf8_streams() -> None:
    """Chinese clip names must print on any terminal (Windows consoles included)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass
