"""MTCNN's three networks (P-, R- and O-net) run by ONNX Runtime instead of torch.

The ``.onnx`` files in ``nets/`` are facenet-pytorch's own networks, exported with
``torch.onnx.export`` from the weights inside the facenet-pytorch wheel (pinned in
pyproject.toml); nothing is downloaded. They are committed so that a run needs neither the ``onnx``
package nor an export step; `tests/core/faces/test_mtcnn_onnx.py` checks that their outputs equal
the torch networks' (to 1e-5) and that detections with either runtime give the same landmarks.
Regenerate them after a facenet-pytorch upgrade with

    .venv/bin/python -m feasstm_gui.core.faces.mtcnn_onnx --export feasstm_gui/core/faces/nets

Why: the tracker's region detections run the cascade on small tensors (a canvas of about
100 x 300 pixels for the P-net, a few dozen 24 x 24 crops, a few 48 x 48 crops), where torch's
per-operation overhead is a large part of the cost; ONNX Runtime on one thread ran the R- and
O-net about twice as fast and the P-net about as fast (docs/ALIGNMENT.md, Speed).

Sessions are built once per thread count and shared (ONNX Runtime's ``run`` is thread-safe).
On one thread, ONNX Runtime's CPU kernels give the same output for the same input on every run.
"""

from __future__ import annotations

import argparse
import threading
import warnings
from pathlib import Path

import numpy as np

from feasstm_gui.core.errors import FeasstmError

NETS_DIR = Path(__file__).parent / "nets"
NAMES = ("pnet", "rnet", "onet")
OPSET = 17

_lock = threading.Lock()
_sessions: dict[tuple[str, int], object] = {}


def net_path(name: str) -> Path:
    return NETS_DIR / f"{name}.onnx"


def session(name: str, threads: int = 1):
    """The ONNX Runtime session of one network (``pnet``, ``rnet``, ``onet``)."""
    key = (name, max(1, int(threads)))
    with _lock:
        sess = _sessions.get(key)
        if sess is None:
            import onnxruntime as ort

            path = net_path(name)
            if not path.is_file():
                raise FeasstmError(f"face network file missing: {path} (reinstall feasstm-gui, "
                                   "or set align.detector runtime to 'torch')")
            so = ort.SessionOptions()
            so.intra_op_num_threads = key[1]
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            so.log_severity_level = 3
            # threads beyond the caller's sleep between runs instead of spinning: the small
            # networks run many times a frame while the job's other threads need the cores
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            _sessions[key] = sess
        return sess


def run(name: str, x: np.ndarray, threads: int = 1) -> list[np.ndarray]:
    """One network's outputs (as facenet-pytorch's forward returns them) for an N x 3 x H x W
    float32 batch, normalised as MTCNN normalises ((pixel - 127.5) / 128)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    return session(name, threads).run(None, {"x": x})


def export(folder: str | Path) -> list[Path]:
    """Export facenet-pytorch's P-, R- and O-net (weights from its wheel) to ONNX files.
    Needs the ``onnx`` package (a test dependency), not needed to run them."""
    import torch
    from facenet_pytorch import MTCNN

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    mtcnn = MTCNN(device="cpu").eval()
    specs = {
        "pnet": (mtcnn.pnet, torch.zeros(1, 3, 80, 200), {2: "h", 3: "w"}, 2),
        "rnet": (mtcnn.rnet, torch.zeros(4, 3, 24, 24), {0: "n"}, 2),
        "onet": (mtcnn.onet, torch.zeros(2, 3, 48, 48), {0: "n"}, 3),
    }
    written = []
    for name, (net, x, axes, outputs) in specs.items():
        out_names = [f"y{i}" for i in range(outputs)]
        dynamic = {"x": {0: "n", **axes} if name == "pnet" else axes}
        for o in out_names:
            dynamic[o] = dict(axes) if name == "pnet" else {0: "n"}
            if name == "pnet":
                dynamic[o][0] = "n"
        path = folder / f"{name}.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter
            torch.onnx.export(net, (x,), str(path), input_names=["x"], output_names=out_names,
                              dynamic_axes=dynamic, dynamo=False, opset_version=OPSET)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Export MTCNN's networks to ONNX files")
    ap.add_argument("--export", metavar="FOLDER", required=True)
    args = ap.parse_args(argv)
    for path in export(args.export):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
