"""The committed ONNX files of MTCNN's networks against facenet-pytorch's torch networks (the real
weights, the real photographs): same outputs, same detections."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.faces import mtcnn_onnx
from feasstm_gui.core.faces.detector import DetectorSettings, FaceDetector


@pytest.fixture(scope="module")
def torch_nets():
    from facenet_pytorch import MTCNN

    return MTCNN(device="cpu").eval()


def _photo(data_dir, name: str, longest: int = 640) -> np.ndarray:
    img = cv2.imread(str(data_dir / "faces" / name))
    s = min(1.0, longest / max(img.shape[:2]))
    return cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else img


@pytest.mark.parametrize("name,shape", [("pnet", (1, 3, 97, 283)), ("pnet", (1, 3, 12, 12)),
                                        ("rnet", (37, 3, 24, 24)), ("onet", (5, 3, 48, 48)),
                                        ("onet", (1, 3, 48, 48))])
def test_onnx_outputs_equal_torch(torch_nets, data_dir, name, shape):
    import torch

    n, _, h, w = shape
    # real pixels: tiles of a photograph, normalised as MTCNN does
    img = _photo(data_dir, "obama.jpg")[:, :, ::-1].astype(np.float32)
    tiles = [cv2.resize(img[k * 7 : k * 7 + 200, k * 5 : k * 5 + 200], (w, h),
                        interpolation=cv2.INTER_AREA) for k in range(n)]
    x = ((np.stack(tiles).transpose(0, 3, 1, 2) - 127.5) * 0.0078125).astype(np.float32)
    with torch.no_grad():
        ref = [t.numpy() for t in getattr(torch_nets, name)(torch.from_numpy(x))]
    out = mtcnn_onnx.run(name, x)
    assert len(out) == len(ref)
    for a, b in zip(out, ref):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("photo", ["obama.jpg", "obama2.jpg", "biden.jpg", "messi5.jpg"])
def test_region_detection_same_landmarks_with_either_runtime(data_dir, photo):
    img = _photo(data_dir, photo)
    full = FaceDetector(DetectorSettings(device="cpu")).detect(img)
    assert full
    onnx = FaceDetector(DetectorSettings(device="cpu", runtime="onnx"))
    torch_ = FaceDetector(DetectorSettings(device="cpu", runtime="torch"))
    for face in full:
        s = face.size
        cx, cy = face.center
        roi = (cx - 1.25 * s, cy - 1.25 * s, cx + 1.25 * s, cy + 1.25 * s)
        kw = {"roi": roi, "face_size": (0.4 * s, 3.0 * s)}
        a, b = onnx.detect(img, **kw), torch_.detect(img, **kw)
        assert len(a) == len(b) >= 1
        for da, db in zip(a, b):
            assert np.abs(da.landmarks - db.landmarks).max() < 0.01
            assert abs(da.prob - db.prob) < 1e-4
        # and the region's face is full-frame MTCNN's (the tracker's promise)
        best = min(a, key=lambda d: np.abs(d.landmarks - face.landmarks).max())
        assert np.abs(best.landmarks - face.landmarks).max() < 0.01


def test_unknown_runtime_is_a_clear_error():
    with pytest.raises(FeasstmError, match="runtime"):
        FaceDetector(DetectorSettings(device="cpu", runtime="tensorrt"))


def test_committed_files_are_a_fresh_export(tmp_path):
    """The files in the package are what `mtcnn_onnx --export` writes from the installed
    facenet-pytorch (the export is deterministic), so they cannot drift from its weights."""
    pytest.importorskip("onnx")
    for path in mtcnn_onnx.export(tmp_path):
        assert path.read_bytes() == mtcnn_onnx.net_path(path.stem).read_bytes(), path.name
