"""`feasstm COMMAND` imports only the module that registers COMMAND (cli.COMMAND_HOMES): the
table must name every command where it is registered, and a command run that way behaves as
with the whole parser."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from feasstm_gui import cli


def registered() -> dict[str, str]:
    homes: dict[str, str] = {}
    for name in cli.COMMAND_MODULES:
        module = importlib.import_module(f"feasstm_gui.cli.{name}")
        parser = cli.argparse.ArgumentParser()
        sub = parser.add_subparsers()
        module.register(sub)
        homes.update(dict.fromkeys(sub.choices, name))
    return homes


def test_every_command_is_found_where_it_is_registered():
    assert cli.COMMAND_HOMES == registered()


def test_status_imports_neither_opencv_nor_the_importer(tmp_path):
    project = tmp_path / "项目"
    assert cli.main(["new", str(project)]) == 0
    code = ("import sys; from feasstm_gui.cli import main; rc = main(['status', sys.argv[1]]); "
            "print(sorted(m for m in ('cv2', 'feasstm_gui.core.ingest.importer', "
            "'feasstm_gui.cli.export') if m in sys.modules)); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, str(project)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "frames" in done.stdout.lower()
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_an_unknown_command_still_lists_them_all(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["stauts"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'stauts'" in err and "export" in err and "snapshot" in err
