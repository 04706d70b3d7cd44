"""Draw the app icons (the same figure as static/app/icon.svg) as PNG files for the web app manifest.

    .venv/bin/python static/icons/make_icons.py

Writes icon-192.png, icon-512.png (rounded tile) and icon-maskable-512.png (full-bleed tile with the
figure inside the central 80 % safe zone that launchers may crop to a circle). Drawn at 4x and
downsampled, so the edges are smooth. Not part of the site; build.py skips it.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
TILE = (223, 231, 242, 255)  # #dfe7f2, as icon.svg
FIGURE = (31, 95, 191, 255)  # #1f5fbf, the page's accent colour
OVERSAMPLE = 4


def draw_icon(size: int, *, maskable: bool) -> Image.Image:
    """An RGBA (size, size) icon: a head and shoulders on a light tile, in icon.svg's 64-unit layout."""
    big = size * OVERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    if maskable:
        ImageDraw.Draw(image).rectangle((0, 0, big, big), fill=TILE)
        scale, offset = big * 0.8 / 64, big * 0.1  # the figure stays inside the 80 % safe zone
    else:
        ImageDraw.Draw(image).rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 12 / 64, fill=TILE)
        scale, offset = big / 64, 0.0

    def at(x: float, y: float) -> tuple[float, float]:
        return offset + x * scale, offset + y * scale

    figure = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(figure)
    draw.ellipse((*at(21, 14), *at(43, 36)), fill=FIGURE)  # head: centre (32, 25), radius 11
    draw.pieslice((*at(12, 39), *at(52, 77)), 180, 360, fill=FIGURE)  # shoulders rise to y = 39
    draw.rectangle((0, int(at(0, 58)[1]), big, big), fill=(0, 0, 0, 0))  # cut off at y = 58
    image.alpha_composite(figure)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    outputs = {
        "icon-192.png": draw_icon(192, maskable=False),
        "icon-512.png": draw_icon(512, maskable=False),
        "icon-maskable-512.png": draw_icon(512, maskable=True),
    }
    for name, image in outputs.items():
        image.save(HERE / name, optimize=True)
        print(f"wrote static/icons/{name} ({(HERE / name).stat().st_size} bytes)")


if __name__ == "__main__":
    main()
