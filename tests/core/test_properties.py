"""Properties of the numpy core that must hold for ANY input (hypothesis): any size from 1 x 1, any alpha,
any model output including NaN and infinities. Outputs are finite, of the right shape and range; and
compositing is idempotent where alpha is exactly 0 or 1 (putting a result back through foreground
estimation and compositing changes nothing)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from passbg.core import composite as comp
from passbg.core import foreground, subjects
from passbg.core.decode import decode_image
from passbg.core.matte import postprocess
from passbg.core.models import parse_manifest
from passbg.core.preprocess import to_tensor
from passbg.errors import InputError

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
sides = st.integers(min_value=1, max_value=48)
unit = st.floats(min_value=0.0, max_value=1.0, width=32)
colours = st.tuples(*[st.integers(0, 255)] * 3)


@st.composite
def photo_and_alpha(draw, binary: bool = False):
    """uint8 (H, W, 3) and float32 (H, W) alpha in [0, 1] (only 0 and 1 when binary)."""
    h, w = draw(sides), draw(sides)
    rgb = draw(arrays(np.uint8, (h, w, 3)))
    elements = st.sampled_from([0.0, 1.0]) if binary else unit
    alpha = draw(arrays(np.float32, (h, w), elements=elements))
    return rgb, alpha


def spec(postprocess_method: str, divide_by="image_max"):
    entry = {
        "id": "m", "title": "m", "file": "m.onnx",
        "input": {"name": "input", "size": [32, 24], "resize": "bilinear", "divide_by": divide_by,
                  "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
        "output": {"index": 0, "postprocess": postprocess_method},
    }
    return parse_manifest({"models": [entry]}).get("m")


@SETTINGS
@given(photo_and_alpha())
def test_foreground_is_finite_in_range_and_exact_where_opaque(data):
    rgb, alpha = data
    fg = foreground.estimate_foreground(rgb, alpha)
    assert fg.shape == rgb.shape and fg.dtype == np.float32
    assert np.isfinite(fg).all() and fg.min() >= 0.0 and fg.max() <= 1.0
    opaque = alpha >= 1.0
    np.testing.assert_allclose(fg[opaque], rgb[opaque] / 255.0, rtol=0, atol=1e-6)


@SETTINGS
@given(photo_and_alpha(), colours)
def test_composite_and_cutout_have_the_right_shape_and_exact_ends(data, bg):
    rgb, alpha = data
    fg = foreground.estimate_foreground(rgb, alpha)
    out = comp.composite(fg, alpha, bg)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert (out[alpha == 0.0] == np.array(bg, np.uint8)).all(), "alpha 0 is the background exactly"
    assert (out[alpha == 1.0] == rgb[alpha == 1.0]).all(), "alpha 1 is the photo exactly"
    cut = comp.cutout_rgba(fg, alpha)
    assert cut.shape == rgb.shape[:2] + (4,) and cut.dtype == np.uint8
    np.testing.assert_array_equal(cut[..., 3], np.rint(alpha * 255).astype(np.uint8))


@SETTINGS
@given(photo_and_alpha(binary=True), colours)
def test_compositing_is_idempotent_for_alpha_0_and_1(data, bg):
    rgb, alpha = data
    once = comp.composite(foreground.estimate_foreground(rgb, alpha), alpha, bg)
    twice = comp.composite(foreground.estimate_foreground(once, alpha), alpha, bg)
    np.testing.assert_array_equal(twice, once)


@SETTINGS
@given(
    arrays(np.float32, st.tuples(st.integers(1, 40), st.integers(1, 40)),
           elements=st.floats(allow_nan=True, allow_infinity=True, width=32)),
    st.tuples(st.integers(1, 64), st.integers(1, 64)),
    st.sampled_from(["clip", "minmax"]),
)
def test_any_model_output_becomes_a_finite_alpha_of_the_photo_size(raw, out_hw, method):
    alpha = postprocess(raw[None, None], out_hw, spec(method))
    assert alpha.shape == out_hw and alpha.dtype == np.float32
    assert np.isfinite(alpha).all() and alpha.min() >= 0.0 and alpha.max() <= 1.0


@SETTINGS
@given(arrays(np.uint8, st.tuples(sides, sides, st.just(3))), st.sampled_from(["image_max", 255]))
def test_any_photo_becomes_a_finite_tensor_of_the_model_size(rgb, divide_by):
    tensor = to_tensor(rgb, spec("clip", divide_by))
    assert tensor.shape == (1, 3, 24, 32) and tensor.dtype == np.float32
    assert np.isfinite(tensor).all()


@SETTINGS
@given(arrays(np.float32, st.tuples(sides, sides), elements=unit))
def test_subject_analysis_accepts_any_matte(alpha):
    s = subjects.analyse(alpha)
    assert 0.0 <= s.solid_fraction <= 1.0 and 0.0 <= s.height_fraction <= 1.0 and s.heads >= 0
    assert all(isinstance(n, str) and n for n in s.notes())


def _seed_files() -> list[bytes]:
    rng = np.random.default_rng(0)
    im = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    out = []
    for fmt in ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF"):
        buf = io.BytesIO()
        im.save(buf, fmt)
        out.append(buf.getvalue())
    return out


SEEDS = _seed_files()


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
       st.integers(0, 10_000))
def test_damaged_files_give_an_image_or_an_input_error_never_anything_else(seed, flips, cut):
    data = bytearray(seed)
    for pos, value in flips:
        data[pos % len(data)] = value
    data = bytes(data[: max(1, len(data) - cut)]) if cut % 3 == 0 else bytes(data)
    try:
        image = decode_image(data)
    except InputError as err:
        assert str(err).strip(), "the message is never empty"
        return
    assert image.rgb.dtype == np.uint8 and image.rgb.ndim == 3 and image.rgb.shape[2] == 3


@pytest.mark.parametrize(
    "data", [b"", b"\0", b"\xff\xd8", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\0\0\0\0WEBP"]
)
def test_bare_signatures_are_input_errors(data: bytes):
    with pytest.raises(InputError):
        decode_image(data)
