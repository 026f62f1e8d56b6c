"""A team labelling one PostgreSQL project at once, the server restarted in the middle (issue 16).

    .venv/bin/python benchmarks/team.py [--annotators 12] [--duration 60] [--rate 5]
        [--frames N] [--no-fsync] [--restart-at 0.5] [--workers K]

Phase 1: `--annotators` processes (default 12), each opening the project as its own annotator
(store connection + a listener connection LISTENing to the others' edits, as a window does),
press a label key `--rate` times a second (default 5) for `--duration` s (default 60): each key
is the store call a key press makes (`store.set_labels` on one frame: one committed step).
Annotator k labels frame (i + 10 k) mod N at its i-th key, so annotators label the same frames
within seconds of each other (each has their own label rows). Halfway (`--restart-at`), the
server is restarted (`pg_ctl restart -m fast`: every connection dropped). A key whose commit
returns is acked; a key refused because the server is away (ServerUnavailable) is counted as
refused (the window shows the red banner and the key has no effect; docs/TEAM.md).
At the end every acked edit is looked for in the edit log (annotator, frame, code) and the last
acked code of each (annotator, frame) in the labels table: `lost_edits` counts those missing.
A baseline in the same run: one annotator alone for a few seconds before (`baseline_*`).

Phase 2 (K `feasstm process` workers sharing a 12-clip project): provided by
benchmarks/team_workers.py (`measure_workers(workers: int) -> dict`, from the shared-jobs
work); where that file is missing the phase is skipped with a note in the JSON.

The cluster is a throw-away one (tests/pgcluster.py) on a Unix socket, with fsync on (as a real
server; `--no-fsync` as the tests run it). Prints the conditions, then ONE JSON line.
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

CLIP = "bench"


# -- one annotator (a child process) ----------------------------------------------------------

def annotator(args) -> None:
    from feasstm_gui.core.errors import FeasstmError, ServerUnavailable
    from feasstm_gui.core.store import Store
    from feasstm_gui.core.store.live import ChangeListener
    from feasstm_gui.core.store.server import ServerStore

    sent = _count_statements()
    store = Store.open(Path(args.project), annotator=args.name)
    if args.generic_steps:  # diagnostic: the statement-by-statement path (Store._apply)
        assert isinstance(store, ServerStore)
        store._label_step = False
    listener = ChangeListener(store.url)
    if not args.no_listen:
        listener.connect()
    ids = [f.id for f in store.frames(CLIP)]
    heard = refused = errors = 0
    latencies: list[float] = []
    round_trips: list[int] = []      # statements sent for each acked key
    acked: list[list[int]] = []      # [key number, frame id, code]
    unsure: list[list[int]] = []     # commit sent, answer lost: on the server or not
    period = 1.0 / args.rate
    n_keys = int(args.duration * args.rate)
    # ready: the parent starts everybody together once all are (starting takes seconds here)
    Path(args.out + ".ready").write_text("ready")
    go = Path(args.start_file)
    while not go.exists():
        time.sleep(0.02)
    start = float(go.read_text())
    while time.time() < start:
        time.sleep(min(0.05, max(0.0, start - time.time())))
    for i in range(n_keys):
        due = start + i * period
        wait = due - time.time()
        if wait > 0:
            time.sleep(wait)
        frame = ids[(i + 10 * args.k) % len(ids)]
        code = (i + args.k) % 7 + 1
        t = time.perf_counter()
        before = sent[0]
        try:
            store.set_labels([frame], code)
        except ServerUnavailable as exc:
            if "may not have been saved" in str(exc):
                unsure.append([i, frame, code])
            else:
                refused += 1
            continue
        except FeasstmError:
            errors += 1
            continue
        latencies.append((time.perf_counter() - t) * 1000)
        round_trips.append(sent[0] - before)
        acked.append([i, frame, code])
        if args.no_listen:
            continue
        got = listener.poll()
        if got is None:
            listener.connect()
        else:
            heard += len(got)
    got = listener.wait(0.5)
    heard += len(got or [])
    listener.close()
    store.close()
    Path(args.out).write_text(json.dumps({
        "name": args.name, "keys": n_keys, "latencies_ms": latencies, "acked": acked,
        "round_trips": round_trips,
        "unsure": unsure, "refused": refused, "errors": errors, "heard": heard}))


def _count_statements() -> list[int]:
    """Count the statements this process sends (each one round trip: the store runs without
    pipelining); [n], read before and after a key."""
    import psycopg

    sent = [0]
    plain = psycopg.Cursor.execute

    def execute(self, *a, **k):
        sent[0] += 1
        return plain(self, *a, **k)

    psycopg.Cursor.execute = execute
    return sent


# -- the parent --------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return round(s[k], 2)


def make_cluster(fsync: bool):
    from pgcluster import PgCluster, find_bindir

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install "
                         "postgresql")

    class BenchCluster(PgCluster):
        opts = ""

        def start(self):
            self.sock.mkdir(parents=True, exist_ok=True)
            if self.user:
                import shutil
                shutil.chown(self.base, self.user)
                shutil.chown(self.sock, self.user)
            self._check(self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A",
                                  "trust", "-U", "postgres", "-E", "UTF8", "--locale=C",
                                  "--no-sync"), "initdb")
            self.opts = (f"-k {self.sock} -p {self.port} -c listen_addresses='' "
                         f"-c fsync={'on' if fsync else 'off'} -c max_connections=100 "
                         "-c track_wal_io_timing=on")
            if (Path(find_pkglibdir(self.bindir)) / "pg_stat_statements.so").exists():
                self.opts += (" -c shared_preload_libraries=pg_stat_statements "
                              "-c pg_stat_statements.track=top")
            self._pg_ctl("start", "-w", "-o", self.opts)
            return self

        def _pg_ctl(self, *args):
            self._check(self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                                  str(self.log), *args), "pg_ctl " + args[0])

        def restart(self):
            self._pg_ctl("restart", "-m", "fast", "-w", "-o", self.opts)

    return BenchCluster(bindir).start()


def find_pkglibdir(bindir: Path) -> str:
    bindir = (bindir / "initdb").resolve().parent  # /usr/local/bin/initdb may be a link
    try:
        return subprocess.run([str(bindir / "pg_config"), "--pkglibdir"], capture_output=True,
                              text=True, timeout=30).stdout.strip() or str(bindir.parent / "lib")
    except OSError:
        return str(bindir.parent / "lib")


def server_stats(url: str, reset: bool = False) -> dict:
    """What the server spent: its statements' execution time (pg_stat_statements, top level:
    a step's function counts once, with what it runs), and its WAL flushes (pg_stat_wal)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        has = conn.execute("SELECT COUNT(*) FROM pg_available_extensions WHERE "
                           "name='pg_stat_statements'").fetchone()[0]
        loaded = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
        out: dict = {}
        if has and "pg_stat_statements" in loaded:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            if reset:
                conn.execute("SELECT pg_stat_statements_reset()")
            else:
                row = conn.execute(
                    "SELECT COALESCE(SUM(calls), 0), COALESCE(SUM(total_exec_time), 0) FROM "
                    "pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
                    "WHERE d.datname = current_database() AND query NOT LIKE '%pg_stat%'"
                ).fetchone()
                out.update(statements=int(row[0]), exec_ms=float(row[1]))
        if reset:
            conn.execute("SELECT pg_stat_reset_shared('wal')")
        else:
            row = conn.execute("SELECT wal_sync, wal_sync_time FROM pg_stat_wal").fetchone()
            out.update(wal_syncs=int(row[0]), wal_sync_ms=float(row[1]))
    return out


def run_phase(project: Path, n: int, duration: float, rate: float, work: Path,
              restart=None, restart_at: float = 0.5, extra: tuple = ()) -> dict:
    """n annotator processes for `duration` s; `restart()` called at `restart_at` of it."""
    go = work / f"go-{n}-{time.time()}"
    procs = []
    for k in range(n):
        out = work / f"a{k}.json"
        procs.append((out, subprocess.Popen(
            [sys.executable, __file__, "--child", "--project", str(project), "--name",
             f"annotator-{k + 1:02d}", "--k", str(k), "--out", str(out), "--start-file",
             str(go), "--duration", str(duration), "--rate", str(rate), *extra],
            cwd=str(ROOT))))
    deadline = time.time() + 600
    while not all(Path(str(out) + ".ready").exists() for out, _p in procs):
        if time.time() > deadline or any(p.poll() is not None for _o, p in procs):
            raise SystemExit("an annotator process did not start")
        time.sleep(0.05)
    start_at = time.time() + 0.5
    tmp = go.with_name(go.name + ".tmp")  # whole or not there: the children poll for it
    tmp.write_text(repr(start_at))
    os.replace(tmp, go)
    restart_s = None
    if restart is not None:
        time.sleep(max(0.0, start_at + duration * restart_at - time.time()))
        t = time.perf_counter()
        restart()
        restart_s = round(time.perf_counter() - t, 2)
    results = []
    for out, p in procs:
        p.wait(timeout=duration + 120)
        if p.returncode != 0 or not out.exists():
            raise SystemExit(f"an annotator process failed ({p.returncode})")
        results.append(json.loads(out.read_text()))
    return {"results": results, "restart_s": restart_s}


def verify(project: Path, results: list[dict]) -> dict:
    """Every acked edit in the edit log; the last acked code of each frame in labels."""
    from feasstm_gui.core.store import Store

    with Store.open(project, annotator="check", read_only=True) as store:
        logged = set()
        for who, target, new in store.db.query(
                "SELECT annotator, target, new FROM edits WHERE op='label'"):
            t = json.loads(target)
            logged.add((who, t.get("frame"), None if new is None else json.loads(new)))
        labels = {(who, f): c for f, who, c in store.db.query(
            "SELECT frame_id, annotator, code FROM labels")}
    missing = mismatched = 0
    for r in results:
        last: dict[int, tuple[int, int]] = {}
        for i, frame, code in r["acked"]:
            if (r["name"], frame, code) not in logged:
                missing += 1
            last[frame] = (i, code)
        later_unsure = {(f, i) for i, f, _c in r["unsure"]}
        for frame, (i, code) in last.items():
            if any(f == frame and j > i for f, j in later_unsure):
                continue  # a later key's commit may or may not have landed
            if labels.get((r["name"], frame)) != code:
                mismatched += 1
    return {"missing_from_log": missing, "final_mismatch": mismatched}


def workers_phase(k: int) -> dict:
    """Phase 2, from benchmarks/team_workers.py (the shared-jobs work) where it exists."""
    here = Path(__file__).resolve().parent
    if not (here / "team_workers.py").exists():
        return {"workers_phase": "skipped: benchmarks/team_workers.py (measure_workers) is not "
                                 "in this checkout"}
    sys.path.insert(0, str(here))
    from team_workers import measure_workers  # noqa: PLC0415 - optional phase

    return dict(measure_workers(workers=k))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--annotators", type=int, default=12)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--rate", type=float, default=5.0, help="keys per second per annotator")
    ap.add_argument("--frames", type=int, default=0, help="frames in the clip (default: enough "
                    "that no annotator labels a frame twice)")
    ap.add_argument("--restart-at", type=float, default=0.5)
    ap.add_argument("--no-fsync", action="store_true")
    ap.add_argument("--workers", type=int, default=3, help="phase 2: shared-job workers")
    ap.add_argument("--baseline", type=float, default=8.0, help="seconds of one annotator alone")
    ap.add_argument("--no-listen", action="store_true",
                    help="diagnostic: the annotators do not listen to each other")
    ap.add_argument("--generic-steps", action="store_true",
                    help="diagnostic: each key as separate statements (Store._apply), not the "
                         "one-round-trip server function")
    ap.add_argument("--no-notify", action="store_true",
                    help="diagnostic: the server announces nothing (triggers dropped)")
    # a child annotator
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--project", help=argparse.SUPPRESS)
    ap.add_argument("--name", help=argparse.SUPPRESS)
    ap.add_argument("--k", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--start-file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        annotator(args)
        return 0
    if args.annotators < 1 or args.duration <= 0 or args.rate <= 0:
        ap.error("--annotators, --duration and --rate must be positive")

    from feasstm_gui.core.store import Clip, Store

    n_keys = int(args.duration * args.rate)
    n_frames = args.frames or n_keys + 10 * args.annotators + 100
    print(f"# {platform.node()} {platform.platform()}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}; {args.annotators} annotators x {args.rate:g} keys/s x "
          f"{args.duration:g} s; {n_frames} frames; fsync {'off' if args.no_fsync else 'on'}; "
          "server restarted at "
          f"{args.restart_at:.0%} of the run", flush=True)
    cluster = make_cluster(fsync=not args.no_fsync)
    work = Path(tempfile.mkdtemp(prefix="feasstm-team-"))
    try:
        url = cluster.new_database()
        project = work / "project"
        store = Store.create(project, annotator="researcher", server=url)
        store.add_clip(Clip(CLIP))
        store.add_frames(CLIP, [(i, i * 40.0, None, None) for i in range(n_frames)])
        if args.no_notify:
            from feasstm_gui.core.store.live import _TRIGGER
            # the trigger stays (opening the project would make it again), silenced
            store.db.script(f"CREATE OR REPLACE FUNCTION {_TRIGGER}() RETURNS trigger "
                            "LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$")
        store.close()
        extra = (("--no-listen",) if args.no_listen else ()) + (
            ("--generic-steps",) if args.generic_steps else ())

        base = run_phase(project, 1, args.baseline, args.rate, work, extra=extra)["results"]
        base_lat = [v for r in base for v in r["latencies_ms"]]
        print(f"# baseline (1 annotator, {args.baseline:g} s): p50 "
              f"{percentile(base_lat, 50)} ms, p99 {percentile(base_lat, 99)} ms", flush=True)

        load_before = os.getloadavg()[0]
        server_stats(url, reset=True)
        phase = run_phase(project, args.annotators, args.duration, args.rate, work,
                          restart=cluster.restart, restart_at=args.restart_at, extra=extra)
        results = phase["results"]
        load_after = os.getloadavg()[0]
        stats = server_stats(url)
        lat = [v for r in results for v in r["latencies_ms"]]
        trips = [v for r in results for v in r["round_trips"]]
        n_acked = max(1, len(trips))
        checked = verify(project, base + results)
        out = {
            "annotators": args.annotators,
            "duration_s": args.duration,
            "keys_per_s_each": args.rate,
            "commit_p50_ms": percentile(lat, 50),
            "commit_p99_ms": percentile(lat, 99),
            "commit_max_ms": round(max(lat), 2) if lat else None,
            "keys": sum(r["keys"] for r in results),
            "acked": sum(len(r["acked"]) for r in results),
            "refused_while_down": sum(r["refused"] for r in results),
            "unsure_at_restart": sum(len(r["unsure"]) for r in results),
            "errors": sum(r["errors"] for r in results),
            "notifications_heard": sum(r["heard"] for r in results),
            "restart_s": phase["restart_s"],
            "lost_edits": checked["missing_from_log"] + checked["final_mismatch"],
            **checked,
            "baseline_commit_p50_ms": percentile(base_lat, 50),
            "baseline_commit_p99_ms": percentile(base_lat, 99),
            "fsync": not args.no_fsync,
            "listening": not args.no_listen,
            "notify": not args.no_notify,
            "round_trips_per_key": round(sum(trips) / n_acked, 2),
            "server_exec_ms_per_key": (round(stats["exec_ms"] / n_acked, 3)
                                       if "exec_ms" in stats else None),
            "wal_sync_ms_each": (round(stats["wal_sync_ms"] / stats["wal_syncs"], 3)
                                 if stats.get("wal_syncs") else None),
            "wal_syncs_per_key": round(stats.get("wal_syncs", 0) / n_acked, 2),
            "steps": "generic" if args.generic_steps else "one-round-trip",
            "load_before": round(load_before, 1),
            "load_after": round(load_after, 1),
        }
        print(f"# annotators: p50 {out['commit_p50_ms']} ms, p99 {out['commit_p99_ms']} ms, "
              f"{out['acked']} acked, {out['refused_while_down']} refused while the server "
              f"restarted ({out['restart_s']} s), lost {out['lost_edits']}; "
              f"{out['round_trips_per_key']} round trips and {out['server_exec_ms_per_key']} ms "
              f"of server statements per key, WAL flush {out['wal_sync_ms_each']} ms "
              f"(load {out['load_before']} -> {out['load_after']})", flush=True)
    finally:
        cluster.stop()
        import shutil
        shutil.rmtree(work, ignore_errors=True)

    # -- phase 2: K `feasstm process` workers sharing a 12-clip project ----------------------
    # HOOK for the shared-jobs work (pg16b): benchmarks/team_workers.py provides
    # measure_workers(workers: int) -> dict with clips_done_twice, workers, speedup.
    try:
        if args.workers > 0:
            out.update(workers_phase(args.workers))
        else:
            out["workers_phase"] = "skipped (--workers 0)"
    except Exception as exc:  # noqa: BLE001 - phase 1's figures still printed
        out["workers_phase"] = f"failed: {type(exc).__name__}: {exc}"
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
