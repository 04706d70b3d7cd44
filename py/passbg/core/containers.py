"""Facts read from a photo file's structure without decoding its pixels, for the runtimes that hand the
decoding to someone else (the browser decodes HEIC/AVIF and colour-managed files for Pyodide, whose
Pillow has neither the plugins nor littlecms).

- `heif_facts`: the ICC profile and rotation of a HEIF/AVIF file (ISO-BMFF: meta > iprp > ipco holds
  the item properties 'colr' and 'irot'). libheif-js decodes the pixels but is not asked for the profile.
- `icc_description`: the description text of an ICC profile, to tell sRGB from other profiles.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class HeifFacts:
    """icc: the embedded ICC profile (colr 'prof'/'rICC'), or None (none, or only CICP 'nclx').
    orientation: the EXIF orientation equal to the file's rotation (irot, anticlockwise quarter turns)."""

    icc: bytes | None = None
    orientation: int = 1


# irot's anticlockwise quarter turns -> the EXIF orientation that asks for the same turn.
_IROT_TO_EXIF = {0: 1, 1: 8, 2: 3, 3: 6}
_CONTAINERS = {b"meta": 4, b"iprp": 0, b"ipco": 0}  # boxes to descend into, and their header extra


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the ISO-BMFF boxes in data[start:end]; stops at damage."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def heif_facts(data: bytes) -> HeifFacts:
    """The first ICC profile and rotation among the item properties of a HEIF/AVIF file.

    Phones write one profile for the whole photo (a 48 MP iPhone HEIC is a grid of tiles sharing it), so
    the first is the photo's. Anything unreadable gives the defaults: no profile, upright.
    """
    icc, orientation = None, 1

    def walk(start: int, end: int) -> None:
        nonlocal icc, orientation
        for kind, begin, stop in _boxes(data, start, end):
            if kind in _CONTAINERS:
                walk(begin + _CONTAINERS[kind], stop)
            elif kind == b"colr" and icc is None and data[begin : begin + 4] in (b"prof", b"rICC"):
                icc = data[begin + 4 : stop] or None
            elif kind == b"irot" and stop > begin:
                orientation = _IROT_TO_EXIF[data[begin] & 3]

    walk(0, len(data))
    return HeifFacts(icc=icc, orientation=orientation)


def icc_description(icc: bytes) -> str:
    """The profile's 'desc' text (ICC v2 'desc' or v4 'mluc', first record), or "" if unreadable."""
    try:
        (count,) = struct.unpack_from(">I", icc, 128)
        for i in range(min(count, 256)):
            sig, offset, size = struct.unpack_from(">4sII", icc, 132 + 12 * i)
            if sig != b"desc":
                continue
            tag = icc[offset : offset + size]
            if tag[:4] == b"desc":
                (length,) = struct.unpack_from(">I", tag, 8)
                return tag[12 : 12 + length].split(b"\0")[0].decode("latin-1")
            if tag[:4] == b"mluc":
                length, at = struct.unpack_from(">II", tag, 20)
                return tag[at : at + length].decode("utf-16-be", errors="replace")
    except (struct.error, UnicodeDecodeError):
        pass
    return ""


def is_srgb_profile(icc: bytes) -> bool:
    """True when the profile calls itself sRGB (what ImageCms-less runtimes may pass through as is)."""
    return "srgb" in icc_description(icc).lower().replace(" ", "")
