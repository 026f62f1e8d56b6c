"""kill -9 in the middle of 10,000 label edits: every edit that had returned is committed."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap

from feasstm_gui.core.store import Clip, Store

N_EDITS = 10_000

CHILD = textwrap.dedent(
    """
    import sys
    from feasstm_gui.core.store import Store
    store = Store.open(sys.argv[1], annotator="alice", backup=False)
    ids = [f.id for f in store.frames("片段")]
    out = sys.stdout
    for i in range(int(sys.argv[2])):
        frame = ids[i % len(ids)]
        store.set_labels([frame], i % 7 + 1)
        out.write(f"{i}\\n")
        out.flush()
    """
)


def expected_codes(acked: int, ids: list[int]) -> dict[int, int]:
    codes = {}
    for i in range(acked):
        codes[ids[i % len(ids)]] = i % 7 + 1
    return codes


def test_kill_9_during_10000_label_edits_loses_no_acknowledged_edit(cjk_dir):
    folder = cjk_dir / "崩溃 测试"
    with Store.create(folder, annotator="alice") as store:
        store.add_clip(Clip("片段"))
        store.add_frames("片段", [(i, None, None, None) for i in range(2500)])
        ids = [f.id for f in store.frames("片段")]
    kill_after = random.Random(7).randint(2000, 6000)
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder), str(N_EDITS)],
                             stdout=subprocess.PIPE, text=True)
    acked = 0
    for line in child.stdout:
        acked = int(line) + 1
        if acked >= kill_after:
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert acked < N_EDITS  # killed in the middle

    with Store.open(folder, annotator="alice") as store:
        assert store.integrity_check() == []
        # The child may have committed a few edits more than the parent had read acks for
        # (their lines were still in the pipe): the edit log says how many were committed.
        steps = len(store.history(limit=N_EDITS + 10))
        assert acked <= steps < N_EDITS  # nothing acknowledged is lost
        # the labels are exactly those of the first `steps` edits: no edit half there, none lost
        got = {f.id: f.code for f in store.frames("片段")}
        want = expected_codes(steps, ids)
        assert {fid: got[fid] for fid in want} == want
        assert all(got[fid] is None for fid in got if fid not in want)
        # and undo works on what was there
        assert store.undo() is not None
