"""Segmentation: model output -> alpha at photo size; real models on real portraits."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from passbg.core import matte
from passbg.core.decode import decode_image
from passbg.core.matte import postprocess
from passbg.core.models import parse_manifest
from passbg.core.preprocess import to_tensor

SPEC_JSON = {
    "models": [
        {
            "id": "toy",
            "file": "toy.onnx",
            "input": {"name": "x", "size": [8, 4], "divide_by": 255, "mean": [0.5] * 3, "std": [0.25] * 3},
            "output": {"index": 0, "postprocess": "clip"},
        },
        {
            "id": "toy-max",
            "file": "toy.onnx",
            "input": {
                "name": "x",
                "size": [8, 4],
                "divide_by": "image_max",
                "mean": [0.485, 0.456, 0.406],
                "std": [0.229, 0.224, 0.225],
            },
            "output": {"index": 0, "postprocess": "minmax"},
        },
    ]
}
TOY = parse_manifest(SPEC_JSON).get("toy")
TOY_MAX = parse_manifest(SPEC_JSON).get("toy-max")


# --- preprocessing ---------------------------------------------------------------------------------


def test_tensor_has_model_shape_layout_and_normalisation():
    rgb = np.zeros((40, 80, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 255, 0, 128
    tensor = to_tensor(rgb, TOY)
    assert tensor.dtype == np.float32 and tensor.shape == (1, 3, 4, 8) and tensor.flags.c_contiguous
    # (pixel / 255 - 0.5) / 0.25 per channel, RGB order
    assert np.allclose(tensor[0, :, 0, 0], [2.0, -2.0, (128 / 255 - 0.5) / 0.25], atol=1e-5)


def test_image_max_divides_by_the_brightest_value():
    rgb = np.full((4, 8, 3), 100, np.uint8)
    tensor = to_tensor(rgb, TOY_MAX)
    assert np.allclose(tensor[0, :, 0, 0], (1.0 - np.array([0.485, 0.456, 0.406])) / [0.229, 0.224, 0.225])


# --- postprocess -----------------------------------------------------------------------------------


def test_postprocess_output_is_float32_unit_range_at_photo_size():
    raw = np.random.default_rng(0).normal(0.5, 0.6, (1, 1, 16, 16)).astype(np.float32)
    alpha = postprocess(raw, (50, 30), TOY)
    assert alpha.dtype == np.float32 and alpha.shape == (50, 30)
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0


def test_minmax_maps_the_output_range_to_unit_range_and_constant_output_to_nothing():
    raw = np.array([[-3.0, -1.0], [1.0, 5.0]], np.float32)
    assert np.allclose(matte.normalise(raw, "minmax"), [[0, 0.25], [0.5, 1.0]])
    assert (matte.normalise(np.full((4, 4), 7.0, np.float32), "minmax") == 0).all()


def test_levels_make_near_opaque_exactly_opaque_and_near_clear_exactly_clear():
    z, i0, i1, o = matte.DEFAULT_LEVELS
    values = np.array([0.0, z / 2, z, (o + 1) / 2, o, 1.0], np.float32)
    out = matte.level_curve(values)
    assert out.dtype == np.float32
    assert list(out) == [0, 0, 0, 1, 1, 1]


def test_levels_keep_the_models_edge_profile_and_order():
    # Mid values (a soft edge's profile) pass unchanged, so the evaluation's gradient error does not rise
    # from a steepened edge; the knees between stay monotonic and continuous.
    z, i0, i1, o = matte.DEFAULT_LEVELS
    mid = np.linspace(i0, i1, 50, dtype=np.float32)
    assert np.allclose(matte.level_curve(mid), mid, atol=1e-6)
    ramp = np.linspace(0, 1, 2001, dtype=np.float32)
    out = matte.level_curve(ramp)
    assert (np.diff(out) >= 0).all() and np.abs(np.diff(out)).max() < 0.002


def test_a_manifest_override_is_a_plain_linear_stretch():
    spec = parse_manifest(
        {
            "models": [
                {
                    **SPEC_JSON["models"][0],
                    "output": {"index": 0, "postprocess": "clip", "levels": [0.1, 0.6]},
                }
            ]
        }
    ).get("toy")
    raw = np.array([[0.05, 0.35], [0.6, 0.9]], np.float32)
    assert np.allclose(postprocess(raw, (2, 2), spec), [[0.0, 0.5], [1.0, 1.0]], atol=1e-6)


def test_upsampling_is_smooth_not_blocky():
    # A hard 0 -> 1 step in a 32 px model output, upsampled 10x: a nearest-neighbour or 8-bit resize
    # would jump by 1.0 between two neighbours; a smooth one spreads the step over several pixels.
    raw = np.zeros((32, 32), np.float32)
    raw[:, 16:] = 1.0
    raw[12:20, 8:16] = np.linspace(0, 1, 8)  # a ramp, to check there are no 1/255 plateaus
    alpha = postprocess(raw, (320, 320), TOY)
    assert np.abs(np.diff(alpha[0])).max() < 0.2
    ramp_row = alpha[160, 80:160]
    assert len(np.unique(ramp_row)) > 60, "a float resize gives distinct values, not 8-bit stairs"


def test_output_of_any_leading_shape_is_accepted_but_not_wrong_sizes():
    assert postprocess(np.zeros((1, 1, 4, 4), np.float32), (8, 8), TOY).shape == (8, 8)
    with pytest.raises(ValueError):
        matte.normalise(np.zeros((2, 4, 4), np.float32), "clip")


# --- real models on real portraits ----------------------------------------------------------------


def interior_and_exterior(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels well inside the a >= 0.5 region, and well outside it (beyond 2 % of the image height)."""
    mask = Image.fromarray(((alpha >= 0.5) * 255).astype(np.uint8))
    k = max(3, alpha.shape[0] // 50 * 2 + 1)
    inner = np.asarray(mask.filter(ImageFilter.MinFilter(k))) > 0
    outer = np.asarray(mask.filter(ImageFilter.MaxFilter(k))) == 0
    return inner, outer


def plain_background_portraits(portraits_dir, portrait_tags, count: int = 3) -> list:
    names = sorted(name for name, tags in portrait_tags.items() if "plain_bg" in tags)
    picked = names[:: max(1, len(names) // count)][:count]
    return [portraits_dir / "images" / name for name in picked]


@pytest.fixture(scope="module", params=["u2netp", "isnet-quint8"])
def segmented(request, manifest, ort_backend, portraits_dir, portrait_tags):
    """[(photo rgb, alpha)] for a few plain-background portraits with one model."""
    if request.param not in manifest.models:
        pytest.skip(f"model {request.param} not built")
    spec = manifest.get(request.param)
    results = []
    for path in plain_background_portraits(portraits_dir, portrait_tags):
        image = decode_image(path.read_bytes())
        raw = ort_backend.run(spec, to_tensor(image.rgb, spec))
        assert raw.shape == tuple(reversed(spec.input.size))
        results.append((path.name, image.rgb, raw, postprocess(raw, image.rgb.shape[:2], spec)))
    return spec, results


def test_alpha_has_photo_shape_and_unit_range(segmented):
    _, results = segmented
    for name, rgb, _, alpha in results:
        assert alpha.shape == rgb.shape[:2], name
        assert alpha.dtype == np.float32 and alpha.min() >= 0 and alpha.max() <= 1, name


def test_interior_reaches_exactly_one_and_background_exactly_zero(segmented):
    spec, results = segmented
    for name, _, raw, alpha in results:
        inner, outer = interior_and_exterior(alpha)
        assert inner.mean() > 0.15 and outer.mean() > 0.15, f"{name}: person or background implausibly small"
        assert (alpha[inner] == 1.0).mean() > 0.97, name
        assert (alpha[outer] == 0.0).mean() > 0.97, name
        # The stretch is what achieves it: the model itself leaves the interior just below 1.
        model_alpha = matte.resize_alpha(matte.normalise(raw, spec.output.postprocess), alpha.shape)
        assert (model_alpha[inner] == 1.0).mean() < (alpha[inner] == 1.0).mean(), name


def test_person_region_is_plausible(segmented):
    _, results = segmented
    for name, _, _, alpha in results:
        h, w = alpha.shape
        face = alpha[int(0.25 * h) : int(0.45 * h), int(0.4 * w) : int(0.6 * w)]
        chest = alpha[int(0.85 * h) :, int(0.3 * w) : int(0.7 * w)]
        top_left = alpha[: int(0.1 * h), : int(0.1 * w)]
        top_right = alpha[: int(0.1 * h), int(0.9 * w) :]
        assert face.mean() > 0.98 and chest.mean() > 0.9, name
        assert top_left.max() < 0.05 and top_right.max() < 0.05, name


def test_edges_stay_soft(segmented):
    # Hair and shoulders must keep a gradient: the stretch is narrow, not a threshold.
    _, results = segmented
    for name, _, _, alpha in results:
        soft = ((alpha > 0.05) & (alpha < 0.95)).sum()
        assert soft > 0.2 * np.sqrt(alpha.size) * 2, f"{name}: edge band is implausibly thin"


# --- edge refinement -------------------------------------------------------------------------------


def _disc(soft: float, shift: float = 0.0, size: int = 80) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    d = np.hypot(yy - 40, xx - 40 - shift) - 22
    return np.clip(0.5 - d / soft, 0, 1).astype(np.float32)


def test_refinement_aligns_a_blurred_edge_with_the_photo_over_a_plain_background():
    truth = _disc(2.0)
    photo = np.rint(truth[..., None] * [90, 60, 40] + (1 - truth[..., None]) * 235).astype(np.uint8)
    model = _disc(6.0, shift=1.0)  # the model's edge: too soft and a pixel off
    refined = matte.refine_edges(model, photo)
    assert np.abs(refined - truth).sum() < 0.9 * np.abs(model - truth).sum()


def test_refinement_keeps_the_model_where_the_photo_does_not_explain_alpha():
    # A busy backdrop uncorrelated with the person's edge: the photo carries no information about alpha.
    model = _disc(4.0)
    noise = np.random.default_rng(3).integers(0, 256, (80, 80, 3)).astype(np.uint8)
    refined = matte.refine_edges(model, noise)
    assert np.abs(refined - model).mean() < 0.1 * np.abs(model - 0.5).mean()


def test_refinement_keeps_exact_zero_and_one_and_the_range():
    model = _disc(3.0)
    photo = np.random.default_rng(4).integers(0, 256, (80, 80, 3)).astype(np.uint8)
    refined = matte.refine_edges(model, photo)
    assert refined.dtype == np.float32 and refined.shape == model.shape
    assert 0 <= refined.min() and refined.max() <= 1
    # Pixels with no soft pixel within the filter radius keep their exact value.
    soft = Image.fromarray(((model > 0) & (model < 1)).astype(np.uint8) * 255)
    near_soft = np.asarray(soft.filter(ImageFilter.MaxFilter(2 * matte.REFINE_RADIUS + 1))) > 0
    assert np.array_equal(refined[~near_soft], model[~near_soft])
    assert (model[~near_soft] == 1.0).sum() > 500 and (model[~near_soft] == 0.0).sum() > 500


def test_refinement_in_strips_equals_the_whole_photo_at_once(monkeypatch):
    model = _disc(5.0)
    truth = _disc(2.0)
    photo = np.rint(truth[..., None] * [90, 60, 40] + (1 - truth[..., None]) * 235).astype(np.uint8)
    monkeypatch.setattr(matte, "_STRIP_ROWS", 10_000)
    whole = matte.refine_edges(model, photo)
    monkeypatch.setattr(matte, "_STRIP_ROWS", 7)  # seams every 7 rows, through the soft edge
    assert np.abs(matte.refine_edges(model, photo) - whole).max() < 1e-4


def test_refinement_of_a_small_soft_area_in_a_large_busy_photo_equals_the_filter_on_all_of_it():
    # refine_edges works only around the soft pixels; the filter run over the whole frame at once
    # (its strip function on all rows) must give the same values, up to float rounding.
    model = np.zeros((300, 400), np.float32)
    model[150:230, 170:250] = _disc(3.0)
    model[290:, :] = 1.0  # an opaque area touching the frame, no soft pixel near its top: kept exactly
    photo = np.random.default_rng(5).integers(0, 256, (300, 400, 3)).astype(np.uint8)
    r = matte.REFINE_RADIUS
    everywhere = matte._refine_strip(model, photo, r, matte.REFINE_EPS)
    assert np.abs(matte.refine_edges(model, photo) - everywhere).max() < 1e-6
