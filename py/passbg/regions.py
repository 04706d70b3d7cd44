"""Connected components and box filters on masks, in pure numpy (no scipy in Pyodide).

Labelling works on horizontal runs: every row's runs of True pixels are found with one diff, runs
of neighbouring rows that touch are joined by a vectorised union-find (hook roots to the smaller
root, then pointer jumping), and labels are painted back with a cumulative sum. Cost grows with the
number of runs, not with the number of pixels, so a portrait mask labels in a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Components:
    """labels: int32 (H, W), 0 = not in the mask, 1..count = component id.
    areas: int64 (count + 1,), areas[0] = 0. bboxes: int64 (count + 1, 4) as y0, x0, y1, x1 (exclusive)."""

    labels: np.ndarray
    count: int
    areas: np.ndarray
    bboxes: np.ndarray


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, starts (inclusive) and ends (exclusive) of the True runs of a (H, W) bool mask, raster order."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    d = np.diff(padded, axis=1)  # (H, W + 1); +1 at a run start, -1 one past its end
    sr, sc = np.nonzero(d == 1)
    _, ec = np.nonzero(d == -1)
    return sr, sc, ec


def _union_roots(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Root (smallest member index) of every node 0..n-1 of the undirected graph with edges a[i]-b[i]."""
    parent = np.arange(n, dtype=np.int64)
    if a.size == 0:
        return parent
    while True:
        ra = parent[a]
        rb = parent[b]
        differ = ra != rb
        if not differ.any():
            return parent
        ra, rb = ra[differ], rb[differ]
        lo = np.minimum(ra, rb)
        hi = np.maximum(ra, rb)
        # Hook each larger root under the smallest root it touches; roots only ever decrease.
        np.minimum.at(parent, hi, lo)
        while True:  # pointer jumping until every node points at its root
            nxt = parent[parent]
            if np.array_equal(nxt, parent):
                break
            parent = nxt
        a, b = a[differ], b[differ]


def label(mask: np.ndarray, connectivity: int = 8) -> Components:
    """Label the connected components of a (H, W) bool mask.

    connectivity: 8 (diagonal neighbours join) or 4. Components are numbered in raster order of
    their first pixel.
    """
    if connectivity not in (4, 8):
        raise ValueError("connectivity must be 4 or 8")
    mask = np.asarray(mask, dtype=bool)
    h, w = mask.shape
    rows, starts, ends = _runs(mask)
    n = rows.size
    if n == 0:
        return Components(np.zeros((h, w), np.int32), 0, np.zeros(1, np.int64), np.zeros((1, 4), np.int64))

    k = 1 if connectivity == 8 else 0
    stride = w + 4
    start_key = rows * stride + starts
    end_key = rows * stride + ends
    # For each run b in row r+1, the runs a of row r that touch it form a contiguous slice: those with
    # end_a > start_b - k and start_a < end_b + k. Keys of other rows fall outside by construction.
    below = rows > 0
    rb = np.nonzero(below)[0]
    base = (rows[rb] - 1) * stride
    lo = np.searchsorted(end_key, base + starts[rb] - k, side="right")
    hi = np.searchsorted(start_key, base + ends[rb] + k, side="left")
    counts = np.maximum(hi - lo, 0)
    edge_b = np.repeat(rb, counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    edge_a = np.repeat(lo, counts) + offsets

    roots = _union_roots(n, edge_a, edge_b)
    uniq, comp = np.unique(roots, return_inverse=True)  # roots are first runs, so raster order holds
    comp = comp.astype(np.int32) + 1
    count = int(uniq.size)

    flat = np.zeros(h * (w + 1) + 1, dtype=np.int32)
    np.add.at(flat, rows * (w + 1) + starts, comp)
    np.add.at(flat, rows * (w + 1) + ends, -comp)
    labels = np.cumsum(flat[:-1]).reshape(h, w + 1)[:, :w].astype(np.int32)

    lengths = ends - starts
    areas = np.bincount(comp, weights=lengths, minlength=count + 1).astype(np.int64)
    bboxes = np.zeros((count + 1, 4), dtype=np.int64)
    big = np.iinfo(np.int64).max
    y0 = np.full(count + 1, big)
    x0 = np.full(count + 1, big)
    y1 = np.full(count + 1, -1)
    x1 = np.full(count + 1, -1)
    np.minimum.at(y0, comp, rows)
    np.minimum.at(x0, comp, starts)
    np.maximum.at(y1, comp, rows + 1)
    np.maximum.at(x1, comp, ends)
    bboxes[1:] = np.stack([y0, x0, y1, x1], axis=1)[1:]
    return Components(labels, count, areas, bboxes)


def row_strips(height: int, rows: int, context: int) -> Iterator[tuple[int, int, int, int]]:
    """Split rows 0..height into strips of `rows` for filters that reach `context` rows up and down:
    yields (top, bottom, low, high), the strip's own rows top..bottom and the rows low..high to compute
    them from (clipped to the image), so a filter run strip by strip equals one run on the whole image."""
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        yield top, bottom, max(0, top - context), min(height, bottom + context)


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


def dilate(mask: np.ndarray, r: int) -> np.ndarray:
    """Pixels within chessboard distance r of a True pixel of the (H, W) bool mask."""
    if r <= 0:
        return np.asarray(mask, dtype=bool).copy()
    return box_sum(mask, r) > 0


def erode(mask: np.ndarray, r: int) -> np.ndarray:
    """Pixels whose whole (2r+1)^2 window lies in the mask; outside the image counts as not in the mask."""
    if r <= 0:
        return np.asarray(mask, dtype=bool).copy()
    return box_sum(mask, r) == (2 * r + 1) ** 2


def box_mean(values: np.ndarray, weights: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted local mean of values (H, W) or (H, W, C) over a (2r+1)^2 window; returns (mean, weight sum).

    Where the weight sum is 0 the mean is 0."""
    w = np.asarray(weights, dtype=np.float32)
    wsum = box_sum(w, r)
    safe = np.where(wsum > 0, wsum, 1.0).astype(np.float32)
    if values.ndim == 2:
        return box_sum(values * w, r) / safe, wsum
    out = np.stack([box_sum(values[..., c] * w, r) for c in range(values.shape[-1])], axis=-1)
    return out / safe[..., None], wsum
