"""Checks of the framing: shoulders cut off, the person touching the sides."""

from __future__ import annotations

import numpy as np

from passbg.quality.config import CheckResult, Config, make_result
from passbg.quality.scene import Scene


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
    return make_result(
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
    return make_result(
        cfg,
        "touches_sides",
        value,
        "The head or hair touches the side of the photo; leave some space around the head.",
        "The head is clear of the photo's sides.",
        where,
    )
