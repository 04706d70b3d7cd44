"""Matting metrics (alphamatting.com / Rhemann et al. 2009 conventions) and ranking statistics.

All alpha arguments are float (H, W) in [0, 1] at full image resolution, prediction first, truth second.
"""

from __future__ import annotations

import numpy as np

from passbg.numeric.colour import ciede2000, srgb_u8_to_lab
from passbg.numeric.labels import dilate, label


def sad(pred: np.ndarray, truth: np.ndarray) -> float:
    """Sum of absolute differences, divided by 1000 (the benchmark's unit)."""
    return float(np.abs(pred.astype(np.float64) - truth).sum() / 1000.0)


def mse(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean squared error over all pixels."""
    d = pred.astype(np.float64) - truth
    return float((d * d).mean())


def _gauss_kernels(sigma: float, epsilon: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian and its derivative, sized and scaled as the Composition-1k evaluation code does
    (half size from epsilon; the 2-D kernel g x dg has unit L2 norm)."""
    r = int(np.ceil(sigma * np.sqrt(-2.0 * np.log(np.sqrt(2.0 * np.pi) * sigma * epsilon))))
    x = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-(x * x) / (2 * sigma * sigma)) / (sigma * np.sqrt(2.0 * np.pi))
    dg = -x * g / (sigma * sigma)
    scale = 1.0 / np.sqrt((g * g).sum() * (dg * dg).sum())
    return g, dg * scale


def _conv1d(a: np.ndarray, k: np.ndarray, axis: int) -> np.ndarray:
    """Correlate along one axis with edge replication (a few taps, so a shifted sum is fastest)."""
    r = k.size // 2
    pad = [(0, 0), (0, 0)]
    pad[axis] = (r, r)
    p = np.pad(a, pad, mode="edge")
    n = a.shape[axis]
    out = np.zeros_like(a, dtype=np.float64)
    for i, w in enumerate(k):
        out += w * (p[i : i + n] if axis == 0 else p[:, i : i + n])
    return out


def gradient_magnitude(alpha: np.ndarray, sigma: float = 1.4) -> np.ndarray:
    """Magnitude of first-order Gaussian derivatives (sigma 1.4, as in the benchmark) of (H, W) alpha."""
    g, dg = _gauss_kernels(sigma)
    a = alpha.astype(np.float64)
    gx = _conv1d(_conv1d(a, g, 0), dg, 1)
    gy = _conv1d(_conv1d(a, g, 1), dg, 0)
    return np.hypot(gx, gy)


def gradient_error(pred: np.ndarray, truth: np.ndarray, sigma: float = 1.4) -> float:
    """Sum of squared differences of the Gaussian-derivative gradient magnitudes, / 1000, over the whole
    image (there is no trimap here, so the sum is not restricted to an unknown region)."""
    d = gradient_magnitude(pred, sigma) - gradient_magnitude(truth, sigma)
    return float((d * d).sum() / 1000.0)


def connectivity_error(pred: np.ndarray, truth: np.ndarray, step: float = 0.1) -> float:
    """Rhemann et al. connectivity error, / 1000.

    For each pixel, l = the highest threshold at which it still belongs to the largest 4-connected region
    where both mattes are >= the threshold; phi(a) = 1 - d [d >= 0.15] with d = a - l. The error sums
    |phi(pred) - phi(truth)|: it counts soft pixels that hang on to the body in one matte but not in
    the other (disconnected islands, broken hair).
    """
    levels = np.arange(0.0, 1.0 + step / 2, step)
    lmap = np.full(pred.shape, -1.0)
    for i in range(1, levels.size):
        both = (pred >= levels[i]) & (truth >= levels[i])
        comps = label(both, 4)
        omega = comps.labels == (int(np.argmax(comps.areas)) if comps.count else -1)
        flag = (lmap == -1) & ~omega
        lmap[flag] = levels[i - 1]
    lmap[lmap == -1] = 1.0
    pd = pred - lmap
    td = truth - lmap
    pphi = 1.0 - pd * (pd >= 0.15)
    tphi = 1.0 - td * (td >= 0.15)
    return float(np.abs(pphi - tphi).sum() / 1000.0)


def iou(pred: np.ndarray, truth: np.ndarray, at: float = 0.5) -> float:
    """Intersection over union of the masks a >= at (1.0 when both are empty)."""
    p, t = pred >= at, truth >= at
    union = int((p | t).sum())
    return float((p & t).sum() / union) if union else 1.0


def _boundary(m: np.ndarray) -> np.ndarray:
    p = np.pad(m, 1, mode="edge")
    return m & (~p[:-2, 1:-1] | ~p[2:, 1:-1] | ~p[1:-1, :-2] | ~p[1:-1, 2:])


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance: int = 2, at: float = 0.5) -> float:
    """F-score of the a = at outlines: a boundary pixel counts as matched within `tolerance` px."""
    bp, bt = _boundary(pred >= at), _boundary(truth >= at)
    n_p, n_t = int(bp.sum()), int(bt.sum())
    if n_p == 0 or n_t == 0:
        return 1.0 if n_p == n_t else 0.0
    precision = float((bp & dilate(bt, tolerance)).sum() / n_p)
    recall = float((bt & dilate(bp, tolerance)).sum() / n_t)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def edge_band(alpha: np.ndarray, inner: int = 1, outer: int = 4) -> np.ndarray:
    """Pixels inner..outer px (chessboard) outside the a = 0.5 outline."""
    m = alpha >= 0.5
    return dilate(m, outer) & ~dilate(m, inner - 1)


def halo_delta_e(
    composite: np.ndarray, alpha: np.ndarray, target: tuple[int, int, int], q: float = 95
) -> float:
    """The evaluation's halo measure: q-th percentile CIEDE2000 to the target colour over the 1-4 px band
    outside the a = 0.5 outline of `alpha`, on the final uint8 (H, W, 3) image. 0 when there is no band."""
    band = edge_band(alpha)
    if not band.any():
        return 0.0
    t = srgb_u8_to_lab(np.asarray(target, np.uint8))
    return float(np.percentile(ciede2000(srgb_u8_to_lab(composite[band]), t), q))


def delta_e_to_ideal(composite: np.ndarray, ideal: np.ndarray, region: np.ndarray, q: float = 95) -> float:
    """q-th percentile CIEDE2000 between two uint8 (H, W, 3) images over a bool region (0 when empty)."""
    if not region.any():
        return 0.0
    de = ciede2000(srgb_u8_to_lab(composite[region]), srgb_u8_to_lab(ideal[region]))
    return float(np.percentile(de, q))


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve for `scores` ranking the positives LOW (a quality score that should be
    low for bad results). Ties count half. NaN when either class is empty."""
    s = np.asarray(scores, dtype=np.float64)
    pos = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # Mann-Whitney: share of (bad, good) pairs where the bad one scores lower.
    sp = s[pos][:, None]
    sn = s[~pos][None, :]
    return float(((sp < sn).sum() + 0.5 * (sp == sn).sum()) / (n_pos * n_neg))
