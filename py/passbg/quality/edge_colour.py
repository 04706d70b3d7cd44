"""Checks of the colour at the outline: a fringe of the old background (halo), a colour fringe against
the new background (delta E), an outline that runs where the photo shows no edge, a blurred outline,
and how far the hair edge can be trusted (hair against the old background: contrast and lightness)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from passbg.numeric.boxfilter import weighted_box_mean
from passbg.numeric.colour import ciede2000, srgb_u8_to_lab
from passbg.numeric.labels import dilate, erode
from passbg.quality.config import CheckResult, Config, make_result
from passbg.quality.scene import (
    QUARTER,
    Scene,
    coarse_all,
    coarse_any,
    coarse_mean,
    delta_e_over,
    place_words,
)


def check_halo_old_background(scene: Scene, cfg: Config) -> CheckResult:
    """Share of the 1-4 px band outside the a=0.5 contour whose final colour comes from the OLD background.

    B_old is the local mean of the original photo in a ring further out (where a ~ 0), F the local mean just
    inside. Each band pixel's final colour C is unmixed by least squares into C - T = wf (F - T) + wb (B - T);
    a pixel counts as fringe when wb is large and visibly changes its colour. Pixels where the old background
    cannot be told apart from the target or from the person are left out (there a fringe cannot be seen)."""
    c = cfg["checks"]["halo_old_background"]
    b0, b1 = c["band_px"]
    f0, f1 = c["far_px"]
    i0, i1 = c["inner_px"]
    m = scene.mask
    band = scene.grown(b1) & ~scene.grown(b0 - 1)
    # Local means of the old background (far ring, a ~ 0) and of the person (inner ring, a ~ 1) are smooth,
    # so they are taken on a coarse grid of QUARTER-px blocks and read back at the band pixels.
    q = QUARTER
    any_q = coarse_any(m, q)
    all_q = coarse_all(m, q)
    far = dilate(any_q, -(-f1 // q)) & ~dilate(any_q, -(-f0 // q) - 1) & ~coarse_any(scene.alpha >= 0.05, q)
    inner = erode(all_q, max(i0 // q, 0)) & ~erode(all_q, -(-i1 // q)) & coarse_all(scene.alpha > 0.95, q)
    orig_q = coarse_mean(scene.original, q).astype(np.float32) / 255.0
    r = max(-(-f1 // q), 3)
    b_old_q, wb_q = weighted_box_mean(orig_q, far, r)
    f_est_q, wf_q = weighted_box_mean(orig_q, inner, r)
    ys, xs = np.nonzero(band)
    yq, xq = ys // q, xs // q
    ok = (wb_q[yq, xq] > 0) & (wf_q[yq, xq] > 0)
    sel = np.zeros_like(band)
    sel[ys[ok], xs[ok]] = True
    yq, xq = yq[ok], xq[ok]
    t = scene.target / 255.0
    cpx = scene.composite[sel].astype(np.float32) / 255.0
    y = cpx - t
    d_f = f_est_q[yq, xq] - t
    d_b = b_old_q[yq, xq] - t
    gap = float(c["min_colour_gap"])
    nb = np.sqrt((d_b * d_b).sum(1))
    nf = np.sqrt((d_f * d_f).sum(1))
    cos = (d_f * d_b).sum(1) / np.maximum(nb * nf, 1e-9)
    posed = (nb >= gap) & ((nf < gap) | (cos * cos < 0.95))
    lam = 1e-3  # keeps wf at 0 when F is the target colour (then only wb is asked)
    a11 = (d_f * d_f).sum(1) + lam
    a12 = (d_f * d_b).sum(1)
    a22 = nb * nb + lam
    r1 = (d_f * y).sum(1)
    r2 = (d_b * y).sum(1)
    det = a11 * a22 - a12 * a12
    w_b = np.clip((a11 * r2 - a12 * r1) / np.maximum(det, 1e-12), 0.0, 1.0)
    fringe_px = posed & (w_b >= c["share_visible"]) & (w_b * nb >= 0.5 * gap)
    n_posed = int(posed.sum())
    value = float(fringe_px.sum() / n_posed) if n_posed >= 30 else 0.0
    where = np.zeros_like(m)
    where[sel] = fringe_px
    place = place_words(scene, where) or "along the outline"
    return make_result(
        cfg,
        "halo_old_background",
        value,
        f"A fringe of the old background's colour shows around the outline; zoom in {place}.",
        "No fringe of the old background was found around the outline."
        if n_posed >= 30
        else "The old background is too close to the new colour for a fringe to show.",
        where,
        judged_px=n_posed,
    )


def check_halo_delta_e(scene: Scene, cfg: Config) -> CheckResult:
    """95th percentile CIEDE2000 between the final image and the target colour in the band outside the
    contour (2-4 px; the first px legitimately mixes person and new background at any soft edge).
    Hair wisps also legitimately differ from the target here, so this check weighs little."""
    c = cfg["checks"]["halo_delta_e"]
    b0, b1 = c["band_px"]
    band = scene.grown(b1) & ~scene.grown(b0 - 1)
    if not band.any():
        return make_result(cfg, "halo_delta_e", 0.0, "", "There is no outline to judge.")
    value, where = delta_e_over(scene, band, c)
    return make_result(
        cfg,
        "halo_delta_e",
        value,
        f"The edge just outside the outline differs clearly from the new background; zoom in "
        f"{place_words(scene, where) or 'along the outline'}.",
        "Just outside the outline the image blends into the new background.",
        where,
    )


def check_outline_without_edge(scene: Scene, cfg: Config) -> CheckResult:
    """Share of the outline below the head that runs where the ORIGINAL photo shows no edge.

    A true outline separates two different colours; where the colour just inside the cut (local mean of
    the person, a gap of a pixel or two away from the soft edge) and just outside it (local mean of what
    was removed) are within a few CIEDE2000 units, the cut is a guess: typically a dark suit against a
    dark wall, cut through where the model lost the shoulder, or a kept patch of background. Only the
    rows from the shoulders down count: a hair edge legitimately fades into a similar backdrop."""
    c = cfg["checks"]["outline_without_edge"]
    person = scene.person
    ys, xs = np.nonzero(scene.person_contour()[scene.shoulder_row :])
    ys += scene.shoulder_row
    where = np.zeros_like(person)
    value = 0.0
    ys, xs, de = _contrast_across(scene, ys, xs, int(c["gap_px"]), int(c["radius_px"]))
    if ys.size:
        flat = de < float(c["min_delta_e"])
        value = float(flat.mean())
        where[ys[flat], xs[flat]] = True
        where = dilate(where, 2)
    return make_result(
        cfg,
        "outline_without_edge",
        value,
        f"The outline {place_words(scene, where) or 'below the head'} runs where the photo shows no edge "
        "(for example a dark suit against a dark wall): part of the clothing may have been cut away, or "
        "background kept.",
        "The outline follows visible edges in the photo.",
        where,
    )


def check_hair_contrast(scene: Scene, cfg: Config) -> CheckResult:
    """Median CIEDE2000 across the outline of the head (from the top of the person to the shoulders)
    between the ORIGINAL photo just inside and just outside the cut.

    Where hair and the old background are nearly the same colour (dark hair against a dark wall, a
    backdrop in the hair's own colour) the model has little to go on and rounds the hair off or leaves
    a rim of the old background; the composites where that happened were the ones the other checks
    scored as clean. This says how far the hair edge can be trusted, not that it is wrong."""
    return _head_check(
        scene,
        cfg,
        "hair_contrast",
        ciede2000,
        lambda value, place: (
            f"Your hair is close in colour to the background behind it (a median of {value:.0f} CIEDE2000 "
            f"units across the edge), so the hair edge is partly a guess; check it at 200 % {place}. "
            "A plain wall that contrasts with your hair helps."
        ),
        "The hair stands out from the background behind it.",
    )


def check_backdrop_lightness(scene: Scene, cfg: Config) -> CheckResult:
    """Median CIE L* (0 black .. 100 white) of the ORIGINAL photo just outside the head's outline (the
    same windows as hair_contrast): how light the background behind the head was.

    The models lose fine hair most against a dark backdrop (on the evaluation composites the near-black
    backdrop gave more bad results than any other, 53 of 96, many at a hair contrast the other checks
    accept), and passport rules ask for a light one anyway. Like hair_contrast this says how far the
    hair edge can be trusted, not that it is wrong."""
    return _head_check(
        scene,
        cfg,
        "backdrop_lightness",
        lambda lab_in, lab_out: lab_out[:, 0],
        lambda value, place: (
            f"The background behind your head is dark (lightness {value:.0f} of 100), where fine hair is "
            f"hardest to separate; check the hair at 200 % {place}. A photo against a light, plain wall "
            "gives a cleaner edge."
        ),
        "The background behind the head is light enough to see the hair against.",
    )


def _head_check(
    scene: Scene,
    cfg: Config,
    cid: str,
    measure: Callable[[np.ndarray, np.ndarray], np.ndarray],
    words_bad: Callable[[float, str], str],
    words_ok: str,
) -> CheckResult:
    """A 'min' check of the head's outline in the ORIGINAL photo (_head_sides): `measure` turns the Lab
    means inside and outside into one value per outline pixel, the check's value is their median, and
    the pixels below its threshold are marked. words_bad(value, where in words) is the failed sentence."""
    c = cfg["checks"][cid]
    ys, xs, lab_in, lab_out = _head_sides(scene, int(c["gap_px"]), int(c["radius_px"]))
    if ys.size < 20:
        return make_result(cfg, cid, 100.0, "", "There is too little head outline to judge.")
    per_pixel = measure(lab_in, lab_out)
    value = float(np.median(per_pixel))
    where = np.zeros_like(scene.mask)
    low = per_pixel < float(c["threshold"])
    where[ys[low], xs[low]] = True
    words = words_bad(value, place_words(scene, where) or "around the head")
    return make_result(cfg, cid, value, words, words_ok, dilate(where, 2))


def check_blurred_outline(scene: Scene, cfg: Config) -> CheckResult:
    """Mean width in px (working resolution) of the half-transparent band (0.2 < a < 0.8) per outline pixel.

    A sharp photo's outline, hair included, goes from person to background in a pixel or two; a model
    that is unsure (or works at a low resolution, like U2-Net-p at 320 px) smears it over many, and the
    smear carries the old background's colour as a haze around the head (seen on the evaluation
    composites as the commonest artefact the other checks missed)."""
    a = scene.alpha
    soft = (a > 0.2) & (a < 0.8)
    value = float(soft.sum() / max(int(scene.person_contour().sum()), 1))
    return make_result(
        cfg,
        "blurred_outline",
        value,
        f"The outline is blurred: it fades over about {value:.0f} px instead of a pixel or two, so a haze "
        "of the old background can show around you.",
        "The outline is as sharp as the photo.",
        soft & scene.grown(2),
        width_px=value,
    )


def _head_sides(scene: Scene, gap: int, radius: int) -> tuple[np.ndarray, ...]:
    """_sides_across at the head's outline (top of the person to the shoulder row), cached on the scene:
    hair_contrast and backdrop_lightness look at the same windows."""
    key = ("head_sides", gap, radius)
    if key not in scene.cache:
        ys, xs = np.nonzero(scene.person_contour()[: scene.shoulder_row])
        scene.cache[key] = _sides_across(scene, ys, xs, gap, radius)
    return scene.cache[key]


def _contrast_across(
    scene: Scene, ys: np.ndarray, xs: np.ndarray, gap: int, radius: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CIEDE2000 (float, 0..~100) across the cut at outline pixels (ys, xs): _sides_across's two means
    compared. Returns the pixels where both sides were found and their delta E."""
    ys, xs, lab_in, lab_out = _sides_across(scene, ys, xs, gap, radius)
    return ys, xs, ciede2000(lab_in, lab_out)


def _sides_across(
    scene: Scene, ys: np.ndarray, xs: np.ndarray, gap: int, radius: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ORIGINAL photo's CIE Lab on both sides of the cut at outline pixels (ys, xs) of the working
    grid: the local mean just inside the person (eroded by gap px, so the soft edge itself does not
    count) and just outside what was kept, in windows of radius + gap px. Returns the pixels where both
    sides were found and the two means, float32 (n, 3) each (L* 0..100)."""
    if ys.size == 0:
        empty = np.zeros((0, 3), np.float32)
        return ys, xs, empty, empty
    # Only the rows and columns the pixels and the windows' reach span are needed (a window reaches
    # radius + gap, the erosion or dilation under it gap more): the same values at a fraction of the work.
    reach = 2 * (radius + gap) + 1
    height, width = scene.mask.shape
    r0, r1 = max(0, int(ys.min()) - reach), min(height, int(ys.max()) + reach + 1)
    c0, c1 = max(0, int(xs.min()) - reach), min(width, int(xs.max()) + reach + 1)
    lab = srgb_u8_to_lab(scene.original[r0:r1, c0:c1]).astype(np.float32)
    inside = erode(scene.person[r0:r1, c0:c1], gap)
    outside = ~dilate(scene.mask[r0:r1, c0:c1], gap)
    mean_in, w_in = weighted_box_mean(lab, inside, radius + gap)
    mean_out, w_out = weighted_box_mean(lab, outside, radius + gap)
    both = (w_in[ys - r0, xs - c0] > 0) & (w_out[ys - r0, xs - c0] > 0)
    ys, xs = ys[both], xs[both]
    return ys, xs, mean_in[ys - r0, xs - c0], mean_out[ys - r0, xs - c0]
