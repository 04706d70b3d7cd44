"""The server pipeline's steps (passbg_server.pipeline) on arrays whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from passbg.core.models import InputSpec, ModelSpec, OutputSpec
from passbg.errors import InputError
from passbg.passport.face import FaceLandmarks
from passbg_server.pipeline import ServerPipeline, matting, parse_steps, region, tta


def test_steps_are_parsed_in_a_fixed_order_and_unknown_ones_refused():
    assert parse_steps("region, flip") == ("flip", "region")
    assert parse_steps("none") == () and parse_steps("") == ()
    with pytest.raises(ValueError, match="unknown"):
        parse_steps("flip,sharpen")
    with pytest.raises(ValueError, match="one matting solver"):
        parse_steps("cf,lkm")


def test_fuse_uses_the_region_inside_and_blends_only_at_edges_inside_the_photo():
    whole = np.zeros((200, 300), np.float32)
    box = region.Box(top=0, bottom=120, left=100, right=220)  # touches the photo's top edge
    inside = np.ones((1024, 1024), np.float32)
    out = region.fuse(whole, inside, box)
    assert out[:, :100].max() == 0 and out[120:].max() == 0 and out[:, 220:].max() == 0  # outside: whole
    assert out[0, 160] == 1.0  # the top edge is the photo's: no blend there
    assert out[60, 160] == 1.0  # deep inside: the region's answer
    assert 0 < out[60, 100] < 0.2 and 0 < out[119, 160] < 0.2  # inner edges fade into the whole frame


def test_silhouette_box_frames_a_small_person_and_skips_one_filling_the_frame():
    prob = np.zeros((900, 600), np.float32)
    prob[500:900, 250:350] = 1.0  # a small person standing at the bottom
    box = region.silhouette_box(prob)
    assert box is not None
    assert box.top <= 500 and box.left <= 250 and box.right >= 350
    assert box.bottom - 500 <= 1.3 * 100 * 1.2 + 2  # head and shoulders, not the whole body
    full = np.ones((900, 600), np.float32)
    assert region.silhouette_box(full) is None


def test_matting_recovers_a_soft_edge_the_model_drew_hard():
    # A composite whose true alpha is a soft ramp between a dark person and a light wall; the "model"
    # alpha is a hard step at the right place. Closed-form matting must get much closer to the ramp.
    h, w = 64, 96
    x = np.arange(w, dtype=np.float32)
    true = np.clip((x - 44) / 8.0, 0, 1)[None, :].repeat(h, 0)[:, ::-1].copy()  # person on the left
    fg = np.array([60, 40, 30], np.float32)
    bg = np.array([230, 230, 225], np.float32)
    rgb = np.clip(np.rint(true[..., None] * fg + (1 - true[..., None]) * bg), 0, 255).astype(np.uint8)
    hard = (true >= 0.5).astype(np.float32)
    hard[:, 46:50] = 0.6  # the model is unsure only in a thin band
    solved = matting.solve(rgb, hard, "cf")
    assert np.abs(solved - true).sum() < 0.35 * np.abs(hard - true).sum()
    far = np.abs(x - 48) > 30
    assert np.array_equal(solved[:, far], hard[:, far])  # certain pixels are kept


def test_matting_scales_big_crops_down_to_its_pixel_budget(monkeypatch):
    seen = {}
    real = matting._resize_rgb

    def spy(rgb, hw):
        seen["hw"] = hw
        return real(rgb, hw)

    monkeypatch.setattr(matting, "_resize_rgb", spy)
    rgb = np.full((1200, 1000, 3), 200, np.uint8)
    rgb[:, :500] = 50
    alpha = np.zeros((1200, 1000), np.float32)
    alpha[:, :500] = 1.0
    alpha[:, 495:505] = 0.5
    matting.solve(rgb, alpha, "lkm", max_pixels=20_000)
    assert seen["hw"][0] < 700  # scaled down; the narrow side stays >= 48 px, so a little over budget
    assert seen["hw"][0] * seen["hw"][1] <= 35_000


class MirrorShy:
    """A fake model that sees a person only in the left half of whatever it is shown."""

    def run(self, spec, tensor):
        out = np.zeros(tensor.shape[-2:], np.float32)
        out[:, : tensor.shape[-1] // 2] = 1.0
        return out

    def session(self, spec):
        return None


def _fake_spec(size: int) -> ModelSpec:
    """A model spec for the fake models here: a size x size input, the probability clipped to [0, 1]."""
    return ModelSpec(id="fake", title="fake", file="x.onnx", sha256="", bytes=0,
                     input=InputSpec(name="input", size=(size, size), resize="bilinear", divide_by=255,
                                     mean=(0.5, 0.5, 0.5), std=(1.0, 1.0, 1.0)),
                     output=OutputSpec(index=0, postprocess="clip"))


def test_flip_keeps_an_area_only_one_orientation_finds_instead_of_making_it_half_transparent():
    spec = _fake_spec(8)
    rgb = np.zeros((8, 8, 3), np.uint8)
    assert tta.probability(MirrorShy(), spec, rgb, flip=False)[:, 0].tolist() == [1.0] * 8
    both = tta.probability(MirrorShy(), spec, rgb, flip=True)
    assert np.allclose(both, 1.0)  # the mean would be a see-through 0.5 everywhere


def test_mirrored_runs_that_roughly_agree_are_averaged():
    p = np.array([[0.9, 0.4, 0.1]], np.float32)
    q = np.array([[0.8, 0.6, 0.0]], np.float32)
    fused = tta.fuse_mirrored(p, q)
    assert fused.dtype == np.float32
    assert np.allclose(fused, (p + q) / 2)


def test_a_strong_disagreement_keeps_the_larger_probability():
    p = np.array([[1.0, 0.05]], np.float32)
    q = np.array([[0.1, 0.95]], np.float32)
    assert np.allclose(tta.fuse_mirrored(p, q), [[1.0, 0.95]])


def test_the_fusion_moves_from_mean_to_maximum_without_a_jump():
    gaps = np.linspace(0.0, 1.0, 201, dtype=np.float32)
    p = np.zeros_like(gaps)[None]
    fused = tta.fuse_mirrored(p, gaps[None])[0]
    assert np.all(np.diff(fused) >= 0)  # a larger disagreement never gives less
    assert np.max(np.diff(fused)) < 0.02  # and no step where the blend starts or ends
    assert fused[0] == 0 and fused[-1] == 1.0


class Brightness:
    """A fake model whose probability is the pixel's brightness over 200: a person drawn at 200 on a
    black backdrop is certain, a shirt drawn at 120 is hedged at 0.6, as the models hedge on a light
    shirt in front of a light backdrop."""

    def run(self, spec, tensor):
        return np.clip((tensor[0, 0] + 0.5) * 255.0 / 200.0, 0.0, 1.0).astype(np.float32)

    def session(self, spec):
        return None


def _person_with_a_hedged_shirt() -> tuple[np.ndarray, FaceLandmarks, tuple[slice, slice]]:
    rgb = np.zeros((600, 600, 3), np.uint8)
    yy, xx = np.mgrid[0:600, 0:600]
    rgb[((yy - 200) / 60.0) ** 2 + ((xx - 300) / 45.0) ** 2 <= 1] = 200  # the head
    rgb[260:, 200:400] = 200  # the body, leaving the photo at the bottom
    rgb[290:340, 260:340] = 120  # the shirt the model is unsure of
    face = FaceLandmarks(right_eye=(280.0, 200.0), left_eye=(320.0, 200.0), chin=(300.0, 250.0),
                         source="test")
    return rgb, face, (slice(300, 330), slice(275, 325))


def test_islands_makes_a_hedged_shirt_below_the_face_opaque_and_needs_the_face():
    spec = _fake_spec(200)
    rgb, face, shirt = _person_with_a_hedged_shirt()

    def no_face(_rgb):
        raise InputError("no face found")

    filled = ServerPipeline(spec, Brightness(), ("region", "islands"), lambda _rgb: face).alpha(rgb)
    assert (filled[shirt] == 1.0).all()
    assert filled[20:60, 20:60].max() == 0.0  # the backdrop stays out
    kept = ServerPipeline(spec, Brightness(), ("region",), lambda _rgb: face).alpha(rgb)
    assert 0.2 < float(kept[shirt].mean()) < 0.9  # without the step: the model's hedge
    # A silhouette box (no face found) says nothing about where clothes begin: left as it was.
    unsure = ServerPipeline(spec, Brightness(), ("region", "islands"), no_face).alpha(rgb)
    assert 0.2 < float(unsure[shirt].mean()) < 0.9


def test_islands_is_refused_without_the_region_step_that_finds_the_face():
    assert parse_steps("islands,region,flip") == ("flip", "region", "islands")
    with pytest.raises(ValueError, match="islands needs region"):
        parse_steps("flip,islands")


def test_specks_removes_a_faint_ghost_far_from_the_person_as_the_page_does():
    spec = _fake_spec(200)
    rgb, face, _ = _person_with_a_hedged_shirt()
    rgb[40:70, 40:70] = 40  # a door knob the model half sees, far from the head: alpha ~0.2
    ghost = (slice(45, 65), slice(45, 65))
    kept = ServerPipeline(spec, Brightness(), ("region",), lambda _rgb: face).alpha(rgb)
    assert 0.05 < float(kept[ghost].mean()) < 0.5  # faint, below what the checks name an object
    cleaned = ServerPipeline(spec, Brightness(), ("region", "specks"), lambda _rgb: face).alpha(rgb)
    assert cleaned[ghost].max() == 0.0
    assert np.array_equal(cleaned[150:], kept[150:])  # the person untouched
