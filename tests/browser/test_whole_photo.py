"""The page's face-first region on a phone-like photo: a person standing in a room comes out alone, and
"Whole photo" gives the whole-frame path back (which, on this scene, keeps some of the room)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import FINISHED_STATES, browser_alpha, open_app, process_photo, wait_for_status
from passbg_dev import eval as ev
from passbg_dev import evalmetrics as em
from passbg_dev import scenes


@pytest.fixture(scope="module")
def room_photo(manifest, ort_backend, portraits_dir, tmp_path_factory):
    """usc_K000400 standing in a room (door frame, bookcase, a picture), at the bottom middle of a 3x
    canvas: the PNG, its truth alpha and the person's placement (as tests/passport's CPython test)."""
    work = tmp_path_factory.mktemp("room")
    spec = manifest.get("isnet-fp16")
    _, alpha, fg = ev.truth_for(portraits_dir / "images" / "usc_K000400.jpg", spec, ort_backend, work)
    img, truth, placement = scenes.room_composite(alpha, fg, seed=1)
    path = work / "person-in-a-room.png"
    Image.fromarray(img).save(path)
    return path, truth, placement


def _check(meta: dict, check_id: str) -> dict:
    return next(c for c in meta["quality"]["checks"] if c["id"] == check_id)


def test_a_person_in_a_room_comes_out_alone_and_whole_photo_keeps_the_old_path(
    page, site_url, room_photo, manifest
):
    path, truth, p = room_photo
    outside = np.ones(truth.shape, bool)
    outside[p.top:, p.left:p.left + p.w] = False
    page.add_init_script("window.__results = 0; addEventListener('passbg:result', () => window.__results++)")
    open_app(page, site_url)
    assert not page.is_checked("[data-testid=whole-photo]")
    assert process_photo(page, path, model=manifest.default) == "done"  # what a user gets
    meta = page.evaluate("window.passbg.lastMeta")
    region = browser_alpha(page)
    # Only the person: nothing of the room is kept and the leftover-objects check passes.
    assert float((region[outside] > 0.5).mean()) == 0.0
    assert _check(meta, "strays")["passed"]
    assert any("Only the part of the photo" in n for n in meta["notes"])
    assert "Only the part of the photo" in page.inner_text("[data-testid=notices]")
    sad_region = em.sad(region, truth)

    # "Whole photo" runs again on the whole frame: no region note, and the room fools the model.
    results = page.evaluate("window.__results")
    page.check("[data-testid=whole-photo]")
    page.wait_for_function("n => window.__results > n", arg=results, timeout=240_000)
    assert wait_for_status(page, FINISHED_STATES, 240) == "done"
    meta = page.evaluate("window.passbg.lastMeta")
    whole = browser_alpha(page)
    assert not any("Only the part of the photo" in n for n in meta["notes"])
    kept = float((whole[outside] > 0.5).mean())
    sad_whole = em.sad(whole, truth)
    print(f"\nroom kept: region 0 %, whole photo {kept:.2%}; "
          f"SAD region {sad_region:.1f}, whole {sad_whole:.1f}")
    assert kept > 0.01
    assert sad_region < 0.2 * sad_whole
