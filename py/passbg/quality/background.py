"""Checks of the new background: OFIQ-style uniformity, its colour, a kept cast shadow."""

from __future__ import annotations

import numpy as np

from passbg.numeric.colour import lightness_from_linear, srgb_u8_to_linear
from passbg.numeric.labels import dilate
from passbg.quality.config import CheckResult, Config, make_result
from passbg.quality.ofiq import background_uniformity
from passbg.quality.scene import QUARTER, Scene, coarse_mean, delta_e_over, place_words, upsample_blocks


def _background_region(scene: Scene, skip: int) -> np.ndarray:
    """Everything a few px away from the person and the faint hair attached to it; kept blotches that are
    not attached to the person stay in (they are what the background checks look for)."""
    return ~scene.person_grown(skip)


def check_background_uniformity(scene: Scene, cfg: Config) -> CheckResult:
    """OFIQ-style background uniformity score (0..100) of the final image; see passbg.quality.ofiq for the
    approximation of OFIQ's face-aligned crop. Everything except the main person counts as background,
    so kept speckle and furniture lower the score."""
    bg = _background_region(scene, int(cfg["checks"]["background_colour"]["skip_px"]))
    raw, score = background_uniformity(scene.composite, bg)
    return make_result(
        cfg,
        "background_uniformity",
        float(score),
        f"The new background is not uniform (OFIQ-style score {score}); leftover bits of the old "
        "background or texture remain.",
        "The new background is uniform.",
        None,
        raw_gradient=raw,
    )


def check_background_colour(scene: Scene, cfg: Config) -> CheckResult:
    """99th percentile CIEDE2000 between the background (a few px off the person) and the target colour."""
    c = cfg["checks"]["background_colour"]
    bg = _background_region(scene, int(c["skip_px"]))
    if not bg.any():
        return make_result(cfg, "background_colour", 0.0, "", "The person fills the whole photo.")
    value, where = delta_e_over(scene, bg, c)
    return make_result(
        cfg,
        "background_colour",
        value,
        f"Parts of the background are not the chosen colour {place_words(scene, where) or ''} "
        "(blotches of the old background were kept).".replace("  ", " "),
        "The background has the chosen colour everywhere.",
        where,
    )


def check_cast_shadow(scene: Scene, cfg: Config) -> CheckResult:
    """A cast shadow beside the person in the ORIGINAL photo (a band 5-40 px outside the outline darker
    than the far background on the same side by more than ~8 L*) that the alpha partly kept (a > 0.05).

    Value = share of that band which is shadow AND kept. Measured on a coarse grid of QUARTER-px blocks.
    A shadow swallowed whole (a >= 0.5) moves the outline itself and is not seen by this check; the strays
    and background checks catch some of it."""
    c = cfg["checks"]["cast_shadow"]
    q = QUARTER
    b0, b1 = (max(1, round(v / q)) for v in c["band_px"])
    p = coarse_mean(scene.person, q) >= 0.5
    alpha = coarse_mean(scene.alpha, q)
    band = dilate(p, b1) & ~dilate(p, b0)
    far = ~dilate(p, b1 + 5) & (alpha < 0.05)
    cols = np.nonzero(p.any(axis=0))[0]
    if not cols.size or not band.any():
        return make_result(cfg, "cast_shadow", 0.0, "", "No shadow beside the person.")
    light = lightness_from_linear(srgb_u8_to_linear(coarse_mean(scene.original, q)))
    cx = 0.5 * (cols[0] + cols[-1])
    xs = np.arange(p.shape[1])[None, :]
    value, darkest, shadow_share = 0.0, 0.0, 0.0
    kept_q = np.zeros_like(p)
    for side in (xs < cx, xs >= cx):
        b_side = band & side
        f_side = far & side
        if f_side.sum() < 8:
            f_side = far
        if b_side.sum() < 8 or f_side.sum() < 8:
            continue
        l_far = float(np.median(light[f_side]))
        dark = b_side & (light < l_far - c["darker_by"])
        kept = dark & (alpha > 0.05)
        darkest = max(darkest, l_far - float(np.median(light[b_side])))
        shadow_share = max(shadow_share, float(dark.sum() / b_side.sum()))
        value = max(value, float(kept.sum() / b_side.sum()))
        kept_q |= kept
    where = upsample_blocks(kept_q, scene.mask.shape, q)
    return make_result(
        cfg,
        "cast_shadow",
        value,
        f"A shadow on the wall {place_words(scene, where) or 'beside you'} was partly kept as if it were "
        "part of you; it shows as a grey smudge.",
        "No shadow beside the person was kept."
        if shadow_share < 0.2
        else "There is a shadow beside you in the photo, but the cut-out left it out.",
        where,
        shadow_share=shadow_share,
        darker_by_l=darkest,
    )
