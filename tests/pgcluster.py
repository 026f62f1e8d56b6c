"""A throw-away PostgreSQL cluster for the tests of the server back end.

`PgCluster` runs Debian's PostgreSQL binaries (initdb, pg_ctl) in a temporary folder, listening
on a Unix socket only (no TCP port is opened). initdb refuses to run as root, so as root the
cluster belongs to the `postgres` user (`runuser -u postgres`); otherwise to the current user.
Each test asks for its own empty database (`new_database`), so tests do not see each other's rows.

Where the binaries are missing the tests that need them are skipped, except in CI (`CI` set):
there a missing server is a failure, since `.ci/run` installs it.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/usr/pgsql-*/bin")


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl (the newest version found), or None.
    $FEASSTM_PG_BINDIR, where set, is the only place looked at."""
    if os.environ.get("FEASSTM_PG_BINDIR"):
        d = Path(os.environ["FEASSTM_PG_BINDIR"])
        return d if (d / "initdb").exists() and (d / "pg_ctl").exists() else None
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    dirs = [d for pattern in SEARCH for d in glob.glob(pattern)
            if os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "pg_ctl"))]

    def version(d: str) -> tuple:
        parts = [p for p in Path(d).parts if p.replace(".", "").isdigit()]
        return tuple(int(x) for x in parts[0].split(".")) if parts else (0,)

    return Path(max(dirs, key=version)) if dirs else None


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


class PgCluster:
    """One running cluster: `start()`, `url(dbname)`, `new_database()`, `stop()`."""

    def __init__(self, bindir: Path, base: Path | None = None):
        self.bindir = bindir
        self.base = Path(base or tempfile.mkdtemp(prefix="feasstm-pg-"))
        self.data = self.base / "data"
        self.sock = self.base / "sock"
        self.log = self.base / "server.log"
        self.port = 5432 + (os.getpid() % 1000) + 1  # only names the socket file
        self.user = "postgres" if os.geteuid() == 0 else None
        self._names = itertools.count(1)

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def _check(self, proc: subprocess.CompletedProcess, what: str) -> None:
        if proc.returncode:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{what} failed ({proc.returncode}): {proc.stderr.strip()}\n{log}")

    def start(self) -> PgCluster:
        self.sock.mkdir(parents=True, exist_ok=True)
        if self.user:
            shutil.chown(self.base, self.user)
            shutil.chown(self.sock, self.user)
        self._check(self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust",
                              "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"), "initdb")
        opts = (f"-k {self.sock} -p {self.port} -c listen_addresses='' -c fsync=off "
                "-c max_connections=60")
        self._check(self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                              str(self.log), "-o", opts, "-w", "start"), "pg_ctl start")
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        """A libpq URL for the database, through the socket (the host is the socket folder)."""
        from urllib.parse import quote
        return f"postgresql://postgres@/{dbname}?host={quote(str(self.sock), safe='')}&port={self.port}"

    def new_database(self) -> str:
        """Create an empty database; returns its URL."""
        import psycopg
        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
