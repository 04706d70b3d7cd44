"""Connected components and morphology: labelling equals a brute-force flood fill, dilate and erode
equal their brute-force definitions."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from passbg.numeric.boxfilter import box_sum
from passbg.numeric.labels import bounding_box, dilate, erode, label


def flood_fill(mask: np.ndarray, connectivity: int) -> tuple[np.ndarray, int]:
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if connectivity == 8:
        steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    h, w = mask.shape
    labels = np.zeros((h, w), int)
    n = 0
    for y in range(h):
        for x in range(w):
            if mask[y, x] and not labels[y, x]:
                n += 1
                labels[y, x] = n
                queue = deque([(y, x)])
                while queue:
                    cy, cx = queue.popleft()
                    for dy, dx in steps:
                        ny, nx = cy + dy, cx + dx
                        if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not labels[ny, nx]:
                            labels[ny, nx] = n
                            queue.append((ny, nx))
    return labels, n


@pytest.mark.parametrize("connectivity", [4, 8])
def test_labelling_equals_brute_force_flood_fill_on_random_masks(connectivity):
    rng = np.random.default_rng(connectivity)
    for _ in range(60):
        h, w = rng.integers(1, 40, 2)
        mask = rng.random((h, w)) < rng.uniform(0.2, 0.8)
        comps = label(mask, connectivity)
        expected, n = flood_fill(mask, connectivity)
        assert comps.count == n
        assert np.array_equal(comps.labels, expected)  # same raster numbering
        assert np.array_equal(comps.areas[1:], np.bincount(expected.ravel(), minlength=n + 1)[1:])
        for k in range(1, n + 1):
            ys, xs = np.nonzero(expected == k)
            assert list(comps.bboxes[k]) == [ys.min(), xs.min(), ys.max() + 1, xs.max() + 1]


def test_labelling_follows_a_spiral():
    m = np.zeros((60, 60), bool)
    for k in range(0, 28, 4):  # nested square rings broken into one long spiral corridor
        m[k, k : 60 - k] = m[k:60 - k, 59 - k] = m[59 - k, k + 2 : 60 - k] = True
        m[k + 4 : 60 - k, k + 2] = True
    comps = label(m, 4)
    assert comps.count == flood_fill(m, 4)[1]


def test_box_filters_match_brute_force():
    rng = np.random.default_rng(3)
    m = rng.random((23, 31)) < 0.2
    r = 2
    pad = np.pad(m, r)
    brute = np.array(
        [[pad[y : y + 2 * r + 1, x : x + 2 * r + 1].sum() for x in range(31)] for y in range(23)]
    )
    assert np.array_equal(box_sum(m, r), brute)
    assert np.array_equal(dilate(m, r), brute > 0)
    eroded = erode(~m, r)
    assert np.array_equal(eroded[r:-r, r:-r], (brute == 0)[r:-r, r:-r])
    assert not eroded[:r].any() and not eroded[:, -r:].any()  # outside the image is not in the mask


def test_the_bounding_box_holds_every_true_pixel_and_no_empty_line_at_its_edges():
    mask = np.zeros((40, 50), bool)
    mask[7, 30] = mask[21, 4] = mask[33, 12] = True
    assert bounding_box(mask) == (4, 7, 31, 34)  # x0, y0, x1, y1; x1 and y1 exclusive
    assert bounding_box(np.zeros((5, 5), bool)) is None
    assert bounding_box(np.ones((5, 6), bool)) == (0, 0, 6, 5)
