"""Half see-through islands below the face are clothing and become opaque; real gaps, soft edges that
reach the backdrop and anything above the face keep the model's alpha."""

from __future__ import annotations

import numpy as np

from passbg.core import islands

H, W = 200, 160
CHIN = 80  # the face box's lower edge in these mattes


def person() -> np.ndarray:
    """float32 (H, W): an opaque head and torso reaching the bottom edge, backdrop 0 around it."""
    a = np.zeros((H, W), np.float32)
    yy, xx = np.mgrid[:H, :W]
    a[((yy - 50) / 40.0) ** 2 + ((xx - 80) / 30.0) ** 2 <= 1.0] = 1.0  # head
    a[90:, 20:140] = 1.0  # torso, cut by the photo's bottom edge
    a[85:90, 60:100] = 1.0  # neck
    return a


def test_a_hedged_shirt_below_the_face_becomes_opaque():
    a = person()
    a[120:170, 60:100] = 0.6  # the model unsure of a light shirt
    out = islands.fill_hedged_islands(a, CHIN)
    assert out.dtype == np.float32 and out.shape == a.shape
    assert (out[120:170, 60:100] == 1.0).all()
    assert np.array_equal(out[:120], a[:120]) and np.array_equal(out[170:], a[170:])
    assert (a[120:170, 60:100] == np.float32(0.6)).all()  # the input is left as it was


def test_a_hedged_patch_reaching_the_photo_edge_below_the_face_becomes_opaque():
    a = person()
    a[150:, 100:130] = 0.5  # a jacket fading at the bottom edge, inside the torso's outline
    assert (islands.fill_hedged_islands(a, CHIN)[150:, 100:130] == 1.0).all()


def test_a_gap_that_shows_the_backdrop_keeps_its_alpha_and_its_soft_rim():
    a = person()
    a[120:170, 60:100] = 0.5  # the soft rim ...
    a[130:160, 70:90] = 0.05  # ... of a real gap between arm and body
    out = islands.fill_hedged_islands(a, CHIN)
    assert np.array_equal(out, a)


def test_a_soft_edge_that_reaches_the_backdrop_keeps_its_alpha():
    a = person()
    a[100:, 20:40] = np.linspace(0.1, 0.85, 20, dtype=np.float32)  # a shoulder fading into the backdrop
    out = islands.fill_hedged_islands(a, CHIN)
    assert np.array_equal(out, a)


def test_islands_level_with_the_face_or_above_keep_their_alpha():
    a = person()
    a[40:60, 70:90] = 0.6  # hedged, but in the face: not clothing
    a[70:100, 30:50] = 1.0
    a[75:95, 35:45] = 0.6  # straddling the chin, mostly above it ... (mean row 85 > CHIN: filled)
    out = islands.fill_hedged_islands(a, CHIN)
    assert np.array_equal(out[40:60, 70:90], a[40:60, 70:90])
    assert (out[75:95, 35:45] == 1.0).all()
    # ... and with the chin lower, it is left alone
    assert np.array_equal(islands.fill_hedged_islands(a, 90)[75:95, 35:45], a[75:95, 35:45])


def test_specks_smaller_than_the_minimum_share_keep_their_alpha():
    a = person()
    a[150:153, 80:83] = 0.6  # 9 px of 32000: below MIN_SHARE
    assert 9 < islands.MIN_SHARE * a.size
    out = islands.fill_hedged_islands(a, CHIN)
    assert np.array_equal(out, a)


def test_an_opaque_or_empty_matte_comes_back_unchanged():
    ones = np.ones((H, W), np.float32)
    zeros = np.zeros((H, W), np.float32)
    assert np.array_equal(islands.fill_hedged_islands(ones, CHIN), ones)
    assert np.array_equal(islands.fill_hedged_islands(zeros, CHIN), zeros)
