"""ServerPipeline: photo pixels -> alpha, with the steps chosen at start-up (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from passbg.core.backend import Backend
from passbg.core.islands import fill_hedged_islands
from passbg.core.matte import DEFAULT_LEVELS, level_curve, level_stretch, refine_edges, resize_alpha
from passbg.core.models import ModelSpec
from passbg.core.specks import drop_faint_specks
from passbg.errors import InputError
from passbg.passport.face import FaceLandmarks
from passbg_server.pipeline import matting, region, tta

FaceFinder = Callable[[np.ndarray], FaceLandmarks]

# "islands": clothing the model hedged on, below a face the region step found, made opaque as on the
# page (passbg.core.islands). "specks": faint specks far from the person removed, as on the page
# (passbg.core.specks). "cf" / "lkm": pymatting's closed-form or large-kernel matting of the uncertain
# band (one of them).
STEPS = ("flip", "region", "islands", "specks", "cf", "lkm")
DEFAULT_STEPS = ("flip", "region", "islands", "specks")


def parse_steps(text: str) -> tuple[str, ...]:
    """'flip,region' -> ('flip', 'region'); '' or 'none' -> (). Raises ValueError for unknown steps."""
    steps = tuple(s.strip() for s in text.split(",") if s.strip() and s.strip() != "none")
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise ValueError(f"unknown pipeline step(s) {', '.join(unknown)}; choose from {', '.join(STEPS)}")
    if "cf" in steps and "lkm" in steps:
        raise ValueError("choose one matting solver: cf or lkm")
    if "islands" in steps and "region" not in steps:
        raise ValueError("islands needs region (it works below the face that step finds)")
    return tuple(s for s in STEPS if s in steps)


@dataclass
class ServerPipeline:
    spec: ModelSpec
    backend: Backend
    steps: tuple[str, ...] = DEFAULT_STEPS
    face_finder: FaceFinder | None = None
    last: dict[str, object] = field(default_factory=dict)  # what the last call did (for logs and tests)

    @property
    def name(self) -> str:
        """e.g. 'whole frame + flip + region + cf': which steps answer."""
        return " + ".join(("whole frame", *self.steps))

    def info(self) -> dict[str, object]:
        return {"model": self.spec.id, "pipeline": self.name, "steps": list(self.steps),
                "input": list(self.spec.input.size)}

    def warm_up(self) -> None:
        self.backend.session(self.spec)
        if "cf" in self.steps or "lkm" in self.steps:
            matting.warm_up()

    def probability(self, rgb: np.ndarray) -> np.ndarray:
        """rgb uint8 (H, W, 3) -> float32 (H, W) in [0, 1]: the model's probability before the levels,
        at photo size (whole frame, mirrored average, head-and-shoulders pass fused)."""
        return self._passes(rgb)[0]

    def _passes(self, rgb: np.ndarray) -> tuple[np.ndarray, region.Box | None, float | None]:
        """probability(rgb), the head-and-shoulders box its region pass used (None: no region pass) and
        the chin's row when a face found that box (None for a silhouette box). Returned, not kept on the
        pipeline: one pipeline serves every request thread (--workers)."""
        flip = "flip" in self.steps
        whole = resize_alpha(tta.probability(self.backend, self.spec, rgb, flip=flip), rgb.shape[:2])
        self.last = {"region": None}
        if "region" not in self.steps:
            return whole, None, None
        chin = None
        try:
            if self.face_finder is None:
                raise InputError("no face finder")
            face = self.face_finder(rgb)
            box = region.head_and_shoulders(face, rgb.shape[:2])
            self.last["found_by"] = "face"
            chin = float(face.chin[1])
        except InputError:  # no face found: the silhouette says where the person is
            box = region.silhouette_box(whole)
            self.last["found_by"] = "silhouette"
        if box is None:
            return whole, None, None
        crop = np.ascontiguousarray(rgb[box.top : box.bottom, box.left : box.right])
        inside = tta.probability(self.backend, self.spec, crop, flip=flip)
        self.last["region"] = (box.top, box.bottom, box.left, box.right)
        return region.fuse(whole, inside, box), box, chin

    def alpha(self, rgb: np.ndarray, transparency: np.ndarray | None = None) -> np.ndarray:
        """rgb uint8 (H, W, 3) -> alpha float32 (H, W) in [0, 1]. transparency: the photo's own alpha
        (uint8 (H, W) or None), as in passbg.core.matte.photo_alpha."""
        prob, box, chin = self._passes(rgb)
        if self.spec.output.levels:
            alpha = level_stretch(prob, *self.spec.output.levels)
        else:
            alpha = level_curve(prob, DEFAULT_LEVELS)
        del prob
        solver = next((s for s in self.steps if s in matting.SOLVERS), None)
        alpha = matting.solve(rgb, alpha, solver) if solver else refine_edges(alpha, rgb)
        # Below a face, clothing the model hedged on is made opaque, on the region's crop as on the
        # page; a silhouette box (chin None) says nothing about where clothes begin.
        if "islands" in self.steps and box is not None and chin is not None:
            part = alpha[box.top : box.bottom, box.left : box.right]
            part[...] = fill_hedged_islands(part, chin - box.top)
        if "specks" in self.steps:
            alpha = drop_faint_specks(alpha)
        if transparency is not None:
            alpha *= transparency.astype(np.float32) * np.float32(1.0 / 255.0)
        return alpha
