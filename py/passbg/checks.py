"""Quality checks of a finished cut-out, and the combined quality score.

The score decides whether a photo stays on the device or is offered to the cloud, so it must catch
bad cut-outs (grey fringe of the old background, stair-step edges, a hole in a spectacle lens, a
helmet of hair, kept furniture) without crying wolf on good ones.

Every check is a pure function of a `Scene` (the inputs brought to a bounded working resolution,
plus the person mask and a few landmarks of its outline) and returns a `CheckResult`. Thresholds,
the values at which a check counts as fully good or fully bad, and the weights live in
data/checks.json. `where` masks are at the check's working resolution (their shape says which); the
page scales them to the photo.

Shapes: original and composite uint8 (H, W, 3) sRGB; alpha float32 (H, W) in [0, 1] with 1 = person;
foreground float32 (H, W, 3) in [0, 1] or None; target an RGB triple of 0..255.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from PIL import Image

from .colour import ciede2000, lightness_from_linear, srgb_u8_to_lab, srgb_u8_to_linear
from .ofiq import background_uniformity
from .regions import box_mean, dilate, erode, label

Config = dict[str, Any]


@dataclass(frozen=True)
class CheckResult:
    """One check: the measured value, the threshold it is held to, pass/fail, a sentence for a person,
    and where in the image the problem is (bool mask at working resolution, or None)."""

    id: str
    value: float
    threshold: float
    passed: bool
    reason: str
    where: np.ndarray | None = None
    details: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class QualityReport:
    """score 0..100 (100 = nothing wrong found); reasons: sentences of the checks that pulled it down,
    worst first; second_opinion: True when the score is below the configured cloud threshold."""

    score: int
    results: list[CheckResult]
    reasons: list[str]
    second_opinion: bool


@lru_cache(maxsize=1)
def default_config() -> Config:
    """The thresholds and weights shipped in data/checks.json."""
    return json.loads(resources.files("passbg").joinpath("data/checks.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# Scene: the inputs at working resolution and the person's outline


def _resize_rgb(rgb: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    if rgb.shape[:2] == hw:
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((hw[1], hw[0]), Image.BILINEAR))


def _resize_float(a: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    if a.shape[:2] == hw:
        return a.astype(np.float32, copy=False)
    if a.ndim == 3:
        return np.stack([_resize_float(a[..., c], hw) for c in range(a.shape[2])], axis=-1)
    img = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F")
    return np.asarray(img.resize((hw[1], hw[0]), Image.BILINEAR), dtype=np.float32)


def _fit(hw: tuple[int, int], long_side: int) -> tuple[int, int]:
    h, w = hw
    s = min(1.0, long_side / max(h, w))
    return max(1, round(h * s)), max(1, round(w * s))


def _inner_contour(m: np.ndarray) -> np.ndarray:
    """Pixels of m with a 4-neighbour outside m; the image border does not count as outside."""
    p = np.pad(m, 1, mode="edge")
    outside_nb = ~p[:-2, 1:-1] | ~p[2:, 1:-1] | ~p[1:-1, :-2] | ~p[1:-1, 2:]
    return m & outside_nb


@dataclass
class Scene:
    """Inputs at working resolution (long side <= working_long_side) plus the alpha at edge resolution."""

    original: np.ndarray
    composite: np.ndarray
    alpha: np.ndarray
    foreground: np.ndarray | None
    target: np.ndarray  # float32 (3,) in 0..255
    mask: np.ndarray  # alpha >= 0.5
    person: np.ndarray  # the largest 8-connected component of mask
    person_soft: np.ndarray  # person plus the faint (a > 0.1) wisps attached to it
    labels: Any
    main_id: int
    top: int
    bottom: int
    shoulder_row: int
    head_width: float
    alpha_edge: np.ndarray  # alpha at edge resolution (native unless the photo is huge)
    edge_scale: float  # edge px per working px
    cache: dict[Any, Any] = field(default_factory=dict)

    def grown(self, r: int) -> np.ndarray:
        """mask dilated by r px (chessboard), cached."""
        key = ("grow", r)
        if key not in self.cache:
            self.cache[key] = dilate(self.mask, r)
        return self.cache[key]

    def person_grown(self, r: int) -> np.ndarray:
        """person with its attached faint wisps, dilated by r px (chessboard), cached."""
        key = ("pgrow", r)
        if key not in self.cache:
            self.cache[key] = dilate(self.person_soft, r)
        return self.cache[key]

    def person_contour(self) -> np.ndarray:
        """The person's inner contour at working resolution (see _inner_contour), cached; read-only."""
        if "contour" not in self.cache:
            contour = _inner_contour(self.person)
            contour.flags.writeable = False
            self.cache["contour"] = contour
        return self.cache["contour"]

    def edge(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """At edge resolution: (mask a >= 0.5, inner contour, largest one-pixel alpha drop to a
        4-neighbour)."""
        if "edge" not in self.cache:
            a = self.alpha_edge
            m = a >= 0.5
            p = np.pad(a, 1, mode="edge")
            drop = np.maximum(
                np.maximum(a - p[:-2, 1:-1], a - p[2:, 1:-1]), np.maximum(a - p[1:-1, :-2], a - p[1:-1, 2:])
            )
            self.cache["edge"] = (m, _inner_contour(m), drop)
        return self.cache["edge"]


QUARTER = 4  # block size of the coarse grid used for local means far from the outline


def _coarse_mean(a: np.ndarray, q: int = QUARTER) -> np.ndarray:
    """Mean over q x q blocks (partial blocks at the far edges): (H, W) -> float32 (ceil(H/q), ceil(W/q)),
    uint8 (H, W, 3) -> uint8 (ceil(H/q), ceil(W/q), 3)."""
    if a.ndim == 3:
        return np.asarray(Image.fromarray(np.ascontiguousarray(a, dtype=np.uint8)).reduce(q))
    img = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F")
    return np.asarray(img.reduce(q), dtype=np.float32)


def _coarse_any(m: np.ndarray, q: int = QUARTER) -> np.ndarray:
    return _coarse_mean(m, q) > 1e-6


def _coarse_all(m: np.ndarray, q: int = QUARTER) -> np.ndarray:
    return _coarse_mean(m, q) > 1.0 - 1e-6


def _upsample_blocks(a: np.ndarray, hw: tuple[int, int], q: int = QUARTER) -> np.ndarray:
    return np.repeat(np.repeat(a, q, axis=0), q, axis=1)[: hw[0], : hw[1]]


def make_scene(
    original: np.ndarray,
    alpha: np.ndarray,
    composite: np.ndarray,
    target: tuple[int, int, int] | np.ndarray,
    foreground: np.ndarray | None = None,
    config: Config | None = None,
) -> Scene:
    """Bring the inputs to working resolution and find the person and its landmarks."""
    cfg = config or default_config()
    alpha = np.clip(np.asarray(alpha, dtype=np.float32), 0.0, 1.0)
    hw = alpha.shape
    if original.shape[:2] != hw or composite.shape[:2] != hw:
        raise ValueError("original, alpha and composite must have the same height and width")
    work = _fit(hw, int(cfg["working_long_side"]))
    edge = _fit(hw, int(cfg["edge_long_side"]))
    a = _resize_float(alpha, work)
    m = a >= 0.5
    comps = label(m, 8)
    main_id = int(np.argmax(comps.areas)) if comps.count else 0
    person = comps.labels == main_id if main_id else np.zeros_like(m)
    soft = label(a > 0.1, 8)
    attached = np.unique(soft.labels[person])
    person_soft = np.isin(soft.labels, attached[attached > 0])
    rows = person.sum(axis=1)
    nz = np.nonzero(rows)[0]
    if nz.size:
        top, bottom = int(nz[0]), int(nz[-1])
    else:
        top, bottom = 0, work[0] - 1
    height = bottom - top + 1
    head_rows = rows[top : top + max(1, int(0.2 * height))]
    head_width = float(np.median(head_rows[head_rows > 0])) if (head_rows > 0).any() else 0.0
    start = top + int(0.15 * height)
    wide = np.nonzero(rows[start:] > 1.5 * max(head_width, 1.0))[0]
    shoulder_row = start + int(wide[0]) if wide.size else top + int(0.6 * height)
    return Scene(
        original=_resize_rgb(np.asarray(original, dtype=np.uint8), work),
        composite=_resize_rgb(np.asarray(composite, dtype=np.uint8), work),
        alpha=a,
        foreground=None if foreground is None else _resize_float(foreground, work),
        target=np.asarray(target, dtype=np.float32).reshape(3),
        mask=m,
        person=person,
        person_soft=person_soft,
        labels=comps,
        main_id=main_id,
        top=top,
        bottom=bottom,
        shoulder_row=shoulder_row,
        head_width=head_width,
        alpha_edge=_resize_float(alpha, edge),
        edge_scale=edge[0] / work[0],
    )


# ---------------------------------------------------------------------------------------------
# helpers


def _result(cfg: Config, cid: str, value: float, reason_bad: str, reason_ok: str, where=None, **details):
    c = cfg["checks"][cid]
    thr = float(c["threshold"])
    passed = bool(value <= thr) if c["direction"] == "max" else bool(value >= thr)
    return CheckResult(
        id=cid,
        value=float(value),
        threshold=thr,
        passed=passed,
        reason=reason_ok if passed else reason_bad,
        where=where if not passed else None,
        details={k: float(v) for k, v in details.items()},
    )


def _weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cw = np.cumsum(w)
    idx = int(np.searchsorted(cw, q / 100.0 * cw[-1], side="left"))
    return float(v[min(idx, v.size - 1)])


def delta_e_to_target(pixels: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CIEDE2000 of uint8 pixels (N, 3) to an RGB target, computed once per distinct colour.

    Returns (distinct colours (K, 3), their delta E (K,), inverse index (N,))."""
    px = np.asarray(pixels, dtype=np.uint8).reshape(-1, 3)
    packed = (px[:, 0].astype(np.int32) << 16) | (px[:, 1].astype(np.int32) << 8) | px[:, 2]
    uniq, inverse = np.unique(packed, return_inverse=True)
    colours = np.stack([(uniq >> 16) & 255, (uniq >> 8) & 255, uniq & 255], axis=1).astype(np.uint8)
    t_lab = srgb_u8_to_lab(np.clip(np.round(target), 0, 255).astype(np.uint8))
    return colours, ciede2000(srgb_u8_to_lab(colours), t_lab), inverse.reshape(-1)


def _place(scene: Scene, where: np.ndarray) -> str:
    """A few words saying where a mask lies relative to the person: 'at the top of the head', ..."""
    ys, xs = np.nonzero(where)
    if ys.size == 0:
        return ""
    y, x = float(np.median(ys)), float(np.median(xs))
    pcols = np.nonzero(scene.person.any(axis=0))[0]
    cx = float(pcols.mean()) if pcols.size else scene.mask.shape[1] / 2
    half = max(scene.head_width / 2, 1.0)
    side = "left" if x < cx - half else "right" if x > cx + half else ""
    head_top = scene.top + 0.25 * (scene.shoulder_row - scene.top)
    if y < head_top and not side:
        return "at the top of the head"
    if y < scene.shoulder_row:
        return f"beside the head on the {side or 'upper'} side" if side else "around the face"
    return f"near the {side} shoulder" if side else "near the bottom of the photo"


# ---------------------------------------------------------------------------------------------
# the checks


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
    any_q = _coarse_any(m, q)
    all_q = _coarse_all(m, q)
    far = dilate(any_q, -(-f1 // q)) & ~dilate(any_q, -(-f0 // q) - 1) & ~_coarse_any(scene.alpha >= 0.05, q)
    inner = erode(all_q, max(i0 // q, 0)) & ~erode(all_q, -(-i1 // q)) & _coarse_all(scene.alpha > 0.95, q)
    orig_q = _coarse_mean(scene.original, q).astype(np.float32) / 255.0
    r = max(-(-f1 // q), 3)
    b_old_q, wb_q = box_mean(orig_q, far, r)
    f_est_q, wf_q = box_mean(orig_q, inner, r)
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
    place = _place(scene, where) or "along the outline"
    return _result(
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


def _delta_e_over(scene: Scene, region: np.ndarray, c: Config) -> tuple[float, np.ndarray]:
    """The c["percentile"]-th percentile CIEDE2000 of the final image to the target over `region`
    (bool, working resolution), and where it passes c["threshold"] (bool mask, same shape)."""
    _, de, inv = delta_e_to_target(scene.composite[region], scene.target)
    counts = np.bincount(inv, minlength=de.size).astype(np.float64)
    value = _weighted_percentile(de, counts, float(c["percentile"]))
    where = np.zeros(region.shape, dtype=bool)
    where[region] = de[inv] > c["threshold"]
    return value, where


def check_halo_delta_e(scene: Scene, cfg: Config) -> CheckResult:
    """95th percentile CIEDE2000 between the final image and the target colour in the band outside the
    contour (2-4 px; the first px legitimately mixes person and new background at any soft edge).
    Hair wisps also legitimately differ from the target here, so this check weighs little."""
    c = cfg["checks"]["halo_delta_e"]
    b0, b1 = c["band_px"]
    band = scene.grown(b1) & ~scene.grown(b0 - 1)
    if not band.any():
        return _result(cfg, "halo_delta_e", 0.0, "", "There is no outline to judge.")
    value, where = _delta_e_over(scene, band, c)
    return _result(
        cfg,
        "halo_delta_e",
        value,
        f"The edge just outside the outline differs clearly from the new background; zoom in "
        f"{_place(scene, where) or 'along the outline'}.",
        "Just outside the outline the image blends into the new background.",
        where,
    )


def check_stair_steps(scene: Scene, cfg: Config) -> CheckResult:
    """Share of the outline where alpha jumps from person to background within one pixel (no anti-aliasing),
    measured at native resolution; also reports single-pixel steps per 100 px of such hard outline."""
    c = cfg["checks"]["stair_steps"]
    m, contour, drop = scene.edge()
    n = int(contour.sum())
    if n < 20:
        return _result(cfg, "stair_steps", 0.0, "", "There is no outline to judge.")
    hard = contour & (drop >= c["hard_jump"])
    share = float(hard.sum() / n)
    win = m[:-1, :-1].astype(np.int8) + m[1:, :-1] + m[:-1, 1:] + m[1:, 1:]
    corner = (win == 1) | (win == 3)
    hard_near = hard[:-1, :-1] | hard[1:, :-1] | hard[:-1, 1:] | hard[1:, 1:]
    steps = float(100.0 * (corner & hard_near).sum() / max(int(hard.sum()), 1))
    where = _to_working(hard, scene)
    return _result(
        cfg,
        "stair_steps",
        share,
        f"The outline is hard-edged and shows stair steps ({steps:.0f} steps per 100 px); zoom in "
        f"{_place(scene, where) or 'along the outline'}.",
        "The outline is smooth (anti-aliased).",
        where,
        steps_per_100px=steps,
    )


def _to_working(mask_edge: np.ndarray, scene: Scene) -> np.ndarray:
    if mask_edge.shape == scene.mask.shape:
        return mask_edge
    return _resize_float(mask_edge.astype(np.float32), scene.mask.shape) > 0.01


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
        return _result(cfg, "blocky_upsampling", 0.0, "", "The outline is too short to judge.")
    lo, hi = c["periods"]
    periods = np.arange(lo, hi + 1e-9, 0.05)
    r = 0.5 * (_periodicity(xs, periods) + _periodicity(ys, periods))
    # Divisors of the true period line up as well as the period itself: report the largest that does.
    k = int(np.nonzero(r >= r.max() - 0.02)[0][-1])
    return _result(
        cfg,
        "blocky_upsampling",
        float(r[k]),
        f"The outline moves in blocks of {periods[k]:.1f} px: the mask was enlarged from a small one "
        "without smoothing, so the edge looks like stairs.",
        "The outline is not tied to a coarse pixel grid.",
        None,
        period_px=float(periods[k]),
    )


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
    return _result(
        cfg,
        "holes",
        value,
        f"There is a see-through hole in the person {_place(scene, where) or 'above the shoulders'} "
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
        return _result(cfg, "interior_transparency", 0.0, "", "The person is too small to judge.")
    semi = interior & (scene.alpha > 0.1) & (scene.alpha < 0.9)
    value = float(semi.sum() / n)
    return _result(
        cfg,
        "interior_transparency",
        value,
        f"Parts of the person are half see-through {_place(scene, semi) or ''}; the background will "
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
    where = _place(scene, veil) or "around the person"
    return _result(
        cfg,
        "see_through_veil",
        value,
        f"A wide area {where} is half see-through, like a grey mist (about {value:.0%} of a head's area); "
        "the cut-out is unsure there - compare it with the photo.",
        "Half see-through pixels stay close to the outline, as with real hair.",
        veil,
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
        return _result(cfg, "hair_helmet", 99.0, "", "Not enough hair and shoulder outline to compare.")
    top_med = float(np.median(top_w))
    low_med = float(np.median(low_w))
    value = top_med / max(low_med, 0.5)
    # A hair edge this soft is no helmet, whatever the shoulders do (when the whole outline is smeared,
    # blurred_outline says so; telling the user the hair is too hard as well would contradict it).
    if top_med >= float(cfg["checks"]["hair_helmet"]["soft_enough_px"]):
        value = max(value, float(cfg["checks"]["hair_helmet"]["ok"]))
    return _result(
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


def _background_region(scene: Scene, skip: int) -> np.ndarray:
    """Everything a few px away from the person and the faint hair attached to it; kept blotches that are
    not attached to the person stay in (they are what the background checks look for)."""
    return ~scene.person_grown(skip)


def check_background_uniformity(scene: Scene, cfg: Config) -> CheckResult:
    """OFIQ-style background uniformity score (0..100) of the final image; see passbg.ofiq for the
    approximation of OFIQ's face-aligned crop. Everything except the main person counts as background,
    so kept speckle and furniture lower the score."""
    bg = _background_region(scene, int(cfg["checks"]["background_colour"]["skip_px"]))
    raw, score = background_uniformity(scene.composite, bg)
    return _result(
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
        return _result(cfg, "background_colour", 0.0, "", "The person fills the whole photo.")
    value, where = _delta_e_over(scene, bg, c)
    return _result(
        cfg,
        "background_colour",
        value,
        f"Parts of the background are not the chosen colour {_place(scene, where) or ''} "
        "(blotches of the old background were kept).".replace("  ", " "),
        "The background has the chosen colour everywhere.",
        where,
    )


def check_strays(scene: Scene, cfg: Config) -> CheckResult:
    """Area of kept regions (a >= 0.5) not connected to the person, as a share of the image."""
    comps = scene.labels
    stray = (comps.labels > 0) & ~scene.person
    value = float(stray.sum() / stray.size)
    return _result(
        cfg,
        "strays",
        value,
        f"Something apart from the person was kept {_place(scene, stray) or ''} (a chair, another "
        "person's hand, a patch of background).".replace("  ", " "),
        "Nothing apart from the person was kept.",
        stray,
        regions=comps.count - 1 if comps.count else 0,
    )


def check_cut_off_shoulders(scene: Scene, cfg: Config) -> CheckResult:
    """Width of the person along the bottom edge over the expected shoulder width
    (1.3x the head width, or 60 % of the photo width if that is less). Below 1: shoulders dropped or cut."""
    p = scene.person
    h, w = p.shape
    bottom_w = float(p[max(0, h - 3) :].sum(axis=1).mean())
    expected = max(min(1.3 * scene.head_width, 0.6 * w), 1.0)
    value = bottom_w / expected
    where = np.zeros_like(p)
    where[max(0, h - 3) :] = ~p[max(0, h - 3) :]
    return _result(
        cfg,
        "cut_off_shoulders",
        value,
        "The shoulders do not reach the bottom of the photo across their width: clothing may have been "
        "cut away (dark suits are the usual victims).",
        "The shoulders reach the bottom of the photo.",
        where,
        bottom_width_px=bottom_w,
        expected_px=expected,
    )


def check_touches_sides(scene: Scene, cfg: Config) -> CheckResult:
    """Share of the rows above the shoulders in which the person touches the left or right edge."""
    p = scene.person
    rows = slice(scene.top, max(scene.top + 1, scene.shoulder_row))
    touch = p[rows, 0] | p[rows, -1]
    value = float(touch.mean()) if touch.size else 0.0
    where = np.zeros_like(p)
    where[rows, :2] = p[rows, :2]
    where[rows, -2:] = p[rows, -2:]
    return _result(
        cfg,
        "touches_sides",
        value,
        "The head or hair touches the side of the photo; leave some space around the head.",
        "The head is clear of the photo's sides.",
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
    p = _coarse_mean(scene.person, q) >= 0.5
    alpha = _coarse_mean(scene.alpha, q)
    band = dilate(p, b1) & ~dilate(p, b0)
    far = ~dilate(p, b1 + 5) & (alpha < 0.05)
    cols = np.nonzero(p.any(axis=0))[0]
    if not cols.size or not band.any():
        return _result(cfg, "cast_shadow", 0.0, "", "No shadow beside the person.")
    light = lightness_from_linear(srgb_u8_to_linear(_coarse_mean(scene.original, q)))
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
    where = _upsample_blocks(kept_q, scene.mask.shape, q)
    return _result(
        cfg,
        "cast_shadow",
        value,
        f"A shadow on the wall {_place(scene, where) or 'beside you'} was partly kept as if it were part "
        "of you; it shows as a grey smudge.",
        "No shadow beside the person was kept."
        if shadow_share < 0.2
        else "There is a shadow beside you in the photo, but the cut-out left it out.",
        where,
        shadow_share=shadow_share,
        darker_by_l=darkest,
    )


def check_outline_without_edge(scene: Scene, cfg: Config) -> CheckResult:
    """Share of the outline below the head that runs where the ORIGINAL photo shows no edge.

    A true outline separates two different colours; where the colour just inside the cut (local mean of
    the person, a gap of a pixel or two away from the soft edge) and just outside it (local mean of what
    was removed) are within a few CIEDE2000 units, the cut is a guess: typically a dark suit against a
    dark wall, cut through where the model lost the shoulder, or a kept patch of background. Only the
    rows from the shoulders down count: a hair edge legitimately fades into a similar backdrop."""
    c = cfg["checks"]["outline_without_edge"]
    gap, radius, min_de = int(c["gap_px"]), int(c["radius_px"]), float(c["min_delta_e"])
    person = scene.person
    ys, xs = np.nonzero(scene.person_contour()[scene.shoulder_row :])
    ys += scene.shoulder_row
    where = np.zeros_like(person)
    value = 0.0
    if ys.size:
        # Only rows from the shoulders down (plus the windows' reach) are needed: the same values at a
        # fraction of the work.
        r0 = max(0, scene.shoulder_row - 2 * (radius + gap) - 1)
        lab = srgb_u8_to_lab(scene.original[r0:]).astype(np.float32)
        inside = erode(person[r0:], gap)
        outside = ~dilate(scene.mask[r0:], gap)
        mean_in, w_in = box_mean(lab, inside, radius + gap)
        mean_out, w_out = box_mean(lab, outside, radius + gap)
        both = (w_in[ys - r0, xs] > 0) & (w_out[ys - r0, xs] > 0)
        ys, xs = ys[both], xs[both]
        if ys.size:
            de = ciede2000(mean_in[ys - r0, xs], mean_out[ys - r0, xs])
            flat = de < min_de
            value = float(flat.mean())
            where[ys[flat], xs[flat]] = True
            where = dilate(where, 2)
    return _result(
        cfg,
        "outline_without_edge",
        value,
        f"The outline {_place(scene, where) or 'below the head'} runs where the photo shows no edge (for "
        "example a dark suit against a dark wall): part of the clothing may have been cut away, or "
        "background kept.",
        "The outline follows visible edges in the photo.",
        where,
    )


def check_blurred_outline(scene: Scene, cfg: Config) -> CheckResult:
    """Mean width in px (working resolution) of the half-transparent band (0.2 < a < 0.8) per outline pixel.

    A sharp photo's outline, hair included, goes from person to background in a pixel or two; a model
    that is unsure (or works at a low resolution, like U2-Net-p at 320 px) smears it over many, and the
    smear carries the old background's colour as a haze around the head (seen on the evaluation
    composites as the commonest artefact the other checks missed)."""
    a = scene.alpha
    soft = (a > 0.2) & (a < 0.8)
    value = float(soft.sum() / max(int(scene.person_contour().sum()), 1))
    return _result(
        cfg,
        "blurred_outline",
        value,
        f"The outline is blurred: it fades over about {value:.0f} px instead of a pixel or two, so a haze "
        "of the old background can show around you.",
        "The outline is as sharp as the photo.",
        soft & scene.grown(2),
        width_px=value,
    )


CHECKS = (
    check_halo_old_background,
    check_halo_delta_e,
    check_stair_steps,
    check_blocky_upsampling,
    check_holes,
    check_interior_transparency,
    check_see_through_veil,
    check_hair_helmet,
    check_background_uniformity,
    check_background_colour,
    check_strays,
    check_cut_off_shoulders,
    check_touches_sides,
    check_cast_shadow,
    check_outline_without_edge,
    check_blurred_outline,
)


def run_checks(
    original: np.ndarray,
    alpha: np.ndarray,
    composite: np.ndarray,
    target: tuple[int, int, int] | np.ndarray,
    foreground: np.ndarray | None = None,
    config: Config | None = None,
) -> list[CheckResult]:
    """Run every check. With no person found (no a >= 0.5 pixel) only a failing 'person' result comes back."""
    cfg = config or default_config()
    scene = make_scene(original, alpha, composite, target, foreground, cfg)
    if not scene.main_id:
        return [CheckResult("person", 0.0, 1.0, False, "No person was found in the photo.")]
    return [check(scene, cfg) for check in CHECKS]


def badness(result: CheckResult, config: Config | None = None) -> float:
    """0 (fully good) .. 1 (fully bad), linear between the check's 'ok' and 'bad' values."""
    cfg = config or default_config()
    c = cfg["checks"].get(result.id)
    if c is None:
        return 0.0 if result.passed else 1.0
    ok, bad = float(c["ok"]), float(c["bad"])
    return float(np.clip((result.value - ok) / (bad - ok), 0.0, 1.0))


def score(results: list[CheckResult], config: Config | None = None) -> QualityReport:
    """Combine check results into a 0..100 score: 100 * prod(1 - weight * badness)."""
    cfg = config or default_config()
    total = 1.0
    impact = []
    for r in results:
        w = float(cfg["checks"].get(r.id, {"weight": 1.0})["weight"])
        b = badness(r, cfg)
        total *= 1.0 - w * b
        impact.append((w * b, r))
    value = int(round(100.0 * max(total, 0.0)))
    reasons = [r.reason for imp, r in sorted(impact, key=lambda t: -t[0]) if not r.passed and imp > 0]
    return QualityReport(value, list(results), reasons, value < float(cfg["cloud_below"]))


def assess(
    original: np.ndarray,
    alpha: np.ndarray,
    composite: np.ndarray,
    target: tuple[int, int, int] | np.ndarray,
    foreground: np.ndarray | None = None,
    config: Config | None = None,
) -> QualityReport:
    """run_checks then score."""
    cfg = config or default_config()
    return score(run_checks(original, alpha, composite, target, foreground, cfg), cfg)
