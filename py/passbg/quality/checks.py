"""The quality checks of a finished cut-out: which exist (data/checks.json, passbg.quality.config), the
function that computes each (one module per family), and running them all.

The score decides whether a photo stays on the device or is offered to the cloud, so it must catch
bad cut-outs (grey fringe of the old background, stair-step edges, a hole in a spectacle lens, a
helmet of hair, kept furniture) without crying wolf on good ones. Every check is a pure function of a
`Scene` and returns a `CheckResult`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from passbg.quality.background import check_background_colour, check_background_uniformity, check_cast_shadow
from passbg.quality.config import (
    PERSON,
    CheckResult,
    Config,
    QualityReport,
    check_ids,
    default_config,
    looks_at,
)
from passbg.quality.edge_colour import (
    check_backdrop_lightness,
    check_blurred_outline,
    check_hair_contrast,
    check_halo_delta_e,
    check_halo_old_background,
    check_outline_without_edge,
)
from passbg.quality.edge_shape import check_blocky_upsampling, check_hair_helmet, check_stair_steps
from passbg.quality.framing import check_cut_off_shoulders, check_touches_sides
from passbg.quality.inside import (
    check_holes,
    check_interior_transparency,
    check_see_through_veil,
    check_strays,
)
from passbg.quality.scene import Scene, in_frame, make_scene, outline_view
from passbg.quality.score import score

# The function of each check id (a check's function is named check_<id>); which checks run, and in
# which order, is data/checks.json's (config.check_ids).
_FUNCTIONS: dict[str, Callable[[Scene, Config], CheckResult]] = {
    f.__name__.removeprefix("check_"): f
    for f in (
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
        check_hair_contrast,
        check_backdrop_lightness,
    )
}


def check_function(cid: str) -> Callable[[Scene, Config], CheckResult]:
    """The function computing check `cid`. Raises KeyError naming the id when there is none."""
    try:
        return _FUNCTIONS[cid]
    except KeyError:
        raise KeyError(f"checks.json names a check {cid!r} that passbg has no function for") from None


def run_checks(
    original: np.ndarray,
    alpha: np.ndarray,
    composite: np.ndarray,
    target: tuple[int, int, int] | np.ndarray,
    foreground: np.ndarray | None = None,
    config: Config | None = None,
) -> list[CheckResult]:
    """Run every check, each on what its 'looks_at' names (the frame, or the outline view of a person
    small in the frame: scene.outline_view); every `where` is on the frame's working grid. With no
    person found (no a >= 0.5 pixel) only a failing 'person' result comes back."""
    return _run_checks(original, alpha, composite, target, foreground, config)[0]


def _run_checks(
    original: np.ndarray,
    alpha: np.ndarray,
    composite: np.ndarray,
    target: tuple[int, int, int] | np.ndarray,
    foreground: np.ndarray | None,
    config: Config | None,
) -> tuple[list[CheckResult], bool]:
    """run_checks, and whether the person is small in the frame (the outline view was used)."""
    cfg = config or default_config()
    frame = make_scene(original, alpha, composite, target, foreground, cfg)
    if not frame.main_id:
        return [CheckResult(PERSON, 0.0, 1.0, False, "No person was found in the photo.")], False
    view = outline_view(np.asarray(alpha), cfg)
    outline = frame
    if view is not None:
        rows, cols = view.slices
        fg = None if foreground is None else foreground[rows, cols]
        outline = make_scene(original[rows, cols], alpha[rows, cols], composite[rows, cols], target, fg, cfg,
                             view.long_side)  # fmt: skip
    results = []
    for cid in check_ids(cfg):
        if looks_at(cid, cfg) == "frame" or outline is frame:
            results.append(check_function(cid)(frame, cfg))
            continue
        r = check_function(cid)(outline, cfg)
        if r.where is not None:
            r = replace(r, where=in_frame(r.where, view, alpha.shape[:2], frame.mask.shape))
        results.append(r)
    return results, view is not None


def assess(
    original: np.ndarray,
    alpha: np.ndarray,
    composite: np.ndarray,
    target: tuple[int, int, int] | np.ndarray,
    foreground: np.ndarray | None = None,
    config: Config | None = None,
) -> QualityReport:
    """run_checks then score (a person small in the frame with its own weights: score.for_framing)."""
    results, small = _run_checks(original, alpha, composite, target, foreground, config)
    return score(results, config, small_in_frame=small)
