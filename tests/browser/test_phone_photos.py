"""Phone photos through the real page and through CPython give the same passport photo (issue 18).

An iPhone-style HEIC (Display P3, stored sideways with EXIF/HEIF rotation 6: Chromium cannot decode
HEIC, so the page loads libheif-js), an AVIF (Chromium decodes it), and JPEGs tagged Display P3 and Adobe
RGB (Pyodide's Pillow has no colour management, so the page lets the browser convert them). Every file is
made here (tests/phone_photos.py). The page's composite JPEG is compared with CPython's, encoded the
same way; and, so that the comparison can fail, with CPython's result when the profile is ignored.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import open_app, process_photo
from phone_photos import avif, iphone_heic, tagged_jpeg

PERSON = "usc_S001159.jpg"  # 1280 x 1600, long dark hair, busy backdrop
MODEL = "u2netp"
BOUND = 1.0  # mean absolute difference of the composites, in 1/255

MAKERS = {
    "IMG_0001.HEIC": lambda im: iphone_heic(im),
    "photo.avif": lambda im: avif(im),
    "photo-p3.avif": lambda im: avif(im, space="display-p3"),
    "photo-p3.jpg": lambda im: tagged_jpeg(im, "display-p3"),
    "photo-adobe-rgb.jpg": lambda im: tagged_jpeg(im, "adobe-rgb"),
}
TAGGED = {"IMG_0001.HEIC", "photo-p3.avif", "photo-p3.jpg", "photo-adobe-rgb.jpg"}


@pytest.fixture(scope="module")
def phone_files(portraits_dir: Path, tmp_path_factory) -> dict[str, Path]:
    with Image.open(portraits_dir / "images" / PERSON) as im:
        person = im.convert("RGB")
    folder = tmp_path_factory.mktemp("phone-photos")
    files = {}
    for name, make in MAKERS.items():
        files[name] = folder / name
        files[name].write_bytes(make(person))
    return files


def page_composite(page) -> tuple[np.ndarray, dict]:
    """The page's last result as the user downloads it (its composite JPEG, decoded), and its metadata."""
    payload = page.evaluate(
        """async () => {
            const worker = document.getElementById('engine').xworker;
            const bytes = await worker.sync.result_bytes('composite');
            let binary = '';
            for (let i = 0; i < bytes.length; i += 0x8000) {
                binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
            }
            return {b64: btoa(binary), meta: window.passbg.lastMeta};
        }"""
    )
    with Image.open(io.BytesIO(base64.b64decode(payload["b64"]))) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float64), payload["meta"]


def cpython_composite(data: bytes, manifest, ort_backend) -> np.ndarray:
    from passbg.core import pipeline

    result = pipeline.process(data, ort_backend, manifest.get(MODEL), "white")
    with Image.open(io.BytesIO(result.jpeg())) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float64)


@pytest.mark.parametrize("name", list(MAKERS))
def test_a_phone_photo_gives_the_same_passport_photo_in_the_page_and_in_cpython(
    page, site_url, phone_files, manifest, ort_backend, monkeypatch, tmp_path, name
):
    data = phone_files[name].read_bytes()
    open_app(page, site_url)
    assert process_photo(page, phone_files[name], model=MODEL, background="white") == "done", (
        page.inner_text("[data-testid=error]"))
    in_page, meta = page_composite(page)
    # The "before" view shows the photo (Chromium has no <img> of a HEIC: the page shows Python's copy).
    assert page.evaluate("document.getElementById('before').naturalWidth") > 0
    assert (meta["width"], meta["height"]) == (1280, 1600)  # upright (the HEIC is stored 1600 x 1280)
    assert not any("ignored" in note or "could not be used" in note for note in meta["notes"]), meta["notes"]

    native = cpython_composite(data, manifest, ort_backend)
    assert native.shape == in_page.shape
    diff = np.abs(in_page - native)
    line = (f"{name}: page vs CLI mean {diff.mean():.3f}/255, p99 {np.percentile(diff, 99):.1f}, "
            f"max {diff.max():.0f}")
    if name in TAGGED:
        # What the page gave before: the profile ignored. The comparison must be able to tell.
        import passbg.core.decode as decode

        monkeypatch.setattr(decode, "ImageCms", None)
        ignored = np.abs(in_page - cpython_composite(data, manifest, ort_backend)).mean()
        line += f"; vs the profile ignored {ignored:.3f}/255"
        # (Much of the composite is the white background, so the mean shift of ignoring P3 is ~1/255:
        # the page must be several times closer to the converted result than to the ignored one.)
        assert ignored > 4 * diff.mean(), line
    print("\n" + line)
    assert diff.mean() <= BOUND, line
    shot = tmp_path / f"page-{name}.png"  # for people to look at (-s prints where); not compared
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")


def test_the_page_names_the_decoders_and_their_licence(page, site_url):
    open_app(page, site_url)
    text = page.inner_text("[data-testid=decoder-licences]")
    assert "libheif" in text and "libde265" in text and "LGPL-3.0" in text, text
    href = page.get_attribute("[data-testid=decoder-licences] a", "href")
    licence = page.evaluate("async href => (await fetch(href)).text()", href)
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in licence
