"""Shared test set-up. Qt must run offscreen, and must be told so before it is imported."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "2")

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path_factory, monkeypatch):
    """Every test gets its own preferences folder, so tests never share settings."""
    cfg = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("FEASSTM_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("FEASSTM_ANNOTATOR", "tester")


@pytest.fixture
def cjk_dir(tmp_path) -> Path:
    """A temporary folder whose path holds Chinese characters and spaces."""
    d = tmp_path / "数据 集" / "项目 一"
    d.mkdir(parents=True)
    return d


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture
def face_images(tmp_path) -> dict[str, Path]:
    """Copies of the real test photographs (so a test may damage its copy)."""
    out = {}
    for sub in ("faces", "nonface"):
        for p in sorted((DATA / sub).glob("*")):
            if p.suffix.lower() in (".jpg", ".png"):
                dst = tmp_path / "photos" / p.name
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(p, dst)
                out[p.stem] = dst
    return out


# -- PostgreSQL (the team store's server back end) ---------------------------------------------

@pytest.fixture(scope="session")
def pg_cluster():
    """A throw-away PostgreSQL cluster on a Unix socket (tests/pgcluster.py), for the session.
    Skipped where the server's binaries are missing; in CI (CI=true) that is a failure."""
    from pgcluster import PgCluster, find_bindir, in_ci

    bindir = find_bindir()
    if bindir is None:
        if in_ci():
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) not found; .ci/run installs them "
                        "(apt-get install postgresql)")
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e .[test])")
    cluster = PgCluster(bindir).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster) -> str:
    """The URL of a new, empty database on the test cluster (one per test)."""
    return pg_cluster.new_database()
