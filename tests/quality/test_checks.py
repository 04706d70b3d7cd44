"""Quality checks: each one on small synthetic portraits that must pass it and ones that must fail it."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from passbg.quality import checks

H, W = 240, 200
PERSON = np.array([200, 150, 120], np.float32)
OLD_BG = np.array([40, 80, 200], np.float32)
WHITE = (255, 255, 255)


def signed_distance(head_r=(45, 36), body_r=(150, 95)) -> np.ndarray:
    """Approximate signed distance (px, negative inside) to a head ellipse over a body ellipse that
    runs off the bottom edge: a passport-style silhouette."""
    yy, xx = np.mgrid[:H, :W].astype(np.float32)

    def ellipse(cy, cx, ry, rx):
        return (np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) - 1.0) * min(ry, rx)

    head = ellipse(80, W / 2, *head_r)
    body = ellipse(H + 30, W / 2, *body_r)
    return np.minimum(head, body)


def soft_alpha(d: np.ndarray, width: float | np.ndarray = 2.0) -> np.ndarray:
    return np.clip(0.5 - d / width, 0.0, 1.0).astype(np.float32)


def hair_width(top: float = 5.0, rest: float = 2.0) -> np.ndarray:
    """Edge width per pixel: softer over the top of the head (hair) than on the shoulders."""
    return np.where(np.mgrid[:H, :W][0] < 90, top, rest)


def portrait(alpha: np.ndarray, fg=PERSON, old_bg=OLD_BG, target=WHITE):
    """(original, alpha, composite) with the composite made properly from the true foreground."""
    a = alpha[..., None]
    original = np.round(a * fg + (1 - a) * old_bg).astype(np.uint8)
    composite = np.round(a * fg + (1 - a) * np.array(target, np.float32)).astype(np.uint8)
    return original, alpha, composite


def run(original, alpha, composite, target=WHITE) -> dict[str, checks.CheckResult]:
    return {r.id: r for r in checks.run_checks(original, alpha, composite, target)}


@pytest.fixture(scope="module")
def good():
    return portrait(soft_alpha(signed_distance(), hair_width()))


@pytest.fixture(scope="module")
def good_results(good):
    return run(*good)


def test_a_clean_soft_portrait_passes_every_check(good_results):
    failed = {k: (r.value, r.reason) for k, r in good_results.items() if not r.passed}
    assert not failed
    report = checks.score(list(good_results.values()))
    assert report.score >= checks.default_config()["cloud_below"]
    assert not report.second_opinion
    assert report.reasons == []


def test_every_result_states_value_threshold_and_a_sentence(good_results):
    for r in good_results.values():
        assert np.isfinite(r.value) and np.isfinite(r.threshold)
        assert r.reason.endswith(".") and len(r.reason.split()) >= 4


# --- halo ------------------------------------------------------------------------------------------


def test_halo_fails_with_a_ring_of_the_old_background(good):
    original, alpha, composite = good
    d = signed_distance()
    ring = (d > 0.5) & (d <= 2.5)  # 2 px just outside the outline still showing the old blue
    fringed = composite.copy()
    fringed[ring] = OLD_BG.astype(np.uint8)
    res = run(original, alpha, fringed)
    assert not res["halo_old_background"].passed
    where = res["halo_old_background"].where
    assert where is not None and where[ring].mean() > 0.3
    assert not res["halo_delta_e"].passed
    assert "fringe" in res["halo_old_background"].reason


def test_halo_ignores_wisps_of_the_person_colour():
    # Soft hair-like wisps: person colour blended with the NEW background is not a fringe of the old one.
    alpha = soft_alpha(signed_distance(), width=6.0)
    res = run(*portrait(alpha))
    assert res["halo_old_background"].passed


def test_halo_fails_when_edge_colours_are_not_decontaminated():
    # The classic grey fringe: the composite takes the ORIGINAL pixel colour at the soft edge.
    alpha = soft_alpha(signed_distance(), width=6.0)
    original, _, _ = portrait(alpha)
    # Make the model's alpha spread one px further than the truth, as models do.
    spread = soft_alpha(signed_distance() - 2.0, width=6.0)[..., None]
    contaminated = np.round(spread * original + (1 - spread) * 255.0).astype(np.uint8)
    res = run(original, spread[..., 0], contaminated)
    assert not res["halo_old_background"].passed


def test_halo_cannot_see_a_fringe_when_the_old_background_is_the_target():
    alpha = soft_alpha(signed_distance(), hair_width())
    original, _, composite = portrait(alpha, old_bg=np.array([250, 250, 250], np.float32))
    assert run(original, alpha, composite)["halo_old_background"].passed


# --- edges -----------------------------------------------------------------------------------------


def blocky_alpha(factor: int = 5) -> np.ndarray:
    """The silhouette computed at 1/factor resolution, thresholded, and enlarged by repeating pixels."""
    small = signed_distance()[::factor, ::factor] <= 0
    return np.repeat(np.repeat(small, factor, 0), factor, 1)[:H, :W].astype(np.float32)


def test_blocky_upsampled_mask_fails_stair_steps_and_blocky(good_results):
    alpha = blocky_alpha(4)
    res = run(*portrait(alpha))
    assert not res["stair_steps"].passed
    assert res["stair_steps"].details["steps_per_100px"] > 0
    assert not res["blocky_upsampling"].passed
    assert res["blocky_upsampling"].details["period_px"] == pytest.approx(4.0, abs=0.1)
    assert good_results["stair_steps"].passed and good_results["blocky_upsampling"].passed


def test_hard_but_fine_mask_fails_stair_steps_only():
    alpha = (signed_distance() <= 0).astype(np.float32)
    res = run(*portrait(alpha))
    assert not res["stair_steps"].passed
    assert res["blocky_upsampling"].passed


def test_smoothly_enlarged_small_mask_is_not_blocky():
    small = soft_alpha(signed_distance()[::5, ::5], width=1.0)
    alpha = np.asarray(Image.fromarray(small, "F").resize((W, H), Image.BILINEAR), np.float32)
    res = run(*portrait(np.clip(alpha, 0, 1)))
    assert res["blocky_upsampling"].passed
    assert res["stair_steps"].passed


def test_hair_helmet_informs_when_hair_is_as_hard_as_the_shoulders():
    d = signed_distance()
    soft_top = run(*portrait(soft_alpha(d, hair_width(8.0, 1.5))))  # soft hair on top, crisp shoulders
    helmet = run(*portrait(soft_alpha(d, 1.5)))
    assert soft_top["hair_helmet"].passed and soft_top["hair_helmet"].value >= 1.5
    assert not helmet["hair_helmet"].passed
    weight = checks.default_config()["checks"]["hair_helmet"]["weight"]
    assert weight <= 0.15  # informative, not harsh


# --- holes, strays, shoulders ------------------------------------------------------------------------


def test_hole_in_the_lens_fails_holes(good):
    original, alpha, _ = good
    holed = alpha.copy()
    holed[70:80, 80:92] = 0.0  # a 120 px see-through spot where a spectacle lens would be
    res = run(*portrait(holed))
    assert not res["holes"].passed
    assert res["holes"].where[75, 85]
    assert "hole" in res["holes"].reason


def test_tiny_hole_and_hole_below_the_shoulders_pass_holes():
    alpha = soft_alpha(signed_distance(), hair_width())
    alpha[76:78, 84:86] = 0.0  # 4 px: below 0.05 % of the image
    alpha[225:235, 60:75] = 0.0  # gap below the shoulder line (e.g. between arm and body)
    assert run(*portrait(alpha))["holes"].passed


def test_half_transparent_face_fails_interior_transparency():
    alpha = soft_alpha(signed_distance(), hair_width())
    alpha[60:100, 80:120] = 0.6
    res = run(*portrait(alpha))
    assert not res["interior_transparency"].passed
    assert res["holes"].passed  # still opaque enough to count as person


def test_grey_mist_of_hair_fails_see_through_veil(good_results):
    # The top of the head turned into a wide half see-through haze (the U2-Net-p failure): the outline
    # itself may be fine, so only the alpha's shape tells.
    d = signed_distance()
    alpha = soft_alpha(d, hair_width())
    mist = (d > 0) & (d < 30) & (np.mgrid[:H, :W][0] < 90)
    alpha[mist] = np.maximum(alpha[mist], 0.4)
    res = run(*portrait(alpha))
    assert not res["see_through_veil"].passed
    assert res["see_through_veil"].where[20, 100] and not res["see_through_veil"].where[200, 100]
    assert "half see-through" in res["see_through_veil"].reason
    assert good_results["see_through_veil"].passed


def test_soft_hair_and_thin_wisps_pass_see_through_veil():
    # A soft hair edge (8 px ramp over the head) and single-pixel wisps at a = 0.5 sticking out of it
    # are what real hair looks like: half see-through, but hugging the outline.
    d = signed_distance()
    alpha = soft_alpha(d, hair_width(top=8.0))
    for x in range(70, 131, 6):
        alpha[20:38, x] = np.maximum(alpha[20:38, x], 0.5)
    res = run(*portrait(alpha))
    assert res["see_through_veil"].passed, res["see_through_veil"].value


def test_stray_blob_fails_strays(good_results):
    alpha = soft_alpha(signed_distance(), hair_width())
    alpha[10:30, 5:25] = 1.0  # a chair corner, not connected to the person
    res = run(*portrait(alpha))
    assert not res["strays"].passed
    assert res["strays"].where[20, 15] and not res["strays"].where[80, 100]
    assert good_results["strays"].passed


def test_dropped_shoulders_fail_cut_off_shoulders(good_results):
    d = signed_distance()
    yy = np.mgrid[:H, :W][0]
    alpha = soft_alpha(np.where(yy > 150, np.maximum(d, np.abs(np.mgrid[:H, :W][1] - W / 2) - 18), d))
    res = run(*portrait(alpha))  # head and a neck-wide strip only: the dark suit went missing
    assert not res["cut_off_shoulders"].passed
    assert good_results["cut_off_shoulders"].passed


def _dark_suit_photo() -> tuple[np.ndarray, np.ndarray]:
    """(original, true alpha): a face over a dark suit, in front of a dark wall that differs from the suit
    by a clear but small colour step (about 17 CIEDE2000)."""
    d = signed_distance()
    alpha = soft_alpha(d)
    yy = np.mgrid[:H, :W][0]
    fg = np.where((yy > 140)[..., None], np.array([28, 28, 34], np.float32), PERSON)
    wall = np.array([62, 52, 44], np.float32)
    a = alpha[..., None]
    return np.round(a * fg + (1 - a) * wall).astype(np.uint8), alpha


def test_a_shoulder_cut_through_the_suit_fails_outline_without_edge():
    original, alpha = _dark_suit_photo()
    xx = np.mgrid[:H, :W][1]
    cut = alpha.copy()
    cut[(np.mgrid[:H, :W][0] > 150) & (xx > W / 2 + 30)] = 0.0  # the right shoulder went with the wall
    composite = np.round(cut[..., None] * original + (1 - cut[..., None]) * 255).astype(np.uint8)
    res = run(original, cut, composite)["outline_without_edge"]
    assert not res.passed, res.value
    assert res.where[200, int(W / 2 + 30)] and not res.where[200, 10]
    assert "no edge" in res.reason


def test_an_outline_on_the_suits_true_edge_passes_outline_without_edge(good_results):
    original, alpha = _dark_suit_photo()
    composite = np.round(alpha[..., None] * original + (1 - alpha[..., None]) * 255).astype(np.uint8)
    res = run(original, alpha, composite)["outline_without_edge"]
    assert res.passed, res.value
    assert good_results["outline_without_edge"].passed


def test_an_outline_smeared_over_many_pixels_fails_blurred_outline(good_results):
    # A low-resolution model's edge: the whole outline fades over ~12 px (the soft portrait: 2-5 px).
    res = run(*portrait(soft_alpha(signed_distance(), 12.0)))["blurred_outline"]
    assert not res.passed and res.value > 5, res.value
    assert res.where[80, 100 - 36] and not res.where[80, 100]  # on the side of the head, not the face
    assert good_results["blurred_outline"].passed


def test_a_smeared_outline_is_not_also_called_a_helmet():
    # Hair as soft as the shoulders but 12 px wide: the problem is blur, not cut-off hair.
    res = run(*portrait(soft_alpha(signed_distance(), 12.0)))
    assert not res["blurred_outline"].passed and res["hair_helmet"].passed


def test_soft_hair_over_a_sharp_outline_passes_blurred_outline():
    assert run(*portrait(soft_alpha(signed_distance(), hair_width(top=4.0))))["blurred_outline"].passed



def test_hair_against_a_backdrop_of_its_own_colour_fails_hair_contrast(good_results):
    # Dark hair against a dark wall: the cut at the head separates two nearly equal colours.
    res = run(*portrait(soft_alpha(signed_distance(), hair_width()), fg=PERSON, old_bg=PERSON + 3))
    assert not res["hair_contrast"].passed and res["hair_contrast"].value < 3, res["hair_contrast"].value
    assert res["hair_contrast"].where[80 - 45, 100] and not res["hair_contrast"].where[200, 100]
    assert "close in colour" in res["hair_contrast"].reason
    assert good_results["hair_contrast"].passed and good_results["hair_contrast"].value > 30


def test_a_near_black_wall_behind_the_head_fails_backdrop_lightness_and_a_light_one_passes(good_results):
    alpha = soft_alpha(signed_distance(), hair_width())
    res = run(*portrait(alpha, old_bg=np.array([14, 14, 18], np.float32)))
    dark = res["backdrop_lightness"]
    assert not dark.passed and dark.value < 8, dark.value
    assert dark.where[80 - 45, 100] and not dark.where[200, 100]  # the top of the head, not the shoulders
    assert "dark" in dark.reason and "200 %" in dark.reason
    # Hair contrast alone does not see it: the skin-coloured person stands out from the black wall.
    assert res["hair_contrast"].passed
    light = run(*portrait(alpha, old_bg=np.array([225, 225, 220], np.float32)))["backdrop_lightness"]
    assert light.passed and light.value > 85
    assert good_results["backdrop_lightness"].passed


def test_head_touching_the_side_fails_touches_sides(good_results):
    alpha = soft_alpha(signed_distance(head_r=(45, 110)))
    res = run(*portrait(alpha))
    assert not res["touches_sides"].passed
    assert good_results["touches_sides"].passed


# --- background ---------------------------------------------------------------------------------------


def test_textured_background_fails_uniformity_and_colour(good):
    original, alpha, composite = good
    rng = np.random.default_rng(1)
    noisy = composite.astype(np.float32)
    bg = alpha < 0.01
    noisy[bg] -= rng.uniform(0, 60, size=(int(bg.sum()), 1))
    res = run(original, alpha, np.clip(noisy, 0, 255).astype(np.uint8))
    assert not res["background_uniformity"].passed
    assert not res["background_colour"].passed
    assert res["background_uniformity"].value < 95


def test_flat_target_background_passes_uniformity_and_colour(good_results):
    assert good_results["background_uniformity"].value == 100
    assert good_results["background_colour"].value < 1.0


def test_speckle_of_old_background_fails_background_colour(good):
    original, alpha, composite = good
    spotted = composite.copy()
    spotted[10:30, 5:25] = (180, 180, 190)  # a grey blotch (1.5 % of the background) kept in the corner
    res = run(original, alpha, spotted)
    assert not res["background_colour"].passed
    assert res["background_colour"].where[20, 15]


# --- cast shadow --------------------------------------------------------------------------------------


def test_kept_cast_shadow_fails_and_a_left_out_one_passes():
    d = signed_distance()
    xx = np.mgrid[:H, :W][1]
    alpha = soft_alpha(d)
    shadow = (d > 6) & (d < 30) & (xx > W / 2)  # on the wall to the person's right
    original, _, _ = portrait(alpha, old_bg=np.array([225, 225, 225], np.float32))
    original = original.astype(np.float32)
    original[shadow] *= 0.6
    original = original.astype(np.uint8)
    clean = run(original, alpha, portrait(alpha)[2])
    assert clean["cast_shadow"].passed
    assert clean["cast_shadow"].details["shadow_share"] > 0.2

    kept = alpha.copy()
    kept[shadow] = 0.3  # the model half-kept the shadow: a grey smudge on the new background
    res = run(original, kept, portrait(kept)[2])
    assert not res["cast_shadow"].passed


# --- score --------------------------------------------------------------------------------------------


def test_score_ranks_bad_cut_outs_below_good_ones(good_results):
    good_score = checks.score(list(good_results.values())).score
    blocky = checks.assess(*portrait(blocky_alpha(4)), WHITE)
    alpha = soft_alpha(signed_distance(), hair_width())
    alpha[70:80, 80:92] = 0.0
    alpha[10:30, 5:25] = 1.0
    holed = checks.assess(*portrait(alpha), WHITE)
    assert blocky.score < good_score and holed.score < good_score
    assert holed.second_opinion
    assert any("hole" in r for r in holed.reasons)
    assert any("apart from the person" in r for r in holed.reasons)


def test_no_person_gives_a_single_failing_result():
    empty = np.zeros((H, W), np.float32)
    results = checks.run_checks(*portrait(empty), WHITE)
    assert [r.id for r in results] == ["person"] and not results[0].passed
    assert checks.score(results).score == 0


def test_mismatched_shapes_are_refused():
    original, alpha, composite = portrait(soft_alpha(signed_distance(), hair_width()))
    with pytest.raises(ValueError):
        checks.run_checks(original, alpha[:-1], composite, WHITE)


def test_large_photo_is_checked_at_bounded_resolution():
    scale = 6
    d = np.asarray(Image.fromarray(signed_distance()).resize((W * scale, H * scale), Image.BILINEAR)) * scale
    original, alpha, composite = portrait(soft_alpha(d, width=3.0))
    scene = checks.make_scene(original, alpha, composite, WHITE)
    assert max(scene.mask.shape) <= checks.default_config()["working_long_side"]
    assert scene.alpha_edge.shape == alpha.shape  # edges judged at native resolution
    report = checks.assess(original, alpha, composite, WHITE)
    assert report.score >= checks.default_config()["cloud_below"]


def _loose(original, alpha, composite, target=WHITE, scale=3):
    """The same pixels at the bottom middle of a canvas `scale` times larger (a phone photo's framing);
    around them the old background in the original and the target in the composite."""
    h, w = alpha.shape
    canvas = lambda fill, shape: np.broadcast_to(np.asarray(fill, np.float32), shape).astype(np.uint8).copy()  # noqa: E731
    big = (canvas(OLD_BG, (h * scale, w * scale, 3)), np.zeros((h * scale, w * scale), np.float32),
           canvas(target, (h * scale, w * scale, 3)))  # fmt: skip
    top, left = h * scale - h, (w * scale - w) // 2
    for dst, src in zip(big, (original, alpha, composite), strict=True):
        dst[top : top + h, left : left + w] = src
    return big


def _ringed(size=(720, 600)):
    """A portrait of `size` px whose composite keeps a 3 px ring of the old blue outside the outline."""
    h, w = size
    d = np.asarray(Image.fromarray(signed_distance()).resize((w, h), Image.BILINEAR)) * (h / H)
    alpha = soft_alpha(d, np.asarray(Image.fromarray(hair_width().astype(np.float32)).resize((w, h))) * 3)
    original, alpha, composite = portrait(alpha)
    composite[(d > 0.5) & (d <= 3.5)] = OLD_BG.astype(np.uint8)
    return original, alpha, composite


def test_a_person_small_in_the_frame_is_scored_as_such_and_one_filling_it_is_not():
    # The score takes checks.json's 'small_in_frame' weights and scale for the first (score.for_framing).
    tight = checks.assess(*_ringed(), WHITE)
    loose = checks.assess(*_loose(*_ringed()), WHITE)
    assert loose.small_in_frame and not tight.small_in_frame


def test_a_halo_reads_the_same_when_the_person_is_small_in_a_large_frame():
    # A 720x600 portrait with a 3 px ring of the old blue, alone and in a 2160x1800 frame: the outline
    # checks look at the person's box with their working pixels, so the fringe does not shrink away.
    tight = run(*_ringed())["halo_delta_e"]
    loose = run(*_loose(*_ringed()))["halo_delta_e"]
    assert not tight.passed and not loose.passed
    assert loose.value > 0.93 * tight.value  # at the frame's 1024 px it read 0.87 of it


def test_outline_checks_look_at_the_box_of_a_person_small_in_the_frame_and_frame_checks_at_the_frame():
    from passbg.quality.scene import outline_view

    cfg = checks.default_config()
    original, alpha, composite = _ringed()
    assert outline_view(alpha, cfg) is None  # the person fills the frame: everything on the whole frame
    assert outline_view(np.zeros((50, 40), np.float32), cfg) is None  # no person
    big = _loose(original, alpha, composite)
    view = outline_view(big[1], cfg)
    # The person's box (bottom middle third) plus a margin, with the pixels the frame's long side would
    # have had if the person filled it, capped at edge_long_side over the frame.
    ys, xs = np.nonzero(big[1] >= 0.5)
    scale = cfg["edge_long_side"] / 2160  # working px per photo px
    margin = 64 / scale  # what the outline checks look outside the outline, and more
    assert view is not None and view.bottom == 2160  # the body runs off the bottom of the photo
    assert view.top <= ys.min() - margin
    assert view.left <= xs.min() - margin and view.right >= xs.max() + margin
    assert (view.bottom - view.top) * (view.right - view.left) < 2160 * 1800 / 6  # not the room
    assert view.long_side == round(max(view.bottom - view.top, view.right - view.left) * scale)
    # A chair in the room's top-left corner is far outside that box; the frame checks still see it.
    chair = [x.copy() for x in big]
    chair[1][100:180, 100:180] = 1.0
    res = run(*chair)
    assert not res["strays"].passed and res["strays"].where[60, 60]  # on the frame's 1024 grid
    assert not res["halo_delta_e"].passed
    # The outline checks' `where` is on the same grid as every other check's, at the person's place.
    where = res["halo_delta_e"].where
    assert where.shape == res["strays"].where.shape
    ys, xs = np.nonzero(where)
    assert ys.min() > 1024 * 2 / 3 - 30 and 1024 * 600 / 2160 - 10 < xs.mean() < 1024 * 1200 / 2160 + 10


def test_a_hole_in_a_lens_reads_the_same_when_the_person_is_small_in_a_large_frame():
    original, alpha, _ = _ringed()
    alpha = alpha.copy()
    alpha[210:240, 240:276] = 0.0  # the lens hole of test_hole_in_the_lens_fails_holes, at 3x
    tight = run(*portrait(alpha))["holes"]
    loose = run(*_loose(*portrait(alpha)))["holes"]
    assert not tight.passed and not loose.passed  # in the whole 3x frame it was a ninth of the share
    assert 0.5 * tight.value < loose.value < 2 * tight.value
