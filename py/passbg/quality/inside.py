"""Checks inside the person: holes (inside glasses), see-through patches and haze, leftover objects."""

from __future__ import annotations

from typing import Any

import numpy as np

from passbg.numeric.labels import dilate, erode, label
from passbg.quality.config import CheckResult, Config, make_result
from passbg.quality.scene import Scene, place_words


def _enclosed_background(scene: Scene) -> tuple[np.ndarray, np.ndarray, Any]:
    """Background components (4-connected) that do not touch the image border."""
    bg = label(~scene.mask, 4)
    bb = bg.bboxes
    h, w = scene.mask.shape
    touches = (bb[:, 0] == 0) | (bb[:, 1] == 0) | (bb[:, 2] == h) | (bb[:, 3] == w)
    enclosed = ~touches
    enclosed[0] = False
    return enclosed, bb, bg


def check_holes(scene: Scene, cfg: Config) -> CheckResult:
    """Largest enclosed background region (a < 0.5) above the shoulders, as a share of the image area
    (the 'white spot in the spectacle lens')."""
    enclosed, bb, bg = _enclosed_background(scene)
    area = scene.mask.size
    cy = 0.5 * (bb[:, 0] + bb[:, 2])
    above = enclosed & (cy < scene.shoulder_row)
    shares = np.where(above, bg.areas / area, 0.0)
    value = float(shares.max()) if shares.size else 0.0
    thr = cfg["checks"]["holes"]["threshold"]
    where = (shares > 0.1 * thr)[bg.labels]
    return make_result(
        cfg,
        "holes",
        value,
        f"There is a see-through hole in the person {place_words(scene, where) or 'above the shoulders'} "
        "(for example inside a spectacle lens); the new background shows through it.",
        "No see-through holes in the face or hair.",
        where,
    )


def check_interior_transparency(scene: Scene, cfg: Config) -> CheckResult:
    """Share of the person's interior (holes filled, eroded a few px) that is half see-through (0.1<a<0.9)."""
    c = cfg["checks"]["interior_transparency"]
    enclosed, _, bg = _enclosed_background(scene)
    filled = scene.person | enclosed[bg.labels]
    interior = erode(filled, int(c["erode_px"]))
    n = int(interior.sum())
    if n == 0:
        return make_result(cfg, "interior_transparency", 0.0, "", "The person is too small to judge.")
    semi = interior & (scene.alpha > 0.1) & (scene.alpha < 0.9)
    value = float(semi.sum() / n)
    return make_result(
        cfg,
        "interior_transparency",
        value,
        f"Parts of the person are half see-through {place_words(scene, semi) or ''}; the background will "
        "show through them.".replace("  ", " "),
        "The person is solid inside.",
        semi,
    )


def check_see_through_veil(scene: Scene, cfg: Config) -> CheckResult:
    """Half see-through area (0.15 < a < 0.85) more than far_px from the a = 0.5 outline, over the head's
    area (head width squared). Real hair and soft shoulders are half see-through only in a band a few px
    wide along the outline; a wide veil means the model was unsure of a whole region (a blotch of kept
    background, or hair turned to grey mist). This is an alpha error that leaves no colour trace, so the
    colour checks cannot see it."""
    c = cfg["checks"]["see_through_veil"]
    lo, hi = c["mid"]
    r = int(c["far_px"])
    near = scene.grown(r) & dilate(~scene.mask, r)
    veil = (scene.alpha > lo) & (scene.alpha < hi) & ~near
    value = float(veil.sum() / max(scene.head_width, 1.0) ** 2)
    where = place_words(scene, veil) or "around the person"
    return make_result(
        cfg,
        "see_through_veil",
        value,
        f"A wide area {where} is half see-through, like a grey mist (about {value:.0%} of a head's area); "
        "the cut-out is unsure there - compare it with the photo.",
        "Half see-through pixels stay close to the outline, as with real hair.",
        veil,
    )


def check_strays(scene: Scene, cfg: Config) -> CheckResult:
    """Area of kept regions (a >= 0.5) not connected to the person, as a share of the image."""
    comps = scene.labels
    stray = (comps.labels > 0) & ~scene.person
    value = float(stray.sum() / stray.size)
    return make_result(
        cfg,
        "strays",
        value,
        f"Something apart from the person was kept {place_words(scene, stray) or ''} (a chair, another "
        "person's hand, a patch of background).".replace("  ", " "),
        "Nothing apart from the person was kept.",
        stray,
        regions=comps.count - 1 if comps.count else 0,
    )
