#!/usr/bin/env python3
"""Set up FEASSTM Studio on a fresh machine, then run it or its tests.

    python3 tools/bootstrap.py run    # install (once), build the sample project, start the GUI
    python3 tools/bootstrap.py test   # install (once), run the whole test suite

The virtual environment is `.venv/` in the repository. A second run does not reinstall: a stamp
file remembers the hash of pyproject.toml it was installed from. Only the standard library is
used here, so this runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
STAMP = VENV / ".feasstm-installed"
SAMPLE = ROOT / "sample-project"


def venv_python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def say(message: str) -> None:
    print(f"[bootstrap] {message}", flush=True)


def install() -> Path:
    """Create .venv and install the project with its test extras, unless already done."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    python = venv_python()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        say("environment up to date (.venv)")
        return python
    if sys.version_info < (3, 10):
        sys.exit(f"FEASSTM Studio needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    if not python.exists():
        say(f"creating virtual environment {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    say("installing FEASSTM Studio and its dependencies (torch is large: a few minutes)")
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-q", "--upgrade", "pip"], check=False)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)
    return python


def ensure_qt_libraries(python: Path) -> None:
    """Qt's offscreen platform needs a few system libraries; install them where they are
    missing (Debian/Ubuntu, as root), else say which ones."""
    probe = [str(python), "-c", "import PySide6.QtWidgets, PySide6.QtGui, PySide6.QtMultimedia"]
    if subprocess.run(probe, capture_output=True).returncode == 0:
        return
    packages = ["libgl1", "libegl1", "libfontconfig1", "libxkbcommon0", "libglib2.0-0",
                "libdbus-1-3", "libpulse0"]  # libpulse0: QtMultimedia (the clip player)
    if shutil.which("apt-get") and os.geteuid() == 0:
        say("installing the system libraries Qt needs: " + " ".join(packages))
        subprocess.run(["apt-get", "update", "-q"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-q", *packages], check=True)
    else:
        say("Qt cannot load; install these system packages: " + " ".join(packages))


def ensure_postgresql() -> None:
    """The tests of the team store start their own throw-away PostgreSQL cluster
    (tests/pgcluster.py): install Debian's server where its binaries are missing (as root), else
    say how. Nothing is done when they are there."""
    import glob
    if shutil.which("initdb") or glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        say("installing PostgreSQL (the team store's tests run a throw-away server)")
        subprocess.run(["apt-get", "update", "-q"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                        "postgresql"], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    else:
        say("PostgreSQL is not installed: the team store's tests are skipped (outside CI); "
            "install it with: apt-get install postgresql")


def build_sample(python: Path) -> Path:
    """The sample project: clips made from the photographs in resources/sample, extracted and
    aligned by the real pipeline (`feasstm sample`, about a minute, with a progress bar). A
    finished sample is reused; an unfinished one is resumed; a sample project of the older kind
    (imported crops, no videos) is moved aside, never deleted."""
    marker = [str(python), "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
              "sys.exit(0 if c.execute(\"SELECT 1 FROM params WHERE key='sample.recipe'\")"
              ".fetchone() else 1)", str(SAMPLE / "project.sqlite")]
    if (SAMPLE / "project.sqlite").exists() and subprocess.run(marker,
                                                                capture_output=True).returncode:
        old = SAMPLE.with_name(f"{SAMPLE.name}.old-{int(time.time())}")
        say(f"moving the older sample project aside to {old}")
        SAMPLE.rename(old)
    elif SAMPLE.exists() and not (SAMPLE / "project.sqlite").exists():
        shutil.rmtree(SAMPLE)
    if not (SAMPLE / "project.sqlite").exists():
        say(f"building the sample project in {SAMPLE} (about a minute)")
    run = subprocess.run([str(python), "-m", "feasstm_gui.cli", "sample", str(SAMPLE)])
    if run.returncode not in (0, 1):
        sys.exit("the sample project could not be built (see the messages above); run "
                 "`python3 tools/bootstrap.py run` again to resume")
    return SAMPLE


def cmd_run() -> int:
    python = install()
    ensure_qt_libraries(python)
    sample = build_sample(python)
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("QT_QPA_PLATFORM")
    ):
        say("no display found (DISPLAY is not set): start this from a desktop session, or run "
            "under Xvfb (xvfb-run python3 tools/bootstrap.py run)")
        return 2
    say("starting FEASSTM Studio on the sample project")
    return subprocess.run([str(python), "-m", "feasstm_gui", str(sample)]).returncode


def cmd_test(extra: list[str]) -> int:
    python = install()
    ensure_qt_libraries(python)
    ensure_postgresql()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    say("running the test suite")
    return subprocess.run([str(python), "-m", "pytest", "-q", *extra], cwd=ROOT,
                          env=env).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test", "install"):
        print(__doc__)
        return 2
    if argv[0] == "install":
        install()
        return 0
    return cmd_run() if argv[0] == "run" else cmd_test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
