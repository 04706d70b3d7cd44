"""Pillow's decoders for phone formats: HEIC/HEIF (pillow-heif, libheif + libde265) and AVIF
(pillow-avif-plugin, libavif + aom).

They are runtime dependencies of the CPython side only (pyproject.toml): Pyodide has no wheel of either,
so in the browser `readable()` is empty and the page decodes these files with the browser or libheif-js
before Python sees them (passbg.app.web.photo). Registering is idempotent and happens on import of
passbg.core.decode, so `Image.open` and `Image.registered_extensions()` (the CLI's folder scan) know them.
"""

from __future__ import annotations

import warnings
from functools import cache


@cache
def readable() -> frozenset[str]:
    """Register the installed plugins with Pillow; return the container formats now readable:
    a subset of {"HEIC", "AVIF"}."""
    formats: set[str] = set()
    try:
        import pillow_heif
    except ImportError:
        pass
    else:
        # Thumbnails and depth maps are never used; not decoding them saves time and memory.
        pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
        formats.add("HEIC")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import pillow_avif  # noqa: F401 - importing registers the AVIF plugin with Pillow
    except ImportError:
        pass
    else:
        formats.add("AVIF")
    return frozenset(formats)
