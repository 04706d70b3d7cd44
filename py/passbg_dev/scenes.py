"""Framings and scenes for composites with a known alpha: the phone-photo cases the shared portraits lack.

The shared portraits are framed tightly (head and shoulders fill the frame). A phone photo puts the
person in a room: small in the frame, at the bottom middle, beside furniture and door frames that a
salient-object model may keep as "the person". These functions build such pictures from a portrait's
truth (alpha and foreground colours), so the truth moves with the person and stays exact:

- `frame_loose`: the person at native pixels on a canvas `scale` times larger in each direction, at the
  bottom middle (shoulders leave the frame at the bottom, as they do in the portrait);
- `room_background`: a room behind and beside that person: a lit wall, a floor, a door frame on one side
  and a cabinet with shelves on the other, a picture on the wall. Each object is a strong, closed,
  high-contrast shape (what "salient" means to IS-Net), placed beside the person, never covering them.

Numpy (and Pillow to shrink a portrait whose canvas would pass the working size); deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

LOOSE_SCALE = 3  # the canvas is this many times the portrait's width and height (the person ~ 1/3 wide)


@dataclass(frozen=True)
class Placement:
    """Where the portrait sits on the canvas: rows top..top+h, columns left..left+w (canvas pixels)."""

    top: int
    left: int
    h: int
    w: int


def loose_placement(hw: tuple[int, int], scale: int = LOOSE_SCALE) -> tuple[tuple[int, int], Placement]:
    """((canvas H, canvas W), placement) of an (h, w) portrait at the bottom middle of a scale× canvas."""
    h, w = hw
    H, W = h * scale, w * scale
    return (H, W), Placement(top=H - h, left=(W - w) // 2, h=h, w=w)


def fit_for_loose(
    rgb: np.ndarray, alpha: np.ndarray, fg: np.ndarray, max_side: int, scale: int = LOOSE_SCALE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A portrait's rgb uint8 (h, w, 3), truth alpha float32 (h, w) and foreground float32 (h, w, 3) in
    [0, 1], scaled down (Lanczos for the photo, bicubic for the truth) when its loose canvas would pass
    `max_side` (the page's working size, which would shrink the canvas anyway); else as they are. So the
    truth keeps the size of the page's result and the person stays at the pixels the page works on."""
    h, w = alpha.shape
    factor = min(1.0, max_side / (scale * max(h, w)))
    if factor >= 1.0:
        return rgb, alpha, fg
    size = (round(w * factor), round(h * factor))

    def plane(x: np.ndarray) -> np.ndarray:
        img = Image.fromarray(np.ascontiguousarray(x, np.float32), "F")
        return np.asarray(img.resize(size, Image.BICUBIC))

    rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.LANCZOS))
    alpha = plane(alpha).clip(0, 1)
    fg = np.stack([plane(fg[..., c]) for c in range(3)], axis=-1).clip(0, 1)
    return rgb, alpha, fg


def frame_loose(
    alpha: np.ndarray, fg: np.ndarray, scale: int = LOOSE_SCALE
) -> tuple[np.ndarray, np.ndarray, Placement]:
    """The truth of a loose framing: alpha float32 (H, W) in [0, 1] and foreground float32 (H, W, 3) in
    [0, 1] moved onto the larger canvas (alpha 0 and foreground 0 elsewhere), and where they went."""
    (H, W), p = loose_placement(alpha.shape[:2], scale)
    a = np.zeros((H, W), np.float32)
    f = np.zeros((H, W, 3), np.float32)
    a[p.top : p.top + p.h, p.left : p.left + p.w] = alpha
    f[p.top : p.top + p.h, p.left : p.left + p.w] = fg
    return a, f, p


def _rect(img: np.ndarray, y0: int, y1: int, x0: int, x1: int, colour) -> None:
    H, W = img.shape[:2]
    y0, y1, x0, x1 = max(0, y0), min(H, y1), max(0, x0), min(W, x1)
    if y1 > y0 and x1 > x0:
        img[y0:y1, x0:x1] = np.asarray(colour, np.float32)


def room_background(hw: tuple[int, int], person: Placement, seed: int) -> np.ndarray:
    """A room for a person standing at `person` on an (H, W) canvas: float32 (H, W, 3) in 0..255.

    Wall above a floor line at 78 % of the height; a dark wooden door frame (two posts and a lintel
    around a paler door panel) beside the person on one side, a tall cabinet with shelves and coloured
    book spines on the other, a framed picture on the wall. The side of the door is chosen by the seed.
    Objects stop one portrait-width/12 short of the person's box, so no pixel of the truth is covered
    and the only thing that can join them to the person is the model."""
    H, W = hw
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:H, :W].astype(np.float32)
    # A warm wall lit from the upper left, and a darker floor.
    wall = np.array(rng.uniform([200, 185, 160], [235, 220, 200]), np.float32)
    light = (1.0 - 0.25 * (xx / W) - 0.15 * (yy / H))[..., None]
    img = wall * light
    floor_y = int(0.78 * H)
    floor = np.array(rng.uniform([110, 80, 55], [150, 115, 85]), np.float32)
    img[floor_y:] = floor * (0.85 + 0.15 * (yy[floor_y:, :1, None] - floor_y) / max(1, H - floor_y))
    img[floor_y : floor_y + max(2, H // 300)] = floor * 0.6  # skirting shadow
    gap = max(4, person.w // 12)
    left_space = (0, person.left - gap)
    right_space = (person.left + person.w + gap, W)
    door_left = bool(rng.integers(0, 2))
    door_space, cab_space = (left_space, right_space) if door_left else (right_space, left_space)
    # Door frame: posts and lintel in dark wood, a paler panel with a handle.
    d0, d1 = door_space
    dw = min(d1 - d0, int(0.22 * W))
    if dw > 20:
        x0 = d1 - dw if door_left else d0
        x1 = x0 + dw
        top = int(0.18 * H)
        post = max(6, dw // 9)
        wood = np.array(rng.uniform([70, 40, 20], [100, 60, 35]), np.float32)
        panel = np.array(rng.uniform([225, 225, 220], [245, 245, 240]), np.float32)
        _rect(img, top, floor_y, x0, x1, wood)
        _rect(img, top + post, floor_y, x0 + post, x1 - post, panel)
        for k in range(2):  # raised door panels: darker outlines
            py0 = top + post + int((k * 0.5 + 0.06) * (floor_y - top - post))
            py1 = py0 + int(0.38 * (floor_y - top - post))
            _rect(img, py0, py1, x0 + 2 * post, x1 - 2 * post, panel * 0.82)
            _rect(
                img,
                py0 + post // 2,
                py1 - post // 2,
                x0 + 2 * post + post // 2,
                x1 - 2 * post - post // 2,
                panel,
            )
        hx = x0 + post + post // 2 if not door_left else x1 - 2 * post
        hy = top + int(0.55 * (floor_y - top))
        _rect(img, hy, hy + post, hx, hx + post // 2 + 2, (190, 160, 60))
    # Cabinet with shelves and book spines.
    c0, c1 = cab_space
    cw = min(c1 - c0, int(0.2 * W))
    if cw > 20:
        x0 = c0 if door_left else c1 - cw
        x1 = x0 + cw
        top = int(0.45 * H)
        side = max(5, cw // 14)
        body = np.array(rng.uniform([40, 30, 25], [80, 60, 45]), np.float32)
        _rect(img, top, floor_y + H // 60, x0, x1, body)
        shelves = 4
        sh = (floor_y - top - side) // shelves
        for s in range(shelves):
            sy0 = top + side + s * sh
            _rect(img, sy0, sy0 + sh - side, x0 + side, x1 - side, body * 0.5)
            x = x0 + side + 2
            while x < x1 - side - 4:
                bw = int(rng.integers(max(3, cw // 40), max(5, cw // 12)))
                bh = int(rng.uniform(0.6, 0.95) * (sh - side))
                colour = rng.uniform(30, 230, 3)
                _rect(img, sy0 + sh - side - bh, sy0 + sh - side, x, min(x + bw, x1 - side), colour)
                x += bw + 1
    # A framed picture on the wall above the cabinet side.
    pw, ph = int(0.12 * W), int(0.1 * H)
    px0 = (cab_space[0] + cab_space[1]) // 2 - pw // 2
    py0 = int(0.15 * H)
    if pw > 10 and px0 > 0 and px0 + pw < W and (px0 + pw < person.left or px0 > person.left + person.w):
        _rect(img, py0, py0 + ph, px0, px0 + pw, (30, 30, 30))
        inner = rng.uniform(60, 200, 3)
        _rect(img, py0 + ph // 10, py0 + ph - ph // 10, px0 + pw // 10, px0 + pw - pw // 10, inner)
    img += rng.normal(0, 2.5, (H, W, 1)).astype(np.float32)  # sensor grain
    return np.clip(img, 0, 255).astype(np.float32)


def room_composite(
    alpha: np.ndarray, fg: np.ndarray, seed: int = 0, scale: int = LOOSE_SCALE
) -> tuple[np.ndarray, np.ndarray, Placement]:
    """A phone-like photo of the person standing in a room: (picture uint8 (H, W, 3), its truth alpha
    float32 (H, W) in [0, 1], placement), from a portrait's truth alpha (h, w) and foreground (h, w, 3)
    in [0, 1]. I = a F + (1 - a) B with B = room_background, so the truth is exact."""
    a, f, p = frame_loose(alpha, fg, scale)
    bg = room_background(a.shape, p, seed)
    a3 = a[..., None]
    img = np.clip(np.rint(a3 * f * 255.0 + (1 - a3) * bg), 0, 255).astype(np.uint8)
    return img, a, p
