"""Loose framing and the room scene: the truth moves with the person exactly, the room's objects stand
beside the person and never cover them, and the evaluation reports each framing apart."""

from __future__ import annotations

import json

import numpy as np
import pytest

from passbg_dev import eval as ev
from passbg_dev import scenes


def portrait_truth(h=90, w=60):
    """A person-like truth: a soft head disc above shoulders that leave the frame at the bottom."""
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    head = np.clip(0.5 - (np.hypot(yy - 0.35 * h, xx - w / 2) - 0.2 * w) / 2.0, 0, 1)
    body = ((yy > 0.6 * h) & (np.abs(xx - w / 2) < 0.4 * w)).astype(np.float32)
    alpha = np.maximum(head, body).astype(np.float32)
    fg = np.zeros((h, w, 3), np.float32) + np.array([0.8, 0.6, 0.5], np.float32)
    return alpha, fg


def test_loose_framing_puts_the_same_pixels_at_the_bottom_middle_of_a_3x_canvas():
    alpha, fg = portrait_truth()
    a, f, p = scenes.frame_loose(alpha, fg)
    assert a.shape == (270, 180) and f.shape == (270, 180, 3)
    assert (p.top, p.left, p.h, p.w) == (180, 60, 90, 60)
    np.testing.assert_array_equal(a[p.top :, p.left : p.left + p.w], alpha)
    np.testing.assert_array_equal(f[p.top :, p.left : p.left + p.w], fg)
    assert a.sum() == pytest.approx(alpha.sum())  # nothing else on the canvas has alpha
    assert a[-1].any()  # the shoulders still leave the frame at the bottom


def test_room_composite_has_salient_objects_beside_the_person_but_never_over_them():
    alpha, fg = portrait_truth(180, 120)
    img, a, p = scenes.room_composite(alpha, fg, seed=3)
    assert img.dtype == np.uint8 and img.shape == (*a.shape, 3)
    # Where the truth is opaque the picture is the foreground exactly: no object drawn over the person.
    inside = a > 0.999
    assert inside.any() and (img[inside] == np.rint(fg[0, 0] * 255).astype(np.uint8)).all()
    # Beside the person (left and right thirds, below the ceiling) there are strong edges: a door frame
    # and a cabinet, not a plain wall.
    grey = img.astype(np.float32).mean(axis=2)
    for side in (grey[p.top - p.h :, : p.left], grey[p.top - p.h :, p.left + p.w :]):
        edges = np.abs(np.diff(side, axis=1)) > 40
        assert edges.mean() > 0.002, "no salient object beside the person"
    # Deterministic for a seed, different for another.
    again, _, _ = scenes.room_composite(alpha, fg, seed=3)
    other, _, _ = scenes.room_composite(alpha, fg, seed=4)
    assert np.array_equal(img, again) and not np.array_equal(img, other)


def test_framings_keep_the_tight_composites_unchanged_and_move_every_background_kind():
    alpha, fg = portrait_truth()
    for kind in (*ev.BACKGROUND_KINDS, *ev.EXTRA_KINDS):
        a, f = ev.framed("loose", alpha, fg)
        bg = ev.make_background(kind, None, a, f, 7)
        assert bg.shape == (*a.shape, 3) and 0 <= bg.min() and bg.max() <= 255
    assert ev.framed("tight", alpha, fg)[0] is alpha
    with pytest.raises(ValueError):
        ev.framed("sideways", alpha, fg)


@pytest.mark.slow
def test_eval_reports_tight_and_loose_apart(portraits_dir, models_dir, manifest, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    if "u2netp" not in manifest.ids():
        pytest.skip("u2netp not built")
    out = tmp_path / "report.json"
    args = ["--photos", "1", "--backgrounds", "white,room", "--models", "u2netp", "--truth-model", "u2netp"]
    args += ["--portraits", str(portraits_dir), "--models-dir", str(models_dir), "--no-real"]
    args += ["--cache", str(tmp_path / "c"), "--framing", "tight,loose", "--out", str(out)]
    assert ev.main(args) == 0
    printed = capsys.readouterr().out
    assert "== u2netp ==" in printed and "== u2netp · loose ==" in printed
    assert "white tight" in printed and "white loose" in printed and "room loose" in printed
    report = json.loads(out.read_text())
    rows = report["rows"]
    assert {r["framing"] for r in rows} == {"tight", "loose"}
    assert len(rows) == 2 * 2 * 2  # framings x backgrounds x (raw, ours)
    table = report["summary"]["sad_by_framing"]["u2netp"]
    # The same model on the same person: loose framing, with 8x more background to get wrong, is not
    # better than tight on white.
    assert table["white loose"] >= table["white tight"] * 0.9
    assert ev.main(["--framing", "sideways"]) == 2


def test_a_portrait_whose_loose_canvas_passes_the_working_size_is_shrunk_first_and_a_small_one_is_not():
    rng = np.random.default_rng(1)
    big = (rng.integers(0, 256, (1000, 800, 3), dtype=np.uint8), np.full((1000, 800), 0.5, np.float32),
           np.full((1000, 800, 3), 0.25, np.float32))  # fmt: skip
    rgb, alpha, fg = scenes.fit_for_loose(*big, max_side=2560)
    canvas, _ = scenes.loose_placement(alpha.shape)
    assert max(canvas) <= 2560 and max(canvas) >= 2560 - scenes.LOOSE_SCALE  # as large as fits
    assert rgb.shape[:2] == alpha.shape == fg.shape[:2] and rgb.dtype == np.uint8
    assert np.allclose(alpha, 0.5, atol=1e-4) and np.allclose(fg, 0.25, atol=1e-4)  # values kept
    small = tuple(x[:300, :240] for x in big)
    assert all(a is b for a, b in zip(scenes.fit_for_loose(*small, max_side=2560), small, strict=True))
