"""Jobs shared by machines (issue 16): K `feasstm process` workers sharing a 12-clip project on
a PostgreSQL server, against one worker on an identical project, in the same run.

    .venv/bin/python benchmarks/team_workers.py [--workers 2] [--clips 12] [--frames 12]
        [--server URL]

Each clip is a short synthetic video (tests/videoprojects.py: 320 x 240, the actor then a cut
to another person). The baseline (one worker) runs first, then K workers started together on
the other copy. Without --server a throw-away cluster is started (tests/pgcluster.py, Debian's
PostgreSQL binaries) and removed afterwards; with it, URL names a server where the benchmark
may create databases. `measure_workers(K)` is what benchmarks/team.py calls.

Prints the conditions, then one JSON line (last line): workers, clips, frames_per_clip,
one_worker_s, workers_s, speedup (one_worker_s / workers_s), clips_done_twice (clips with more
than one 'done' claim, plus clips with a frame aligned twice), threads_per_worker (MTCNN's torch
threads in each of the K workers: the cores divided among them; the one worker keeps the
project default, 2), worker_exit_codes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def _new_database(server_url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path="/" + name))


def _run_workers(folder: Path, k: int) -> tuple[float, list[int]]:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "feasstm_gui.cli", "process", str(folder),
                               "--device", "cpu"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(k)]
    codes = []
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            print(f"worker {p.pid} exit {p.returncode}: {err.strip()[-500:]}", file=sys.stderr)
        codes.append(p.returncode)
    return time.perf_counter() - start, codes


def _done_twice(folder: Path) -> int:
    from feasstm_gui.core.store import Store

    with Store.open(folder, annotator="researcher", read_only=True) as store:
        twice = {c for (c,) in store.db.query(
            "SELECT clip FROM job_claims WHERE outcome='done' GROUP BY clip HAVING COUNT(*) > 1")}
        twice |= {c for (c,) in store.db.query(
            "SELECT DISTINCT f.clip FROM faces fa JOIN frames f ON f.id=fa.frame_id "
            "WHERE fa.version > 1")}
        unfinished = store.db.one("SELECT COUNT(*) FROM clips WHERE align_status <> 'done'")[0]
    if unfinished:
        print(f"{unfinished} clips not finished in {folder}", file=sys.stderr)
    return len(twice)


def measure_workers(workers: int, *, server_url: str | None = None, clips: int = 12,
                    frames_per_clip: int = 12, work: Path | None = None) -> dict:
    """K workers sharing a `clips`-clip server project against one worker on an identical
    project: {"workers", "clips_done_twice", "speedup", ...}."""
    from videoprojects import make_video_project

    cluster = None
    if server_url is None:
        from pgcluster import PgCluster, find_bindir

        bindir = find_bindir()
        if bindir is None:
            raise SystemExit("PostgreSQL binaries not found (apt-get install postgresql), or "
                             "give --server URL")
        cluster = PgCluster(bindir).start()
        server_url = cluster.url()
    tmp = tempfile.TemporaryDirectory(prefix="feasstm-team-workers-") if work is None else None
    base = Path(tmp.name) if tmp else Path(work)
    try:
        folders = {}
        for tag in ("one", "many"):
            url = _new_database(server_url, f"team_workers_{tag}_{os.getpid()}")
            folders[tag] = base / f"团队 {tag}"
            make_video_project(folders[tag], clips, server=url, frames_per_clip=frames_per_clip)
        # the K workers share this machine's cores: MTCNN's threads divided among them (the
        # one worker keeps the default); on K machines each would keep the default
        threads = max(1, (os.cpu_count() or 1) // workers)
        from feasstm_gui.core.store import Store
        with Store.open(folders["many"], annotator="researcher") as store:
            store.set_params({"align.detector": {"num_threads": threads}})
        one_s, one_codes = _run_workers(folders["one"], 1)
        many_s, many_codes = _run_workers(folders["many"], workers)
        twice = _done_twice(folders["one"]) + _done_twice(folders["many"])
        return {"workers": workers, "clips": clips, "frames_per_clip": frames_per_clip,
                "one_worker_s": round(one_s, 2), "workers_s": round(many_s, 2),
                "speedup": round(one_s / many_s, 3) if many_s else None,
                "clips_done_twice": twice, "threads_per_worker": threads,
                "worker_exit_codes": one_codes + many_codes}
    finally:
        if tmp:
            tmp.cleanup()
        if cluster is not None:
            cluster.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--server", default=None, help="a server URL where databases may be created")
    args = ap.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}; {args.workers} workers, {args.clips} clips of "
          f"{args.frames} frames (320x240), MTCNN on the CPU", flush=True)
    result = measure_workers(args.workers, server_url=args.server, clips=args.clips,
                             frames_per_clip=args.frames)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
