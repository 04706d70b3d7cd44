"""Image sizes: scaling a (height, width) to fit a bound."""

from __future__ import annotations

__all__ = ["fit_long_side"]


def fit_long_side(hw: tuple[int, int], long_side: int) -> tuple[int, int]:
    """(height, width) scaled down (never up) so the longer side is at most long_side; each side >= 1."""
    height, width = hw
    scale = min(1.0, long_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))
