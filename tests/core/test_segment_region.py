"""Segmenting a region: the input size follows the region (rounded to the stride, within the model's
bounds), alpha is 0 outside the region by construction, and the result keeps the photo's geometry."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from passbg.core import pipeline
from passbg.core import region as rg
from passbg.core.models import InputSpec, ModelSpec, OutputSpec


def spec(any_size: bool = True, model_id: str = "isnet-fp16") -> ModelSpec:
    inp = InputSpec("input", (1024, 1024), "bilinear", 255.0, (0.5, 0.5, 0.5), (1.0, 1.0, 1.0), any_size, 32)
    return ModelSpec(model_id, model_id, "x.onnx", inp, OutputSpec(0, "clip"))


def test_input_size_is_the_region_at_working_resolution_rounded_and_bounded():
    bounds = rg.config()["models"]["isnet-fp16"]
    low, high = bounds["min_long_side"], bounds["max_long_side"]
    # A region smaller than the upper bound is fed at its own size, rounded to the stride.
    w, h = rg.input_size((0, 0, 700, 900), spec())
    assert (w, h) == (704, 896) and w % 32 == 0 and h % 32 == 0
    # A big one is capped at the bound, aspect kept.
    w, h = rg.input_size((0, 0, 2000, 3000), spec())
    assert h == high and abs(w / h - 2 / 3) < 0.03
    # A tiny one is raised to the lower bound.
    assert max(rg.input_size((10, 10, 110, 210), spec())) == low
    # A fixed-size model always gets its size; long_side forces the long side (the evaluation's curve).
    assert rg.input_size((0, 0, 700, 900), spec(any_size=False)) == (1024, 1024)
    assert rg.input_size((0, 0, 700, 900), spec(), long_side=512) == (384, 512)


def test_clip_paste_and_cut_edges():
    assert rg.clip_box((-5.2, 3.7, 50.1, 400.0), (100, 60)) == (0, 3, 51, 100)
    part = np.ones((4, 3), np.float32)
    full = rg.paste(part, (2, 1, 5, 5), (10, 8))
    assert full.shape == (10, 8) and full.sum() == 12 and full[1:5, 2:5].all()
    # Opaque on the box's left side, which lies inside the photo: the person may go on there; the bottom
    # is the photo's own edge, so it is not reported.
    a = np.zeros((20, 20), np.float32)
    a[5:, :8] = 1.0
    assert rg.cut_edges(a, (10, 10, 30, 30), (30, 40)) == ["left"]


class FakeBackend:
    """Returns a centred opaque ellipse of the tensor's own size, and records the tensor shapes."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def run(self, spec, tensor):
        self.shapes.append(tensor.shape)
        h, w = tensor.shape[2:]
        yy, xx = np.mgrid[:h, :w]
        inside = ((yy - h / 2) / (0.4 * h)) ** 2 + ((xx - w / 2) / (0.3 * w)) ** 2 < 1
        return inside.astype(np.float32)[None, None]


def photo(w: int = 300, h: int = 400) -> bytes:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


def test_a_region_is_segmented_at_its_size_and_alpha_is_zero_outside_it():
    backend = FakeBackend()
    region = rg.Region((100, 150, 260, 400), "head and shoulders")
    result = pipeline.process(photo(), backend, spec(), "white", region=region)
    low = rg.config()["models"]["isnet-fp16"]["min_long_side"]
    # 160x250 raised to the lower bound, rounded to the stride
    assert backend.shapes == [(1, 3, low, round(160 * low / 250 / 32) * 32)]
    assert result.alpha.shape == (400, 300) and result.composite.shape == (400, 300, 3)
    outside = np.ones((400, 300), bool)
    outside[150:400, 100:260] = False
    assert result.alpha[outside].max() == 0.0
    assert (result.composite[outside] == 255).all()  # the new background there
    assert result.alpha[150:400, 100:260].max() == 1.0
    assert any("Only the part of the photo" in n and "head and shoulders" in n for n in result.notes)


def test_no_region_is_todays_whole_photo_path():
    backend = FakeBackend()
    whole = pipeline.process(photo(), backend, spec(), "white")
    assert backend.shapes == [(1, 3, 1024, 1024)]
    assert not any("Only the part" in n for n in whole.notes)
    # A region that is the whole photo of a fixed-size model is the same tensor as no region.
    fixed = spec(any_size=False)
    a = pipeline.prepare(photo(), fixed).tensor
    b = pipeline.prepare(photo(), fixed, region=rg.Region((0, 0, 300, 400))).tensor
    assert np.array_equal(a, b)


@pytest.mark.parametrize("box", [(0, 0, 300, 400), (20, 0, 300, 390)])
def test_the_photo_transparency_and_geometry_survive_a_region(box):
    backend = FakeBackend()
    prepared = pipeline.prepare(photo(), spec(), region=rg.Region(box))
    prepared = replace(prepared)  # a plain dataclass: the app layer may pass it around
    result = pipeline.finish(prepared, backend.run(prepared.spec, prepared.tensor), "white")
    assert result.alpha.shape == (400, 300) and result.foreground.shape == (400, 300, 3)


class HedgingBackend(FakeBackend):
    """FakeBackend's ellipse with a half see-through patch in its lower middle, as the models give a
    light shirt in front of a light backdrop."""

    def run(self, spec, tensor):
        out = super().run(spec, tensor)
        h, w = out.shape[2:]
        out[0, 0, int(0.7 * h) : int(0.8 * h), int(0.4 * w) : int(0.6 * w)] = 0.6
        return out


def test_below_the_face_a_half_see_through_island_is_made_opaque():
    """A region found from a face knows where the face ends: below it the hedged patch is clothing
    (passbg.core.islands). Without a face (the whole photo, or a region from elsewhere) the model's
    alpha stays as it was."""
    box = (0, 0, 300, 400)
    patch = (slice(290, 310), slice(130, 170))  # well inside the patch, away from its resized rim
    with_face = pipeline.process(photo(), HedgingBackend(), spec(), "white",
                                 region=rg.Region(box, "head and shoulders", (110.0, 60.0, 190.0, 160.0)))
    without = pipeline.process(photo(), HedgingBackend(), spec(), "white", region=rg.Region(box))
    assert (with_face.alpha[patch] == 1.0).all()
    assert 0.3 < float(without.alpha[patch].mean()) < 0.9
    # A face low in the frame (the patch level with it) leaves the patch alone too.
    low_face = rg.Region(box, "head and shoulders", (110.0, 250.0, 190.0, 330.0))
    assert 0.3 < float(pipeline.process(photo(), HedgingBackend(), spec(), "white",
                                        region=low_face).alpha[patch].mean()) < 0.9
