"""Row strips: split an image's rows so a filter with a reach of `context` rows can run strip by strip
(bounded temporary memory) with the same result as on the whole image."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["row_strips"]


def row_strips(height: int, rows: int, context: int) -> Iterator[tuple[int, int, int, int]]:
    """Split rows 0..height into strips of `rows` for filters that reach `context` rows up and down:
    yields (top, bottom, low, high), the strip's own rows top..bottom and the rows low..high to compute
    them from (clipped to the image), so a filter run strip by strip equals one run on the whole image."""
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        yield top, bottom, max(0, top - context), min(height, bottom + context)
