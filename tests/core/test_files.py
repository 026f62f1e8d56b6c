"""Input files that are not what their names say (issue 13): only regular files are read,
up to a size cap; a pipe never blocks, a link to /dev/zero is never read."""

from __future__ import annotations

import os
import threading

import pytest

from feasstm_gui.core.files import NotReadable, entry_kind, read_regular


def _read_in_thread(path, limit=1024):
    """read_regular in a thread, so that a blocking read fails the test instead of hanging it."""
    out: dict = {}

    def run():
        try:
            out["data"] = read_regular(path, limit)
        except NotReadable as exc:
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "read_regular blocked"
    return out


def test_a_regular_file_is_read(cjk_dir):
    path = cjk_dir / "标签.txt"
    path.write_bytes(b"000001.jpg 3\n")
    assert read_regular(path, 100) == b"000001.jpg 3\n"
    assert entry_kind(path) == "file"


def test_a_named_pipe_is_refused_without_blocking(cjk_dir):
    pipe = cjk_dir / "000099.jpg"
    os.mkfifo(pipe)
    out = _read_in_thread(pipe)
    assert out["error"].reason == "a named pipe, not a file"
    assert entry_kind(pipe) == "a named pipe"


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_link_to_a_device_is_named_not_read(cjk_dir, device):
    link = cjk_dir / "labels.txt"
    link.symlink_to(device)
    out = _read_in_thread(link)
    assert out["error"].reason == f"a character device (a link to {device}), not a file"


def test_a_file_over_the_cap_is_refused_unread(cjk_dir):
    big = cjk_dir / "大.jpg"
    with open(big, "wb") as f:
        f.truncate(10 * 1024 * 1024)  # sparse: 10 MB that cost no disk
    out = _read_in_thread(big, limit=1024 * 1024)
    assert "10 MB, larger than the 1 MB this file may have" == out["error"].reason


def test_a_symbolic_link_loop_is_named(cjk_dir):
    loop = cjk_dir / "环.jpg"
    loop.symlink_to(loop.name)
    assert entry_kind(loop).startswith("a symbolic link loop")
    assert _read_in_thread(loop)["error"].reason.startswith("a symbolic link loop")
    broken = cjk_dir / "断.jpg"
    broken.symlink_to("没有")
    assert entry_kind(broken) == "a broken symbolic link"
