"""The user guide's key table is generated from the action registry; it must not drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_guide_key_table_matches_the_registry():
    spec = importlib.util.spec_from_file_location("guide_keys", ROOT / "packaging" / "guide_keys.py")
    guide_keys = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guide_keys)
    text = guide_keys.GUIDE.read_text("utf-8")
    assert guide_keys.updated(text) == text, "run: .venv/bin/python packaging/guide_keys.py"
    for key in ("`Ctrl+Z`", "`4` or `Num+4`", "`F1`", "`Del`"):
        assert key in text
