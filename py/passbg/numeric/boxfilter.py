"""Box filters: window sums and means over a (2r+1)-wide square, in pure numpy (no scipy in Pyodide).

The one owner of box filtering in passbg: the matte's guided filter, the foreground's blur fusion, the
quality checks' local means and the mask morphology (passbg.numeric.labels) all ask this module.
Sums are built from shifted additions (see _window_sum), which vectorise in wasm too.
"""

from __future__ import annotations

import numpy as np

__all__ = ["box_mean", "box_sum", "box_sum_axis", "weighted_box_mean"]


def box_sum_axis(a: np.ndarray, r: int, axis: int) -> np.ndarray:
    """Sum over the window [i - r, i + r] along one axis, zero outside the array.

    a: any shape; bool/int gives int32, float gives float32. Returns a new array of a's shape."""
    n = a.shape[axis]
    shape = list(a.shape)
    shape[axis] = n + 2 * r
    padded = np.zeros(shape, dtype=np.int32 if a.dtype.kind in "biu" else np.float32)
    _slice(padded, axis, r, r + n)[...] = a
    return _window_sum(padded, 2 * r + 1, axis)


def _window_sum(p: np.ndarray, width: int, axis: int) -> np.ndarray:
    """out[i] = sum(p[i : i + width]) along `axis`, for every i where the window fits.

    Built from the binary digits of `width`: sums over 1, 2, 4, ... elements, each the sum of two shifted
    halves, and the window as consecutive pieces of those sizes. That is about 2 log2(width) whole-array
    additions, which vectorise, where a cumulative sum walks the axis one element at a time (several
    times slower, in wasm too) and loses float32 precision as the running total grows.
    """
    n_out = p.shape[axis] - width + 1
    out: np.ndarray | None = None
    offset, size, block = 0, 1, p  # block[i] = sum(p[i : i + size])
    while True:
        if width & size:
            piece = _slice(block, axis, offset, offset + n_out)
            if out is None:
                out = piece.copy()
            else:
                out += piece
            offset += size
        if 2 * size > width:
            return out
        length = block.shape[axis]
        block = _slice(block, axis, 0, length - size) + _slice(block, axis, size, length)
        size *= 2


def _slice(a: np.ndarray, axis: int, start: int, stop: int) -> np.ndarray:
    index = [slice(None)] * a.ndim
    index[axis] = slice(start, stop)
    return a[tuple(index)]


def box_sum(a: np.ndarray, r: int) -> np.ndarray:
    """Sum of a (H, W) array over the (2r+1)x(2r+1) window around each pixel (zero padding).

    bool/int input gives int32, float input float32."""
    a = np.asarray(a)
    if a.dtype == bool:
        a = a.astype(np.int32)
    return box_sum_axis(box_sum_axis(a, r, 0), r, 1)


def box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1) x (2r+1) window, clipped at the borders (divides by the pixels actually inside).

    x: float32 (H, W) or (H, W, C). Returns a new float32 array of the same shape.
    """
    out = _box_mean_axis(x, radius, 0)
    return _box_mean_axis(out, radius, 1)


def _box_mean_axis(x: np.ndarray, radius: int, axis: int) -> np.ndarray:
    n = x.shape[axis]
    out = box_sum_axis(np.asarray(x, dtype=np.float32), radius, axis)  # zeros outside: clipped windows
    idx = np.arange(n)
    count = np.minimum(idx + radius + 1, n) - np.maximum(idx - radius, 0)
    count_shape = [1] * x.ndim
    count_shape[axis] = n
    out *= (1.0 / count).astype(np.float32).reshape(count_shape)
    return out


def weighted_box_mean(values: np.ndarray, weights: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted local mean of values (H, W) or (H, W, C) over a (2r+1)^2 window; returns (mean, weight sum).

    Where the weight sum is 0 the mean is 0."""
    w = np.asarray(weights, dtype=np.float32)
    wsum = box_sum(w, r)
    safe = np.where(wsum > 0, wsum, 1.0).astype(np.float32)
    if values.ndim == 2:
        return box_sum(values * w, r) / safe, wsum
    out = np.stack([box_sum(values[..., c] * w, r) for c in range(values.shape[-1])], axis=-1)
    return out / safe[..., None], wsum
