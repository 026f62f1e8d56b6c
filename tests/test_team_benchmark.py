"""benchmarks/team.py runs (a short run: 3 annotators, 4 s, the server restarted halfway) and
loses nothing it acknowledged; its speed is not judged here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_team_benchmark_short_run_loses_no_acked_edit():
    from pgcluster import find_bindir, in_ci

    if find_bindir() is None:
        if in_ci():
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) not found")
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "team.py"), "--annotators", "3",
         "--duration", "4", "--baseline", "1", "--no-fsync", "--workers", "0"],
        capture_output=True, text=True, timeout=300, cwd=str(ROOT))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["annotators"] == 3 and result["keys"] == 60
    assert result["acked"] > 0 and result["restart_s"] is not None
    assert result["acked"] + result["refused_while_down"] + result["unsure_at_restart"] == 60
    assert result["lost_edits"] == 0 and result["errors"] == 0
    assert result["notifications_heard"] > 0  # the annotators heard each other
    assert "workers_phase" in result or "clips_done_twice" in result
