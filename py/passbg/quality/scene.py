"""The scene every check reads: the inputs at a bounded working resolution, the person mask and a few
landmarks of its outline (top, shoulders, head width), and the helpers the check families share.

Shapes: original and composite uint8 (H, W, 3) sRGB; alpha float32 (H, W) in [0, 1] with 1 = person;
foreground float32 (H, W, 3) in [0, 1] or None; target an RGB triple of 0..255."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from passbg.numeric.colour import ciede2000, srgb_u8_to_lab
from passbg.numeric.labels import dilate, label
from passbg.numeric.sizes import fit_long_side
from passbg.quality.config import Config, default_config


def resize_rgb(rgb: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    if rgb.shape[:2] == hw:
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((hw[1], hw[0]), Image.BILINEAR))


def resize_float(a: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    if a.shape[:2] == hw:
        return a.astype(np.float32, copy=False)
    if a.ndim == 3:
        return np.stack([resize_float(a[..., c], hw) for c in range(a.shape[2])], axis=-1)
    img = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F")
    return np.asarray(img.resize((hw[1], hw[0]), Image.BILINEAR), dtype=np.float32)


def inner_contour(m: np.ndarray) -> np.ndarray:
    """Pixels of m with a 4-neighbour outside m; the image border does not count as outside."""
    p = np.pad(m, 1, mode="edge")
    outside_nb = ~p[:-2, 1:-1] | ~p[2:, 1:-1] | ~p[1:-1, :-2] | ~p[1:-1, 2:]
    return m & outside_nb


@dataclass
class Scene:
    """Inputs at working resolution plus the alpha at edge resolution."""

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
        """The person's inner contour at working resolution (see inner_contour), cached; read-only."""
        if "contour" not in self.cache:
            contour = inner_contour(self.person)
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
            self.cache["edge"] = (m, inner_contour(m), drop)
        return self.cache["edge"]


QUARTER = 4  # block size of the coarse grid used for local means far from the outline


def coarse_mean(a: np.ndarray, q: int = QUARTER) -> np.ndarray:
    """Mean over q x q blocks (partial blocks at the far edges): (H, W) -> float32 (ceil(H/q), ceil(W/q)),
    uint8 (H, W, 3) -> uint8 (ceil(H/q), ceil(W/q), 3)."""
    if a.ndim == 3:
        return np.asarray(Image.fromarray(np.ascontiguousarray(a, dtype=np.uint8)).reduce(q))
    img = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F")
    return np.asarray(img.reduce(q), dtype=np.float32)


def coarse_any(m: np.ndarray, q: int = QUARTER) -> np.ndarray:
    return coarse_mean(m, q) > 1e-6


def coarse_all(m: np.ndarray, q: int = QUARTER) -> np.ndarray:
    return coarse_mean(m, q) > 1.0 - 1e-6


def upsample_blocks(a: np.ndarray, hw: tuple[int, int], q: int = QUARTER) -> np.ndarray:
    return np.repeat(np.repeat(a, q, axis=0), q, axis=1)[: hw[0], : hw[1]]


FILLS_FRAME = 1.25  # a person's box at least 1/1.25 of the frame in one direction "fills" it
MARGIN_WORK_PX = 64  # around the person's box, in working px: more than any outline check looks outside
MARGIN_SHARE = 0.1  # ... and at least this share of the box's long side


@dataclass(frozen=True)
class OutlineView:
    """The part of a photo the outline checks look at, and with how many pixels: rows top:bottom and
    columns left:right of the photo, brought to a long side of long_side working px."""

    top: int
    left: int
    bottom: int
    right: int
    long_side: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.bottom), slice(self.left, self.right)


def outline_view(alpha: np.ndarray, cfg: Config) -> OutlineView | None:
    """Where the outline checks look when the person (alpha >= 0.5; alpha float32 (H, W) in [0, 1]) is
    small in the frame in both directions, as in a phone photo of someone in a room: the person's box
    plus a margin, at the frame's working scale times how many times the frame is larger than the
    person's box (the smaller of the two directions), at most edge_long_side over the frame. None when
    the person fills the frame (a box at least 1/FILLS_FRAME of it in one direction) or no person is
    found: then every check looks at the whole frame at working_long_side, the scale their thresholds
    were set on.

    Why: at the frame's 1024 px a loose photo's 1-4 px halo shrank below a pixel (halo_delta_e read
    3.5 on loose near-black composites against 10.7 tight, for the same halo), and a hole in a lens
    was a ninth of the share of the image it is in a tight portrait. Looking at the box, not the whole
    frame at that scale, costs what a tight portrait costs."""
    base, cap = int(cfg["working_long_side"]), int(cfg["edge_long_side"])
    person = alpha >= 0.5
    rows = np.flatnonzero(person.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(person.any(axis=0))
    h, w = alpha.shape
    box_h, box_w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    ratio = min(h / box_h, w / box_w)
    if ratio < FILLS_FRAME:
        return None
    scale = min(cap, base * float(ratio)) / max(h, w)  # working px per photo px
    margin = int(np.ceil(max(MARGIN_WORK_PX / scale, MARGIN_SHARE * max(box_h, box_w))))
    top, bottom = max(0, int(rows[0]) - margin), min(h, int(rows[-1]) + 1 + margin)
    left, right = max(0, int(cols[0]) - margin), min(w, int(cols[-1]) + 1 + margin)
    long_side = max(1, round(max(bottom - top, right - left) * scale))
    return OutlineView(top, left, bottom, right, long_side)


def in_frame(
    where: np.ndarray, view: OutlineView, frame_hw: tuple[int, int], work_hw: tuple[int, int]
) -> np.ndarray:
    """A bool mask found in an outline view (at the view's working resolution) placed in the frame's
    working grid (work_hw) of a photo of frame_hw px; a pixel is set where any part of the mask falls."""
    sy, sx = work_hw[0] / frame_hw[0], work_hw[1] / frame_hw[1]
    top, left = int(np.floor(view.top * sy)), int(np.floor(view.left * sx))
    bottom = max(top + 1, min(work_hw[0], int(np.ceil(view.bottom * sy))))
    right = max(left + 1, min(work_hw[1], int(np.ceil(view.right * sx))))
    small = Image.fromarray(np.asarray(where, dtype=np.uint8) * 255)
    small = small.resize((right - left, bottom - top), Image.BOX)  # BOX: a thin line is not dropped
    out = np.zeros(work_hw, dtype=bool)
    out[top:bottom, left:right] = np.asarray(small) > 0
    return out


def make_scene(
    original: np.ndarray,
    alpha: np.ndarray,
    composite: np.ndarray,
    target: tuple[int, int, int] | np.ndarray,
    foreground: np.ndarray | None = None,
    config: Config | None = None,
    long_side: int | None = None,
) -> Scene:
    """Bring the inputs to a working long side (default: the config's working_long_side) and find the
    person and its landmarks."""
    cfg = config or default_config()
    alpha = np.clip(np.asarray(alpha, dtype=np.float32), 0.0, 1.0)
    hw = alpha.shape
    if original.shape[:2] != hw or composite.shape[:2] != hw:
        raise ValueError("original, alpha and composite must have the same height and width")
    work = fit_long_side(hw, long_side or int(cfg["working_long_side"]))
    edge = fit_long_side(hw, int(cfg["edge_long_side"]))
    a = resize_float(alpha, work)
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
        original=resize_rgb(np.asarray(original, dtype=np.uint8), work),
        composite=resize_rgb(np.asarray(composite, dtype=np.uint8), work),
        alpha=a,
        foreground=None if foreground is None else resize_float(foreground, work),
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
        alpha_edge=resize_float(alpha, edge),
        edge_scale=edge[0] / work[0],
    )


def weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
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


def place_words(scene: Scene, where: np.ndarray) -> str:
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


def delta_e_over(scene: Scene, region: np.ndarray, c: Config) -> tuple[float, np.ndarray]:
    """The c["percentile"]-th percentile CIEDE2000 of the final image to the target over `region`
    (bool, working resolution), and where it passes c["threshold"] (bool mask, same shape)."""
    _, de, inv = delta_e_to_target(scene.composite[region], scene.target)
    counts = np.bincount(inv, minlength=de.size).astype(np.float64)
    value = weighted_percentile(de, counts, float(c["percentile"]))
    where = np.zeros(region.shape, dtype=bool)
    where[region] = de[inv] > c["threshold"]
    return value, where
