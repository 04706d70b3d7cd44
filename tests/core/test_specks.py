"""Faint specks far from the person leave the matte; the person, hair near it and objects the checks
flag keep their alpha."""

from __future__ import annotations

import numpy as np

from passbg.core import specks

H, W = 400, 300


def person() -> np.ndarray:
    """float32 (H, W): an opaque head and shoulders reaching the bottom edge, a soft rim, backdrop 0."""
    a = np.zeros((H, W), np.float32)
    yy, xx = np.mgrid[:H, :W]
    head = ((yy - 220) / 60.0) ** 2 + ((xx - 150) / 45.0) ** 2
    a[head <= 1.0] = 1.0
    a[(head > 1.0) & (head <= 1.1)] = 0.3  # the hair's soft edge, attached
    a[300:, 60:240] = 1.0
    return a


def test_a_faint_speck_far_from_the_person_is_removed():
    a = person()
    a[40:52, 20:30] = 0.2  # a door knob's ghost in the corner of the room
    out = specks.drop_faint_specks(a)
    assert out.dtype == np.float32 and out.shape == a.shape
    assert (out[40:52, 20:30] == 0.0).all()
    assert np.array_equal(out[100:], a[100:])  # the person, soft rim included, untouched


def test_the_input_is_not_changed():
    a = person()
    a[40:52, 20:30] = 0.2
    before = a.copy()
    specks.drop_faint_specks(a)
    assert np.array_equal(a, before)


def test_a_faint_wisp_close_to_the_hair_stays():
    a = person()
    a[150:153, 140:160] = 0.15  # a loose strand a few pixels above the head (its top is row 160)
    out = specks.drop_faint_specks(a)
    assert np.array_equal(out, a)


def test_a_detached_object_at_half_alpha_or_more_stays_for_the_checks_to_flag():
    a = person()
    a[40:80, 20:60] = 0.5
    assert np.array_equal(specks.drop_faint_specks(a), a)


def test_a_faint_speck_fused_with_a_strong_one_stays():
    a = person()
    a[40:80, 20:60] = 0.9  # an object the checks will name
    a[80:90, 20:30] = 0.1  # its faint tail belongs to it
    assert np.array_equal(specks.drop_faint_specks(a), a)


def test_without_a_person_nothing_is_dropped():
    a = np.zeros((H, W), np.float32)
    a[40:52, 20:30] = 0.2
    a[300:340, 200:260] = 0.3
    assert np.array_equal(specks.drop_faint_specks(a), a)


def test_the_distance_that_counts_as_near_grows_with_the_matte():
    a = person()
    a[95:100, 145:155] = 0.2  # ~57 px above the top of the head's soft rim (row ~157)
    assert (specks.drop_faint_specks(a, near_share=0.2)[95:100, 145:155] == 0.2).all()  # near: 80 px
    assert (specks.drop_faint_specks(a, near_share=0.1)[95:100, 145:155] == 0.0).all()  # near: 40 px


def test_specks_off_the_block_grid_are_removed_exactly():
    a = person()
    a[41:42, 21:23] = 0.05  # a few stray pixels, not aligned with the 4 x 4 blocks
    a[H - 1, W - 3 :] = 0.1  # and some in the corner, on a partial block
    out = specks.drop_faint_specks(a)
    assert out[41, 21:23].max() == 0.0 and out[H - 1, W - 3 :].max() == 0.0
    assert np.array_equal(out[100 : H - 1], a[100 : H - 1])
