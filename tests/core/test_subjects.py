"""passbg.core.subjects: nobody, one person, several people, a small person — read from the matte's shape."""

from __future__ import annotations

import numpy as np
import pytest

from passbg.core import subjects
from passbg.errors import InputError


def person(height: int, width: int, cx: float, head_top: float = 0.1, scale: float = 1.0) -> np.ndarray:
    """A head-and-shoulders silhouette (float32 alpha) centred at column fraction cx: an ellipse head
    on a wide rounded torso reaching the bottom edge."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    hy, hx = height * scale * 0.18, width * scale * 0.11
    head_cy = height * head_top + hy
    head = ((y - head_cy) / hy) ** 2 + ((x - cx * width) / hx) ** 2 <= 1.0
    shoulders_top = head_cy + hy * 0.8
    sw = width * scale * 0.3
    torso = (y >= shoulders_top + np.abs(x - cx * width) ** 2 / (2 * sw)) & (np.abs(x - cx * width) <= sw)
    return (head | torso).astype(np.float32)


def test_one_person_is_one_head_and_no_note():
    s = subjects.analyse(person(800, 640, 0.5))
    assert s.found and s.heads == 1 and s.notes() == []


def test_two_people_whose_shoulders_touch_are_two_heads():
    alpha = np.maximum(person(600, 1000, 0.3), person(600, 1000, 0.7))
    from passbg.numeric.labels import label

    assert label(alpha > 0.5).count == 1, "the silhouettes touch: one connected region"
    s = subjects.analyse(alpha)
    assert s.heads == 2 and subjects.SEVERAL_PEOPLE in s.notes()


def test_a_shorter_second_person_still_counts():
    alpha = np.maximum(person(600, 1000, 0.3), person(600, 1000, 0.72, head_top=0.35, scale=0.8))
    assert subjects.analyse(alpha).heads == 2


def test_hair_strands_on_the_outline_are_not_heads():
    alpha = person(800, 640, 0.5)
    rng = np.random.default_rng(1)
    for x in rng.integers(200, 440, 12):  # thin strands sticking up from the head
        alpha[40:90, x : x + 2] = 1.0
    assert subjects.analyse(alpha).heads == 1


def test_an_empty_or_hazy_matte_means_nobody_and_is_refused():
    haze = np.full((600, 800), 0.4, dtype=np.float32)  # what the models answer on a landscape
    for alpha in (np.zeros((600, 800), np.float32), haze):
        s = subjects.analyse(alpha)
        assert not s.found
        with pytest.raises(InputError, match="No person"):
            subjects.require_person(s)


def test_a_small_person_gets_a_note():
    alpha = np.zeros((2000, 3000), np.float32)
    alpha[1500:1800, 1400:1640] = person(300, 240, 0.5)
    s = subjects.analyse(alpha)
    assert s.found and s.heads == 1 and subjects.SMALL in s.notes()
