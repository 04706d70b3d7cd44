"""Digital files: the preset's pixel size, the highest JPEG quality within its kB limits, and plain words
when a limit cannot be met."""

import io

import numpy as np
import pytest
from PIL import Image

from passbg.passport import digital
from passbg.passport.presets import load_presets

CAT = load_presets()


def _portrait_like(w, h, seed=1):
    """Smooth gradients plus fine noise: compresses like a photo (size depends strongly on quality)."""
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    base = np.stack([200 * xx + 30, 180 * yy + 40, 120 * (xx + yy) / 2 + 60], -1)
    noise = np.random.default_rng(seed).normal(0, 12, (h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("preset_id, size", [("us-passport", (600, 600)), ("uk-passport", (600, 772)),
                                             ("in-passport", (630, 810)), ("cn-visa", (354, 515)),
                                             ("jp-passport", (600, 730))])
def test_target_pixel_size_meets_the_preset(preset_id, size):
    assert digital.target_size(CAT.get(preset_id)) == size


@pytest.mark.parametrize("max_kb", [60, 120, 240])
def test_jpeg_search_finds_the_highest_quality_under_the_limit(max_kb):
    img = _portrait_like(600, 600)
    out = digital.best_jpeg(img, (None, max_kb))
    assert out.within_limits and out.bytes <= max_kb * 1000
    if out.quality < digital.QUALITY_RANGE[1]:  # one step up would not fit: the search found the top
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=out.quality + 1, subsampling=2, optimize=True,
                                  dpi=(300, 300))
        assert buf.tell() > max_kb * 1000


def test_limit_that_cannot_be_met_is_reported():
    out = digital.best_jpeg(_portrait_like(1200, 1200), (None, 5))
    assert not out.within_limits and "lowest sensible quality" in out.message


def test_lower_limit_is_met_or_reported():
    flat = np.full((771, 600, 3), 235, np.uint8)  # a flat image compresses to a few kB
    out = digital.best_jpeg(flat, (50, 10240))
    assert not out.within_limits and "less than the 50 kB" in out.message
    busy = digital.best_jpeg(_portrait_like(600, 771), (50, 10240))
    assert busy.within_limits and busy.bytes >= 50 * 1024


def test_uk_digital_file_from_a_crop():
    uk = CAT.get("uk-passport")
    out = digital.digital_file(_portrait_like(413, 531), uk)
    assert out.size_px == (600, 772) and Image.open(io.BytesIO(out.data)).size == (600, 772)
    assert out.within_limits, out.message
