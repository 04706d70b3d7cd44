"""Checks of the outline's shape: stair steps, blocky upsampling, a hard "helmet" hair outline."""

from __future__ import annotations

import numpy as np

from passbg.quality.config import CheckResult, Config, make_result
from passbg.quality.scene import Scene, place_words, resize_float


def check_stair_steps(scene: Scene, cfg: Config) -> CheckResult:
    """Share of the outline where alpha jumps from person to background within one pixel (no anti-aliasing),
    measured at native resolution; also reports single-pixel steps per 100 px of such hard outline."""
    c = cfg["checks"]["stair_steps"]
    m, contour, drop = scene.edge()
    n = int(contour.sum())
    if n < 20:
        return make_result(cfg, "stair_steps", 0.0, "", "There is no outline to judge.")
    hard = contour & (drop >= c["hard_jump"])
    share = float(hard.sum() / n)
    win = m[:-1, :-1].astype(np.int8) + m[1:, :-1] + m[:-1, 1:] + m[1:, 1:]
    corner = (win == 1) | (win == 3)
    hard_near = hard[:-1, :-1] | hard[1:, :-1] | hard[:-1, 1:] | hard[1:, 1:]
    steps = float(100.0 * (corner & hard_near).sum() / max(int(hard.sum()), 1))
    where = _to_working(hard, scene)
    return make_result(
        cfg,
        "stair_steps",
        share,
        f"The outline is hard-edged and shows stair steps ({steps:.0f} steps per 100 px); zoom in "
        f"{place_words(scene, where) or 'along the outline'}.",
        "The outline is smooth (anti-aliased).",
        where,
        steps_per_100px=steps,
    )


def _to_working(mask_edge: np.ndarray, scene: Scene) -> np.ndarray:
    if mask_edge.shape == scene.mask.shape:
        return mask_edge
    return resize_float(mask_edge.astype(np.float32), scene.mask.shape) > 0.01


def _periodicity(positions: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """Resultant length |mean exp(2 pi i x / p)| of positions for each candidate period p."""
    ph = 2.0 * np.pi * positions[None, :] / periods[:, None]
    return np.hypot(np.cos(ph).mean(1), np.sin(ph).mean(1))


def check_blocky_upsampling(scene: Scene, cfg: Config) -> CheckResult:
    """Whether the outline only turns on a regular grid: the sign of a low-resolution mask enlarged by
    repeating pixels. Value = how strongly the distinct x and y positions of the outline's transitions
    line up on one period (1 = perfectly, ~0 = not at all)."""
    c = cfg["checks"]["blocky_upsampling"]
    m = scene.edge()[0]
    xs = np.unique(np.nonzero(m[:, 1:] != m[:, :-1])[1] + 1).astype(np.float64)
    ys = np.unique(np.nonzero(m[1:, :] != m[:-1, :])[0] + 1).astype(np.float64)
    if min(xs.size, ys.size) < c["min_positions"]:
        return make_result(cfg, "blocky_upsampling", 0.0, "", "The outline is too short to judge.")
    lo, hi = c["periods"]
    periods = np.arange(lo, hi + 1e-9, 0.05)
    r = 0.5 * (_periodicity(xs, periods) + _periodicity(ys, periods))
    # Divisors of the true period line up as well as the period itself: report the largest that does.
    k = int(np.nonzero(r >= r.max() - 0.02)[0][-1])
    return make_result(
        cfg,
        "blocky_upsampling",
        float(r[k]),
        f"The outline moves in blocks of {periods[k]:.1f} px: the mask was enlarged from a small one "
        "without smoothing, so the edge looks like stairs.",
        "The outline is not tied to a coarse pixel grid.",
        None,
        period_px=float(periods[k]),
    )


def check_hair_helmet(scene: Scene, cfg: Config) -> CheckResult:
    """Edge softness of the hair outline over that of the shoulders (median local transition width).
    Real hair is softer than cloth, about 1.5x or more, unless the person is bald; a value near or
    below 1 suggests a hard 'helmet' of hair."""
    _, contour, drop = scene.edge()
    # A linear ramp of width w drops 1/w per pixel, so 1/drop is the local transition width (1..20 px).
    width_at = 1.0 / np.clip(drop[contour], 0.05, 1.0)
    ys = np.nonzero(contour)[0] / scene.edge_scale
    top_lim = scene.top + 0.25 * (scene.shoulder_row - scene.top)
    top_w = width_at[ys <= top_lim]
    low_w = width_at[ys >= scene.shoulder_row + 0.3 * (scene.bottom - scene.shoulder_row)]
    if top_w.size < 20 or low_w.size < 20:
        return make_result(cfg, "hair_helmet", 99.0, "", "Not enough hair and shoulder outline to compare.")
    top_med = float(np.median(top_w))
    low_med = float(np.median(low_w))
    value = top_med / max(low_med, 0.5)
    # A hair edge this soft is no helmet, whatever the shoulders do (when the whole outline is smeared,
    # blurred_outline says so; telling the user the hair is too hard as well would contradict it).
    if top_med >= float(cfg["checks"]["hair_helmet"]["soft_enough_px"]):
        value = max(value, float(cfg["checks"]["hair_helmet"]["ok"]))
    return make_result(
        cfg,
        "hair_helmet",
        value,
        "The hair outline is as hard as the shoulders; loose hairs may have been cut off (a 'helmet' look) - "
        "check the top of the head.",
        "The hair outline is softer than the shoulders, as real hair is.",
        None,
        hair_width_px=top_med,
        shoulder_width_px=low_med,
    )
