"""Projects of real aligned faces and small ONNX models for the proposal tests (issue 17).

The faces are the test photographs, found by the real MTCNN and aligned as the pipeline aligns
them (once per test session); the ONNX models are made with torch.onnx from a small network
whose outputs a test can compute itself.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from feasstm_gui.core.ingest.images import read_image, write_jpeg
from feasstm_gui.core.store import Clip, Store

DATA = Path(__file__).resolve().parent / "data"
PHOTOS = ("astronaut", "biden", "camera", "messi5", "obama", "obama2", "obama_partial_face")

_crops: dict[str, np.ndarray] = {}


def aligned_crops() -> dict[str, np.ndarray]:
    """name -> the aligned 100 x 100 crop (BGR) of each test photograph's face."""
    if not _crops:
        from feasstm_gui.core.faces.align import align_face
        from feasstm_gui.core.faces.detector import FaceDetector

        detector = FaceDetector()
        for name in PHOTOS:
            path = next(p for p in (DATA / "faces").glob(name + ".*"))
            image = read_image(path)
            face = detector.detect(image)[0]
            _crops[name] = align_face(image, np.asarray(face.landmarks), size=100)[0]
    return _crops


def make_aligned_project(folder: Path, *, clips: dict[str, list[str]] | None = None,
                         annotator: str = "tester") -> tuple[Store, dict[str, int]]:
    """An open project: clip id -> photo names, one frame per photo with its aligned crop.
    Returns the store and "clip/name" -> frame id."""
    clips = clips or {"c1": list(PHOTOS)}
    crops = aligned_crops()
    store = Store.create(folder, annotator=annotator)
    ids: dict[str, int] = {}
    for clip, names in clips.items():
        store.add_clip(Clip(clip, actor="a", group="g", fps=25.0))
        frame_ids = store.add_frames(clip, [(i, i * 40.0, None, None) for i in range(len(names))])
        for k, (fid, name) in enumerate(zip(frame_ids, names)):
            crop = f"crops/{clip}/{k + 1:06d}.jpg"
            (store.folder / crop).parent.mkdir(parents=True, exist_ok=True)
            write_jpeg(store.folder / crop, crops[name])
            store.add_face(fid, crop=crop)
            ids[f"{clip}/{name}"] = fid
    return store, ids


def tiny_network(n_out: int = 2, seed: int = 0):
    """A small convolutional network (colour in, n_out scores out) with fixed random weights."""
    import torch

    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, stride=2), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, n_out),
    ).eval()


def tiny_onnx(folder: Path, *, name: str = "own", size: int = 32, codes=(4, 7),
              n_out: int | None = None, dynamic: bool = True, description: dict | None = None
              ) -> tuple[Path, object]:
    """Export tiny_network to folder/name.onnx with its JSON beside it; returns (path, network).
    `n_out` (default len(codes)) lets a test make a model whose outputs do not match its JSON."""
    import torch

    net = tiny_network(n_out or len(codes))
    path = folder / f"{name}.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    x = torch.zeros(1, 3, size, size)
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notes
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), str(path), input_names=["image"], output_names=["scores"],
                          dynamic_axes={"image": {0: "n"}, "scores": {0: "n"}} if dynamic
                          else None, dynamo=False)
    spec = {"name": name, "input_size": [size, size], "colour": "rgb", "layout": "nchw",
            "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "classes": list(codes),
            "softmax": True}
    spec.update(description or {})
    path.with_suffix(".json").write_text(json.dumps(spec), encoding="utf-8")
    return path, net


def network_probs(net, crops: list[np.ndarray], size: int = 32) -> np.ndarray:
    """What tiny_network itself says for BGR crops, fed as the JSON of tiny_onnx describes."""
    import cv2
    import torch

    xs = []
    for c in crops:
        rgb = cv2.cvtColor(cv2.resize(c, (size, size), interpolation=cv2.INTER_AREA),
                           cv2.COLOR_BGR2RGB).astype(np.float32) / 255
        xs.append(((rgb - 0.5) / 0.25).transpose(2, 0, 1))
    with torch.no_grad():
        return torch.softmax(net(torch.from_numpy(np.stack(xs))), 1).numpy()
