"""dlib's face-recognition ResNet run by torch: the same network and weights, about a fifth of the
CPU time.

dlib's own implementation of the network (`dlib-bin`, built without BLAS) took 80-170 ms of CPU
per descriptor here; the tracker computes one per face at every cut, the identities job one per
face track sample, so that was most of what identity work costs (issue 15). This module reads
the weights from the same file (`dlib_face_recognition_resnet_model_v1.dat` of the
face-recognition-models package, public domain) and runs the same layers with torch, on one
thread: the descriptors equal dlib's to about 1e-5 (tests/core/faces/test_identity.py compares
them), so the distances measured with dlib and the thresholds built on them stay valid. The face
chip (dlib's 5-point shape and `get_face_chip`, 150 x 150, padding 0.25) still comes from dlib.

The network, as dlib's `dnn_face_recognition_ex.cpp` defines it (forward order):
conv 7x7/2 (32), affine, relu, max pool 3x3/2; 3 residual blocks of 32; a downsampling block
and 3 blocks of 64; downsampling and 2 blocks of 128; downsampling and 2 blocks of 256; one
downsampling block of 256; average over the whole map; a 128 x 256 matrix without bias. A block
is conv 3x3 (stride 2 when downsampling), affine, relu, conv 3x3, affine, added to its input
(downsampling: the input average-pooled 2x2/2), then relu. dlib pads a stride-2 convolution
with nothing, and adds tensors of different sizes as if the smaller were padded with zeros
(right, bottom, extra channels): reproduced here. The input is RGB, (value - channel mean) / 256.

The file is dlib's serialisation of that network: layers in forward order, each tensor as its
shape and little-endian float32 values. Only the convolutions', affines' and the final matrix's
tensors are read (and the convolutions' sizes, strides and paddings, checked against the
architecture above); anything unexpected raises `ValueError`, and `identity.py` then keeps
dlib's own network.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

#: input_rgb_image_sized's channel means (R, G, B), as the file holds them
MEANS = (122.782, 117.001, 104.298)
CHIP = 150
#: (filters, stride of the first conv, residual blocks after it) per level, forward order
LEVELS = ((32, 1, 3), (64, 2, 3), (128, 2, 2), (256, 2, 2), (256, 2, 0))
THREADS = 1

_lock = threading.Lock()
_nets: dict[str, object] = {}


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.b = data
        self.i = 0

    def find(self, tag: str) -> None:
        key = bytes([len(tag)]) + tag.encode("ascii")
        j = self.b.find(b"\x01" + key, self.i)  # the string's length, packed: 1 byte
        if j < 0:
            raise ValueError(f"no {tag} layer where one was expected")
        self.i = j + 1 + len(key)

    def int(self) -> int:
        head = self.b[self.i]
        size, neg = head & 0x0F, bool(head & 0x80)
        if size > 8:
            raise ValueError("not a packed integer")
        v = int.from_bytes(self.b[self.i + 1 : self.i + 1 + size], "little")
        self.i += 1 + size
        return -v if neg else v

    def tensor(self) -> np.ndarray:
        if self.int() != 2:
            raise ValueError("unknown tensor version")
        shape = [self.int() for _ in range(4)]
        n = int(np.prod(shape))
        v = np.frombuffer(self.b, dtype="<f4", count=n, offset=self.i)
        self.i += 4 * n
        return v.astype(np.float32).reshape(shape)


def read_weights(path: str | Path) -> dict[str, list]:
    """The network's tensors from dlib's model file: convs [(weight, bias, stride, padding)],
    affines [(gamma, beta)], and the final matrix (256 x 128)."""
    try:
        return _read(_Reader(Path(path).read_bytes()))
    except (IndexError, OverflowError) as exc:  # ran past the end of the file
        raise ValueError(f"not dlib's face-recognition network: {exc}") from exc


def _read(r: _Reader) -> dict[str, list]:
    convs, affines = [], []
    shapes = [(3, 32, 7, 2)]
    for filters, stride, blocks in LEVELS:
        prev = shapes[-1][1]
        if filters != 32:  # the downsampling block
            shapes += [(prev, filters, 3, stride), (filters, filters, 3, 1)]
        shapes += [(filters, filters, 3, 1), (filters, filters, 3, 1)] * blocks
    for n, (cin, cout, k, stride) in enumerate(shapes):
        r.find("con_4")
        params = r.tensor().ravel()
        nf, nr, nc, sy, sx, py, px = (r.int() for _ in range(7))
        if (nf, nr, nc, sy, sx) != (cout, k, k, stride, stride) or py != px:
            raise ValueError(f"convolution {n}: not the network expected")
        if params.size != cout * cin * k * k + cout:
            raise ValueError(f"convolution {n}: {params.size} values")
        w = params[: cout * cin * k * k].reshape(cout, cin, k, k)
        convs.append((w, params[cout * cin * k * k :], stride, py))
        r.find("affine_")
        ab = r.tensor().ravel()
        if ab.size != 2 * cout:
            raise ValueError(f"affine {n}: {ab.size} values")
        affines.append((ab[:cout], ab[cout:]))
    r.find("fc_2")
    outputs, inputs = r.int(), r.int()
    fc = r.tensor().ravel()
    if (outputs, inputs) != (128, 256) or fc.size != 128 * 256:
        raise ValueError("final layer: not the network expected")
    return {"convs": convs, "affines": affines, "fc": fc.reshape(256, 128)}


def _add(a, b):
    """dlib's add_prev: sizes that differ are padded with zeros (channels, bottom, right)."""
    import torch.nn.functional as F

    if a.shape == b.shape:
        return a + b
    c, h, w = (max(a.shape[i], b.shape[i]) for i in (1, 2, 3))

    def grow(t):
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return grow(a) + grow(b)


class Net:
    """The network on torch (CPU, one thread), built from `read_weights`."""

    def __init__(self, weights: dict[str, list]) -> None:
        import torch

        # each affine folded into the convolution before it: (conv(x) + b) * g + beta
        self.folded = []
        for (w, b, s, p), (g, beta) in zip(weights["convs"], weights["affines"]):
            self.folded.append((torch.from_numpy(w * g.reshape(-1, 1, 1, 1)),
                                torch.from_numpy(b * g + beta), s, p))
        self.fc = torch.from_numpy(weights["fc"].copy())
        self.mean = torch.tensor(MEANS, dtype=torch.float32).view(1, 3, 1, 1)

    def forward(self, chips: np.ndarray) -> np.ndarray:
        """Descriptors (N x 128) of N RGB chips (N x 150 x 150 x 3 uint8)."""
        import torch
        import torch.nn.functional as F

        if torch.get_num_threads() != THREADS:
            torch.set_num_threads(THREADS)
        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(chips)).permute(0, 3, 1, 2).float()
            x = (x - self.mean) / 256.0
            convs = iter(self.folded)

            def conv(t):
                w, b, s, p = next(convs)
                return F.conv2d(t, w, b, stride=s, padding=p)

            x = F.max_pool2d(F.relu(conv(x)), 3, 2)
            for filters, _stride, blocks in LEVELS:
                if filters != 32:
                    y = conv(F.relu(conv(x)))
                    x = F.relu(_add(F.avg_pool2d(x, 2, 2), y))
                for _ in range(blocks):
                    x = F.relu(_add(x, conv(F.relu(conv(x)))))
            x = x.mean(dim=(2, 3))
            return (x @ self.fc).numpy().astype(np.float32)


def net(path: str | Path) -> Net:
    """The network of a model file, read once per process."""
    key = str(path)
    with _lock:
        n = _nets.get(key)
        if n is None:
            n = _nets[key] = Net(read_weights(path))
        return n
