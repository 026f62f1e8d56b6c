"""Who a face is: 128-D face descriptors, distances between them, and grouping faces by person.

The descriptor is dlib's ResNet face-recognition network (`dlib_face_recognition_resnet_model_v1`,
shipped by the `face-recognition-models` package, released into the public domain by its author),
run by `dlib-bin`. Both install from the registry and run offline. The face chip the network sees
is placed by dlib's 5-point shape predictor (`shape_predictor_5_face_landmarks`, same licence) run
on MTCNN's box; the 68-point model is not used (its training data restricts commercial use).
The network itself runs on torch (`dlib_resnet.py`: the same layers and weights, read from the
same file; descriptors equal dlib's to about 1e-6, at about a sixth of dlib's CPU time);
``RUNTIME = "dlib"`` runs dlib's own implementation instead, as does a model file that module
cannot read.

Two descriptors of the same person are at a Euclidean distance of about 0.3-0.5, of different
people about 0.6-0.9 (dlib's own rule of thumb is 0.6). Measured here on the test photographs
(tests/data/faces, MTCNN boxes): obama/obama2 0.39, biden/biden2 0.41, obama/obama_partial_face
0.27; between different people 0.68 (a greyscale three-quarter view) to 0.91. On a real 275-frame
performance video the actor's medium-shot faces were at 0.39-0.57 (median 0.46) from the wide-shot
faces, other people at 0.56-0.79: one frame alone can fall on the wrong side, the mean of a
shot's faces does not (see `tracker.py`, which decides per shot).

Descriptors are stored as base64 text of 128 float32 values (684 characters), so the tracker
state stays JSON and a round trip loses nothing.
"""

from __future__ import annotations

import base64
import importlib.util
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from feasstm_gui.core.errors import FeasstmError

DIM = 128
#: dlib's 5-point predictor, and the network: files of the face-recognition-models package
SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
DESCRIPTOR_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
#: what runs the descriptor network: "torch" (dlib_resnet.py) or "dlib" (dlib's own code)
RUNTIME = "torch"
CHIP_SIZE, CHIP_PADDING = 150, 0.25  # the chip dlib's compute_face_descriptor cuts

_lock = threading.Lock()
_models: tuple | None = None
_runner: ThreadPoolExecutor | None = None
_here = threading.local()  # .dlib is True on the runner's thread


def _mark_dlib_thread() -> None:
    _here.dlib = True


def _in_dlib_thread(fn: Callable, *args):
    """Run `fn(*args)` on the one thread that calls dlib. dlib's Python binding takes the
    interpreter's lock back with a thread state of its own choosing; on a pooled Qt thread (the
    window's jobs run on one) that state can be stale, and the call hung or crashed
    (tests/ui/test_import_and_process.py, about one run in two). A thread Python started
    itself, always the same one, never has that problem, and it also keeps the network from
    being run by two threads at once (dlib's objects are not thread-safe)."""
    global _runner
    with _lock:
        if _runner is None:
            _runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dlib",
                                         initializer=_mark_dlib_thread)
        runner = _runner
    if getattr(_here, "dlib", False):  # called from the runner itself: waiting would deadlock
        return fn(*args)
    return runner.submit(fn, *args).result()


def models_folder() -> Path:
    """The folder holding the model files. The package's own __init__ needs pkg_resources
    (setuptools), which a plain environment lacks, so the files are found without importing it."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FeasstmError("the face-recognition-models package is not installed "
                           "(pip install face-recognition-models)")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def _load():
    global _models
    with _lock:
        if _models is None:
            try:
                import dlib
            except ImportError as exc:
                raise FeasstmError("dlib is not installed (pip install dlib-bin)") from exc
            folder = models_folder()
            for name in (SHAPE_MODEL, DESCRIPTOR_MODEL):
                if not (folder / name).is_file():
                    raise FeasstmError(f"face model file missing: {folder / name}")
            _models = (dlib, dlib.shape_predictor(str(folder / SHAPE_MODEL)),
                       dlib.face_recognition_model_v1(str(folder / DESCRIPTOR_MODEL)))
        return _models


def embed(image: np.ndarray, detection, *, bgr: bool = True) -> np.ndarray:
    """The 128-D descriptor of one detected face (a `Detection`) in an image (BGR unless
    ``bgr=False``): dlib's 5-point predictor on MTCNN's box, then the network on the chip."""
    img = np.ascontiguousarray(image[:, :, ::-1] if bgr else image)
    box = tuple(int(round(v)) for v in detection.raw_box)
    torch_net = _torch_net() if RUNTIME == "torch" else None
    if torch_net is None:
        return _in_dlib_thread(_describe, img, box)
    # the chip from dlib (on its thread, a few ms), the network here
    return torch_net.forward(_in_dlib_thread(_chip, img, box)[None])[0]


def _describe(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    dlib, shape_predictor, network = _load()
    shape = shape_predictor(img, dlib.rectangle(*box))
    return np.asarray(network.compute_face_descriptor(img, shape), dtype=np.float32)


def _chip(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The 150 x 150 RGB chip dlib's compute_face_descriptor gives its network."""
    dlib, shape_predictor, _ = _load()
    shape = shape_predictor(img, dlib.rectangle(*box))
    return np.asarray(dlib.get_face_chip(img, shape, size=CHIP_SIZE, padding=CHIP_PADDING))


_torch: list = []  # [the network, or None when the model file is not the one it knows]


def _torch_net():
    """The torch network (read once), or None: dlib's own then."""
    if not _torch:
        from feasstm_gui.core.faces import dlib_resnet

        _in_dlib_thread(_load)  # the same checks and messages for missing packages and files
        try:
            net = dlib_resnet.net(models_folder() / DESCRIPTOR_MODEL)
        except ValueError:
            net = None
        with _lock:
            if not _torch:
                _torch.append(net)
    return _torch[0]


def encode(vector: np.ndarray) -> str:
    v = np.asarray(vector, dtype=np.float32).reshape(DIM)
    return base64.b64encode(v.tobytes()).decode("ascii")


def decode(text: str) -> np.ndarray:
    v = np.frombuffer(base64.b64decode(text), dtype=np.float32)
    if v.shape != (DIM,):
        raise ValueError("not a face descriptor")
    return v


def distance(a, b) -> float:
    """Euclidean distance between two descriptors (arrays or their encoded text)."""
    x = decode(a) if isinstance(a, str) else np.asarray(a, dtype=np.float32)
    y = decode(b) if isinstance(b, str) else np.asarray(b, dtype=np.float32)
    return float(np.linalg.norm(x.astype(np.float64) - y.astype(np.float64)))


def nearest(vector, references: Sequence) -> float:
    """Distance from a descriptor to the nearest of several references (inf with none)."""
    return min((distance(vector, r) for r in references), default=float("inf"))


def centroid(vectors: Sequence) -> np.ndarray:
    arr = np.stack([decode(v) if isinstance(v, str) else np.asarray(v, np.float32)
                    for v in vectors])
    return arr.astype(np.float64).mean(axis=0).astype(np.float32)


def cluster(vectors: Sequence, threshold: float) -> list[int]:
    """Group descriptors by person: dlib's Chinese whispers over the graph of pairs closer than
    `threshold`. Returns a label per vector, numbered 0, 1, ... by group size (largest first),
    ties by first appearance: the same input always gives the same labels."""
    if not len(vectors):
        return []
    rows = [[float(x) for x in (decode(v) if isinstance(v, str) else v)] for v in vectors]
    raw = _in_dlib_thread(_whispers, rows, float(threshold))
    sizes: dict[int, int] = {}
    first: dict[int, int] = {}
    for i, lab in enumerate(raw):
        sizes[lab] = sizes.get(lab, 0) + 1
        first.setdefault(lab, i)
    order = sorted(sizes, key=lambda lab: (-sizes[lab], first[lab]))
    renumber = {lab: n for n, lab in enumerate(order)}
    return [renumber[lab] for lab in raw]


def _whispers(rows: list[list[float]], threshold: float) -> list[int]:
    dlib, _, _ = _load()
    return list(dlib.chinese_whispers_clustering([dlib.vector(r) for r in rows], threshold))
