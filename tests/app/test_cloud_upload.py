"""What the page uploads for a second opinion (passbg.app.cloud.upload_jpeg / upload_size)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from passbg.app import cloud


def _photo(height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_a_phone_photo_is_sent_with_its_long_side_at_2560_px_so_the_server_sees_the_hair():
    assert cloud.upload_size((4000, 3000)) == (2560, 1920)
    sent = Image.open(io.BytesIO(cloud.upload_jpeg(_photo(4000, 3000))))
    assert sent.format == "JPEG" and sent.size == (1920, 2560)


def test_a_photo_smaller_than_that_is_sent_at_its_own_size_never_enlarged():
    assert cloud.upload_size((825, 675)) == (825, 675)
    sent = Image.open(io.BytesIO(cloud.upload_jpeg(_photo(825, 675))))
    assert sent.size == (675, 825)


def test_the_upload_is_a_fresh_jpeg_without_the_original_files_metadata():
    sent = Image.open(io.BytesIO(cloud.upload_jpeg(_photo(300, 200))))
    assert not sent.getexif() and "icc_profile" not in sent.info and "comment" not in sent.info
