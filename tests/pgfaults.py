"""Faults of the server under a running project (issue 16): the throw-away cluster of
tests/pgcluster.py restarted, stopped and started again with pg_ctl, as an administrator would.

The server's output goes to the cluster's log file (`-l`): a postmaster started by pg_ctl
without one would keep the caller's pipe open and `subprocess.run` would wait for ever."""

from __future__ import annotations

from pgcluster import PgCluster


def _opts(cluster: PgCluster) -> str:
    # what PgCluster.start passes; pg_ctl start does not reuse them by itself
    return (f"-k {cluster.sock} -p {cluster.port} -c listen_addresses='' -c fsync=off "
            "-c max_connections=60")


def _pg_ctl(cluster: PgCluster, *args: str) -> None:
    proc = cluster._run(str(cluster.bindir / "pg_ctl"), "-D", str(cluster.data), "-l",
                        str(cluster.log), *args)
    cluster._check(proc, "pg_ctl " + args[0])


def restart(cluster: PgCluster, mode: str = "fast") -> None:
    """Restart the server: every connection is dropped (fast: open transactions roll back)."""
    _pg_ctl(cluster, "restart", "-m", mode, "-w", "-o", _opts(cluster))


def stop(cluster: PgCluster, mode: str = "fast") -> None:
    _pg_ctl(cluster, "stop", "-m", mode, "-w")


def start(cluster: PgCluster) -> None:
    _pg_ctl(cluster, "start", "-w", "-o", _opts(cluster))
